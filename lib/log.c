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

/* The current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void format_now(char *ts, size_t size)
{
    struct timespec now;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(now.tv_nsec / 1000000));
}

void q_log(q_log_level level, const char *event, json_t *fields)
{
    char ts[96];
    json_t *line;
    char *text;

    if (!q_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    format_now(ts, sizeof(ts));

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

static void line_key(q_log_line *l, const char *key)
{
    if (l->bad)
        return;
    if (q_buf_addc(&l->b, ',') != Q_BUF_OK ||
        q_buf_add_json_string(&l->b, key, strlen(key), 0) != Q_BUF_OK ||
        q_buf_addc(&l->b, ':') != Q_BUF_OK)
        l->bad = 1;
}

int q_log_begin(q_log_line *l, q_log_level level, const char *event)
{
    char ts[96];

    if (!q_log_enabled(level))
        return 0;
    format_now(ts, sizeof(ts));
    q_buf_init(&l->b, 64 * 1024);
    l->bad = 0;
    if (q_buf_adds(&l->b, "{\"ts\":") != Q_BUF_OK ||
        q_buf_add_json_string(&l->b, ts, strlen(ts), 0) != Q_BUF_OK ||
        q_buf_adds(&l->b, ",\"level\":") != Q_BUF_OK ||
        q_buf_add_json_string(&l->b, level_names[level], strlen(level_names[level]), 0) !=
            Q_BUF_OK ||
        q_buf_adds(&l->b, ",\"svc\":") != Q_BUF_OK ||
        q_buf_add_json_string(&l->b, log_service, strlen(log_service), 0) != Q_BUF_OK ||
        q_buf_adds(&l->b, ",\"event\":") != Q_BUF_OK ||
        q_buf_add_json_string(&l->b, event, strlen(event), 0) != Q_BUF_OK) {
        /* q_log writes nothing when it cannot build the line */
        q_buf_free(&l->b);
        l->bad = 2;
        return 1;
    }
    l->head_len = l->b.len;
    return 1;
}

void q_log_str_or_null(q_log_line *l, const char *key, const char *value)
{
    line_key(l, key);
    if (l->bad)
        return;
    if (value ? q_buf_add_json_string(&l->b, value, strlen(value), 0) != Q_BUF_OK
              : q_buf_add(&l->b, "null", 4) != Q_BUF_OK)
        l->bad = 1;
}

void q_log_str(q_log_line *l, const char *key, const char *value)
{
    if (!value) { /* json_pack's "s" fails on NULL */
        if (!l->bad)
            l->bad = 1;
        return;
    }
    q_log_str_or_null(l, key, value);
}

void q_log_int(q_log_line *l, const char *key, long long value)
{
    line_key(l, key);
    if (l->bad)
        return;
    if (q_buf_printf(&l->b, "%lld", value) != Q_BUF_OK)
        l->bad = 1;
}

void q_log_bool(q_log_line *l, const char *key, int value)
{
    line_key(l, key);
    if (l->bad)
        return;
    if (q_buf_adds(&l->b, value ? "true" : "false") != Q_BUF_OK)
        l->bad = 1;
}

void q_log_end(q_log_line *l)
{
    if (l->bad == 2)
        return;
    if (l->bad) /* as when json_pack fails: the line without the caller's fields */
        l->b.len = l->head_len;
    if (q_buf_add(&l->b, "}\n", 2) == Q_BUF_OK) {
        pthread_mutex_lock(&log_lock);
        fwrite(q_buf_cstr(&l->b), 1, l->b.len, stderr);
        fflush(stderr);
        pthread_mutex_unlock(&log_lock);
    }
    q_buf_free(&l->b);
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
