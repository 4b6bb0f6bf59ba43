/* schema.h - Bedrock's JSON-schema validation messages for model request bodies.
 *
 * InvokeModel bodies are checked by a JSON-schema validator whose messages Bedrock passes
 * through as "Malformed input request: <path>: <detail>, please reformat your input and
 * try again." (a ValidationException). These helpers produce exactly that wording, so the
 * Anthropic and Nova body parsers agree. Each check returns 0, or -1 with `err` set. */
#ifndef QUARRY_EMU_SCHEMA_H
#define QUARRY_EMU_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "wire.h"

/* Longest client string quoted back in a message (longer ones end in "..."). */
#define EMU_ECHO_MAX 64

/* Sets a 400 ValidationException "Malformed input request: <detail>, please reformat...". */
void emu_schema_malformed(emu_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The schema validator's name for a JSON value's type ("JSONObject", "Integer", ...). */
const char *emu_schema_type_name(const json_t *v);

/* `s`, or its first EMU_ECHO_MAX bytes (never splitting UTF-8) + "..." copied into `out`. */
const char *emu_schema_echo(const char *s, char out[EMU_ECHO_MAX + 4]);

/* `v` is of type `want` (named `want_name` in the message). */
int emu_schema_type(const json_t *v, json_type want, const char *want_name, const char *path,
                    emu_error *err);

/* Every key of `obj` is one of `allowed`. */
int emu_schema_keys(const json_t *obj, const char *const *allowed, size_t n_allowed,
                    const char *path, emu_error *err);

/* `v` is a number within [lo, hi]. */
int emu_schema_number(const json_t *v, double lo, double hi, const char *path,
                      emu_error *err);

/* An array of strings (stop sequences): on success *out is a new array (free() it) of
 * strings borrowed from `v`, or NULL when `v` is empty. */
int emu_schema_strings(const json_t *v, const char *path, const char ***out, size_t *n,
                       emu_error *err);

#endif
