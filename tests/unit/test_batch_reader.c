/* test_batch_reader.c - splitting streamed batch uploads (JSONL and the JSON form) into
 * requests, whatever the chunking of the bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_reader.h"
#include "buf.h"

/* What the reader handed over, as "position:text" or "position:TOO_LARGE" lines. */
typedef struct {
    q_buf out;
    int stop_after;   /* stop reading after this many requests (0: never) */
    int seen;
} collected;

static int on_item(void *ctx, const char *data, size_t len, long position, int too_large)
{
    collected *c = ctx;

    assert_int_equal(strlen(data), len); /* NUL-terminated, no embedded cut */
    q_buf_printf(&c->out, "%ld:%s\n", position, too_large ? "TOO_LARGE" : data);
    c->seen++;
    return c->stop_after && c->seen >= c->stop_after ? -1 : 0;
}

/* Feeds text in pieces of `chunk` bytes (0: all at once) and finishes. Returns the reader's
 * result; what it handed over is in c->out; *error the reader's error. */
static int run(q_batch_format format, const char *text, size_t chunk, size_t max_item,
               collected *c, const char **error, json_t **metadata)
{
    q_batch_reader *r;
    size_t len = strlen(text), off = 0;
    int rc = 0;

    q_buf_init(&c->out, 1 << 20);
    c->seen = 0;
    r = q_batch_reader_new(format, max_item, on_item, c);
    assert_non_null(r);
    while (off < len && rc == 0) {
        size_t n = chunk && chunk < len - off ? chunk : len - off;
        rc = q_batch_reader_feed(r, text + off, n);
        off += n;
    }
    if (rc == 0)
        rc = q_batch_reader_finish(r);
    *error = q_batch_reader_error(r) ? strdup(q_batch_reader_error(r)) : NULL;
    if (metadata)
        *metadata = q_batch_reader_metadata(r);
    q_batch_reader_free(r);
    return rc;
}

/* Runs with every chunk size from 1 to 7 and all at once; all must agree with `want`. */
static void expect_items(q_batch_format format, const char *text, size_t max_item,
                         const char *want)
{
    static const size_t chunks[] = {0, 1, 2, 3, 5, 7, 64};

    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        collected c = {0};
        const char *err;
        int rc = run(format, text, chunks[i], max_item, &c, &err, NULL);

        if (rc != 0)
            fail_msg("chunk %zu: %s", chunks[i], err ? err : "?");
        assert_string_equal(q_buf_cstr(&c.out), want);
        free((void *)err);
        q_buf_free(&c.out);
    }
}

static void expect_error(q_batch_format format, const char *text, const char *error_part)
{
    collected c = {0};
    const char *err;

    assert_int_equal(run(format, text, 3, 1024, &c, &err, NULL), -1);
    assert_non_null(err);
    if (!strstr(err, error_part))
        fail_msg("error \"%s\" lacks \"%s\"", err, error_part);
    free((void *)err);
    q_buf_free(&c.out);
}

static void test_jsonl_lines(void **state)
{
    (void)state;
    expect_items(Q_BATCH_FORMAT_JSONL, "{\"a\":1}\n{\"b\":2}\n", 1024,
                 "1:{\"a\":1}\n2:{\"b\":2}\n");
    /* CRLF, blank lines (counted, skipped), a last line without a newline */
    expect_items(Q_BATCH_FORMAT_JSONL, "{\"a\":1}\r\n\r\n  \n{\"b\":\"x\\ny\"}", 1024,
                 "1:{\"a\":1}\n4:{\"b\":\"x\\ny\"}\n");
    /* anything that is not blank is a request, valid JSON or not: the caller judges it */
    expect_items(Q_BATCH_FORMAT_JSONL, "not json\n{\n", 1024, "1:not json\n2:{\n");
    expect_items(Q_BATCH_FORMAT_JSONL, "", 1024, "");
}

static void test_jsonl_too_large(void **state)
{
    char big[200];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    {
        char text[512];
        snprintf(text, sizeof(text), "{\"a\":1}\n%s\n{\"c\":3}\n%s", big, big);
        expect_items(Q_BATCH_FORMAT_JSONL, text, 100,
                     "1:{\"a\":1}\n2:TOO_LARGE\n3:{\"c\":3}\n4:TOO_LARGE\n");
    }
}

