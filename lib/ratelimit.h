/* ratelimit.h - per-key request rate limits: an in-memory token bucket per API key.
 *
 * Each bucket holds up to `burst` tokens and refills at `rate` tokens per second; a request
 * takes one token or is refused. Buckets live in this process only (every intake instance
 * enforces the key's rate on its own share of the traffic), so a check costs a mutex and a
 * few arithmetic operations, never a database round trip. Thread-safe: buckets are spread
 * over independently locked shards. Memory: one small bucket per key that was ever limited. */
#ifndef QUARRY_RATELIMIT_H
#define QUARRY_RATELIMIT_H

#include <stdint.h>

typedef struct q_ratelimit q_ratelimit;

typedef struct {
    int limit;              /* the bucket's capacity (burst) */
    int remaining;          /* whole tokens left after this request */
    int reset_seconds;      /* until the bucket is full again (rounded up) */
    int retry_after;        /* refused: whole seconds until a token is available (>= 1) */
} q_ratelimit_info;

/* NULL when out of memory. */
q_ratelimit *q_ratelimit_new(void);
/* Accepts NULL. */
void q_ratelimit_free(q_ratelimit *rl);

/* Takes one token from the bucket of `key_id` at time `now_us` (any monotonic clock in
 * microseconds). `rate` > 0 is tokens per second, `burst` >= 1 the capacity; a bucket
 * whose limits changed keeps its level, capped at the new burst. Returns 1 when allowed,
 * 0 when refused, -1 when out of memory (callers should allow). Always fills *info. */
int q_ratelimit_take(q_ratelimit *rl, long long key_id, double rate, int burst, int64_t now_us,
                     q_ratelimit_info *info);

#endif
