/* wire.c - request, reply and error values shared by the HTTP glue and the API code. */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *emu_wire_header(const emu_wire_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value ? req->headers[i].value : "";
    return NULL;
}

static void error_vset(emu_error *e, unsigned status, const char *code, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

static void error_vset(emu_error *e, unsigned status, const char *code, const char *fmt,
                       va_list ap)
{
    char *msg = NULL;

    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    free(e->message);
    e->status = status;
    e->code = code;
    e->message = msg;
}

void emu_error_set(emu_error *e, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(e, status, code, fmt, ap);
    va_end(ap);
}

void emu_error_clear(emu_error *e)
{
    if (!e)
        return;
    free(e->message);
    e->message = NULL;
    e->status = 0;
    e->code = NULL;
}

int emu_reply_json(emu_reply *r, unsigned status, json_t *body)
{
    char *text = NULL;

    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    if (body) {
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        json_decref(body);
    }
    if (text) {
        r->status = status;
        r->body = text;
        r->body_len = strlen(text);
    }
    return text ? 0 : -1;
}

int emu_reply_error(emu_reply *r, const emu_error *e)
{
    const char *msg = e->message ? e->message : "An internal error occurred.";
    json_t *text = json_string(msg);

    /* Messages may quote client bytes (a path, a header value) that are not UTF-8:
     * JSON cannot carry those, so they become '?'. */
    if (!text) {
        char *safe = strdup(msg);

        for (char *p = safe; p && *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        text = safe ? json_string(safe) : NULL;
        free(safe);
    }
    r->has_usage = 0;
    r->delay_ms = 0;
    r->action = EMU_REPLY_SEND;
    r->error_code = e->code;
    return emu_reply_json(r, e->status, text ? json_pack("{s:o}", "message", text) : NULL);
}

int emu_reply_fail(emu_reply *r, unsigned status, const char *code, const char *fmt, ...)
{
    emu_error e = {0};
    va_list ap;
    int rc;

    va_start(ap, fmt);
    error_vset(&e, status, code, fmt, ap);
    va_end(ap);
    rc = emu_reply_error(r, &e);
    emu_error_clear(&e);
    return rc;
}

void emu_reply_free(emu_reply *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    r->status = 0;
    r->error_code = NULL;
    r->has_usage = 0;
    r->input_tokens = r->output_tokens = r->latency_ms = r->delay_ms = 0;
    r->action = EMU_REPLY_SEND;
}
