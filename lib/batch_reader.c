/* batch_reader.c - splits a streamed batch upload into requests (see batch_reader.h).
 *
 * JSONL is split on '\n'. The JSON form is walked by a small state machine that knows only
 * what it must: the top-level object, its "requests" array and "metadata" value, and where
 * any JSON value ends (depth of brackets outside strings, escapes inside them). Each
 * request's bytes are collected and handed over; json_loadb does the real parsing later. */
#include "batch_reader.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define METADATA_MAX (16 * 1024)
#define KEY_MAX 64

typedef enum {
    S_START,          /* before the top-level '{' */
    S_KEY_OR_END,     /* after '{': a key or '}' */
    S_KEY_START,      /* after ',': a key */
    S_KEY,            /* inside a key string */
    S_COLON,
    S_VALUE,          /* before a member's value */
    S_ELEM_OR_END,    /* after '[': an element or ']' */
    S_ELEM_START,     /* after ',' in the array: an element */
    S_ELEM,           /* inside an element */
    S_ELEM_AFTER,     /* after an element: ',' or ']' */
    S_METADATA,       /* inside the metadata value */
    S_AFTER_VALUE,    /* after a member's value: ',' or '}' */
    S_END,            /* after the top-level '}': only whitespace */
    S_FAILED
} state;

/* Where a JSON value being collected ends. */
typedef struct {
    int depth;        /* open brackets */
    int in_string;
    int escaped;
    int scalar;       /* a number, true, false or null: ends at a delimiter */
} value_scan;

struct q_batch_reader {
    q_batch_format format;
    size_t max_item;
    q_batch_item_fn fn;
    void *ctx;
    state st;
    q_buf item;       /* the request being collected */
    q_buf meta;       /* the metadata value being collected */
    int too_large;
    long position;    /* JSONL: current line; JSON: index of the next element */
    value_scan scan;
    char key[KEY_MAX + 1];
    size_t key_len;
    int key_escaped;
    int seen_requests, seen_metadata;
    json_t *metadata;
    const char *error;
};

q_batch_reader *q_batch_reader_new(q_batch_format format, size_t max_item, q_batch_item_fn fn, void *ctx)
{
    q_batch_reader *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->format = format;
    r->max_item = max_item;
    r->fn = fn;
    r->ctx = ctx;
    r->st = S_START;
    r->position = format == Q_BATCH_FORMAT_JSONL ? 1 : 0;
    q_buf_init(&r->item, max_item);
    q_buf_init(&r->meta, METADATA_MAX);
    return r;
}

void q_batch_reader_free(q_batch_reader *r)
{
    if (!r)
        return;
    q_buf_free(&r->item);
    q_buf_free(&r->meta);
    json_decref(r->metadata);
    free(r);
}

const char *q_batch_reader_error(const q_batch_reader *r)
{
    return r->error;
}

json_t *q_batch_reader_metadata(const q_batch_reader *r)
{
    return json_incref(r->metadata);
}

static int fail(q_batch_reader *r, const char *why)
{
    if (!r->error)
        r->error = why;
    r->st = S_FAILED;
    return -1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Appends to the value being collected (b: the request or the metadata); past its cap the
 * value is marked too large and its bytes dropped. Returns 0 or -1 (out of memory). */
static int collect(q_batch_reader *r, q_buf *b, const char *p, size_t n)
{
    int rc;

    if (r->too_large)
        return 0;
    rc = q_buf_add(b, p, n);
    if (rc == Q_BUF_TOO_BIG) {
        r->too_large = 1;
        q_buf_reset(b);
        return 0;
    }
    return rc == Q_BUF_OK ? 0 : -1;
}

/* Hands the first len bytes of the collected request over and starts the next one. */
static int emit_len(q_batch_reader *r, long position, size_t len)
{
    int rc;

    if (!r->too_large && r->item.data)
        r->item.data[len] = '\0'; /* cuts a trailing CR; len <= item.len */
    rc = r->fn(r->ctx, r->too_large ? "" : q_buf_cstr(&r->item), r->too_large ? 0 : len,
               position, r->too_large);

    q_buf_reset(&r->item);
    r->too_large = 0;
    return rc == 0 ? 0 : fail(r, "stopped");
}

static int emit(q_batch_reader *r, long position)
{
    return emit_len(r, position, r->item.len);
}

/* --- JSONL ------------------------------------------------------------------------------ */

static int line_blank(const q_buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (!is_ws(q_buf_cstr(b)[i]))
            return 0;
    return 1;
}

static int end_line(q_batch_reader *r)
{
    long line = r->position++;
    size_t len = r->item.len;

    if (!r->too_large && line_blank(&r->item)) {
        q_buf_reset(&r->item);
        return 0;
    }
    if (!r->too_large && len && q_buf_cstr(&r->item)[len - 1] == '\r')
        len--;
    return emit_len(r, line, len);
}

static int feed_jsonl(q_batch_reader *r, const char *data, size_t len)
{
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;

        if (collect(r, &r->item, data, n) != 0)
            return fail(r, "out of memory");
        if (!nl)
            break;
        if (end_line(r) != 0)
            return -1;
        data += n + 1;
        len -= n + 1;
    }
    return 0;
}

