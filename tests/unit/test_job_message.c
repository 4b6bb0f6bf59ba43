/* test_job_message.c - the Kafka job message, ids and API keys, the capped buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ids.h"
#include "job_message.h"

static void test_round_trip(void **state)
{
    q_job_message m = {.api_key_id = 42, .created_at_ms = 1764000000123LL}, back;
    char *payload, err[256];

    (void)state;
    assert_int_equal(q_uuid_v7(m.id), 0);
    strcpy(m.model, "anthropic.claude-3-haiku-20240307-v1:0");
    payload = q_job_message_encode(&m);
    assert_non_null(payload);
    assert_null(strstr(payload, "question"));
    {
        /* Written by hand, byte for byte what jansson would write. */
        json_t *o = json_pack("{s:i,s:s,s:I,s:s,s:I}", "v", Q_JOB_MESSAGE_VERSION, "id", m.id,
                              "api_key_id", (json_int_t)42, "model", m.model, "created_at_ms",
                              (json_int_t)1764000000123LL);
        char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

        assert_string_equal(payload, want);
        free(want);
        json_decref(o);
    }
    assert_int_equal(q_job_message_decode(payload, strlen(payload), &back, err, sizeof(err)), 0);
    assert_string_equal(back.id, m.id);
    assert_string_equal(back.model, m.model);
    assert_int_equal(back.api_key_id, 42);
    assert_int_equal(back.created_at_ms, 1764000000123LL);
    free(payload);
}

static void test_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "{}",
        "{\"v\":2,\"id\":\"0190b0c3-0000-7000-8000-000000000000\",\"api_key_id\":1,\"model\":\"m\",\"created_at_ms\":1}",
        "{\"v\":1,\"id\":\"not-a-uuid\",\"api_key_id\":1,\"model\":\"m\",\"created_at_ms\":1}",
        "{\"v\":1,\"id\":\"0190b0c3-0000-7000-8000-000000000000\",\"api_key_id\":0,\"model\":\"m\",\"created_at_ms\":1}",
        "{\"v\":1,\"id\":\"0190b0c3-0000-7000-8000-000000000000\",\"api_key_id\":1,\"model\":\"\",\"created_at_ms\":1}",
        "{\"v\":1,\"id\":\"0190b0c3-0000-7000-8000-000000000000\",\"api_key_id\":1,\"model\":\"m\",\"created_at_ms\":1,\"x\":1}",
        "{\"v\":1,\"v\":1,\"id\":\"0190b0c3-0000-7000-8000-000000000000\",\"api_key_id\":1,\"model\":\"m\",\"created_at_ms\":1}",
        "{\"v\":1,\"id\":\"0190b0c3-0000-7000-8000-000000000000\",\"api_key_id\":\"1\",\"model\":\"m\",\"created_at_ms\":1}",
    };
    q_job_message m;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (q_job_message_decode(bad[i], strlen(bad[i]), &m, err, sizeof(err)) != -1)
            fail_msg("case %zu accepted: %s", i, bad[i]);
        assert_true(strlen(err) > 0);
    }
}

static void test_uuid(void **state)
{
    char a[Q_UUID_LEN + 1], b[Q_UUID_LEN + 1];

    (void)state;
    assert_int_equal(q_uuid_v7(a), 0);
    assert_int_equal(q_uuid_v7(b), 0);
    assert_true(q_uuid_valid(a));
    assert_int_equal(a[14], '7');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_true(strncmp(a, b, 8) <= 0); /* time-ordered prefix */
    assert_string_not_equal(a, b);
    assert_int_equal(q_uuid_v4(a), 0);
    assert_int_equal(a[14], '4');
    assert_false(q_uuid_valid("0190b0c3-0000-7000-8000-00000000000"));
    assert_false(q_uuid_valid("0190b0c3x0000-7000-8000-000000000000"));
    assert_false(q_uuid_valid("0190b0c3-0000-7000-8000-00000000000g"));
    assert_false(q_uuid_valid(NULL));
}

