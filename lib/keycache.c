/* keycache.c - API keys cached in memory (see keycache.h). */
#include "keycache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 8192

typedef struct entry {
    char hash[65];
    q_api_key *key;          /* NULL: a cached "unknown" */
    int64_t fetched_ms;
    struct entry *next;
} entry;

struct q_keycache {
    pthread_mutex_t mu;
    entry *buckets[NBUCKETS];
    size_t n_found, n_unknown, max_entries;
    int ttl_ms, negative_ttl_ms;
    uint64_t generation;     /* bumped by invalidations: a load that raced one is not cached */
    q_key_loader load;
    void *ctx;
};

q_api_key *q_api_key_new(size_t n_models)
{
    q_api_key *k = calloc(1, sizeof(*k));

    if (!k)
        return NULL;
    k->refs = 1;
    k->daily_requests = -1;
    k->daily_tokens = -1;
    k->burst = 1;
    if (n_models > 0) {
        k->allowed_models = calloc(n_models, sizeof(char *));
        if (!k->allowed_models) {
            free(k);
            return NULL;
        }
        k->n_allowed_models = n_models;
    }
    return k;
}

void q_api_key_release(q_api_key *k)
{
    if (!k || atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < k->n_allowed_models; i++)
        free(k->allowed_models[i]);
    free(k->allowed_models);
    free(k);
}

static q_api_key *key_ref(q_api_key *k)
{
    atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
    return k;
}

int q_api_key_allows_model(const q_api_key *k, const char *model)
{
    if (!k->allowed_models)
        return 1;
    for (size_t i = 0; i < k->n_allowed_models; i++)
        if (k->allowed_models[i] && strcmp(k->allowed_models[i], model) == 0)
            return 1;
    return 0;
}

q_keycache *q_keycache_new(size_t max_entries, int ttl_ms, int negative_ttl_ms,
                           q_key_loader load, void *ctx)
{
    q_keycache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max_entries = max_entries ? max_entries : 1;
    c->ttl_ms = ttl_ms;
    c->negative_ttl_ms = negative_ttl_ms;
    c->load = load;
    c->ctx = ctx;
    return c;
}

static unsigned bucket_of(const char *hash)
{
    /* The hash is already uniformly random hex: its first 8 digits are a fine index. */
    unsigned v = 0;

    for (int i = 0; i < 8 && hash[i]; i++)
        v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : (hash[i] | 0x20) - 'a' + 10);
    return v % NBUCKETS;
}

static void entry_free(q_keycache *c, entry *e)
{
    if (e->key)
        c->n_found--;
    else
        c->n_unknown--;
    q_api_key_release(e->key);
    free(e);
}

/* Removes the entries for which drop(e) holds. Called with the lock held. */
static void remove_where(q_keycache *c, int (*drop)(const entry *e, const void *arg),
                         const void *arg)
{
    for (unsigned b = 0; b < NBUCKETS; b++) {
        entry **pp = &c->buckets[b];
        while (*pp) {
            entry *e = *pp;
            if (drop(e, arg)) {
                *pp = e->next;
                entry_free(c, e);
            } else {
                pp = &e->next;
            }
        }
    }
}

static int drop_all(const entry *e, const void *arg)
{
    (void)e;
    (void)arg;
    return 1;
}

static int drop_unknown(const entry *e, const void *arg)
{
    (void)arg;
    return e->key == NULL;
}

static int drop_found(const entry *e, const void *arg)
{
    (void)arg;
    return e->key != NULL;
}

void q_keycache_free(q_keycache *c)
{
    if (!c)
        return;
    remove_where(c, drop_all, NULL);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static entry **find(q_keycache *c, const char *hash)
{
    entry **pp = &c->buckets[bucket_of(hash)];

    while (*pp && strcmp((*pp)->hash, hash) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void remove_one(q_keycache *c, const char *hash)
{
    entry **pp = find(c, hash);

    if (*pp) {
        entry *e = *pp;
        *pp = e->next;
        entry_free(c, e);
    }
}

int q_keycache_get(q_keycache *c, const char *sha256_hex, int64_t now_ms, q_api_key **out)
{
    entry **pp, *e;
    q_api_key *loaded = NULL;
    uint64_t gen;
    int rc;

    *out = NULL;
    if (strlen(sha256_hex) != 64)
        return 0;
    pthread_mutex_lock(&c->mu);
    pp = find(c, sha256_hex);
    e = *pp;
    if (e && now_ms - e->fetched_ms < (e->key ? c->ttl_ms : c->negative_ttl_ms) &&
        now_ms >= e->fetched_ms) {
        rc = 0;
        if (e->key && (e->key->expires_at_ms == 0 || e->key->expires_at_ms > now_ms)) {
            *out = key_ref(e->key);
            rc = 1;
        }
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    gen = c->generation;
    pthread_mutex_unlock(&c->mu);

    rc = c->load(sha256_hex, &loaded, c->ctx);
    if (rc < 0)
        return -1;

    pthread_mutex_lock(&c->mu);
    if (gen == c->generation) {
        remove_one(c, sha256_hex);
        if (rc == 1 && c->n_found >= c->max_entries)
            remove_where(c, drop_found, NULL);
        if (rc == 0 && c->n_unknown >= c->max_entries)
            remove_where(c, drop_unknown, NULL);
        e = calloc(1, sizeof(*e));
        if (e) {
            memcpy(e->hash, sha256_hex, 65);
            e->key = rc == 1 ? key_ref(loaded) : NULL;
            e->fetched_ms = now_ms;
            pp = &c->buckets[bucket_of(sha256_hex)];
            e->next = *pp;
            *pp = e;
            if (e->key)
                c->n_found++;
            else
                c->n_unknown++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (rc == 1 && loaded->expires_at_ms != 0 && loaded->expires_at_ms <= now_ms) {
        q_api_key_release(loaded);
        return 0;
    }
    *out = loaded; /* our reference moves to the caller */
    return rc;
}

void q_keycache_invalidate(q_keycache *c, const char *sha256_hex)
{
    pthread_mutex_lock(&c->mu);
    c->generation++;
    remove_one(c, sha256_hex);
    pthread_mutex_unlock(&c->mu);
}

void q_keycache_clear(q_keycache *c)
{
    pthread_mutex_lock(&c->mu);
    c->generation++;
    remove_where(c, drop_all, NULL);
    pthread_mutex_unlock(&c->mu);
}
