/* test_keycache.c - the API key cache: hits, TTLs, negative entries, invalidation, expiry,
 * references that outlive an invalidated entry, and the refresher that loads busy keys again
 * before they expire. The loaders are fakes that count calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keycache.h"

#define HASH_A "aaaaaaaa00000000000000000000000000000000000000000000000000000000"
#define HASH_B "bbbbbbbb00000000000000000000000000000000000000000000000000000000"

typedef struct {
    int loads;
    int fail;
    int64_t expires_at_ms;
} fake_db;

static int fake_load(const char *hash, q_api_key **out, void *ctx)
{
    fake_db *db = ctx;
    q_api_key *k;

    db->loads++;
    if (db->fail)
        return -1;
    if (strcmp(hash, HASH_A) != 0)
        return 0;
    k = q_api_key_new(1);
    if (!k)
        return -1;
    k->id = 7;
    k->expires_at_ms = db->expires_at_ms;
    k->allowed_models[0] = strdup("m1");
    *out = k;
    return 1;
}

static void test_hits_ttl_and_invalidation(void **state)
{
    fake_db db = {0};
    q_keycache *c = q_keycache_new(100, 1000, 500, fake_load, &db);
    q_api_key *k = NULL, *held = NULL;

    (void)state;
    assert_int_equal(q_keycache_get(c, HASH_A, 0, &k), 1);
    assert_int_equal(k->id, 7);
    assert_true(q_api_key_allows_model(k, "m1"));
    assert_false(q_api_key_allows_model(k, "m2"));
    held = k; /* kept across the invalidation below */
    assert_int_equal(q_keycache_get(c, HASH_A, 999, &k), 1);
    q_api_key_release(k);
    assert_int_equal(db.loads, 1);
    assert_int_equal(q_keycache_get(c, HASH_A, 1000, &k), 1); /* TTL passed: reloaded */
    q_api_key_release(k);
    assert_int_equal(db.loads, 2);
    q_keycache_invalidate(c, HASH_A);
    assert_int_equal(held->id, 7); /* still valid for its holder */
    q_api_key_release(held);
    assert_int_equal(q_keycache_get(c, HASH_A, 1001, &k), 1);
    q_api_key_release(k);
    assert_int_equal(db.loads, 3);
    q_keycache_clear(c);
    assert_int_equal(q_keycache_get(c, HASH_A, 1002, &k), 1);
    q_api_key_release(k);
    assert_int_equal(db.loads, 4);
    q_keycache_free(c);
}

static void test_unknown_errors_and_expiry(void **state)
{
    fake_db db = {0};
    q_keycache *c = q_keycache_new(2, 1000, 500, fake_load, &db);
    q_api_key *k = NULL;

    (void)state;
    assert_int_equal(q_keycache_get(c, HASH_B, 0, &k), 0);
    assert_null(k);
    assert_int_equal(q_keycache_get(c, HASH_B, 499, &k), 0);
    assert_int_equal(db.loads, 1); /* cached as unknown */
    assert_int_equal(q_keycache_get(c, HASH_B, 500, &k), 0);
    assert_int_equal(db.loads, 2);
    assert_int_equal(q_keycache_get(c, "short", 0, &k), 0); /* not a hash: never loaded */
    assert_int_equal(db.loads, 2);
    /* the unknown set is capped: many random keys do not grow it past max_entries */
    for (int i = 0; i < 50; i++) {
        char h[65];
        memset(h, 'c', 64);
        h[64] = '\0';
        h[i % 64] = (char)('0' + i % 10);
        assert_int_equal(q_keycache_get(c, h, 600, &k), 0);
    }
    db.fail = 1;
    assert_int_equal(q_keycache_get(c, HASH_A, 700, &k), -1);
    db.fail = 0;
    db.expires_at_ms = 800;
    assert_int_equal(q_keycache_get(c, HASH_A, 700, &k), 1);
    q_api_key_release(k);
    assert_int_equal(q_keycache_get(c, HASH_A, 800, &k), 0); /* expired while cached */
    assert_null(k);
    q_keycache_free(c);
    q_keycache_free(NULL);
    q_api_key_release(NULL);
}

/* A database for the refresher: loads on the test's own thread (the lookup waited for them)
 * are counted apart from the refresher's, and every load of HASH_A hands out a new id. */
typedef struct {
    pthread_t test_thread;
    atomic_int sync_loads, background_loads, background_failures;
    atomic_int next_id, disabled, fail;
    atomic_int hold, background_done; /* hold: background loads wait until it is 0 */
} refresh_db;

static int refresh_load(const char *hash, q_api_key **out, void *ctx)
{
    refresh_db *db = ctx;
    int background = !pthread_equal(pthread_self(), db->test_thread);
    q_api_key *k;

    atomic_fetch_add(background ? &db->background_loads : &db->sync_loads, 1);
    while (background && db->hold)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (db->fail) {
        if (background)
            atomic_fetch_add(&db->background_failures, 1);
        return -1;
    }
    if (strcmp(hash, HASH_A) != 0 || db->disabled)
        return 0;
    if (!(k = q_api_key_new(0)))
        return -1;
    k->id = atomic_fetch_add(&db->next_id, 1);
    *out = k;
    if (background)
        atomic_fetch_add(&db->background_done, 1);
    return 1;
}

