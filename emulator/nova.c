/* nova.c - validation of the Amazon Nova messages-v1 body and its response (see nova.h). */
#include "nova.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "messages.h"
#include "schema.h"

#define SCHEMA_VERSION "messages-v1"

/* Blocks [{"text": ...}] at `path`: appends the text (joined by \n) to `text` when not
 * NULL and adds the byte count to *bytes. */
static int read_blocks(const json_t *blocks, const char *path, q_buf *text, size_t *bytes,
                       emu_error *err)
{
    size_t i;
    json_t *b;
    char bpath[96];

    if (emu_schema_type(blocks, JSON_ARRAY, "JSONArray", path, err))
        return -1;
    json_array_foreach(blocks, i, b) {
        const json_t *t;

        snprintf(bpath, sizeof(bpath), "%s/%zu", path, i);
        if (emu_schema_type(b, JSON_OBJECT, "JSONObject", bpath, err))
            return -1;
        t = json_object_get(b, "text");
        if (!t) {
            emu_error_set(err, 400, "ValidationException",
                          "The emulator supports only text content blocks; %s has none. Try "
                          "again with text content.",
                          bpath + 2);
            return -1;
        }
        if (!json_is_string(t)) {
            emu_schema_malformed(err, "%s/text: expected type: String, found: %s", bpath,
                                 emu_schema_type_name(t));
            return -1;
        }
        *bytes += json_string_length(t);
        if (text && ((i > 0 && q_buf_addc(text, '\n') != Q_BUF_OK) ||
                     q_buf_add(text, json_string_value(t), json_string_length(t)) != Q_BUF_OK)) {
            emu_error_set(err, 500, "InternalServerException", "out of memory");
            return -1;
        }
    }
    return 0;
}

static int check_inference(const json_t *cfg, const emu_model *m, emu_prompt *out,
                           emu_error *err)
{
    static const char *const keys[] = {"max_new_tokens", "temperature", "top_p", "top_k",
                                       "stopSequences"};
    const json_t *v;

    out->max_tokens = m->max_output_tokens;
    if (!cfg)
        return 0;
    if (emu_schema_type(cfg, JSON_OBJECT, "JSONObject", "#/inferenceConfig", err) ||
        emu_schema_keys(cfg, keys, sizeof(keys) / sizeof(keys[0]), "#/inferenceConfig", err))
        return -1;
    v = json_object_get(cfg, "max_new_tokens");
    if (v) {
        if (emu_schema_type(v, JSON_INTEGER, "Integer", "#/inferenceConfig/max_new_tokens",
                            err) ||
            emu_schema_number(v, 1, m->max_output_tokens, "#/inferenceConfig/max_new_tokens",
                              err))
            return -1;
        out->max_tokens = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(cfg, "temperature")) &&
        emu_schema_number(v, 0, 1, "#/inferenceConfig/temperature", err))
        return -1;
    if ((v = json_object_get(cfg, "top_p")) &&
        emu_schema_number(v, 0, 1, "#/inferenceConfig/top_p", err))
        return -1;
    if ((v = json_object_get(cfg, "top_k")) &&
        (emu_schema_type(v, JSON_INTEGER, "Integer", "#/inferenceConfig/top_k", err) ||
         emu_schema_number(v, 0, 128, "#/inferenceConfig/top_k", err)))
        return -1;
    if ((v = json_object_get(cfg, "stopSequences")) &&
        emu_schema_strings(v, "#/inferenceConfig/stopSequences", &out->stops, &out->n_stops,
                           err))
        return -1;
    return 0;
}

int emu_nova_parse(const char *body, size_t body_len, const emu_model *m, emu_prompt *out,
                   emu_error *err)
{
    static const char *const keys[] = {"schemaVersion", "system", "messages",
                                       "inferenceConfig"};
    json_error_t jerr;
    json_t *root, *v;
    char buf[EMU_ECHO_MAX + 4];

    memset(out, 0, sizeof(*out));
    root = out->root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        emu_schema_malformed(err, "#: invalid JSON at line %d column %d (%s)", jerr.line,
                             jerr.column, jerr.text);
        goto fail;
    }
    if (emu_schema_type(root, JSON_OBJECT, "JSONObject", "#", err) ||
        emu_schema_keys(root, keys, sizeof(keys) / sizeof(keys[0]), "#", err))
        goto fail;
    v = json_object_get(root, "schemaVersion");
    if (v && (emu_schema_type(v, JSON_STRING, "String", "#/schemaVersion", err) ||
              strcmp(json_string_value(v), SCHEMA_VERSION) != 0)) {
        if (json_is_string(v))
            emu_schema_malformed(err, "#/schemaVersion: %s is not a valid enum value",
                                 emu_schema_echo(json_string_value(v), buf));
        goto fail;
    }
    if (emu_messages_read(root, &emu_messages_schema, read_blocks, out, err))
        goto fail;
    if (check_inference(json_object_get(root, "inferenceConfig"), m, out, err))
        goto fail;
    return 0;

fail:
    emu_prompt_free(out);
    return -1;
}

json_t *emu_nova_response(const emu_answer *a, unsigned input_tokens)
{
    return json_pack("{s:{s:{s:[{s:s%}],s:s}},s:s,s:{s:I,s:I,s:I,s:i,s:i}}", "output",
                     "message", "content", "text", a->text, a->len, "role", "assistant",
                     "stopReason", a->stop_reason, "usage", "inputTokens",
                     (json_int_t)input_tokens, "outputTokens", (json_int_t)a->output_tokens,
                     "totalTokens", (json_int_t)input_tokens + a->output_tokens,
                     "cacheReadInputTokenCount", 0, "cacheWriteInputTokenCount", 0);
}
