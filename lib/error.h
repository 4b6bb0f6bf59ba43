/* error.h - the error a user can cause: a stable machine code, an HTTP status and a
 * human message (lowercase, no final period, naming what failed and why).
 *
 * Codes are part of the public API (schema/openapi.yaml lists them); never rename one. */
#ifndef QUARRY_ERROR_H
#define QUARRY_ERROR_H

#include <stdio.h>

typedef struct {
    const char *code;     /* static string, e.g. "QUESTION_TOO_LONG"; NULL when no error */
    int http_status;
    char message[256];
} q_error;

#define q_error_set(err, status, code_, ...)                                      \
    do {                                                                          \
        (err)->code = (code_);                                                    \
        (err)->http_status = (status);                                            \
        snprintf((err)->message, sizeof((err)->message), __VA_ARGS__);            \
    } while (0)

#endif