/* Looks HASH_A up at now_ms until the answer is `want_rc` with id `want_id` (0: any), for up
 * to 5 s of real time (the refresher runs on its own thread). The lookups are all within the
 * entry's TTL and after its refresh was queued, so they change nothing themselves. */
static int until_answer(q_keycache *c, int64_t now_ms, int want_rc, long long want_id)
{
    for (int i = 0; i < 5000; i++) {
        q_api_key *k = NULL;
        int rc = q_keycache_get(c, HASH_A, now_ms, &k);
        long long id = k ? k->id : 0;

        q_api_key_release(k);
        if (rc == want_rc && (want_id == 0 || id == want_id))
            return 1;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return 0;
}

static long long id_at(q_keycache *c, int64_t now_ms)
{
    q_api_key *k = NULL;
    long long id = q_keycache_get(c, HASH_A, now_ms, &k) == 1 ? k->id : -1;

    q_api_key_release(k);
    return id;
}

/* The batch loader over the same database: -1 for the whole batch when it fails. */
static int refresh_load_many(const char *const *hashes, size_t n, q_api_key **out, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (refresh_load(hashes[i], &out[i], ctx) < 0) {
            for (size_t j = 0; j < i; j++) {
                q_api_key_release(out[j]);
                out[j] = NULL;
            }
            return -1;
        }
    }
    return 0;
}

static void refresh_ahead(q_key_batch_loader load_many)
{
    refresh_db db = {.test_thread = pthread_self(), .next_id = 7};
    q_keycache *c = q_keycache_new(100, 1000, 500, refresh_load, &db);

    assert_int_equal(q_keycache_start_refresher(c, load_many), 0);
    assert_int_equal(q_keycache_start_refresher(c, load_many), 0); /* once */
    assert_int_equal(id_at(c, 0), 7);
    assert_int_equal(id_at(c, 499), 7); /* under half the TTL: nothing queued */
    assert_int_equal(id_at(c, 600), 7); /* served from the cache, and a refresh queued */
    assert_true(until_answer(c, 700, 1, 8));
    assert_int_equal(db.background_loads, 1);
    /* The refreshed entry counts from 600, the lookup that asked: 1500 is past the first
     * load's TTL, yet served without waiting for the database (and queues the next refresh,
     * which finds the key disabled: an unknown entry, also counted from the lookup). */
    db.disabled = 1;
    assert_int_equal(id_at(c, 1500), 8);
    assert_true(until_answer(c, 1599, 0, 0));
    assert_int_equal(db.sync_loads, 1);
    /* Unknown entries are not refreshed ahead: this one expires and is loaded by the lookup. */
    db.disabled = 0;
    assert_int_equal(id_at(c, 2000), 9);
    assert_int_equal(db.sync_loads, 2);
    /* A refresh that fails leaves the entry to expire; it is never trusted past its TTL. */
    db.fail = 1;
    assert_int_equal(id_at(c, 2600), 9);
    for (int i = 0; i < 5000 && db.background_failures < 1; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(db.background_failures, 1);
    /* The lookups ask again at once, but after a failed round the refresher pauses (1 s)
     * instead of retrying in a loop while the database is down. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(id_at(c, 2700 + i), 9);
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    assert_int_equal(db.background_failures, 1);
    assert_int_equal(id_at(c, 2999), 9);
    assert_int_equal(id_at(c, 3000), -1); /* expired; the lookup's own load fails too */
    assert_int_equal(db.sync_loads, 3);
    q_keycache_free(c); /* stops the refresher in its pause, with a refresh still queued */
}

/* A refresh that finishes after its entry expired and a lookup loaded the key again must not
 * put its older copy in place of the newer one. */
static void test_refresh_never_replaces_a_newer_entry(void **state)
{
    refresh_db db = {.test_thread = pthread_self(), .next_id = 7, .hold = 1};
    q_keycache *c = q_keycache_new(100, 1000, 500, refresh_load, &db);

    (void)state;
    assert_int_equal(q_keycache_start_refresher(c, refresh_load_many), 0);
    assert_int_equal(id_at(c, 0), 7);
    assert_int_equal(id_at(c, 600), 7); /* refresh asked at 600; its load is held */
    for (int i = 0; i < 5000 && db.background_loads < 1; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(id_at(c, 1000), 8); /* expired: the lookup loads it itself (at 1000) */
    db.hold = 0;
    for (int i = 0; i < 5000 && db.background_done < 1; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(db.background_done, 1); /* id 9, asked at 600 */
    /* The lookup's copy (id 8) stays; the refresher's (id 9) would replace it. Its store
     * follows its load under the lock, so look for a while (under half the TTL of id 8, so
     * these lookups ask for no refresh). */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(id_at(c, 1100 + i), 8);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    assert_int_equal(db.sync_loads, 2);
    q_keycache_free(c);
}

static void test_refresh_ahead_one_by_one(void **state)
{
    (void)state;
    refresh_ahead(NULL);
}

static void test_refresh_ahead_together(void **state)
{
    (void)state;
    refresh_ahead(refresh_load_many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_ttl_and_invalidation),
        cmocka_unit_test(test_unknown_errors_and_expiry),
        cmocka_unit_test(test_refresh_ahead_one_by_one),
        cmocka_unit_test(test_refresh_ahead_together),
        cmocka_unit_test(test_refresh_never_replaces_a_newer_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
