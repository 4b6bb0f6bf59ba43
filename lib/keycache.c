/* keycache.c - API keys cached in memory (see keycache.h). */
#include "keycache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS 8192

typedef struct entry {
    char hash[65];
    q_api_key *key;          /* NULL: a cached "unknown" */
    int64_t fetched_ms;
    int refreshing;          /* queued for (or in) a refresh ahead of its expiry */
    struct entry *next;
} entry;

/* A found key to load again before its entry expires; asked_ms: the time of the lookup that
 * queued it, which the refreshed entry is stamped with (the load happens later, so the entry
 * expires a little early, never late). */
typedef struct refresh_job {
    char hash[65];
    int64_t asked_ms;
    struct refresh_job *next;
} refresh_job;

struct q_keycache {
    pthread_mutex_t mu;
    entry *buckets[NBUCKETS];
    size_t n_found, n_unknown, max_entries;
    int ttl_ms, negative_ttl_ms;
    uint64_t generation;     /* bumped by invalidations: a load that raced one is not cached */
    q_key_loader load;
    void *ctx;
    /* The refresher (q_keycache_start_refresher): a thread loading queued keys again. */
    pthread_t refresher;
    q_key_batch_loader load_many;
    int refresher_running, refresher_stop;
    pthread_cond_t refresh_cv;
    refresh_job *refresh_head, *refresh_tail;
    size_t refresh_queued;
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
    {
        pthread_condattr_t attr; /* the refresher's pause: a clock step must not stretch it */

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&c->refresh_cv, &attr);
        pthread_condattr_destroy(&attr);
    }
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
    if (c->refresher_running) {
        pthread_mutex_lock(&c->mu);
        c->refresher_stop = 1;
        pthread_cond_broadcast(&c->refresh_cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->refresher, NULL);
    }
    while (c->refresh_head) {
        refresh_job *j = c->refresh_head;
        c->refresh_head = j->next;
        free(j);
    }
    remove_where(c, drop_all, NULL);
    pthread_cond_destroy(&c->refresh_cv);
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

/* Caches what a load found (key NULL: unknown) as fetched at fetched_ms, in place of any
 * entry for the hash. Called with the lock held. */
static void store(q_keycache *c, const char *hash, q_api_key *key, int64_t fetched_ms)
{
    entry **pp, *e;

    remove_one(c, hash);
    if (key && c->n_found >= c->max_entries)
        remove_where(c, drop_found, NULL);
    if (!key && c->n_unknown >= c->max_entries)
        remove_where(c, drop_unknown, NULL);
    e = calloc(1, sizeof(*e));
    if (!e)
        return;
    memcpy(e->hash, hash, 65);
    e->key = key ? key_ref(key) : NULL;
    e->fetched_ms = fetched_ms;
    pp = &c->buckets[bucket_of(hash)];
    e->next = *pp;
    *pp = e;
    if (e->key)
        c->n_found++;
    else
        c->n_unknown++;
}

/* Queues a found key that has lived half its TTL for the refresher, once. Called with the
 * lock held. Without a refresher, or when memory runs out, the entry simply expires and the
 * next lookup loads it. */
static void maybe_refresh(q_keycache *c, entry *e, int64_t now_ms)
{
    refresh_job *j;

    if (!c->refresher_running || e->refreshing || !e->key || now_ms - e->fetched_ms < c->ttl_ms / 2 ||
        c->refresh_queued >= c->max_entries)
        return;
    if (!(j = calloc(1, sizeof(*j))))
        return;
    memcpy(j->hash, e->hash, 65);
    j->asked_ms = now_ms;
    if (c->refresh_tail)
        c->refresh_tail->next = j;
    else
        c->refresh_head = j;
    c->refresh_tail = j;
    c->refresh_queued++;
    e->refreshing = 1;
    pthread_cond_signal(&c->refresh_cv);
}

#define REFRESH_ROUND 512     /* keys loaded together at most */
#define REFRESH_RETRY_MS 1000 /* pause after a round that could not load (database down) */

/* Loads a round of queued keys: out[i] / rc[i] as q_key_loader gives them. */
static void load_round(q_keycache *c, refresh_job **jobs, size_t n, q_api_key **out, int *rc)
{
    if (c->load_many) {
        const char *hashes[REFRESH_ROUND];
        int all;

        for (size_t i = 0; i < n; i++) {
            hashes[i] = jobs[i]->hash;
            out[i] = NULL;
        }
        all = c->load_many(hashes, n, out, c->ctx);
        for (size_t i = 0; i < n; i++)
            rc[i] = all < 0 ? -1 : out[i] ? 1 : 0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        rc[i] = c->load(jobs[i]->hash, &out[i], c->ctx);
    }
}

static void *refresher_main(void *arg)
{
    q_keycache *c = arg;
    refresh_job *jobs[REFRESH_ROUND];
    q_api_key *loaded[REFRESH_ROUND];
    int rc[REFRESH_ROUND];

    pthread_mutex_lock(&c->mu);
    for (;;) {
        uint64_t gen;
        size_t n = 0;
        int failed = 0;

        while (!c->refresh_head && !c->refresher_stop)
            pthread_cond_wait(&c->refresh_cv, &c->mu);
        if (c->refresher_stop)
            break;
        while (c->refresh_head && n < REFRESH_ROUND) {
            jobs[n++] = c->refresh_head;
            c->refresh_head = c->refresh_head->next;
            c->refresh_queued--;
        }
        if (!c->refresh_head)
            c->refresh_tail = NULL;
        gen = c->generation;
        pthread_mutex_unlock(&c->mu);

        load_round(c, jobs, n, loaded, rc);

        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < n; i++) {
            entry *e;

            e = *find(c, jobs[i]->hash);
            if (e && e->fetched_ms > jobs[i]->asked_ms)
                ; /* loaded again since this was asked (by a lookup): that entry is newer */
            else if (rc[i] >= 0 && gen == c->generation)
                store(c, jobs[i]->hash, rc[i] == 1 ? loaded[i] : NULL, jobs[i]->asked_ms);
            else if (e)
                e->refreshing = 0; /* failed or raced an invalidation: a later lookup asks again */
            failed |= rc[i] < 0;
            q_api_key_release(loaded[i]);
            free(jobs[i]);
        }
        if (failed) {
            /* The lookups of busy keys ask again at once: without a pause, a database outage
             * would keep this thread retrying (and logging) in a loop. */
            struct timespec until;

            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += REFRESH_RETRY_MS / 1000;
            until.tv_nsec += (long)(REFRESH_RETRY_MS % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (!c->refresher_stop &&
                   pthread_cond_timedwait(&c->refresh_cv, &c->mu, &until) != ETIMEDOUT)
                ;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int q_keycache_start_refresher(q_keycache *c, q_key_batch_loader load_many)
{
    if (c->refresher_running)
        return 0;
    c->load_many = load_many;
    if (pthread_create(&c->refresher, NULL, refresher_main, c) != 0)
        return -1;
    c->refresher_running = 1;
    return 0;
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
            maybe_refresh(c, e, now_ms);
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
    if (gen == c->generation)
        store(c, sha256_hex, rc == 1 ? loaded : NULL, now_ms);
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
