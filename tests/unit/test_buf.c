/* test_buf.c - the capped byte buffer: JSON string literals (escaping as jansson does,
 * UTF-8 checks, replacement) and giving memory back on reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Data-driven: input bytes, the literal expected (NULL: same as jansson's), and the
 * result in strict mode. */
static const struct {
    const char *in;
    size_t len;
    const char *want;          /* expected literal; NULL: what json_dumps gives */
    int strict_rc;
    const char *replaced;      /* literal with replace_invalid set */
} k_cases[] = {
#define S(x) x, sizeof(x) - 1
    {S(""), NULL, Q_BUF_OK, "\"\""},
    {S("plain ascii / slash"), NULL, Q_BUF_OK, "\"plain ascii / slash\""},
    {S("q\"b\\"), NULL, Q_BUF_OK, "\"q\\\"b\\\\\""},
    {S("\b\f\n\r\t"), NULL, Q_BUF_OK, "\"\\b\\f\\n\\r\\t\""},
    {S("\x01\x1f\x7f"), NULL, Q_BUF_OK, "\"\\u0001\\u001F\x7f\""},
    {S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), NULL, Q_BUF_OK,
     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
    {S("bad \xff"), "", Q_BUF_BAD_UTF8, "\"bad \\uFFFD\""},
    {S("cut \xe2\x82"), "", Q_BUF_BAD_UTF8, "\"cut \\uFFFD\\uFFFD\""},
    {S("overlong \xc0\xaf"), "", Q_BUF_BAD_UTF8, "\"overlong \\uFFFD\\uFFFD\""},
    {S("surrogate \xed\xa0\x80"), "", Q_BUF_BAD_UTF8, "\"surrogate \\uFFFD\\uFFFD\\uFFFD\""},
    {S("too high \xf4\x90\x80\x80"), "", Q_BUF_BAD_UTF8,
     "\"too high \\uFFFD\\uFFFD\\uFFFD\\uFFFD\""},
    {S("nul \0 inside"), "", Q_BUF_BAD_UTF8, "\"nul \\uFFFD inside\""},
#undef S
};

static void test_json_string(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
        q_buf b;
        int rc;

        print_message("json string case %zu\n", i);
        q_buf_init(&b, 1024);
        assert_int_equal(q_buf_adds(&b, "x"), Q_BUF_OK);
        rc = q_buf_add_json_string(&b, k_cases[i].in, k_cases[i].len, 0);
        assert_int_equal(rc, k_cases[i].strict_rc);
        if (rc == Q_BUF_OK) {
            json_t *s = json_stringn(k_cases[i].in, k_cases[i].len);
            char *want = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);

            assert_non_null(want);
            assert_string_equal(q_buf_cstr(&b) + 1, want);
            free(want);
            json_decref(s);
        } else {
            assert_string_equal(q_buf_cstr(&b), "x"); /* unchanged on error */
        }
        q_buf_reset(&b);
        assert_int_equal(q_buf_add_json_string(&b, k_cases[i].in, k_cases[i].len, 1), Q_BUF_OK);
        assert_string_equal(q_buf_cstr(&b), k_cases[i].replaced);
        /* what replacement writes is always JSON that reads back */
        {
            json_t *back = json_loads(q_buf_cstr(&b), JSON_DECODE_ANY, NULL);
            assert_non_null(back);
            json_decref(back);
        }
        q_buf_free(&b);
    }
}

static void test_json_string_cap(void **state)
{
    q_buf b;

    (void)state;
    q_buf_init(&b, 8);
    assert_int_equal(q_buf_adds(&b, "ab"), Q_BUF_OK);
    /* "\"\\n\\n\"" needs 6 more bytes: 8 in all fits, one more byte does not */
    assert_int_equal(q_buf_add_json_string(&b, "\n\n", 2, 0), Q_BUF_OK);
    assert_string_equal(q_buf_cstr(&b), "ab\"\\n\\n\"");
    q_buf_reset(&b);
    assert_int_equal(q_buf_add_json_string(&b, "abcdefg", 7, 0), Q_BUF_TOO_BIG);
    assert_int_equal(b.len, 0);
    assert_string_equal(q_buf_cstr(&b), "");
    q_buf_free(&b);
}

static void test_reset_shrink(void **state)
{
    q_buf b;
    char big[4096];

    (void)state;
    memset(big, 'x', sizeof(big));
    q_buf_init(&b, 1 << 20);
    assert_int_equal(q_buf_add(&b, big, 100), Q_BUF_OK);
    q_buf_reset_shrink(&b, 1024);           /* small: kept, emptied */
    assert_int_equal(b.len, 0);
    assert_non_null(b.data);
    assert_string_equal(q_buf_cstr(&b), "");
    assert_int_equal(q_buf_add(&b, big, sizeof(big)), Q_BUF_OK);
    q_buf_reset_shrink(&b, 1024);           /* large: given back */
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    assert_string_equal(q_buf_cstr(&b), "");
    assert_int_equal(q_buf_adds(&b, "again"), Q_BUF_OK);
    assert_string_equal(q_buf_cstr(&b), "again");
    q_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_json_string_cap),
        cmocka_unit_test(test_reset_shrink),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
