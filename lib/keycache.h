/* keycache.h - API keys held in memory by their SHA-256, so authenticating a request costs
 * a hash lookup instead of a database round trip.
 *
 * Entries expire after a TTL (so a change is picked up within seconds even when a
 * notification was lost), and q_keycache_invalidate() drops one at once (the intake calls it
 * when PostgreSQL notifies that a key changed). With a refresher running, a key in use is
 * loaded again in the background once its entry has lived half the TTL, so lookups of busy
 * keys do not wait for the database when their entries would expire (with 1,000 keys loaded
 * together, they all expired together: a burst of loads on the request threads every TTL).
 * An entry is never trusted beyond its TTL either way: a refreshed entry counts from the
 * lookup that asked for the refresh, and one the refresher could not load expires as before
 * (after a round that could not load, the refresher pauses for a second before the next). Unknown keys are cached too, briefly and in a
 * separately capped set, so random keys cannot fill memory or hammer the database.
 *
 * Ownership: q_keycache_get() hands out a counted reference; release it with
 * q_api_key_release(). An entry that is replaced or invalidated stays valid for whoever
 * still holds it. Thread-safe. */
#ifndef QUARRY_KEYCACHE_H
#define QUARRY_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { Q_INJECTION_BLOCK = 0, Q_INJECTION_FLAG, Q_INJECTION_OFF } q_injection_policy;

typedef struct q_api_key {
    long long id;
    int min_question_chars;
    int max_question_chars;
    double requests_per_second;     /* 0: no rate limit */
    int burst;                      /* bucket capacity when rate limited (>= 1) */
    long long daily_requests;       /* -1: no limit */
    long long daily_tokens;         /* -1: no limit */
    char daily_budget_usd[32];      /* numeric text; "" for no limit */
    q_injection_policy injection_policy;
    int64_t expires_at_ms;          /* Unix ms; 0: never */
    char **allowed_models;          /* NULL: any model */
    size_t n_allowed_models;
    _Atomic int refs;               /* private */
} q_api_key;

/* Allocates a zeroed key with one reference and room for n_models model names (set
 * allowed_models[i] with strdup; they are freed with the key). NULL when out of memory. */
q_api_key *q_api_key_new(size_t n_models);
/* Drops a reference; frees the key with the last one. Accepts NULL. */
void q_api_key_release(q_api_key *k);
/* 1 when the key may use `model`. */
int q_api_key_allows_model(const q_api_key *k, const char *model);

/* Reads one key from the source of truth. Returns 1 and a new key (one reference, owned by
 * the caller), 0 when no usable key has this hash, -1 when the source is unavailable. */
typedef int (*q_key_loader)(const char *sha256_hex, q_api_key **out, void *ctx);

/* Reads n keys at once: 0 with out[i] a new key or NULL (no usable key has hashes[i]), or -1
 * when the source is unavailable. */
typedef int (*q_key_batch_loader)(const char *const *hashes, size_t n, q_api_key **out,
                                  void *ctx);

typedef struct q_keycache q_keycache;

/* ttl_ms: how long a found key is trusted; negative_ttl_ms: how long "unknown" is.
 * max_entries caps each of the two sets. NULL when out of memory. */
q_keycache *q_keycache_new(size_t max_entries, int ttl_ms, int negative_ttl_ms,
                           q_key_loader load, void *ctx);
/* Accepts NULL. */
void q_keycache_free(q_keycache *c);

/* Starts the background refresher (once; stopped by q_keycache_free). It loads the keys queued
 * since its last round together with load_many (with the ctx given to q_keycache_new), or one
 * by one with the cache's loader when load_many is NULL; either must be thread-safe. 0, or -1
 * when the thread could not be started (the cache then works without refreshing ahead). */
int q_keycache_start_refresher(q_keycache *c, q_key_batch_loader load_many);

/* Looks up the key with this lowercase hex SHA-256 at time now_ms, loading it when absent or
 * stale. Returns 1 with *out (a reference to release), 0 when the key is unknown, disabled
 * or expired, -1 when it could not be loaded. */
int q_keycache_get(q_keycache *c, const char *sha256_hex, int64_t now_ms, q_api_key **out);

/* Forgets one key (by hash) / everything. */
void q_keycache_invalidate(q_keycache *c, const char *sha256_hex);
void q_keycache_clear(q_keycache *c);

#endif
