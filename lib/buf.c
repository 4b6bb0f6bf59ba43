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
