/* ids.c - job ids, request ids and API keys (see ids.h). */
#include "ids.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "sigv4.h"

static void format_uuid(const unsigned char b[16], char out[Q_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

/* Random bytes for ids, from the kernel's CSPRNG (getrandom), fetched 512 bytes at a time
 * per thread: one system call per 32 ids instead of a locked generator call per id (the
 * intake makes two ids per submission). Not for secrets: API keys use RAND_bytes. A forked
 * child starts with an empty pool, so it never hands out the parent's next ids. */
static _Thread_local unsigned char pool[512];
static _Thread_local size_t left;
static pthread_once_t fork_guard = PTHREAD_ONCE_INIT;

static void empty_pool(void)
{
    left = 0;
}

static void install_fork_guard(void)
{
    pthread_atfork(NULL, NULL, empty_pool);
}

static int id_random(unsigned char *out, size_t n)
{
    pthread_once(&fork_guard, install_fork_guard);
    if (n > sizeof(pool))
        return -1;
    if (left < n) {
        size_t got = 0;

        while (got < sizeof(pool)) {
            ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        left = sizeof(pool);
    }
    memcpy(out, pool + sizeof(pool) - left, n);
    memset(pool + sizeof(pool) - left, 0, n); /* handed out once */
    left -= n;
    return 0;
}

int q_uuid_v7(char out[Q_UUID_LEN + 1])
{
    unsigned char b[16];
    struct timespec ts;
    uint64_t ms;

    if (id_random(b, sizeof(b)) != 0)
        return -1;
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
    return 0;
}

int q_uuid_v4(char out[Q_UUID_LEN + 1])
{
    unsigned char b[16];

    if (id_random(b, sizeof(b)) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
    return 0;
}

int q_uuid_valid(const char *s)
{
    size_t i;

    if (!s || strlen(s) != Q_UUID_LEN)
        return 0;
    for (i = 0; i < Q_UUID_LEN; i++) {
        int dash = (i == 8 || i == 13 || i == 18 || i == 23);
        char c = s[i];

        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

int q_api_key_generate(char out[Q_API_KEY_LEN + 1])
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const size_t body = Q_API_KEY_LEN - strlen(Q_API_KEY_PREFIX);
    unsigned char r;
    size_t n = 0;

    memcpy(out, Q_API_KEY_PREFIX, strlen(Q_API_KEY_PREFIX));
    while (n < body) {
        if (RAND_bytes(&r, 1) != 1)
            return -1;
        if (r >= 248) /* 248 = 4 * 62: reject to keep every character equally likely */
            continue;
        out[strlen(Q_API_KEY_PREFIX) + n++] = alphabet[r % 62];
    }
    out[Q_API_KEY_LEN] = '\0';
    return 0;
}

void q_api_key_hash_hex(const char *raw_key, size_t len, char out[65])
{
    q_sha256_hex(raw_key, len, out);
}
