/* http.h - the intake's HTTP layer over libmicrohttpd: reads a request (headers and a
 * size-capped body), hands it to a route handler, and writes JSON responses that all
 * carry X-Request-ID. Handlers never touch libmicrohttpd directly. */
#ifndef QUARRY_INTAKE_HTTP_H
#define QUARRY_INTAKE_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

struct MHD_Connection;

typedef struct {
    struct MHD_Connection *conn;  /* private */
    const char *method;           /* "GET", "POST", ... */
    const char *path;             /* path without the query string */
    q_buf body;                   /* read-only for handlers */
    int body_too_big;             /* read-only: the body exceeded the cap */
    int replied;                  /* private */
    char request_id[72];          /* from X-Request-ID when well-formed, else a UUIDv4 */
} http_request;

/* Called once per complete request; must call http_reply_* exactly once. */
typedef void (*http_handler)(http_request *req, void *ctx);

typedef struct http_server http_server;

/* Starts listening on host:port with `threads` worker threads. Bodies larger than
 * `max_body` bytes are not buffered (the handler sees body_too_big). Returns NULL
 * (logged) on failure. */
http_server *http_server_start(const char *host, int port, unsigned threads, size_t max_body,
                               http_handler handler, void *ctx);
/* Stops accepting, waits for the workers, frees everything. Accepts NULL. */
void http_server_stop(http_server *s);

/* Case-insensitive request header lookup; NULL when absent. */
const char *http_header(const http_request *req, const char *name);
/* Query-string argument; NULL when absent. */
const char *http_query(const http_request *req, const char *name);

/* Sends `status` with the JSON `body` (stolen). `location` may be NULL. */
void http_reply_json(http_request *req, unsigned status, json_t *body, const char *location);
/* Sends the error as {"error":{"code","message"},"request_id"} with e->http_status. */
void http_reply_error(http_request *req, const q_error *e);

#endif