static void test_json_requests(void **state)
{
    (void)state;
    expect_items(Q_BATCH_FORMAT_JSON,
                 " {\"requests\": [ {\"custom_id\":\"a\",\"question\":\"q ] } [ {\\\"\"} ,\n"
                 "{\"x\":[1,{\"y\":\"}\"}]} ] } ",
                 1024,
                 "0:{\"custom_id\":\"a\",\"question\":\"q ] } [ {\\\"\"}\n"
                 "1:{\"x\":[1,{\"y\":\"}\"}]}\n");
    /* scalars and strings are handed over too (and rejected by the caller) */
    expect_items(Q_BATCH_FORMAT_JSON, "{\"requests\":[1, \"s,]\" ,true,null]}", 1024,
                 "0:1\n1:\"s,]\"\n2:true\n3:null\n");
    expect_items(Q_BATCH_FORMAT_JSON, "{\"requests\":[]}", 1024, "");
}

static void test_json_metadata(void **state)
{
    collected c = {0};
    const char *err;
    json_t *meta = NULL;

    (void)state;
    assert_int_equal(run(Q_BATCH_FORMAT_JSON,
                         "{\"metadata\":{\"team\":\"x\",\"n\":[1,2]},\"requests\":[{\"a\":1}]}", 2,
                         1024, &c, &err, &meta),
                     0);
    assert_non_null(meta);
    assert_string_equal(json_string_value(json_object_get(meta, "team")), "x");
    assert_string_equal(q_buf_cstr(&c.out), "0:{\"a\":1}\n");
    json_decref(meta);
    q_buf_free(&c.out);
    free((void *)err);
    expect_items(Q_BATCH_FORMAT_JSON, "{\"requests\":[{\"a\":1}],\"metadata\":null}", 1024,
                 "0:{\"a\":1}\n");
}

static void test_json_errors(void **state)
{
    (void)state;
    expect_error(Q_BATCH_FORMAT_JSON, "", "empty");
    expect_error(Q_BATCH_FORMAT_JSON, "[]", "JSON object");
    expect_error(Q_BATCH_FORMAT_JSON, "{}", "no \"requests\"");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"requests\":[{\"a\":1}]", "ended before");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"requests\":[{\"a\":1}", "ended before");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"requests\":[{\"a\":1},]}", "expected a request");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"requests\":{}}", "must be an array");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"requests\":[],\"requests\":[]}", "twice");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"model\":\"x\",\"requests\":[]}", "unknown member");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"requests\":[]} x", "after the top-level");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"requests\":[],}", "member name");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"metadata\":[1],\"requests\":[]}", "must be an object");
    expect_error(Q_BATCH_FORMAT_JSON, "{\"metadata\":{\"a\":},\"requests\":[]}", "not valid JSON");
}

static void test_json_big_metadata(void **state)
{
    size_t n = 20000;
    char *text = malloc(n + 64);

    (void)state;
    assert_non_null(text);
    strcpy(text, "{\"metadata\":{\"k\":\"");
    memset(text + strlen(text), 'm', n);
    strcpy(text + strlen("{\"metadata\":{\"k\":\"") + n, "\"},\"requests\":[]}");
    expect_error(Q_BATCH_FORMAT_JSON, text, "16 KiB");
    free(text);
}

static void test_json_too_large_element(void **state)
{
    char text[600];
    char big[300];

    (void)state;
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(text, sizeof(text), "{\"requests\":[{\"q\":\"%s\"},{\"q\":1}]}", big);
    expect_items(Q_BATCH_FORMAT_JSON, text, 100, "0:TOO_LARGE\n1:{\"q\":1}\n");
}

static void test_stop(void **state)
{
    collected c = {.stop_after = 2};
    const char *err;

    (void)state;
    assert_int_equal(run(Q_BATCH_FORMAT_JSONL, "{}\n{}\n{}\n{}\n", 0, 1024, &c, &err, NULL), -1);
    assert_string_equal(err, "stopped");
    assert_string_equal(q_buf_cstr(&c.out), "1:{}\n2:{}\n");
    free((void *)err);
    q_buf_free(&c.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_lines),
        cmocka_unit_test(test_jsonl_too_large),
        cmocka_unit_test(test_json_requests),
        cmocka_unit_test(test_json_metadata),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_big_metadata),
        cmocka_unit_test(test_json_too_large_element),
        cmocka_unit_test(test_stop),
    };

    return cmocka_run_group_tests_name("batch_reader", tests, NULL, NULL);
}
