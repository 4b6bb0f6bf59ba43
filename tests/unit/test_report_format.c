/* test_report_format.c - report output (aligned table, CSV, JSON) and the parsers of
 * durations and days used by `quarry report` and `quarry prune`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_format.h"

/* Writes t in format into a string the caller frees. */
static char *render(const q_rf_table *t, q_rf_format format)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    assert_int_equal(q_rf_table_write(t, format, f), 0);
    fclose(f);
    return out;
}

static q_rf_table *sample(void)
{
    static const char *const rows[][4] = {
        {"2026-11-24", "alice", "12", "0.001104500000"},
        {"2026-11-25", "bob, \"the\" builder", "3", NULL},
        {"2026-11-25", "zoë", NULL, "12.5"},
    };
    q_rf_table *t = q_rf_table_new(4);

    assert_non_null(t);
    assert_int_equal(q_rf_table_column(t, 0, "day", Q_RF_TEXT), 0);
    assert_int_equal(q_rf_table_column(t, 1, "key_name", Q_RF_TEXT), 0);
    assert_int_equal(q_rf_table_column(t, 2, "jobs", Q_RF_INT), 0);
    assert_int_equal(q_rf_table_column(t, 3, "cost_usd", Q_RF_DECIMAL), 0);
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++)
        assert_int_equal(q_rf_table_add_row(t, rows[r]), 0);
    return t;
}

static void test_table(void **state)
{
    q_rf_table *t = sample();
    char *s = render(t, Q_RF_FORMAT_TABLE);

    (void)state;
    /* numbers right-aligned, text left-aligned, widths in characters (zoë is 3 wide) */
    assert_string_equal(s,
                        "day         key_name            jobs        cost_usd\n"
                        "----------  ------------------  ----  --------------\n"
                        "2026-11-24  alice                 12  0.001104500000\n"
                        "2026-11-25  bob, \"the\" builder     3\n"
                        "2026-11-25  zo\xc3\xab                                 12.5\n");
    free(s);
    q_rf_table_free(t);
}

static void test_csv(void **state)
{
    q_rf_table *t = sample();
    char *s = render(t, Q_RF_FORMAT_CSV);

    (void)state;
    assert_string_equal(s, "day,key_name,jobs,cost_usd\n"
                           "2026-11-24,alice,12,0.001104500000\n"
                           "2026-11-25,\"bob, \"\"the\"\" builder\",3,\n"
                           "2026-11-25,zoë,,12.5\n");
    free(s);
    q_rf_table_free(t);
}

static void test_json(void **state)
{
    q_rf_table *t = sample();
    char *s = render(t, Q_RF_FORMAT_JSON);

    (void)state;
    /* integers are numbers, decimals stay exact strings, NULL is null */
    assert_string_equal(s, "[\n"
                           "  {\n"
                           "    \"day\": \"2026-11-24\",\n"
                           "    \"key_name\": \"alice\",\n"
                           "    \"jobs\": 12,\n"
                           "    \"cost_usd\": \"0.001104500000\"\n"
                           "  },\n"
                           "  {\n"
                           "    \"day\": \"2026-11-25\",\n"
                           "    \"key_name\": \"bob, \\\"the\\\" builder\",\n"
                           "    \"jobs\": 3,\n"
                           "    \"cost_usd\": null\n"
                           "  },\n"
                           "  {\n"
                           "    \"day\": \"2026-11-25\",\n"
                           "    \"key_name\": \"zoë\",\n"
                           "    \"jobs\": null,\n"
                           "    \"cost_usd\": \"12.5\"\n"
                           "  }\n"
                           "]\n");
    free(s);
    q_rf_table_free(t);
}

static void test_empty(void **state)
{
    q_rf_table *t = q_rf_table_new(2);
    char *s;

    (void)state;
    assert_int_equal(q_rf_table_column(t, 0, "code", Q_RF_TEXT), 0);
    assert_int_equal(q_rf_table_column(t, 1, "attempts", Q_RF_INT), 0);
    assert_int_equal(q_rf_table_rows(t), 0);
    s = render(t, Q_RF_FORMAT_TABLE);
    assert_string_equal(s, "code  attempts\n----  --------\n(no rows)\n");
    free(s);
    s = render(t, Q_RF_FORMAT_CSV);
    assert_string_equal(s, "code,attempts\n");
    free(s);
    s = render(t, Q_RF_FORMAT_JSON);
    assert_string_equal(s, "[]\n");
    free(s);
    /* a column out of range is refused; an unnamed column makes write fail */
    assert_int_equal(q_rf_table_column(t, 2, "x", Q_RF_TEXT), -1);
    q_rf_table_free(t);
    t = q_rf_table_new(1);
    assert_int_equal(q_rf_table_write(t, Q_RF_FORMAT_CSV, stdout), -1);
    q_rf_table_free(t);
    q_rf_table_free(NULL);
    assert_null(q_rf_table_new(0));
}

