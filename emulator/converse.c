/* converse.c - the Converse body: Coral-style validation and the response (see converse.h). */
#include "converse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "messages.h"
#include "schema.h"

/* Sets a Coral constraint error: "1 validation error detected: <detail>". */
static void constraint(emu_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void constraint(emu_error *err, const char *fmt, ...)
{
    char detail[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    emu_error_set(err, 400, "ValidationException", "1 validation error detected: %s", detail);
}

/* A member of the wrong JSON type: Coral cannot even deserialize the body. */
static int shape(const json_t *v, json_type want, const char *path, emu_error *err)
{
    static const char *const names[] = {"structure", "list", "string", "integer", "number",
                                        "boolean", "boolean", "null"};

    if (json_typeof(v) == want || (want == JSON_REAL && json_is_number(v)))
        return 0;
    emu_error_set(err, 400, "SerializationException",
                  "Unexpected value at '%s': expected a %s", path, names[want]);
    return -1;
}

/* Content blocks at `path` ("messages.0.content" or "system"). */
static int read_blocks(const json_t *blocks, const char *path, q_buf *text, size_t *bytes,
                       emu_error *err)
{
    size_t i;
    json_t *b;
    char bpath[96];
    int first = 1;

    if (shape(blocks, JSON_ARRAY, path, err))
        return -1;
    json_array_foreach(blocks, i, b) {
        const json_t *t;

        snprintf(bpath, sizeof(bpath), "%s.%zu", path, i);
        if (shape(b, JSON_OBJECT, bpath, err))
            return -1;
        if (json_object_get(b, "cachePoint") && json_object_size(b) == 1)
            continue;
        t = json_object_get(b, "text");
        if (!t || json_object_size(b) != 1) {
            emu_error_set(err, 400, "ValidationException",
                          "The emulator supports only text content blocks; the block at %s "
                          "is not one. Try again with text content.",
                          bpath);
            return -1;
        }
        if (shape(t, JSON_STRING, bpath, err))
            return -1;
        if (json_string_length(t) == 0 || strspn(json_string_value(t), " \t\r\n") ==
                                              json_string_length(t)) {
            emu_error_set(err, 400, "ValidationException",
                          "The text field in the ContentBlock object at %s is blank. Add text "
                          "to the text field, and try again.",
                          bpath);
            return -1;
        }
        *bytes += json_string_length(t);
        if (text && ((!first && q_buf_addc(text, '\n') != Q_BUF_OK) ||
                     q_buf_add(text, json_string_value(t), json_string_length(t)) != Q_BUF_OK)) {
            emu_error_set(err, 500, "InternalServerException", "out of memory");
            return -1;
        }
        first = 0;
    }
    return 0;
}

/* messages_syntax's check, in Coral's wording. */
static int check_messages(const json_t *messages, emu_error *err)
{
    size_t i;
    json_t *msg;
    char path[64], buf[EMU_ECHO_MAX + 4];
    int rc = -1;

    if (!messages) {
        constraint(err, "Value null at 'messages' failed to satisfy constraint: Member must "
                        "not be null");
        goto out;
    }
    if (shape(messages, JSON_ARRAY, "messages", err))
        goto out;
    json_array_foreach(messages, i, msg) {
        const json_t *role;

        snprintf(path, sizeof(path), "messages.%zu", i);
        if (shape(msg, JSON_OBJECT, path, err))
            goto out;
        role = json_object_get(msg, "role");
        if (!role || !json_object_get(msg, "content")) {
            constraint(err, "Value null at 'messages.%zu.member.%s' failed to satisfy "
                            "constraint: Member must not be null",
                       i + 1, role ? "content" : "role");
            goto out;
        }
        if (shape(role, JSON_STRING, path, err))
            goto out;
        if (strcmp(json_string_value(role), "user") != 0 &&
            strcmp(json_string_value(role), "assistant") != 0) {
            constraint(err, "Value '%s' at 'messages.%zu.member.role' failed to satisfy "
                            "constraint: Member must satisfy enum value set: [user, assistant]",
                       emu_schema_echo(json_string_value(role), buf), i + 1);
            goto out;
        }
    }
    rc = 0;
out:
    return rc;
}

/* Converse refuses blank text block by block (in read_blocks), not message by message. */
static const emu_messages_syntax messages_syntax = {
    .check = check_messages,
    .content_path = {"messages.", ".content"},
    .system_path = "system",
    .require_text = 0,
};

/* A number within [lo, hi] at inferenceConfig.<name>. */
static int check_range(const json_t *v, const char *name, double lo, double hi, emu_error *err)
{
    char path[64];
    double d;

    snprintf(path, sizeof(path), "inferenceConfig.%s", name);
    if (shape(v, JSON_REAL, path, err))
        return -1;
    d = json_number_value(v);
    if (d < lo || d > hi) {
        constraint(err, "Value '%g' at '%s' failed to satisfy constraint: Member must have "
                        "value %s than or equal to %g",
                   d, path, d < lo ? "greater" : "less", d < lo ? lo : hi);
        return -1;
    }
    return 0;
}

static int check_inference(const json_t *cfg, const emu_model *m, emu_prompt *out,
                           emu_error *err)
{
    const json_t *v;
    size_t i;
    json_t *s;

    out->max_tokens = m->max_output_tokens;
    if (!cfg)
        return 0;
    if (shape(cfg, JSON_OBJECT, "inferenceConfig", err))
        return -1;
    v = json_object_get(cfg, "maxTokens");
    if (v) {
        if (shape(v, JSON_INTEGER, "inferenceConfig.maxTokens", err))
            return -1;
        if (json_integer_value(v) < 1) {
            constraint(err, "Value '%lld' at 'inferenceConfig.maxTokens' failed to satisfy "
                            "constraint: Member must have value greater than or equal to 1",
                       (long long)json_integer_value(v));
            return -1;
        }
        if (json_integer_value(v) > (json_int_t)m->max_output_tokens) {
            emu_error_set(err, 400, "ValidationException",
                          "The maximum tokens you requested exceeds the model limit of %u. Try "
                          "again with a maximum tokens value that is lower than %u.",
                          m->max_output_tokens, m->max_output_tokens);
            return -1;
        }
        out->max_tokens = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(cfg, "temperature")) && check_range(v, "temperature", 0, 1, err))
        return -1;
    if ((v = json_object_get(cfg, "topP")) && check_range(v, "topP", 0, 1, err))
        return -1;
    v = json_object_get(cfg, "stopSequences");
    if (v) {
        if (shape(v, JSON_ARRAY, "inferenceConfig.stopSequences", err))
            return -1;
        json_array_foreach(v, i, s) {
            if (shape(s, JSON_STRING, "inferenceConfig.stopSequences", err))
                return -1;
        }
        if (emu_schema_strings(v, "inferenceConfig.stopSequences", &out->stops, &out->n_stops,
                               err))
            return -1;
    }
    return 0;
}

int emu_converse_parse(const char *body, size_t body_len, const emu_model *m, emu_prompt *out,
                       emu_error *err)
{
    static const char *const not_emulated[] = {"toolConfig", "guardrailConfig",
                                               "promptVariables"};
    json_error_t jerr;
    json_t *root, *v;

    memset(out, 0, sizeof(*out));
    root = out->root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        if (root)
            emu_error_set(err, 400, "SerializationException",
                          "The request body must be a JSON object");
        else
            emu_error_set(err, 400, "SerializationException",
                          "The request body is not valid JSON: %s at line %d column %d",
                          jerr.text, jerr.line, jerr.column);
        goto fail;
    }
    for (size_t i = 0; i < sizeof(not_emulated) / sizeof(not_emulated[0]); i++) {
        if (json_object_get(root, not_emulated[i])) {
            emu_error_set(err, 400, "ValidationException",
                          "The emulator does not support %s yet. Try again without it.",
                          not_emulated[i]);
            goto fail;
        }
    }
    if (emu_messages_read(root, &messages_syntax, read_blocks, out, err))
        goto fail;
    if (check_inference(json_object_get(root, "inferenceConfig"), m, out, err))
        goto fail;
    v = json_object_get(root, "additionalModelRequestFields");
    if (v && shape(v, JSON_OBJECT, "additionalModelRequestFields", err))
        goto fail;
    v = json_object_get(root, "additionalModelResponseFieldPaths");
    if (v && shape(v, JSON_ARRAY, "additionalModelResponseFieldPaths", err))
        goto fail;
    return 0;

fail:
    emu_prompt_free(out);
    return -1;
}

