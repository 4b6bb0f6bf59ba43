/* http.c - the intake's HTTP layer over libmicrohttpd (see http.h).
 *
 * The daemon runs a small pool of event-driven worker threads (epoll): a slow or idle
 * client costs a connection slot and its capped memory pool, never a thread, and the idle
 * timeout reclaims it. Requests parked with http_suspend() are not polled at all. */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ids.h"
#include "log.h"

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler handler;
    http_handler begin;
    void *ctx;
    size_t max_body;
    size_t max_buffered;
    _Atomic size_t buffered;      /* bytes of request bodies held right now */
};

const char *http_header(const http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int request_id_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return 0;
    }
    return n > 0 && n < 72;
}

void http_add_header(http_request *req, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (req->n_extra >= HTTP_MAX_EXTRA_HEADERS)
        return;
    req->extra[req->n_extra].name = name;
    va_start(ap, fmt);
    vsnprintf(req->extra[req->n_extra].value, sizeof(req->extra[0].value), fmt, ap);
    va_end(ap);
    req->n_extra++;
}

/* Browsers may call the API from any origin: authentication is an explicit header, never a
 * cookie, so a wildcard origin exposes nothing a script could not already send. */
static void add_cors(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "X-Request-ID, Location, Retry-After, X-RateLimit-Limit, "
                            "X-RateLimit-Remaining, X-RateLimit-Reset, Idempotent-Replayed");
}

/* Headers every answer carries, then the response is queued and the answer logged. */
static void queue_response(http_request *req, unsigned status, struct MHD_Response *resp,
                           const char *content_type)
{
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "X-Request-ID", req->request_id);
    add_cors(resp);
    for (int i = 0; i < req->n_extra; i++)
        MHD_add_response_header(resp, req->extra[i].name, req->extra[i].value);
    MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    /* Every answer can be traced by its request id: server errors always, the rest at debug
     * (a flood of 4xx must not become a flood of log lines). */
    if (status >= 500 || q_log_enabled(Q_LOG_DEBUG))
        q_log(status >= 500 ? Q_LOG_WARN : Q_LOG_DEBUG, "http.reply",
              json_pack("{s:s,s:s,s:i}", "request_id", req->request_id, "method", req->method,
                        "status", (int)status));
}

/* Sends `text` (a JSON document, malloc'd, owned from here on; NULL: an empty body). */
static void send_reply_text(http_request *req, unsigned status, char *text)
{
    struct MHD_Response *resp;

    if (req->replied) { /* a handler bug; never send twice */
        free(text);
        return;
    }
    req->replied = 1;
    if (text)
        resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text);
        return;
    }
    queue_response(req, status, resp, text ? "application/json" : NULL);
}

static void send_reply(http_request *req, unsigned status, json_t *body)
{
    char *text = NULL;

    if (body && !req->replied) {
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text) {
            text = strdup("{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}}");
            status = 500;
            if (!text) {
                json_decref(body);
                return;
            }
        }
    }
    json_decref(body);
    send_reply_text(req, status, text);
}

typedef struct {
    http_stream_fn fn;
    void *cls;
    void (*free_cls)(void *);
} stream_state;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_state *st = cls;
    long n;

    (void)pos;
    n = st->fn(st->cls, buf, max);
    if (n > 0)
        return (ssize_t)n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    stream_state *st = cls;

    if (st->free_cls)
        st->free_cls(st->cls);
    free(st);
}

void http_reply_stream(http_request *req, unsigned status, const char *content_type,
                       http_stream_fn fn, void *cls, void (*free_cls)(void *))
{
    stream_state *st = req->replied ? NULL : malloc(sizeof(*st));
    struct MHD_Response *resp = NULL;

    if (st) {
        *st = (stream_state){.fn = fn, .cls = cls, .free_cls = free_cls};
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, st,
                                                 stream_free);
    }
    if (!resp) {
        free(st);
        if (free_cls)
            free_cls(cls);
        if (!req->replied) {
            q_error e;
            q_error_set(&e, 500, "INTERNAL", "could not start the response");
            http_reply_error(req, &e);
        }
        return;
    }
    req->replied = 1;
    queue_response(req, status, resp, content_type);
}

void http_reply_json(http_request *req, unsigned status, json_t *body, const char *location)
{
    if (location)
        http_add_header(req, "Location", "%s", location);
    send_reply(req, status, body);
}

json_t *http_error_body(const http_request *req, const q_error *e, json_t *details)
{
    json_t *err = json_pack("{s:s,s:s}", "code", e->code, "message", e->message);

    if (err && details)
        json_object_set_new(err, "details", details);
    else
        json_decref(details);
    return err ? json_pack("{s:o,s:s}", "error", err, "request_id", req->request_id) : NULL;
}

void http_reply_error(http_request *req, const q_error *e)
{
    send_reply(req, (unsigned)e->http_status, http_error_body(req, e, NULL));
}

void http_suspend(http_request *req)
{
    req->suspended = 1;
    MHD_suspend_connection(req->conn);
}

void http_defer_reply_json(http_request *req, unsigned status, json_t *body)
{
    json_decref(req->deferred_body);
    free(req->deferred_text);
    req->deferred_text = NULL;
    req->deferred_status = status;
    req->deferred_body = body;
}

