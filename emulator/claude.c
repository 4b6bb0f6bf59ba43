/* claude.c - validation of the Anthropic Messages body on Bedrock and its response. */
#include "claude.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "messages.h"
#include "schema.h"

#define ANTHROPIC_VERSION "bedrock-2023-05-31"

static const char *const top_level_keys[] = {
    "anthropic_version", "max_tokens", "messages", "system",
    "temperature", "top_p", "top_k", "stop_sequences",
};

/* One content block: {"type": "text", "text": "..."} (cache_control allowed). Other block
 * types are valid Bedrock input the emulator does not handle yet, and are refused as such. */
static int check_block(const json_t *block, const char *bpath, emu_error *err)
{
    static const char *const block_keys[] = {"type", "text", "cache_control"};
    const json_t *type = json_object_get(block, "type"), *t = json_object_get(block, "text");
    char buf[EMU_ECHO_MAX + 4];
    int rc = -1;

    if (emu_schema_type(block, JSON_OBJECT, "JSONObject", bpath, err)) {
        /* err is set */
    } else if (!type)
        emu_schema_malformed(err, "%s: required key [type] not found", bpath);
    else if (!json_is_string(type))
        emu_schema_malformed(err, "%s/type: expected type: String, found: %s", bpath, emu_schema_type_name(type));
    else if (strcmp(json_string_value(type), "text") != 0)
        emu_error_set(err, 400, "ValidationException",
                      "The emulator supports only text content blocks; %s/type is \"%s\". Try "
                      "again with text content.",
                      bpath + 2, emu_schema_echo(json_string_value(type), buf));
    else if (emu_schema_keys(block, block_keys, 3, bpath, err)) {
        /* err is set */
    } else if (!t)
        emu_schema_malformed(err, "%s: required key [text] not found", bpath);
    else if (!json_is_string(t))
        emu_schema_malformed(err, "%s/text: expected type: String, found: %s", bpath, emu_schema_type_name(t));
    else if (json_string_length(t) == 0)
        emu_error_set(err, 400, "ValidationException",
                      "messages: text content blocks must be non-empty");
    else
        rc = 0;
    return rc;
}

/* Appends the text of a system prompt or message content (a string or an array of text
 * blocks) to `text` when it is not NULL, and adds its byte count to *bytes. */
static int read_content(const json_t *content, const char *path, q_buf *text, size_t *bytes,
                        emu_error *err)
{
    size_t i;
    json_t *block;
    char bpath[96];

    if (json_is_string(content)) {
        *bytes += json_string_length(content);
        if (text && q_buf_add(text, json_string_value(content), json_string_length(content)))
            goto nomem;
    } else if (!json_is_array(content)) {
        emu_schema_malformed(err, "%s: expected type: JSONArray, found: %s", path, emu_schema_type_name(content));
        goto fail;
    }
    json_array_foreach(content, i, block) {
        const json_t *t = json_object_get(block, "text");

        snprintf(bpath, sizeof(bpath), "%s/%zu", path, i);
        if (check_block(block, bpath, err))
            goto fail;
        *bytes += json_string_length(t);
        if (text && ((i > 0 && q_buf_addc(text, '\n') != Q_BUF_OK) ||
                     q_buf_add(text, json_string_value(t), json_string_length(t)) != Q_BUF_OK))
            goto nomem;
    }
    return 0;

nomem:
    emu_error_set(err, 500, "InternalServerException", "out of memory reading the content");
fail:
    return -1;
}

int emu_claude_parse(const char *body, size_t body_len, const emu_model *m,
                     emu_prompt *out, emu_error *err)
{
    json_error_t jerr;
    json_t *root, *v;
    char buf[EMU_ECHO_MAX + 4];
    json_int_t max_tokens;

    memset(out, 0, sizeof(*out));
    root = out->root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        emu_schema_malformed(err, "#: invalid JSON at line %d column %d (%s)", jerr.line, jerr.column,
                  jerr.text);
        goto fail;
    }
    if (emu_schema_type(root, JSON_OBJECT, "JSONObject", "#", err) ||
        emu_schema_keys(root, top_level_keys,
                   sizeof(top_level_keys) / sizeof(top_level_keys[0]), "#", err))
        goto fail;
    for (size_t i = 0; i < 3; i++) {
        if (!json_object_get(root, top_level_keys[i])) {
            emu_schema_malformed(err, "#: required key [%s] not found", top_level_keys[i]);
            goto fail;
        }
    }

    v = json_object_get(root, "anthropic_version");
    if (emu_schema_type(v, JSON_STRING, "String", "#/anthropic_version", err))
        goto fail;
    if (strcmp(json_string_value(v), ANTHROPIC_VERSION) != 0) {
        emu_schema_malformed(err, "#/anthropic_version: %s is not a valid enum value",
                  emu_schema_echo(json_string_value(v), buf));
        goto fail;
    }

    v = json_object_get(root, "max_tokens");
    if (emu_schema_type(v, JSON_INTEGER, "Integer", "#/max_tokens", err))
        goto fail;
    max_tokens = json_integer_value(v);
    if (max_tokens < 1) {
        emu_schema_malformed(err, "#/max_tokens: %lld is not greater or equal to 1",
                  (long long)max_tokens);
        goto fail;
    }
    if (max_tokens > (json_int_t)m->max_output_tokens) {
        emu_error_set(err, 400, "ValidationException",
                      "max_tokens: %lld > %u, which is the maximum allowed number of output "
                      "tokens for %s",
                      (long long)max_tokens, m->max_output_tokens, m->name);
        goto fail;
    }
    out->max_tokens = (unsigned)max_tokens;

    if (emu_messages_read(root, &emu_messages_schema, read_content, out, err))
        goto fail;

    v = json_object_get(root, "temperature");
    if (v && emu_schema_number(v, 0, 1, "#/temperature", err))
        goto fail;
    v = json_object_get(root, "top_p");
    if (v && emu_schema_number(v, 0, 1, "#/top_p", err))
        goto fail;
    v = json_object_get(root, "top_k");
    if (v && (emu_schema_type(v, JSON_INTEGER, "Integer", "#/top_k", err) ||
              emu_schema_number(v, 0, 500, "#/top_k", err)))
        goto fail;
    v = json_object_get(root, "stop_sequences");
    if (v && emu_schema_strings(v, "#/stop_sequences", &out->stops, &out->n_stops, err))
        goto fail;

    return 0;

fail:
    emu_prompt_free(out);
    return -1;
}

json_t *emu_claude_response(const emu_model *m, const char *message_id, const emu_answer *a,
                            unsigned input_tokens)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s%}],s:s,s:s?,s:{s:I,s:I}}",
                     "id", message_id, "type", "message", "role", "assistant", "model",
                     m->name, "content", "type", "text", "text", a->text, a->len,
                     "stop_reason", a->stop_reason, "stop_sequence", a->stop_sequence,
                     "usage", "input_tokens", (json_int_t)input_tokens, "output_tokens",
                     (json_int_t)a->output_tokens);
}
