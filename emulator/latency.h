/* latency.h - latency distributions: what they are, their JSON form, and drawing from them.
 *
 * JSON forms (every field an integer number of milliseconds unless noted):
 *   {"distribution": "fixed", "ms": 250}                         (or just the number 250)
 *   {"distribution": "uniform", "min_ms": 900, "max_ms": 1100}
 *   {"distribution": "lognormal", "median_ms": 800, "p99_ms": 4000, "max_ms": 30000}
 *   {"distribution": "profile"}   each model's own catalogue profile (log-normal)
 * Any form may add "per_output_token_ms": 2.5 (a number), added once per output token, so
 * long answers take longer as they do on a real model. A log-normal's tail is cut at
 * max_ms (default 10 x p99_ms, at most EMU_LATENCY_MAX_MS). */
#ifndef QUARRY_EMU_LATENCY_H
#define QUARRY_EMU_LATENCY_H

#include <stddef.h>

#include <jansson.h>

#include "catalogue.h"
#include "rng.h"

/* Longest latency or stall the emulator will hold a reply for: 10 minutes. */
#define EMU_LATENCY_MAX_MS 600000u

typedef enum {
    EMU_LATENCY_FIXED,
    EMU_LATENCY_UNIFORM,
    EMU_LATENCY_LOGNORMAL,
    EMU_LATENCY_PROFILE        /* resolved per model with emu_latency_resolve() */
} emu_latency_kind;

typedef struct {
    emu_latency_kind kind;
    unsigned a_ms;             /* fixed: ms; uniform: min_ms; lognormal: median_ms */
    unsigned b_ms;             /* uniform: max_ms; lognormal: p99_ms */
    unsigned cap_ms;           /* lognormal: max_ms */
    double per_token_ms;       /* added per output token, >= 0 */
} emu_latency;

/* A fixed latency of `ms`. */
emu_latency emu_latency_fixed(unsigned ms);

/* Parses one of the JSON forms above into *out. Returns 0, or -1 with a lowercase reason
 * naming `what` in err[errlen]; *out is unchanged then. */
int emu_latency_parse(const json_t *j, const char *what, emu_latency *out, char *err,
                      size_t errlen);

/* The JSON form of `l` (a new reference; NULL when out of memory). */
json_t *emu_latency_json(const emu_latency *l);

/* `l` itself, or model `m`'s catalogue profile when l is EMU_LATENCY_PROFILE. */
emu_latency emu_latency_resolve(const emu_latency *l, const emu_model *m);

/* One latency in ms for an answer of `output_tokens` tokens (at most EMU_LATENCY_MAX_MS).
 * `l` must be resolved. Thread-safe: draws come from `rng`. */
unsigned emu_latency_draw(const emu_latency *l, emu_rng *rng, unsigned output_tokens);

#endif