void http_defer_reply_text(http_request *req, unsigned status, char *json_text)
{
    json_decref(req->deferred_body);
    req->deferred_body = NULL;
    free(req->deferred_text);
    req->deferred_status = status;
    req->deferred_text = json_text;
}

void http_resume(http_request *req)
{
    MHD_resume_connection(req->conn);
}

static http_request *request_new(struct MHD_Connection *conn, const char *method,
                                 const char *url, size_t max_body)
{
    http_request *req = calloc(1, sizeof(*req));
    const char *rid;

    if (!req)
        return NULL;
    req->conn = conn;
    req->method = method;
    req->path = url;
    q_buf_init(&req->body, max_body);
    rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");
    if (rid && request_id_ok(rid))
        snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
    else if (q_uuid_v4(req->request_id) != 0)
        snprintf(req->request_id, sizeof(req->request_id), "unknown");
    return req;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_server *s = cls;
    http_request *req = *con_cls;

    (void)version;
    if (!req) {
        req = request_new(conn, method, url, s->max_body);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        if (s->begin)
            s->begin(req, s->ctx); /* may reply at once: the body is then not read */
        return MHD_YES;
    }
    if (*upload_data_size && (req->on_body || req->replied)) {
        /* A streamed body goes to its consumer piece by piece, never buffered here; after
         * an early reply, or once on_body gave up, the rest is dropped. */
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (!req->replied && !req->body_discarded) {
            req->on_body(req, upload_data, n);
        } else if ((req->discarded += n) > HTTP_MAX_DISCARD) {
            /* Reading on only to answer at the end would let a client stream forever. */
            q_log(Q_LOG_INFO, "http.discard_limit",
                  json_pack("{s:s,s:I}", "request_id", req->request_id, "discarded",
                            (json_int_t)req->discarded));
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;

        /* Every connection may hold max_body, but not all at once: past the server-wide
         * budget a body is dropped and the request answered 503. */
        if (!req->body_too_big && !req->server_busy &&
            atomic_fetch_add(&s->buffered, n) + n > s->max_buffered) {
            atomic_fetch_sub(&s->buffered, n);
            req->server_busy = 1;
        } else if (!req->body_too_big && !req->server_busy) {
            if (q_buf_add(&req->body, upload_data, n) != Q_BUF_OK) {
                req->body_too_big = 1;
                atomic_fetch_sub(&s->buffered, n + req->body.len);
                q_buf_free(&req->body);
            }
        }
        if (req->server_busy && req->body.len) {
            atomic_fetch_sub(&s->buffered, req->body.len);
            q_buf_free(&req->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->replied)
        return MHD_YES;
    if (req->suspended) {
        /* Woken by http_resume(): send the stored reply, or let the handler look again. */
        req->suspended = 0;
        req->resumed = 1;
        if (req->deferred_status) {
            json_t *body = req->deferred_body;
            char *text = req->deferred_text;

            req->deferred_body = NULL;
            req->deferred_text = NULL;
            if (text)
                send_reply_text(req, req->deferred_status, text);
            else
                send_reply(req, req->deferred_status, body);
            return MHD_YES;
        }
    }
    s->handler(req, s->ctx);
    if (!req->replied && !req->suspended) {
        q_error e;
        q_error_set(&e, 500, "INTERNAL", "the request was not answered");
        http_reply_error(req, &e);
    }
    return MHD_YES;
}

void http_body_discard(http_request *req)
{
    req->body_discarded = 1;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_request *req = *con_cls;

    (void)conn;
    (void)toe;
    if (!req)
        return;
    if (req->user_free)
        req->user_free(req->user);
    json_decref(req->deferred_body);
    free(req->deferred_text);
    atomic_fetch_sub(&s->buffered, req->body.len);
    q_buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

/* Percent-decodes the path and query arguments in place, except %00: a NUL would cut the
 * string short and turn "/v1/questions/x%00/cancel" into another route. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *r = s, *w = s;

    (void)cls;
    (void)conn;
    while (*r) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2]) &&
            !(r[1] == '0' && r[2] == '0')) {
            char hex[3] = {r[1], r[2], '\0'};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    q_log(Q_LOG_WARN, "http.server_error", json_pack("{s:s}", "msg", msg));
}

http_server *http_server_start(const http_config *cfg, http_handler handler, void *ctx)
{
    http_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa;

    if (!s)
        return NULL;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1) {
        q_log(Q_LOG_ERROR, "http.bad_listen_address", json_pack("{s:s}", "host", cfg->host));
        free(s);
        return NULL;
    }
    s->handler = handler;
    s->begin = cfg->begin;
    s->ctx = ctx;
    s->max_body = cfg->max_body;
    s->max_buffered = cfg->max_buffered ? cfg->max_buffered : (size_t)64 << 20;
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
            MHD_ALLOW_SUSPEND_RESUME,
        (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_error, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout, MHD_OPTION_CONNECTION_LIMIT,
        cfg->connection_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->connection_memory,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (!s->daemon) {
        q_log(Q_LOG_ERROR, "http.start_failed",
              json_pack("{s:s,s:i}", "host", cfg->host, "port", cfg->port));
        free(s);
        return NULL;
    }
    return s;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
