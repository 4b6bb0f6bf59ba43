/* validate.c - validation of a submitted question (see validate.h). */
#include "validate.h"

#include <math.h>
#include <string.h>

long q_utf8_text_chars(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    long chars = 0;

    while (p < end) {
        unsigned int c = *p, cp;
        int n;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return -1;
            p++;
            chars++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        if (end - p <= n)
            return -1;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
            return -1;
        p += n + 1;
        chars++;
    }
    return chars;
}

static int only_space(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

int q_validate_question(const json_t *body, const q_question_limits *limits, q_question *out,
                        q_error *err)
{
    const char *field;
    json_t *value;
    const json_t *question;
    long chars;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(body)) {
        q_error_set(err, 400, "INVALID_JSON", "request body must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)body, field, value) {
        if (strcmp(field, "question") && strcmp(field, "model") &&
            strcmp(field, "max_tokens") && strcmp(field, "temperature")) {
            q_error_set(err, 400, "UNKNOWN_FIELD",
                        "unknown field \"%.64s\": allowed fields are question, model, "
                        "max_tokens, temperature", field);
            return -1;
        }
    }

    question = json_object_get(body, "question");
    if (!question) {
        q_error_set(err, 400, "MISSING_FIELD", "field \"question\" is required");
        return -1;
    }
    if (!json_is_string(question)) {
        q_error_set(err, 400, "INVALID_FIELD", "field \"question\" must be a string");
        return -1;
    }
    chars = q_utf8_text_chars(json_string_value(question), json_string_length(question));
    if (chars < 0) {
        q_error_set(err, 400, "INVALID_CHARACTERS",
                    "question contains a control character or invalid UTF-8 "
                    "(only tab, CR and LF are allowed)");
        return -1;
    }
    if ((size_t)chars < limits->min_question_chars || only_space(json_string_value(question))) {
        q_error_set(err, 400, "QUESTION_TOO_SHORT",
                    "question must have at least %zu non-blank characters",
                    limits->min_question_chars);
        return -1;
    }
    if ((size_t)chars > limits->max_question_chars) {
        q_error_set(err, 400, "QUESTION_TOO_LONG",
                    "question has %ld characters, the limit for this key is %zu", chars,
                    limits->max_question_chars);
        return -1;
    }
    out->question = json_string_value(question);
    out->question_chars = (size_t)chars;

    value = json_object_get(body, "model");
    if (value && !json_is_null(value)) {
        if (!json_is_string(value)) {
            q_error_set(err, 400, "INVALID_FIELD", "field \"model\" must be a string");
            return -1;
        }
        out->model = json_string_value(value);
    } else {
        out->model = limits->default_model;
    }
    if (!limits->is_known_model(out->model, limits->ctx)) {
        q_error_set(err, 400, "UNKNOWN_MODEL", "model \"%.128s\" is not a model this service offers",
                    out->model);
        return -1;
    }

    value = json_object_get(body, "max_tokens");
    if (value && !json_is_null(value)) {
        if (!json_is_integer(value)) {
            q_error_set(err, 400, "INVALID_MAX_TOKENS", "field \"max_tokens\" must be an integer");
            return -1;
        }
        if (json_integer_value(value) < 1 || json_integer_value(value) > limits->max_tokens_limit) {
            q_error_set(err, 400, "INVALID_MAX_TOKENS",
                        "max_tokens must be between 1 and %d", limits->max_tokens_limit);
            return -1;
        }
        out->max_tokens = (int)json_integer_value(value);
    } else {
        out->max_tokens = limits->default_max_tokens;
    }

    value = json_object_get(body, "temperature");
    if (value && !json_is_null(value)) {
        if (!json_is_number(value)) {
            q_error_set(err, 400, "INVALID_TEMPERATURE", "field \"temperature\" must be a number");
            return -1;
        }
        out->temperature = json_number_value(value);
        if (!isfinite(out->temperature) || out->temperature < 0 || out->temperature > 1) {
            q_error_set(err, 400, "INVALID_TEMPERATURE", "temperature must be between 0 and 1");
            return -1;
        }
        out->has_temperature = 1;
    }
    return 0;
}
