/* http.h - the intake's HTTP layer over libmicrohttpd: reads a request (headers and a
 * size-capped body), hands it to a route handler, and writes JSON responses that all
 * carry X-Request-ID and the CORS headers. Handlers never touch libmicrohttpd directly.
 *
 * A handler answers at once (http_reply_*), or parks the request without holding a thread:
 * http_suspend() inside the handler, then, from any thread, either http_defer_reply_json()
 * (or _text) followed by http_resume() (the stored reply is sent), or http_resume() alone
 * (the handler runs again for the same request, with req->resumed set). After http_resume() the caller
 * must not touch the request again: it may already be freed.
 *
 * Large uploads can be streamed instead of buffered: the server's begin hook runs once the
 * headers are in, before any body byte, and may set req->on_body (and req->user) to receive
 * the body in chunks as they arrive; the handler then runs at the end as usual, with
 * req->body empty. The begin hook may also reply at once: the rest of the body is then
 * dropped unread. on_body cannot reply (libmicrohttpd 0.9 queues no response while a body
 * is arriving): when the upload cannot go on it calls http_body_discard() and leaves the
 * answer to the handler. Large responses can be streamed too (http_reply_stream): chunked,
 * produced piece by piece as the client reads. */
#ifndef QUARRY_INTAKE_HTTP_H
#define QUARRY_INTAKE_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

struct MHD_Connection;
struct http_request;

/* Receives the next piece of a streamed request body (see req->on_body). */
typedef void (*http_body_fn)(struct http_request *req, const char *data, size_t len);

#define HTTP_MAX_EXTRA_HEADERS 10

typedef struct {
    const char *name;             /* static string */
    char value[96];
} http_header_kv;

typedef struct http_request {
    struct MHD_Connection *conn;  /* private */
    const char *method;           /* "GET", "POST", ... */
    const char *path;             /* path without the query string */
    q_buf body;                   /* read-only for handlers */
    int body_too_big;             /* read-only: the body exceeded the cap */
    int server_busy;              /* read-only: bodies in flight exceed the server's budget */
    int replied;                  /* private */
    int body_discarded;           /* private: see http_body_discard */
    size_t discarded;             /* private: body bytes dropped unread */
    int suspended;                /* private */
    int resumed;                  /* read-only: the handler runs again after http_resume() */
    char request_id[72];          /* from X-Request-ID when well-formed, else a UUIDv4 */
    http_header_kv extra[HTTP_MAX_EXTRA_HEADERS]; /* private: see http_add_header */
    int n_extra;                  /* private */
    unsigned deferred_status;     /* private */
    json_t *deferred_body;        /* private */
    char *deferred_text;          /* private */
    http_body_fn on_body;         /* set by the begin hook to stream the body (may be NULL) */
    void *user;                   /* the handler's state across a suspension */
    void (*user_free)(void *);    /* called on user when the request ends (may be NULL) */
} http_request;

/* Called once per complete request (and again after each http_resume() without a deferred
 * reply); must reply, or suspend, before it returns. */
typedef void (*http_handler)(http_request *req, void *ctx);

typedef struct http_server http_server;

typedef struct {
    const char *host;
    int port;
    unsigned threads;
    size_t max_body;              /* larger bodies are not buffered: the handler sees body_too_big */
    unsigned connection_limit;    /* open connections at most */
    unsigned idle_timeout;        /* seconds a connection may stay silent (slow or idle clients) */
    size_t connection_memory;     /* per-connection header/read buffer cap (bigger headers: 431) */
    size_t max_buffered;          /* request bodies held at once, all connections together */
    http_handler begin;           /* optional: runs when a request's headers are in */
} http_config;

/* Starts listening. Returns NULL (logged) on failure. */
http_server *http_server_start(const http_config *cfg, http_handler handler, void *ctx);
/* Stops accepting, waits for the workers, frees everything. Accepts NULL. Every suspended
 * request must have been resumed first. */
void http_server_stop(http_server *s);

/* Case-insensitive request header lookup; NULL when absent. */
const char *http_header(const http_request *req, const char *name);
/* Query-string argument; NULL when absent. */
const char *http_query(const http_request *req, const char *name);

/* Adds a response header (name: a static string) to whatever reply this request gets.
 * Silently ignored past HTTP_MAX_EXTRA_HEADERS. */
void http_add_header(http_request *req, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends `status` with the JSON `body` (stolen; NULL for an empty body). `location` may be
 * NULL. */
void http_reply_json(http_request *req, unsigned status, json_t *body, const char *location);
/* Sends the error as {"error":{"code","message"},"request_id"} with e->http_status. */
void http_reply_error(http_request *req, const q_error *e);
/* The same error body, as a new object (for deferred replies); `details` (stolen, may be
 * NULL) goes into error.details. */
json_t *http_error_body(const http_request *req, const q_error *e, json_t *details);

/* Produces the next piece of a streamed response into buf (at most max bytes): returns the
 * count (> 0), 0 at the end of the stream, or -1 on an error (the connection is closed, so
 * the client sees a truncated chunked body rather than a wrong one). Runs on a server
 * thread, once per piece, as the client reads. */
typedef long (*http_stream_fn)(void *cls, char *buf, size_t max);

/* Sends `status` with a chunked body of `content_type` produced by fn(cls, ...); free_cls
 * (may be NULL) is called on cls when the response is done or abandoned. If the response
 * cannot be created, free_cls is called at once and a 500 is sent. */
void http_reply_stream(http_request *req, unsigned status, const char *content_type,
                       http_stream_fn fn, void *cls, void (*free_cls)(void *));

/* From on_body: the rest of the body is read and dropped, on_body is not called again,
 * and the handler runs when the body has ended, as usual, to answer. A client that sends
 * more than HTTP_MAX_DISCARD bytes after that (or after an early reply) is disconnected
 * unanswered. */
#define HTTP_MAX_DISCARD ((size_t)16 << 20)
void http_body_discard(http_request *req);

/* Parks the request; only from inside the handler. */
void http_suspend(http_request *req);
/* Stores the reply a suspended request gets when it is resumed (body stolen). */
void http_defer_reply_json(http_request *req, unsigned status, json_t *body);
/* The same with a JSON document already written out (malloc'd, owned from here on), for
 * the busiest answers, which are cheaper to write than to build and dump with jansson. */
void http_defer_reply_text(http_request *req, unsigned status, char *json_text);
/* Wakes a suspended request; from any thread. The request must not be used afterwards. */
void http_resume(http_request *req);

#endif
