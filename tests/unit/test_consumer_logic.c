/* test_consumer_logic.c - the consumer's pure rules: per-partition offset windows,
 * adaptive and budgeted send rates, fallback routes and price names, AWS credential
 * formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "aws_credentials.h"
#include "model_rate.h"
#include "model_routes.h"
#include "offset_window.h"

static void test_offset_window_out_of_order(void **state)
{
    q_offset_window w;

    (void)state;
    q_offset_window_init(&w);
    assert_int_equal(w.next_commit, -1);
    for (int64_t o = 10; o < 15; o++)
        assert_int_equal(q_offset_window_add(&w, o), 0);
    assert_int_equal(w.next_commit, 10);
    /* later messages finish first: nothing can be committed past 10 */
    assert_int_equal(q_offset_window_done(&w, 12), 0);
    assert_int_equal(q_offset_window_done(&w, 14), 0);
    assert_int_equal(w.next_commit, 10);
    assert_int_equal(q_offset_window_in_flight(&w), 3);
    /* the lowest finishes: commit moves to the next one still in flight */
    assert_int_equal(q_offset_window_done(&w, 10), 1);
    assert_int_equal(w.next_commit, 11);
    assert_int_equal(q_offset_window_done(&w, 11), 1);
    assert_int_equal(w.next_commit, 13);
    assert_int_equal(q_offset_window_done(&w, 13), 1);
    assert_int_equal(w.next_commit, 15); /* all done: one past the last */
    assert_int_equal(q_offset_window_in_flight(&w), 0);
    /* redeliveries and unknown offsets */
    assert_int_equal(q_offset_window_add(&w, 14), 1);
    assert_int_equal(q_offset_window_done(&w, 99), -1);
    assert_int_equal(q_offset_window_add(&w, 20), 0); /* gaps (compaction, txn markers) */
    assert_int_equal(w.next_commit, 20);
    assert_int_equal(q_offset_window_done(&w, 20), 1);
    assert_int_equal(w.next_commit, 21);
    q_offset_window_free(&w);
}

static void test_offset_window_many(void **state)
{
    q_offset_window w;

    (void)state;
    q_offset_window_init(&w);
    for (int64_t o = 0; o < 10000; o++)
        assert_int_equal(q_offset_window_add(&w, o), 0);
    /* finish evens, then odds in reverse: the ring must keep order through growth */
    for (int64_t o = 0; o < 10000; o += 2)
        q_offset_window_done(&w, o);
    assert_int_equal(w.next_commit, 1);
    for (int64_t o = 9999; o > 1; o -= 2)
        q_offset_window_done(&w, o);
    assert_int_equal(w.next_commit, 1);
    q_offset_window_done(&w, 1);
    assert_int_equal(w.next_commit, 10000);
    q_offset_window_free(&w);
}

