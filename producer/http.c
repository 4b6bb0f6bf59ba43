/* http.c - the intake's HTTP layer over libmicrohttpd (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ids.h"
#include "log.h"

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler handler;
    void *ctx;
    size_t max_body;
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

void http_reply_json(http_request *req, unsigned status, json_t *body, const char *location)
{
    struct MHD_Response *resp;
    char *text;

    if (req->replied) { /* a handler bug; never send twice */
        json_decref(body);
        return;
    }
    req->replied = 1;
    text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (!text) {
        text = strdup("{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}}");
        status = 500;
        if (!text)
            return;
    }
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "X-Request-ID", req->request_id);
    if (location)
        MHD_add_response_header(resp, "Location", location);
    MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
}

void http_reply_error(http_request *req, const q_error *e)
{
    http_reply_json(req, (unsigned)e->http_status,
                    json_pack("{s:{s:s,s:s},s:s}", "error", "code", e->code, "message",
                              e->message, "request_id", req->request_id),
                    NULL);
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
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->body_too_big &&
            q_buf_add(&req->body, upload_data, *upload_data_size) != Q_BUF_OK) {
            req->body_too_big = 1;
            q_buf_free(&req->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->replied)
        return MHD_YES;
    s->handler(req, s->ctx);
    if (!req->replied) {
        q_error e;
        q_error_set(&e, 500, "INTERNAL", "the request was not answered");
        http_reply_error(req, &e);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_request *req = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!req)
        return;
    q_buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    q_log(Q_LOG_WARN, "http.server_error", json_pack("{s:s}", "msg", msg));
}

http_server *http_server_start(const char *host, int port, unsigned threads, size_t max_body,
                               http_handler handler, void *ctx)
{
    http_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa;

    if (!s)
        return NULL;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        q_log(Q_LOG_ERROR, "http.bad_listen_address", json_pack("{s:s}", "host", host));
        free(s);
        return NULL;
    }
    s->handler = handler;
    s->ctx = ctx;
    s->max_body = max_body;
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port,
        NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_error, NULL, MHD_OPTION_END);
    if (!s->daemon) {
        q_log(Q_LOG_ERROR, "http.start_failed",
              json_pack("{s:s,s:i}", "host", host, "port", port));
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
