/* rng.c - counter-based SplitMix64 streams, UUIDs and base62 ids (see rng.h). */
#include "rng.h"

#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

uint64_t emu_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void emu_rng_init(emu_rng *r, uint64_t seed)
{
    r->seed = seed;
    atomic_init(&r->counter, 0);
}

uint64_t emu_rng_u64(emu_rng *r)
{
    uint64_t n = atomic_fetch_add_explicit(&r->counter, 1, memory_order_relaxed) + 1;

    return emu_mix64(r->seed + n * GOLDEN_GAMMA);
}

double emu_rng_unit(emu_rng *r)
{
    return (double)(emu_rng_u64(r) >> 11) * 0x1.0p-53;
}

void emu_rng_uuid4(emu_rng *r, char out[37])
{
    uint64_t hi = emu_rng_u64(r), lo = emu_rng_u64(r);

    hi = (hi & ~0xf000ULL) | 0x4000ULL;                     /* version 4 */
    lo = (lo & ~(0xc000ULL << 48)) | (0x8000ULL << 48);      /* variant 10xx */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)((hi >> 16) & 0xffff), (unsigned)(hi & 0xffff),
             (unsigned)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffULL));
}

void emu_rng_base62(emu_rng *r, char *out, size_t n)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t bits = 0;
    unsigned left = 0;

    for (size_t i = 0; i < n; i++) {
        /* 10 characters per 64-bit draw (62^10 < 2^60); the slight bias is harmless. */
        if (left == 0) {
            bits = emu_rng_u64(r);
            left = 10;
        }
        out[i] = alphabet[bits % 62];
        bits /= 62;
        left--;
    }
    out[n] = '\0';
}

uint64_t emu_rng_entropy(void)
{
    uint64_t v = 0;
    struct timespec ts;

    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    clock_gettime(CLOCK_REALTIME, &ts);
    return emu_mix64((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
           emu_mix64((uint64_t)getpid());
}
