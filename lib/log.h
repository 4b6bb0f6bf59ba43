/* log.h - structured JSON log lines on stderr, one object per line.
 *
 * Every line has "ts" (RFC 3339 UTC, milliseconds), "level", "svc" (set once by
 * q_log_init) and "event" (a stable dotted name such as "job.succeeded"), plus the
 * caller's fields. Never pass secrets or question texts as fields: callers log ids,
 * counts, codes and lengths only.
 *
 * Ownership: q_log() steals the reference to `fields` (it may be NULL), so call sites
 * can write q_log(Q_LOG_INFO, "x", json_pack(...)) without a leak. Thread-safe. */
#ifndef QUARRY_LOG_H
#define QUARRY_LOG_H

#include <jansson.h>

typedef enum { Q_LOG_DEBUG = 0, Q_LOG_INFO, Q_LOG_WARN, Q_LOG_ERROR } q_log_level;

/* Sets the service name and the minimum level (from QUARRY_LOG_LEVEL when the
 * environment has it: debug|info|warn|error). Call once before threads start. */
void q_log_init(const char *service);

/* Writes one line if `level` is enabled. Steals `fields` (an object, or NULL). */
void q_log(q_log_level level, const char *event, json_t *fields);

/* printf-style convenience for a single human "msg" field; the message must not
 * contain secrets or question texts either. */
void q_logf(q_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int q_log_enabled(q_log_level level);

/* A line built field by field without jansson, for the per-job events: the same text
 * q_log would write for json_pack("{s:s,s:i,...}") fields (compact, in call order,
 * jansson's escaping). q_log_begin returns 0 when the level is off (then call nothing
 * else); otherwise add fields and finish with q_log_end, which writes and frees.
 * A string that is not valid UTF-8 drops all the fields, as json_pack failing would. */
#include "buf.h"

typedef struct {
    q_buf b;
    size_t head_len;    /* the line up to the caller's fields */
    int bad;
} q_log_line;

int q_log_begin(q_log_line *l, q_log_level level, const char *event);
void q_log_str(q_log_line *l, const char *key, const char *value); /* "s": NULL drops fields */
void q_log_str_or_null(q_log_line *l, const char *key, const char *value); /* "s?" */
void q_log_int(q_log_line *l, const char *key, long long value);
void q_log_bool(q_log_line *l, const char *key, int value);                /* "b" */
void q_log_end(q_log_line *l);

#endif