/* --- JSON form -------------------------------------------------------------------------- */

static void scan_start(value_scan *v, char c)
{
    memset(v, 0, sizeof(*v));
    if (c == '{' || c == '[')
        v->depth = 1;
    else if (c == '"')
        v->in_string = 1;
    else
        v->scalar = 1;
}

/* Feeds one byte of a value already started with scan_start. Returns 1 when the value is
 * complete after this byte (the byte belongs to it), 2 when the byte is a delimiter that
 * ended a scalar (it does not belong to the value), 0 to go on, -1 when the bytes cannot be
 * a JSON value. */
static int scan_byte(value_scan *v, char c)
{
    if (v->scalar) {
        if (c == ',' || c == ']' || c == '}' || is_ws(c))
            return 2;
        if (c == '{' || c == '[' || c == '"' || c == ':')
            return -1;
        return 0;
    }
    if (v->in_string) {
        if (v->escaped)
            v->escaped = 0;
        else if (c == '\\')
            v->escaped = 1;
        else if (c == '"') {
            v->in_string = 0;
            if (v->depth == 0)
                return 1;
        }
        return 0;
    }
    if (c == '"')
        v->in_string = 1;
    else if (c == '{' || c == '[')
        v->depth++;
    else if (c == '}' || c == ']') {
        if (--v->depth == 0)
            return 1;
    }
    return 0;
}

