/* schema.c - Bedrock's JSON-schema validation messages (see schema.h). */
#include "schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emu_schema_malformed(emu_error *err, const char *fmt, ...)
{
    char detail[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    emu_error_set(err, 400, "ValidationException",
                  "Malformed input request: %s, please reformat your input and try again.",
                  detail);
}

const char *emu_schema_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "JSONObject";
    case JSON_ARRAY: return "JSONArray";
    case JSON_STRING: return "String";
    case JSON_INTEGER: return "Integer";
    case JSON_REAL: return "BigDecimal";
    case JSON_TRUE:
    case JSON_FALSE: return "Boolean";
    default: return "Null";
    }
}

const char *emu_schema_echo(const char *s, char out[EMU_ECHO_MAX + 4])
{
    size_t n = strlen(s);

    if (n <= EMU_ECHO_MAX)
        return s;
    n = EMU_ECHO_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    memcpy(out, s, n);
    memcpy(out + n, "...", 4);
    return out;
}

int emu_schema_type(const json_t *v, json_type want, const char *want_name, const char *path,
                    emu_error *err)
{
    int ok = json_typeof(v) == want;

    if (!ok)
        emu_schema_malformed(err, "%s: expected type: %s, found: %s", path, want_name,
                             emu_schema_type_name(v));
    return ok ? 0 : -1;
}

int emu_schema_keys(const json_t *obj, const char *const *allowed, size_t n_allowed,
                    const char *path, emu_error *err)
{
    const char *key;
    json_t *value;
    char buf[EMU_ECHO_MAX + 4];
    int rc = 0;

    json_object_foreach((json_t *)obj, key, value) {
        size_t i = 0;

        while (i < n_allowed && strcmp(key, allowed[i]) != 0)
            i++;
        if (i == n_allowed) {
            emu_schema_malformed(err, "%s: extraneous key [%s] is not permitted", path,
                                 emu_schema_echo(key, buf));
            rc = -1;
            break;
        }
    }
    return rc;
}

int emu_schema_number(const json_t *v, double lo, double hi, const char *path, emu_error *err)
{
    double d = json_number_value(v);
    int rc = -1;

    if (!json_is_number(v))
        emu_schema_malformed(err, "%s: expected type: Number, found: %s", path,
                             emu_schema_type_name(v));
    else if (d < lo)
        emu_schema_malformed(err, "%s: %g is not greater or equal to %g", path, d, lo);
    else if (d > hi)
        emu_schema_malformed(err, "%s: %g is not less or equal to %g", path, d, hi);
    else
        rc = 0;
    return rc;
}

int emu_schema_strings(const json_t *v, const char *path, const char ***out, size_t *n,
                       emu_error *err)
{
    size_t i;
    json_t *s;

    *out = NULL;
    *n = 0;
    if (emu_schema_type(v, JSON_ARRAY, "JSONArray", path, err))
        return -1;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s)) {
            emu_schema_malformed(err, "%s/%zu: expected type: String, found: %s", path, i,
                                 emu_schema_type_name(s));
            return -1;
        }
    }
    if (json_array_size(v) == 0)
        return 0;
    *out = calloc(json_array_size(v), sizeof(**out));
    if (!*out) {
        emu_error_set(err, 500, "InternalServerException", "out of memory");
        return -1;
    }
    json_array_foreach(v, i, s)
        (*out)[(*n)++] = json_string_value(s);
    return 0;
}
