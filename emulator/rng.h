/* rng.h - lock-free pseudo-random draws for throttling decisions and request ids.
 *
 * Each emu_rng is a counter-based SplitMix64 stream: draw n is a pure function of
 * (seed, n), and threads take draws with one atomic increment, so the sequence of values
 * a seeded stream hands out is reproducible (which thread gets which draw is not).
 * Not for secrets: the ids only have to be unique and look like AWS's. */
#ifndef QUARRY_EMU_RNG_H
#define QUARRY_EMU_RNG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seed;              /* private */
    _Atomic uint64_t counter;   /* private */
} emu_rng;

void emu_rng_init(emu_rng *r, uint64_t seed);

/* Next 64 random bits. Thread-safe. */
uint64_t emu_rng_u64(emu_rng *r);

/* Uniform double in [0, 1). Thread-safe. */
double emu_rng_unit(emu_rng *r);

/* Writes a random (version 4, variant 1) lowercase UUID and its NUL into out[37]. */
void emu_rng_uuid4(emu_rng *r, char out[37]);

/* Writes n random base62 characters and a NUL into out[n + 1]. */
void emu_rng_base62(emu_rng *r, char *out, size_t n);

/* 64 bits from the kernel's entropy pool (falls back to time and pid if unavailable). */
uint64_t emu_rng_entropy(void);

/* The SplitMix64 finaliser: a good 64-bit mixing function, also used to stretch seeds. */
uint64_t emu_mix64(uint64_t x);

#endif
