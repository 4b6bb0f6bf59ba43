/* wire.h - the request, reply and error values passed between the HTTP glue and the API logic.
 *
 * The emulator's API code never sees libmicrohttpd: the server module fills an
 * emu_wire_request (pointers it owns for the duration of one call), the API code fills an
 * emu_reply, and the server turns that into an HTTP response. Errors a client can cause are
 * carried as emu_error: an HTTP status, a stable AWS error code (the part that goes before
 * ':' in x-amzn-ErrorType) and a human message in AWS's own wording.
 *
 * Ownership: emu_error.message and emu_reply.body are heap memory owned by their struct;
 * emu_error_clear() and emu_reply_free() release them and accept zeroed structs. */
#ifndef QUARRY_EMU_WIRE_H
#define QUARRY_EMU_WIRE_H

#include <stddef.h>

#include <jansson.h>

#include "sigv4.h"

/* Largest request body kept in memory; bigger bodies are drained and refused. */
#define EMU_MAX_BODY ((size_t)1 << 20)

typedef struct {
    const char *method;
    const char *path;             /* raw wire path, still percent-encoded */
    const char *query;            /* raw wire query without '?', "" when none */
    const q_http_header *headers; /* every request header, as received */
    size_t n_headers;
    const char *body;             /* NULL when the body was larger than EMU_MAX_BODY */
    size_t body_len;
} emu_wire_request;

/* First value of header `name` (case-insensitive), or NULL when absent. */
const char *emu_wire_header(const emu_wire_request *req, const char *name);

typedef struct {
    unsigned status;
    const char *code;             /* static string such as "ValidationException" */
    char *message;                /* NULL only when out of memory */
} emu_error;

/* Sets status, code and a printf-formatted message, replacing what `e` held. */
void emu_error_set(emu_error *e, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void emu_error_clear(emu_error *e);

typedef enum {
    EMU_REPLY_SEND,               /* send status, headers and body */
    EMU_REPLY_RESET               /* close the connection with a TCP reset, send nothing */
} emu_reply_action;

typedef struct {
    unsigned status;
    const char *error_code;       /* NULL on success; else goes into x-amzn-ErrorType */
    char request_id[37];          /* x-amzn-RequestId, set by the server before dispatch */
    char *body;                   /* JSON text, malloc'd; NULL when nothing was built yet */
    size_t body_len;
    int has_usage;                /* add the X-Amzn-Bedrock-* token and latency headers */
    unsigned input_tokens;
    unsigned output_tokens;
    unsigned latency_ms;
    unsigned delay_ms;            /* hold the reply this long before sending it */
    emu_reply_action action;      /* what to do when the reply is due */
} emu_reply;

/* Makes `r` a Bedrock error reply: status and code from `e`, body {"message": ...}.
 * Keeps r->request_id. Returns 0, or -1 when out of memory (r->body stays NULL and the
 * server falls back to a fixed 500 reply). */
int emu_reply_error(emu_reply *r, const emu_error *e);

/* Shorthand for emu_reply_error with a one-off error. */
int emu_reply_fail(emu_reply *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Makes `r` a JSON reply with `status`. Steals `body` (NULL counts as out of memory).
 * Returns 0, or -1 when out of memory. */
int emu_reply_json(emu_reply *r, unsigned status, json_t *body);

/* Releases the body and zeroes everything but request_id. */
void emu_reply_free(emu_reply *r);

#endif
