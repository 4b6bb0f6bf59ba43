/* test_money.c - exact price arithmetic: parsing, cost, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "money.h"

static void test_parse(void **state)
{
    static const struct {
        const char *in;
        int ok;
        int64_t micro;
    } cases[] = {
        {"0.25", 1, 250000},       {"1.25", 1, 1250000}, {"3", 1, 3000000},
        {"0.035", 1, 35000},       {"0.035000", 1, 35000}, {"15.000000", 1, 15000000},
        {".5", 1, 500000},         {"3.", 1, 3000000},   {"0.0000001", 0, 0},
        {"0.0000010", 1, 1},       {"", 0, 0},           {".", 0, 0},
        {"-1", 0, 0},              {"1e3", 0, 0},        {"1.2.3", 0, 0},
        {" 1", 0, 0},              {"99999999999999999999", 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = -1;
        int rc = q_money_parse_micro(cases[i].in, &v);

        if ((rc == 0) != cases[i].ok)
            fail_msg("\"%s\": expected %s", cases[i].in, cases[i].ok ? "ok" : "error");
        if (cases[i].ok && v != cases[i].micro)
            fail_msg("\"%s\": expected %lld, got %lld", cases[i].in, (long long)cases[i].micro,
                     (long long)v);
    }
}

static void test_cost_seeded_prices(void **state)
{
    /* Claude 3 Haiku: 0.25 / 1.25 USD per million tokens. */
    q_price haiku = {250000, 1250000, 0, 0};
    /* Sonnet 4: 3 / 15, cache read 0.30, cache write 3.75. */
    q_price sonnet4 = {3000000, 15000000, 300000, 3750000};
    /* Nova Micro: 0.035 / 0.14. */
    q_price micro = {35000, 140000, 0, 0};
    q_usage u = {1000, 500, 0, 0};
    int64_t pico;
    char text[32];

    (void)state;
    /* 1000 * 0.25e-6 + 500 * 1.25e-6 = 0.00025 + 0.000625 = 0.000875 */
    assert_int_equal(q_money_cost_pico(&haiku, &u, &pico), 0);
    q_money_format_pico(pico, text);
    assert_string_equal(text, "0.000875000000");

    u = (q_usage){1, 1, 0, 0};
    assert_int_equal(q_money_cost_pico(&micro, &u, &pico), 0);
    q_money_format_pico(pico, text);
    assert_string_equal(text, "0.000000175000"); /* 0.035e-6 + 0.14e-6 */

    u = (q_usage){2000000, 1000000, 4000000, 100000};
    assert_int_equal(q_money_cost_pico(&sonnet4, &u, &pico), 0);
    q_money_format_pico(pico, text);
    /* 6 + 15 + 1.2 + 0.375 */
    assert_string_equal(text, "22.575000000000");
}

static void test_cost_overflow_and_negative(void **state)
{
    q_price p = {INT64_MAX / 2, 0, 0, 0};
    q_usage u = {3, 0, 0, 0};
    int64_t pico;

    (void)state;
    assert_int_equal(q_money_cost_pico(&p, &u, &pico), -1);
    u = (q_usage){-1, 0, 0, 0};
    p = (q_price){1, 1, 1, 1};
    assert_int_equal(q_money_cost_pico(&p, &u, &pico), -1);
}

static void test_format(void **state)
{
    char text[32];

    (void)state;
    q_money_format_pico(0, text);
    assert_string_equal(text, "0.000000000000");
    q_money_format_pico(1, text);
    assert_string_equal(text, "0.000000000001");
    q_money_format_pico(1000000000000LL, text);
    assert_string_equal(text, "1.000000000000");
    q_money_format_pico(INT64_MAX, text);
    assert_string_equal(text, "9223372.036854775807");
    q_money_format_pico(-5, text);
    assert_string_equal(text, "-0.000000000005");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cost_seeded_prices),
        cmocka_unit_test(test_cost_overflow_and_negative),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
