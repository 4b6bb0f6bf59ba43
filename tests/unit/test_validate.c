/* test_validate.c - question validation: a table of bodies and the code each must get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "validate.h"

static int known_model(const char *model, void *ctx)
{
    (void)ctx;
    return strcmp(model, "anthropic.claude-3-haiku-20240307-v1:0") == 0 ||
           strcmp(model, "amazon.nova-micro-v1:0") == 0;
}

static const q_question_limits limits = {
    .min_question_chars = 1,
    .max_question_chars = 10,
    .max_tokens_limit = 4096,
    .default_max_tokens = 1024,
    .default_model = "anthropic.claude-3-haiku-20240307-v1:0",
    .is_known_model = known_model,
};

static const struct {
    const char *body;           /* JSON text */
    const char *code;           /* expected error code, NULL when valid */
} cases[] = {
    {"{\"question\":\"hello\"}", NULL},
    {"{\"question\":\"0123456789\"}", NULL},                      /* exactly the limit */
    {"{\"question\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", NULL}, /* 10 chars, 20 bytes */
    {"{\"question\":\"\\ud83d\\ude00 ok\"}", NULL},                 /* emoji: one code point */
    {"{\"question\":\"a\\tb\\nc\\r\\nd\"}", NULL},            /* 7 chars */
    {"{\"question\":\"hi\",\"model\":\"amazon.nova-micro-v1:0\",\"max_tokens\":1,\"temperature\":0}", NULL},
    {"{\"question\":\"hi\",\"max_tokens\":4096,\"temperature\":1}", NULL},
    {"{\"question\":\"hi\",\"model\":null,\"max_tokens\":null}", NULL},
    {"[]", "INVALID_JSON"},
    {"\"question\"", "INVALID_JSON"},
    {"{}", "MISSING_FIELD"},
    {"{\"question\":5}", "INVALID_FIELD"},
    {"{\"question\":null}", "INVALID_FIELD"},
    {"{\"question\":\"hi\",\"extra\":1}", "UNKNOWN_FIELD"},
    {"{\"question\":\"\"}", "QUESTION_TOO_SHORT"},
    {"{\"question\":\"   \\n\\t \"}", "QUESTION_TOO_SHORT"},
    {"{\"question\":\"01234567890\"}", "QUESTION_TOO_LONG"},
    {"{\"question\":\"bell\\u0007\"}", "INVALID_CHARACTERS"},
    {"{\"question\":\"nul\\u0000x\"}", "INVALID_CHARACTERS"},
    {"{\"question\":\"del\\u007f\"}", "INVALID_CHARACTERS"},
    {"{\"question\":\"c1\\u0085\"}", "INVALID_CHARACTERS"},
    {"{\"question\":\"esc\\u001b[0m\"}", "INVALID_CHARACTERS"},
    {"{\"question\":\"hi\",\"model\":\"gpt-4\"}", "UNKNOWN_MODEL"},
    {"{\"question\":\"hi\",\"model\":7}", "INVALID_FIELD"},
    {"{\"question\":\"hi\",\"max_tokens\":0}", "INVALID_MAX_TOKENS"},
    {"{\"question\":\"hi\",\"max_tokens\":4097}", "INVALID_MAX_TOKENS"},
    {"{\"question\":\"hi\",\"max_tokens\":10.5}", "INVALID_MAX_TOKENS"},
    {"{\"question\":\"hi\",\"max_tokens\":\"10\"}", "INVALID_MAX_TOKENS"},
    {"{\"question\":\"hi\",\"temperature\":1.01}", "INVALID_TEMPERATURE"},
    {"{\"question\":\"hi\",\"temperature\":-0.1}", "INVALID_TEMPERATURE"},
    {"{\"question\":\"hi\",\"temperature\":\"hot\"}", "INVALID_TEMPERATURE"},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t jerr;
        json_t *body = json_loads(cases[i].body, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
        q_question q;
        q_error err = {0};
        int rc;

        if (!body)
            fail_msg("case %zu: test body is not JSON: %s", i, cases[i].body);
        rc = q_validate_question(body, &limits, &q, &err);
        if (cases[i].code == NULL) {
            if (rc != 0)
                fail_msg("case %zu (%s): expected valid, got %s: %s", i, cases[i].body, err.code,
                         err.message);
            assert_non_null(q.question);
            assert_non_null(q.model);
        } else {
            if (rc == 0)
                fail_msg("case %zu (%s): expected %s, got valid", i, cases[i].body, cases[i].code);
            if (strcmp(err.code, cases[i].code) != 0)
                fail_msg("case %zu (%s): expected %s, got %s", i, cases[i].body, cases[i].code,
                         err.code);
            assert_int_equal(err.http_status, 400);
            assert_true(strlen(err.message) > 0);
        }
        json_decref(body);
    }
}

static void test_defaults_applied(void **state)
{
    json_t *body = json_loads("{\"question\":\"hello\"}", 0, NULL);
    q_question q;
    q_error err;

    (void)state;
    assert_int_equal(q_validate_question(body, &limits, &q, &err), 0);
    assert_string_equal(q.model, "anthropic.claude-3-haiku-20240307-v1:0");
    assert_int_equal(q.max_tokens, 1024);
    assert_int_equal(q.has_temperature, 0);
    assert_int_equal(q.question_chars, 5);
    json_decref(body);
}

static void test_utf8_raw_bytes(void **state)
{
    (void)state;
    assert_int_equal(q_utf8_text_chars("abc", 3), 3);
    assert_int_equal(q_utf8_text_chars("\xc3\xa9", 2), 1);
    assert_int_equal(q_utf8_text_chars("\xf0\x9f\x98\x80", 4), 1);
    assert_int_equal(q_utf8_text_chars("\xc0\xaf", 2), -1);          /* overlong '/' */
    assert_int_equal(q_utf8_text_chars("\xe0\x80\xaf", 3), -1);      /* overlong */
    assert_int_equal(q_utf8_text_chars("\xed\xa0\x80", 3), -1);      /* surrogate */
    assert_int_equal(q_utf8_text_chars("\xf4\x90\x80\x80", 4), -1);  /* > U+10FFFF */
    assert_int_equal(q_utf8_text_chars("\xc3", 1), -1);              /* truncated */
    assert_int_equal(q_utf8_text_chars("\x80", 1), -1);              /* lone continuation */
    assert_int_equal(q_utf8_text_chars("a\0b", 3), -1);              /* NUL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_defaults_applied),
        cmocka_unit_test(test_utf8_raw_bytes),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