/* Whether the request asked for the Anthropic "/stop_sequence" response field. */
static int wants_stop_sequence(const emu_model *m, const emu_prompt *p)
{
    const json_t *paths = json_object_get(p->root, "additionalModelResponseFieldPaths");
    size_t i;
    json_t *s;

    if (m->format != EMU_FORMAT_ANTHROPIC_MESSAGES)
        return 0;
    json_array_foreach(paths, i, s) {
        if (json_is_string(s) && strcmp(json_string_value(s), "/stop_sequence") == 0)
            return 1;
    }
    return 0;
}

json_t *emu_converse_response(const emu_model *m, const emu_prompt *p, const emu_answer *a,
                              unsigned latency_ms)
{
    json_t *o = json_pack("{s:{s:{s:s,s:[{s:s%}]}},s:s,s:{s:I,s:I,s:I},s:{s:I}}", "output",
                          "message", "role", "assistant", "content", "text", a->text, a->len,
                          "stopReason", a->stop_reason, "usage", "inputTokens",
                          (json_int_t)p->input_tokens, "outputTokens",
                          (json_int_t)a->output_tokens, "totalTokens",
                          (json_int_t)p->input_tokens + a->output_tokens, "metrics",
                          "latencyMs", (json_int_t)latency_ms);

    if (o && wants_stop_sequence(m, p) &&
        json_object_set_new(o, "additionalModelResponseFields",
                            json_pack("{s:s?}", "stop_sequence", a->stop_sequence)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}
