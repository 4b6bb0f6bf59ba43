/* test_keycache.c - the API key cache: hits, TTLs, negative entries, invalidation, expiry,
 * and references that outlive an invalidated entry. The loader is a fake that counts calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_ttl_and_invalidation),
        cmocka_unit_test(test_unknown_errors_and_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