static void test_rate_unlimited_until_throttled(void **state)
{
    q_model_rate r;

    (void)state;
    q_model_rate_init(&r, 0, 0, 100.0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(q_model_rate_acquire(&r, 100.0, 100), 0);
    assert_true(q_model_rate_adaptive_rps(&r) == 0);
}

/* Sends at 100/s for 10 s, then throttles: the rate drops to ~70% of what was measured,
 * and climbs back along the cubic towards the old rate. */
static void test_rate_cubic_backoff_and_recovery(void **state)
{
    q_model_rate r;
    double t = 0, after_throttle, later;

    (void)state;
    q_model_rate_init(&r, 0, 0, t);
    for (int i = 0; i < 1000; i++) {
        t += 0.01;
        q_model_rate_on_response(&r, t, 0);
    }
    q_model_rate_on_response(&r, t, 1);
    after_throttle = q_model_rate_adaptive_rps(&r);
    assert_true(after_throttle > 55 && after_throttle < 85);
    /* right after a throttle, a burst is held back */
    {
        int sent = 0;
        for (int i = 0; i < 200; i++)
            sent += q_model_rate_acquire(&r, t, 1) == 0;
        assert_true(sent < 100);
    }
    /* successes for a few seconds: the rate recovers towards the old maximum */
    for (int i = 0; i < 500; i++) {
        t += 0.01;
        q_model_rate_on_response(&r, t, 0);
    }
    later = q_model_rate_adaptive_rps(&r);
    assert_true(later > after_throttle);
    /* repeated throttles keep cutting it, never below the floor */
    for (int i = 0; i < 50; i++) {
        t += 0.01;
        q_model_rate_on_response(&r, t, 1);
    }
    assert_true(q_model_rate_adaptive_rps(&r) >= 0.5);
    assert_true(q_model_rate_adaptive_rps(&r) < later);
}

static void test_rate_rpm_budget_paces_sends(void **state)
{
    q_model_rate r;
    double t = 0;
    int sent = 0;

    (void)state;
    q_model_rate_init(&r, 600, 0, t); /* 10 per second */
    /* one minute of asking every millisecond: exactly the budget goes out (+1 start) */
    for (int i = 0; i < 60000; i++) {
        t += 0.001;
        if (q_model_rate_acquire(&r, t, 1) == 0)
            sent++;
    }
    assert_in_range(sent, 599, 601);
    /* the wait it reports is the time to the next token */
    q_model_rate_init(&r, 60, 0, 0);
    assert_int_equal(q_model_rate_acquire(&r, 0, 1), 0);
    assert_in_range(q_model_rate_acquire(&r, 0.5, 1), 400, 600);
}

static void test_rate_tpm_budget_with_correction(void **state)
{
    q_model_rate r;
    double t = 0;
    long tokens = 0;

    (void)state;
    q_model_rate_init(&r, 0, 60000, t); /* 1000 tokens per second */
    for (int i = 0; i < 60000; i++) {
        t += 0.001;
        if (q_model_rate_acquire(&r, t, 500) == 0) {
            tokens += 500;
            q_model_rate_correct_tokens(&r, -250); /* each used only 250 */
            tokens -= 250;
        }
    }
    /* ~60,000 tokens really used in a minute, within a request's estimate */
    assert_in_range(tokens, 59000, 61500);
}

static void test_routes(void **state)
{
    char err[256];
    const char *ids[Q_MAX_FALLBACKS + 1];
    q_model_routes *r = q_model_routes_parse(
        " anthropic.claude-3-haiku-20240307-v1:0 = us.anthropic.claude-3-haiku-20240307-v1:0 ,"
        "eu.anthropic.claude-3-haiku-20240307-v1:0; amazon.nova-micro-v1:0=amazon.nova-lite-v1:0",
        err, sizeof(err));
    char name[256];

    (void)state;
    assert_non_null(r);
    assert_int_equal(q_model_routes_for(r, "anthropic.claude-3-haiku-20240307-v1:0", ids), 3);
    assert_string_equal(ids[0], "anthropic.claude-3-haiku-20240307-v1:0");
    assert_string_equal(ids[1], "us.anthropic.claude-3-haiku-20240307-v1:0");
    assert_string_equal(ids[2], "eu.anthropic.claude-3-haiku-20240307-v1:0");
    assert_int_equal(q_model_routes_for(r, "amazon.nova-micro-v1:0", ids), 2);
    assert_int_equal(q_model_routes_for(r, "other", ids), 1);
    assert_int_equal(q_model_routes_for(NULL, "other", ids), 1);
    q_model_routes_free(r);

    r = q_model_routes_parse("", err, sizeof(err));
    assert_non_null(r);
    q_model_routes_free(r);
    assert_null(q_model_routes_parse("novalue", err, sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_null(q_model_routes_parse("a=", err, sizeof(err)));
    assert_null(q_model_routes_parse("=b", err, sizeof(err)));
    assert_null(q_model_routes_parse("a=b,,c", err, sizeof(err)));

    assert_string_equal(q_model_price_name("us.anthropic.claude-3-haiku-20240307-v1:0", name,
                                           sizeof(name)),
                        "anthropic.claude-3-haiku-20240307-v1:0");
    assert_string_equal(
        q_model_price_name("arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                           "apac.anthropic.claude-3-haiku-20240307-v1:0",
                           name, sizeof(name)),
        "anthropic.claude-3-haiku-20240307-v1:0");
    assert_string_equal(q_model_price_name("amazon.nova-micro-v1:0", name, sizeof(name)),
                        "amazon.nova-micro-v1:0");
}

static void test_credentials_ini(void **state)
{
    const char *creds_file = "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
                             "aws_secret_access_key=secretdefault\r\n\n[work]\n"
                             "aws_access_key_id=AKIDWORK\naws_secret_access_key = secretwork\n"
                             "aws_session_token = tokenwork\n[empty]\nregion=us-west-2\n";
    const char *config_file = "[default]\nregion=us-east-1\n[profile work]\n"
                              "aws_access_key_id=AKIDCFG\naws_secret_access_key=secretcfg\n";
    q_aws_creds c;

    (void)state;
    assert_int_equal(q_aws_creds_from_ini(creds_file, "default", 0, &c), 0);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_string_equal(c.secret_access_key, "secretdefault");
    assert_null(c.session_token);
    q_aws_creds_free(&c);
    assert_int_equal(q_aws_creds_from_ini(creds_file, "work", 0, &c), 0);
    assert_string_equal(c.session_token, "tokenwork");
    q_aws_creds_free(&c);
    assert_int_equal(q_aws_creds_from_ini(creds_file, "empty", 0, &c), 1);
    assert_int_equal(q_aws_creds_from_ini(creds_file, "missing", 0, &c), 1);
    assert_int_equal(q_aws_creds_from_ini(config_file, "work", 1, &c), 0);
    assert_string_equal(c.access_key_id, "AKIDCFG");
    q_aws_creds_free(&c);
    /* in a config file, "[work]" is not the profile "work" */
    assert_int_equal(q_aws_creds_from_ini("[work]\naws_access_key_id=a\naws_secret_access_key=b\n",
                                          "work", 1, &c), 1);
    assert_int_equal(q_aws_creds_from_ini("[broken\naws_access_key_id=a\n", "broken", 0, &c), -1);
}

static void test_credentials_json(void **state)
{
    const char *imds = "{\"Code\":\"Success\",\"LastUpdated\":\"2026-11-25T08:00:00Z\","
                       "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAEXAMPLE\","
                       "\"SecretAccessKey\":\"secret\",\"Token\":\"tok\","
                       "\"Expiration\":\"2026-11-25T14:00:00Z\"}";
    q_aws_creds c;
    char err[128];

    (void)state;
    assert_int_equal(q_aws_creds_from_json(imds, strlen(imds), &c, err, sizeof(err)), 0);
    assert_string_equal(c.access_key_id, "ASIAEXAMPLE");
    assert_string_equal(c.session_token, "tok");
    assert_int_equal((long long)c.expiration, 1795615200LL);
    q_aws_creds_free(&c);

    static const char *const bad[] = {
        "nope", "{}", "{\"AccessKeyId\":\"a\"}",
        "{\"Code\":\"Failure\",\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"b\"}",
        "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"b\",\"Expiration\":\"tomorrow\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(q_aws_creds_from_json(bad[i], strlen(bad[i]), &c, err, sizeof(err)), -1);
        assert_null(c.access_key_id);
    }
    assert_int_equal((long long)q_parse_iso8601_utc("1970-01-01T00:00:00Z"), 0);
    assert_int_equal((long long)q_parse_iso8601_utc("2026-11-25T14:00:00.123+00:00"), 1795615200LL);
    assert_int_equal((long long)q_parse_iso8601_utc("2026-13-25T14:00:00Z"), -1);
    assert_int_equal((long long)q_parse_iso8601_utc("2026-11-25 14:00:00"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_window_out_of_order),
        cmocka_unit_test(test_offset_window_many),
        cmocka_unit_test(test_rate_unlimited_until_throttled),
        cmocka_unit_test(test_rate_cubic_backoff_and_recovery),
        cmocka_unit_test(test_rate_rpm_budget_paces_sends),
        cmocka_unit_test(test_rate_tpm_budget_with_correction),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_credentials_ini),
        cmocka_unit_test(test_credentials_json),
    };
    return cmocka_run_group_tests_name("consumer_logic", tests, NULL, NULL);
}