/* Ids draw from a per-thread pool of random bytes refilled every 32 ids: across several
 * refills every id is well formed and none repeats, and a v7 id starts with the time now. */
static void test_uuid_many(void **state)
{
    enum { N = 1000 };
    static char ids[N][Q_UUID_LEN + 1];
    struct timespec ts;
    unsigned long long ms, stamp;

    (void)state;
    for (int i = 0; i < N; i++) {
        assert_int_equal(i % 2 ? q_uuid_v4(ids[i]) : q_uuid_v7(ids[i]), 0);
        assert_true(q_uuid_valid(ids[i]));
        assert_int_equal(ids[i][14], i % 2 ? '4' : '7');
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (strcmp(ids[i] + 9, ids[j] + 9) == 0) /* beyond the time prefix */
                fail_msg("ids %d and %d share their random part: %s", i, j, ids[i]);
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
    stamp = strtoull(ids[N - 2], NULL, 16) << 16 | strtoull(ids[N - 2] + 9, NULL, 16);
    assert_true(stamp <= ms && ms - stamp < 5000);
}

/* After fork() the child does not hand out the ids the parent hands out next. */
static void test_uuid_after_fork(void **state)
{
    char mine[Q_UUID_LEN + 1], theirs[Q_UUID_LEN + 1] = "";
    int fds[2];
    pid_t pid;

    (void)state;
    assert_int_equal(q_uuid_v4(mine), 0); /* the pool now holds the next ids */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[Q_UUID_LEN + 1];
        ssize_t w = q_uuid_v4(id) == 0 ? write(fds[1], id, Q_UUID_LEN) : -1;
        _exit(w == Q_UUID_LEN ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], theirs, Q_UUID_LEN), Q_UUID_LEN);
    close(fds[0]);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_int_equal(q_uuid_v4(mine), 0);
    assert_string_not_equal(mine, theirs);
}

static void test_api_key(void **state)
{
    char k1[Q_API_KEY_LEN + 1], k2[Q_API_KEY_LEN + 1], h[65];

    (void)state;
    assert_int_equal(q_api_key_generate(k1), 0);
    assert_int_equal(q_api_key_generate(k2), 0);
    assert_int_equal(strlen(k1), Q_API_KEY_LEN);
    assert_memory_equal(k1, "qk_", 3);
    assert_string_not_equal(k1, k2);
    for (size_t i = 3; i < Q_API_KEY_LEN; i++)
        assert_true((k1[i] >= '0' && k1[i] <= '9') || (k1[i] >= 'a' && k1[i] <= 'z') ||
                    (k1[i] >= 'A' && k1[i] <= 'Z'));
    q_api_key_hash_hex("qk_test", 7, h);
    assert_int_equal(strlen(h), 64);
}

static void test_buf_cap(void **state)
{
    q_buf b;
    char *s;

    (void)state;
    q_buf_init(&b, 8);
    assert_string_equal(q_buf_cstr(&b), "");
    assert_int_equal(q_buf_adds(&b, "12345678"), Q_BUF_OK);
    assert_int_equal(q_buf_addc(&b, '9'), Q_BUF_TOO_BIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(q_buf_cstr(&b), "12345678");
    q_buf_reset(&b);
    assert_int_equal(q_buf_printf(&b, "%d-%s", 42, "x"), Q_BUF_OK);
    assert_string_equal(q_buf_cstr(&b), "42-x");
    assert_int_equal(q_buf_printf(&b, "%s", "too long!"), Q_BUF_TOO_BIG);
    s = q_buf_take(&b);
    assert_string_equal(s, "42-x");
    free(s);
    s = q_buf_take(&b);
    assert_string_equal(s, "");
    free(s);
    q_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_uuid_many), cmocka_unit_test(test_uuid_after_fork),
        cmocka_unit_test(test_api_key),
        cmocka_unit_test(test_buf_cap),
    };
    return cmocka_run_group_tests_name("job_message", tests, NULL, NULL);
}
