/* buf.h - growable byte buffer with a hard size cap (in the spirit of curl's dynbuf).
 *
 * A q_buf always keeps a terminating NUL after its contents once anything was added,
 * so q_buf_cstr() can be passed to string functions. Appending past the cap fails with
 * Q_BUF_TOO_BIG and leaves the buffer unchanged; running out of memory gives Q_BUF_NOMEM.
 * The buffer owns its memory; q_buf_free() releases it and accepts a zeroed q_buf. */
#ifndef QUARRY_BUF_H
#define QUARRY_BUF_H

#include <stddef.h>

typedef struct {
    char *data;    /* private */
    size_t len;    /* read-only: bytes held, excluding the NUL */
    size_t alloc;  /* private */
    size_t cap;    /* read-only: most bytes it may ever hold */
} q_buf;

enum { Q_BUF_OK = 0, Q_BUF_NOMEM = -1, Q_BUF_TOO_BIG = -2, Q_BUF_BAD_UTF8 = -3 };

void q_buf_init(q_buf *b, size_t cap);
void q_buf_free(q_buf *b);
void q_buf_reset(q_buf *b);
/* Makes room for `extra` more bytes now (one allocation instead of a doubling chain when
 * the final size is known roughly). Q_BUF_OK, or the error q_buf_add would give. */
int q_buf_reserve(q_buf *b, size_t extra);
int q_buf_add(q_buf *b, const void *data, size_t len);
int q_buf_adds(q_buf *b, const char *s);
int q_buf_addc(q_buf *b, char c);
int q_buf_printf(q_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Never NULL: "" for an empty buffer. */
const char *q_buf_cstr(const q_buf *b);
/* Hands the NUL-terminated contents to the caller (free() them) and empties the buffer;
 * an empty, never-allocated buffer gives a fresh "" (NULL only when out of memory). */
char *q_buf_take(q_buf *b);

/* Empties the buffer like q_buf_reset, but gives its memory back when more than `keep`
 * bytes are allocated, so a buffer reused for many small contents does not hold on to
 * one large one. */
void q_buf_reset_shrink(q_buf *b, size_t keep);

/* Appends s[0..len) as a JSON string literal, quotes included, escaped as jansson
 * escapes (", \, control characters; '/' and non-ASCII kept as they are). Invalid
 * UTF-8 (or a NUL byte) gives Q_BUF_BAD_UTF8 and leaves the buffer unchanged, unless
 * `replace_invalid` is set: then each offending byte is written as \uFFFD. */
int q_buf_add_json_string(q_buf *b, const char *s, size_t len, int replace_invalid);

/* A libcurl CURLOPT_WRITEFUNCTION that appends to the q_buf given as CURLOPT_WRITEDATA.
 * Returns the bytes taken; anything short of size * nmemb (cap reached, out of memory)
 * makes libcurl abort the transfer with CURLE_WRITE_ERROR. */
size_t q_buf_write_cb(char *data, size_t size, size_t nmemb, void *buf);

/* Reads a whole file into a NUL-terminated malloc'd string (free() it). Returns NULL when
 * the file cannot be opened or read, or holds more than `cap` bytes. */
char *q_buf_read_file(const char *path, size_t cap);

#endif
