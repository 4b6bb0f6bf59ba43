/* validate.h - validation of a submitted question (POST /v1/questions body).
 *
 * Everything a client can get wrong is reported as a q_error with a stable code:
 * INVALID_JSON (not an object), UNKNOWN_FIELD, INVALID_FIELD (wrong type),
 * MISSING_FIELD, QUESTION_TOO_SHORT, QUESTION_TOO_LONG (measured in Unicode code
 * points, not bytes), INVALID_CHARACTERS (control characters other than tab, CR and LF,
 * or invalid UTF-8), INVALID_MAX_TOKENS, INVALID_TEMPERATURE, UNKNOWN_MODEL. */
#ifndef QUARRY_VALIDATE_H
#define QUARRY_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

typedef struct {
    size_t min_question_chars;    /* at least 1 */
    size_t max_question_chars;
    int max_tokens_limit;         /* highest max_tokens accepted */
    int default_max_tokens;
    const char *default_model;
    /* Returns 1 when `model` is a model Quarry can serve and price. */
    int (*is_known_model)(const char *model, void *ctx);
    void *ctx;
} q_question_limits;

typedef struct {
    const char *question;         /* borrowed from the JSON body: valid while it lives */
    size_t question_chars;
    const char *model;            /* borrowed from the body or limits->default_model */
    int max_tokens;
    int has_temperature;
    double temperature;
} q_question;

/* Validates `body` (any JSON value) against `limits`. Returns 0 and fills `out`, or -1
 * and fills `err`. Strings in `out` point into `body` (or `limits`). */
int q_validate_question(const json_t *body, const q_question_limits *limits, q_question *out,
                        q_error *err);

/* Counts the code points of a UTF-8 string and checks it: returns the count, or -1
 * when the bytes are not valid UTF-8 (overlongs, surrogates, > U+10FFFF included) or
 * hold a control character other than \t \n \r (C0, DEL, C1). */
long q_utf8_text_chars(const char *s, size_t len);

#endif
