/* log.c - structured JSON log lines (see log.h). */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *log_service = "quarry";
static q_log_level log_min_level = Q_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void q_log_init(const char *service)
{
    const char *lvl = getenv("QUARRY_LOG_LEVEL");

    log_service = service;
    if (lvl) {
        for (int i = 0; i < 4; i++)
            if (strcasecmp(lvl, level_names[i]) == 0)
                log_min_level = (q_log_level)i;
    }
}

int q_log_enabled(q_log_level level)
{
    return level >= log_min_level;
}

void q_log(q_log_level level, const char *event, json_t *fields)
{
    struct timespec now;
    struct tm tm;
    char ts[96];
    json_t *line;
    char *text;

    if (!q_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(now.tv_nsec / 1000000));

    line = json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level", level_names[level], "svc",
                     log_service, "event", event);
    if (!line) {
        json_decref(fields);
        return;
    }
    if (fields && json_is_object(fields))
        json_object_update_missing(line, fields);
    json_decref(fields);

    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return;
    pthread_mutex_lock(&log_lock);
    fputs(text, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    free(text);
}

void q_logf(q_log_level level, const char *event, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!q_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    q_log(level, event, json_pack("{s:s}", "msg", msg));
}