static int finish_metadata(q_batch_reader *r)
{
    json_error_t err;
    json_t *m;

    if (r->too_large)
        return fail(r, "metadata is larger than 16 KiB");
    m = json_loadb(q_buf_cstr(&r->meta), r->meta.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    q_buf_reset(&r->meta);
    if (!m)
        return fail(r, "metadata is not valid JSON");
    if (!json_is_object(m) && !json_is_null(m)) {
        json_decref(m);
        return fail(r, "metadata must be an object");
    }
    if (json_is_null(m))
        json_decref(m);
    else
        r->metadata = m;
    return 0;
}

static int feed_json(q_batch_reader *r, const char *data, size_t len)
{
    size_t i = 0;

    while (i < len) {
        char c = data[i];
        int end;

        switch (r->st) {
        case S_START:
            if (is_ws(c))
                break;
            if (c != '{')
                return fail(r, "the body must be a JSON object with a \"requests\" array");
            r->st = S_KEY_OR_END;
            break;
        case S_KEY_OR_END:
        case S_KEY_START:
            if (is_ws(c))
                break;
            if (c == '}' && r->st == S_KEY_OR_END) {
                r->st = S_END;
                break;
            }
            if (c != '"')
                return fail(r, "expected a member name in the top-level object");
            r->key_len = 0;
            r->key_escaped = 0;
            r->st = S_KEY;
            break;
        case S_KEY:
            if (r->key_escaped) {
                r->key_escaped = 0;
            } else if (c == '\\') {
                r->key_escaped = 1;
            } else if (c == '"') {
                r->key[r->key_len] = '\0';
                r->st = S_COLON;
                break;
            }
            if (r->key_len < KEY_MAX)
                r->key[r->key_len++] = c;
            break;
        case S_COLON:
            if (is_ws(c))
                break;
            if (c != ':')
                return fail(r, "expected ':' after a member name");
            r->st = S_VALUE;
            break;
        case S_VALUE:
            if (is_ws(c))
                break;
            if (strcmp(r->key, "requests") == 0) {
                if (r->seen_requests)
                    return fail(r, "\"requests\" appears twice");
                r->seen_requests = 1;
                if (c != '[')
                    return fail(r, "\"requests\" must be an array");
                r->st = S_ELEM_OR_END;
            } else if (strcmp(r->key, "metadata") == 0) {
                if (r->seen_metadata)
                    return fail(r, "\"metadata\" appears twice");
                r->seen_metadata = 1;
                scan_start(&r->scan, c);
                if (collect(r, &r->meta, &c, 1) != 0)
                    return fail(r, "out of memory");
                r->st = S_METADATA;
            } else {
                return fail(r, "unknown member in the top-level object (only \"requests\" and "
                               "\"metadata\" are allowed)");
            }
            break;
        case S_ELEM_OR_END:
        case S_ELEM_START:
            if (is_ws(c))
                break;
            if (c == ']' && r->st == S_ELEM_OR_END) {
                r->st = S_AFTER_VALUE;
                break;
            }
            if (c == ']' || c == ',' || c == '}' || c == ':')
                return fail(r, "expected a request in the \"requests\" array");
            scan_start(&r->scan, c);
            if (collect(r, &r->item, &c, 1) != 0)
                return fail(r, "out of memory");
            r->st = S_ELEM;
            break;
        case S_ELEM:
            if (r->scan.in_string && !r->scan.escaped) {
                /* Most of a request is string contents: take the run up to the next quote
                 * or backslash in one go. */
                size_t j = i;

                while (j < len && data[j] != '"' && data[j] != '\\')
                    j++;
                if (j > i) {
                    if (collect(r, &r->item, data + i, j - i) != 0)
                        return fail(r, "out of memory");
                    i = j;
                    continue;
                }
            }
            end = scan_byte(&r->scan, c);
            if (end < 0)
                return fail(r, "a request in the \"requests\" array is not a JSON value");
            if (end == 2) {
                r->st = S_ELEM_AFTER;
                if (emit(r, r->position++) != 0)
                    return -1;
                continue; /* the delimiter is read again in S_ELEM_AFTER */
            }
            if (collect(r, &r->item, &c, 1) != 0)
                return fail(r, "out of memory");
            if (end == 1) {
                r->st = S_ELEM_AFTER;
                if (emit(r, r->position++) != 0)
                    return -1;
            }
            break;
        case S_ELEM_AFTER:
            if (is_ws(c))
                break;
            if (c == ',')
                r->st = S_ELEM_START;
            else if (c == ']')
                r->st = S_AFTER_VALUE;
            else
                return fail(r, "expected ',' or ']' after a request");
            break;
        case S_METADATA:
            end = scan_byte(&r->scan, c);
            if (end < 0)
                return fail(r, "metadata is not valid JSON");
            if (end == 2) {
                r->st = S_AFTER_VALUE;
                if (finish_metadata(r) != 0)
                    return -1;
                continue;
            }
            if (collect(r, &r->meta, &c, 1) != 0)
                return fail(r, "out of memory");
            if (end == 1) {
                r->st = S_AFTER_VALUE;
                if (finish_metadata(r) != 0)
                    return -1;
            }
            break;
        case S_AFTER_VALUE:
            if (is_ws(c))
                break;
            if (c == ',')
                r->st = S_KEY_START;
            else if (c == '}')
                r->st = S_END;
            else
                return fail(r, "expected ',' or '}' in the top-level object");
            break;
        case S_END:
            if (!is_ws(c))
                return fail(r, "unexpected data after the top-level object");
            break;
        case S_FAILED:
            return -1;
        }
        i++;
    }
    return 0;
}

int q_batch_reader_feed(q_batch_reader *r, const char *data, size_t len)
{
    if (r->st == S_FAILED)
        return -1;
    return r->format == Q_BATCH_FORMAT_JSONL ? feed_jsonl(r, data, len) : feed_json(r, data, len);
}

int q_batch_reader_finish(q_batch_reader *r)
{
    if (r->st == S_FAILED)
        return -1;
    if (r->format == Q_BATCH_FORMAT_JSONL)
        return (r->item.len || r->too_large) ? end_line(r) : 0;
    if (r->st == S_START)
        return fail(r, "the body is empty");
    if (r->st != S_END)
        return fail(r, "the body ended before the top-level object was complete");
    if (!r->seen_requests)
        return fail(r, "the body has no \"requests\" array");
    return 0;
}
