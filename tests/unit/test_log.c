/* test_log.c - the field-by-field log line (q_log_begin ... q_log_end) writes exactly what
 * q_log writes for the same json_pack fields, and nothing when its level is off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs `write_lines` with stderr going to a temporary file; returns what it wrote. */
static char *capture(void (*write_lines)(void))
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    static char text[8192];
    size_t n;

    assert_non_null(tmp);
    fflush(stderr);
    assert_int_not_equal(dup2(fileno(tmp), STDERR_FILENO), -1);
    write_lines();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(text, 1, sizeof(text) - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    return text;
}

/* Drops the "ts" field, the only one that differs between two lines. */
static void without_ts(char *line)
{
    char *ts = strstr(line, "\"ts\":\"");
    char *end = ts ? strchr(ts + 6, '"') : NULL;

    assert_non_null(end);
    memmove(ts, end + 2, strlen(end + 2) + 1); /* the closing quote and the comma */
}

static void both_forms(void)
{
    q_log_line l;

    q_log(Q_LOG_INFO, "job.accepted",
          json_pack("{s:s,s:I,s:b,s:b,s:s}", "job_id", "0190b0c3-0000-7000-8000-000000000000",
                    "api_key_id", (json_int_t)-42, "flagged", 1, "other", 0, "model",
                    "quote \" backslash \\ tab \t é"));
    if (q_log_begin(&l, Q_LOG_INFO, "job.accepted")) {
        q_log_str(&l, "job_id", "0190b0c3-0000-7000-8000-000000000000");
        q_log_int(&l, "api_key_id", -42);
        q_log_bool(&l, "flagged", 1);
        q_log_bool(&l, "other", 0);
        q_log_str(&l, "model", "quote \" backslash \\ tab \t é");
        q_log_end(&l);
    }
}

static void test_same_line_as_q_log(void **state)
{
    char *text = capture(both_forms), *second;

    (void)state;
    second = strchr(text, '\n');
    assert_non_null(second);
    *second++ = '\0';
    assert_non_null(strchr(second, '\n'));
    *strchr(second, '\n') = '\0';
    without_ts(text);
    without_ts(second);
    assert_string_equal(second, text);
    assert_non_null(strstr(text, "\"flagged\":true,\"other\":false"));
}

static void debug_line(void)
{
    q_log_line l;

    if (q_log_begin(&l, Q_LOG_DEBUG, "not.written")) {
        q_log_bool(&l, "flagged", 1);
        q_log_end(&l);
    }
}

static void test_level_off_writes_nothing(void **state)
{
    (void)state;
    assert_string_equal(capture(debug_line), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_line_as_q_log),
        cmocka_unit_test(test_level_off_writes_nothing),
    };

    setenv("QUARRY_LOG_LEVEL", "info", 1);
    q_log_init("test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
