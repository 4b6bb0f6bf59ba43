/* buf.c - growable byte buffer with a hard size cap (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void q_buf_init(q_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void q_buf_free(q_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void q_buf_reset(q_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_reserve(q_buf *b, size_t extra)
{
    size_t need, nalloc;
    char *p;

    if (extra > b->cap || b->len > b->cap - extra)
        return Q_BUF_TOO_BIG;
    need = b->len + extra + 1;
    if (need <= b->alloc)
        return Q_BUF_OK;
    nalloc = b->alloc ? b->alloc : 64;
    while (nalloc < need)
        nalloc *= 2;
    if (nalloc > b->cap + 1)
        nalloc = b->cap + 1;
    p = realloc(b->data, nalloc);
    if (!p)
        return Q_BUF_NOMEM;
    b->data = p;
    b->alloc = nalloc;
    return Q_BUF_OK;
}

int q_buf_reserve(q_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

int q_buf_add(q_buf *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);

    if (rc != Q_BUF_OK)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return Q_BUF_OK;
}

int q_buf_adds(q_buf *b, const char *s)
{
    return q_buf_add(b, s, strlen(s));
}

int q_buf_addc(q_buf *b, char c)
{
    return q_buf_add(b, &c, 1);
}

int q_buf_printf(q_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return Q_BUF_NOMEM;
    rc = buf_reserve(b, (size_t)n);
    if (rc != Q_BUF_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return Q_BUF_OK;
}

const char *q_buf_cstr(const q_buf *b)
{
    return b->data ? b->data : "";
}

char *q_buf_take(q_buf *b)
{
    char *p = b->data;

    if (!p)
        return strdup("");
    b->data = NULL;
    b->len = b->alloc = 0;
    return p;
}

char *q_buf_read_file(const char *path, size_t cap)
{
    FILE *f = fopen(path, "rb");
    q_buf b;
    char chunk[8192];
    size_t n;
    int failed = 0;

    if (!f)
        return NULL;
    q_buf_init(&b, cap);
    while (!failed && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        failed = q_buf_add(&b, chunk, n) != Q_BUF_OK;
    failed |= ferror(f);
    fclose(f);
    if (failed) {
        q_buf_free(&b);
        return NULL;
    }
    return q_buf_take(&b);
}

size_t q_buf_write_cb(char *data, size_t size, size_t nmemb, void *buf)
{
    return q_buf_add(buf, data, size * nmemb) == Q_BUF_OK ? size * nmemb : 0;
}

void q_buf_reset_shrink(q_buf *b, size_t keep)
{
    if (b->alloc > keep) {
        free(b->data);
        b->data = NULL;
        b->len = b->alloc = 0;
        return;
    }
    q_buf_reset(b);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
    size_t n, i;
    unsigned c = p[0];

    if (c < 0x80)
        return c ? 1 : 0;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (left < n)
        return 0;
    for (i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

int q_buf_add_json_string(q_buf *b, const char *s, size_t len, int replace_invalid)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t start_len = b->len, i = 0, run;
    int rc;

    if ((rc = q_buf_addc(b, '"')) != Q_BUF_OK)
        return rc;
    while (i < len) {
        /* copy the longest run that needs no escaping in one go */
        for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
                      p[run] != '\\';
             run++)
            ;
        if (run > i && (rc = q_buf_add(b, p + i, run - i)) != Q_BUF_OK)
            goto fail;
        i = run;
        if (i == len)
            break;
        if (p[i] >= 0x80) {
            size_t n = utf8_seq_len(p + i, len - i);

            if (n) {
                rc = q_buf_add(b, p + i, n);
                i += n;
            } else if (replace_invalid) {
                rc = q_buf_add(b, "\\uFFFD", 6);
                i++;
            } else {
                rc = Q_BUF_BAD_UTF8;
            }
        } else if (p[i] == 0 && !replace_invalid) {
            rc = Q_BUF_BAD_UTF8;
        } else {
            char esc[6] = {'\\', 0, 0, 0, 0, 0};
            size_t n = 2;

            switch (p[i]) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            default:
                if (p[i] == 0) { /* PostgreSQL refuses \u0000 in text: replace it too */
                    memcpy(esc, "\\uFFFD", 6);
                } else {
                    memcpy(esc, "\\u00", 4);
                    esc[4] = hex[p[i] >> 4];
                    esc[5] = hex[p[i] & 15];
                }
                n = 6;
            }
            rc = q_buf_add(b, esc, n);
            i++;
        }
        if (rc != Q_BUF_OK)
            goto fail;
    }
    if ((rc = q_buf_addc(b, '"')) != Q_BUF_OK)
        goto fail;
    return Q_BUF_OK;
fail:
    b->len = start_len;
    if (b->data)
        b->data[b->len] = '\0';
    return rc;
}
