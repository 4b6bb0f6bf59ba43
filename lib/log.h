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

#endif