static void test_many_rows(void **state)
{
    q_rf_table *t = q_rf_table_new(1);
    char v[16];
    const char *cells[1] = {v};
    char *s;

    (void)state;
    assert_int_equal(q_rf_table_column(t, 0, "n", Q_RF_INT), 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(v, sizeof(v), "%d", i);
        assert_int_equal(q_rf_table_add_row(t, cells), 0);
    }
    assert_int_equal(q_rf_table_rows(t), 1000);
    s = render(t, Q_RF_FORMAT_CSV);
    assert_int_equal(strncmp(s, "n\n0\n1\n", 6), 0);
    assert_non_null(strstr(s, "\n999\n"));
    free(s);
    q_rf_table_free(t);
}

static void test_format_names(void **state)
{
    q_rf_format f;

    (void)state;
    assert_int_equal(q_rf_parse_format("table", &f), 0);
    assert_int_equal(f, Q_RF_FORMAT_TABLE);
    assert_int_equal(q_rf_parse_format("csv", &f), 0);
    assert_int_equal(f, Q_RF_FORMAT_CSV);
    assert_int_equal(q_rf_parse_format("json", &f), 0);
    assert_int_equal(f, Q_RF_FORMAT_JSON);
    assert_int_equal(q_rf_parse_format("JSON", &f), -1);
    assert_int_equal(q_rf_parse_format("", &f), -1);
    assert_int_equal(q_rf_parse_format(NULL, &f), -1);
}

static void test_durations(void **state)
{
    static const struct {
        const char *in;
        int ok;
        long long seconds;
    } cases[] = {
        {"30d", 1, 2592000}, {"0s", 1, 0},        {"90m", 1, 5400},   {"12h", 1, 43200},
        {"2w", 1, 1209600},  {"1s", 1, 1},        {"36500d", 1, 3153600000LL},
        {"36700d", 0, 0},    {"30", 0, 0},        {"d", 0, 0},        {"", 0, 0},
        {"-1d", 0, 0},       {"1.5d", 0, 0},      {"30D", 0, 0},      {"30 d", 0, 0},
        {"1y", 0, 0},        {"9999999999d", 0, 0}, {"30dd", 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = -1;
        int rc = q_rf_parse_duration(cases[i].in, &v);

        if ((rc == 0) != cases[i].ok)
            fail_msg("\"%s\": expected %s", cases[i].in, cases[i].ok ? "ok" : "error");
        if (cases[i].ok && v != cases[i].seconds)
            fail_msg("\"%s\": expected %lld, got %lld", cases[i].in, cases[i].seconds, v);
    }
    assert_int_equal(q_rf_parse_duration(NULL, NULL), -1);
}

static void test_days(void **state)
{
    /* 2026-11-25 is day 20782 since 1970-01-01 */
    static const struct {
        const char *in;
        int ok;
        long day;
    } cases[] = {
        {"1970-01-01", 1, 0},      {"2026-11-25", 1, 20782}, {"2024-02-29", 1, 19782},
        {"2000-03-01", 1, 11017},  {"0d", 1, 20782},         {"7d", 1, 20775},
        {"30d", 1, 20752},         {"2023-02-29", 0, 0},     {"2026-13-01", 0, 0},
        {"2026-11-31", 0, 0},      {"2026-1-5", 0, 0},       {"26-11-25", 0, 0},
        {"2026/11/25", 0, 0},      {"yesterday", 0, 0},      {"d", 0, 0},
        {"", 0, 0},                {"-3d", 0, 0},
    };
    char text[11];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long v = -1;
        int rc = q_rf_parse_day(cases[i].in, 20782, &v);

        if ((rc == 0) != cases[i].ok)
            fail_msg("\"%s\": expected %s", cases[i].in, cases[i].ok ? "ok" : "error");
        if (cases[i].ok && v != cases[i].day)
            fail_msg("\"%s\": expected %ld, got %ld", cases[i].in, cases[i].day, v);
    }
    q_rf_format_day(20782, text);
    assert_string_equal(text, "2026-11-25");
    q_rf_format_day(0, text);
    assert_string_equal(text, "1970-01-01");
    q_rf_format_day(19782, text);
    assert_string_equal(text, "2024-02-29");
    /* every day of four centuries round-trips */
    for (long d = -1000; d < 146097; d += 1) {
        long back;

        q_rf_format_day(d, text);
        assert_int_equal(q_rf_parse_day(text, 0, &back), 0);
        assert_int_equal(back, d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json),         cmocka_unit_test(test_empty),
        cmocka_unit_test(test_many_rows),    cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_durations),    cmocka_unit_test(test_days),
    };
    return cmocka_run_group_tests_name("report_format", tests, NULL, NULL);
}
