/* test_ratelimit.c - per-key token buckets: a table of (time, expected outcome) steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

/* rate 2/s, burst 3: three at once, then one every 500 ms. */
static const struct {
    int64_t at_ms;
    int allowed;
    int remaining;
    int retry_after;
} steps[] = {
    {0, 1, 2, 0},   {0, 1, 1, 0},   {0, 1, 0, 0},
    {0, 0, 0, 1},   /* empty: retry after ceil(0.5 s) = 1 */
    {499, 0, 0, 1}, /* 0.998 tokens: still refused */
    {500, 1, 0, 0}, /* one token refilled */
    {3000, 1, 2, 0}, /* full again (capped at burst), minus one */
};

static void test_bucket_table(void **state)
{
    q_ratelimit *rl = q_ratelimit_new();
    q_ratelimit_info info;

    (void)state;
    assert_non_null(rl);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int rc = q_ratelimit_take(rl, 42, 2.0, 3, steps[i].at_ms * 1000, &info);
        assert_int_equal(rc, steps[i].allowed);
        assert_int_equal(info.limit, 3);
        assert_int_equal(info.remaining, steps[i].remaining);
        assert_int_equal(info.retry_after, steps[i].retry_after);
    }
    q_ratelimit_free(rl);
}

static void test_keys_are_independent_and_reset_is_reported(void **state)
{
    q_ratelimit *rl = q_ratelimit_new();
    q_ratelimit_info info;

    (void)state;
    assert_int_equal(q_ratelimit_take(rl, 1, 1.0, 1, 0, &info), 1);
    assert_int_equal(info.reset_seconds, 1);
    assert_int_equal(q_ratelimit_take(rl, 1, 1.0, 1, 0, &info), 0);
    /* many keys, including ones that share a shard */
    for (long long k = 2; k < 5000; k++)
        assert_int_equal(q_ratelimit_take(rl, k, 1.0, 1, 0, &info), 1);
    assert_int_equal(q_ratelimit_take(rl, 1, 1.0, 1, 1000000, &info), 1);
    /* a slow rate: retry-after is the time to one token */
    assert_int_equal(q_ratelimit_take(rl, 9999, 0.1, 1, 0, &info), 1);
    assert_int_equal(q_ratelimit_take(rl, 9999, 0.1, 1, 0, &info), 0);
    assert_int_equal(info.retry_after, 10);
    q_ratelimit_free(rl);
    q_ratelimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_table),
        cmocka_unit_test(test_keys_are_independent_and_reset_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
