/* test_bedrock.c - Bedrock wire rules: request body, invoke path, answer parsing, error
 * classification (as botocore classifies) and the backoff schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bedrock.h"

static void test_claude_body(void **state)
{
    char *body = q_bedrock_claude_body("be brief", "What is 2+2?", 64, 1, 0.5);
    json_t *o = json_loads(body, 0, NULL);
    const json_t *msg;

    (void)state;
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "anthropic_version")),
                        "bedrock-2023-05-31");
    assert_int_equal(json_integer_value(json_object_get(o, "max_tokens")), 64);
    assert_string_equal(json_string_value(json_object_get(o, "system")), "be brief");
    assert_true(json_real_value(json_object_get(o, "temperature")) == 0.5);
    msg = json_array_get(json_object_get(o, "messages"), 0);
    assert_string_equal(json_string_value(json_object_get(msg, "role")), "user");
    assert_string_equal(json_string_value(json_object_get(msg, "content")), "What is 2+2?");
    assert_int_equal(json_object_size(o), 5);
    json_decref(o);
    free(body);

    body = q_bedrock_claude_body(NULL, "q", 1, 0, 0);
    o = json_loads(body, 0, NULL);
    assert_null(json_object_get(o, "system"));
    assert_null(json_object_get(o, "temperature"));
    json_decref(o);
    free(body);
    assert_null(q_bedrock_claude_body(NULL, "q", 0, 0, 0));
}

/* The body is written without jansson; it must still be byte for byte what
 * json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) made of the same members. */
static void test_claude_body_matches_jansson(void **state)
{
    static const struct {
        const char *system, *question;
        int max_tokens, has_temperature;
        double temperature;
    } cases[] = {
        {"be brief", "What is 2+2?", 64, 1, 0.5},
        {NULL, "plain", 1, 0, 0},
        {"", "empty system prompt", 100, 1, 0},
        {"sys", "temperature one", 4096, 1, 1},
        {"sys", "temperature 0.7", 10, 1, 0.7},
        {"sys", "temperature 0.1", 10, 1, 0.1},
        {"quotes \" and \\ backslash", "tab\there\nnewline\r\b\f\x01\x1f\x7f end", 5, 0, 0},
        {"slash / kept", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad", 7, 1, 0.25},
        {"sys", "</script><!-- & ' \"", 3, 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = q_bedrock_claude_body(cases[i].system, cases[i].question,
                                           cases[i].max_tokens, cases[i].has_temperature,
                                           cases[i].temperature);
        json_t *o = json_pack("{s:s,s:i,s:[{s:s,s:s}]}", "anthropic_version",
                              Q_ANTHROPIC_VERSION, "max_tokens", cases[i].max_tokens,
                              "messages", "role", "user", "content", cases[i].question);
        char *want;

        print_message("claude body case %zu\n", i);
        assert_non_null(o);
        if (cases[i].system && *cases[i].system)
            json_object_set_new(o, "system", json_string(cases[i].system));
        if (cases[i].has_temperature)
            json_object_set_new(o, "temperature", json_real(cases[i].temperature));
        want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_non_null(body);
        assert_string_equal(body, want);
        free(want);
        free(body);
        json_decref(o);
    }
    /* text that is not UTF-8 cannot go into JSON (jansson refused it too) */
    assert_null(q_bedrock_claude_body(NULL, "bad \xff byte", 5, 0, 0));
    assert_null(q_bedrock_claude_body("bad \xc3", "q", 5, 0, 0));
    assert_null(q_bedrock_claude_body(NULL, NULL, 5, 0, 0));
}

static void test_invoke_path(void **state)
{
    static const struct {
        const char *model, *path;
    } cases[] = {
        {"anthropic.claude-3-haiku-20240307-v1:0",
         "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"},
        {"us.anthropic.claude-3-5-haiku-20241022-v1:0",
         "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke"},
        {"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
         "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/invoke"},
        {"amazon.nova-micro-v1:0", "/model/amazon.nova-micro-v1%3A0/invoke"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = q_bedrock_invoke_path(cases[i].model);
        assert_string_equal(p, cases[i].path);
        free(p);
    }
    {
        q_buf b;

        q_buf_init(&b, 64);
        assert_int_equal(q_buf_adds(&b, "http://h"), Q_BUF_OK);
        assert_int_equal(q_bedrock_add_invoke_path(&b, "a:b"), Q_BUF_OK);
        assert_string_equal(q_buf_cstr(&b), "http://h/model/a%3Ab/invoke");
        q_buf_reset(&b);
        /* the cap holds: a path that does not fit is an error, not a cut */
        assert_int_not_equal(q_bedrock_add_invoke_path(&b, "a-model-id-far-too-long-for-"
                                                           "a-sixty-four-byte-buffer-x"),
                             Q_BUF_OK);
        q_buf_free(&b);
    }
}

static void test_parse_answer(void **state)
{
    const char *ok = "{\"id\":\"msg_bdrk_01abc\",\"type\":\"message\",\"role\":\"assistant\","
                     "\"content\":[{\"type\":\"text\",\"text\":\"Four\"},{\"type\":\"text\","
                     "\"text\":\".\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":12,"
                     "\"output_tokens\":3,\"cache_read_input_tokens\":5}}";
    q_bedrock_answer a;
    char err[128];

    (void)state;
    assert_int_equal(q_bedrock_parse_claude_answer(ok, strlen(ok), &a, err, sizeof(err)), 0);
    assert_string_equal(a.text, "Four.");
    assert_string_equal(a.stop_reason, "end_turn");
    assert_string_equal(a.id, "msg_bdrk_01abc");
    assert_int_equal(a.input_tokens, 12);
    assert_int_equal(a.output_tokens, 3);
    assert_int_equal(a.cache_read_tokens, 5);
    assert_int_equal(a.cache_write_tokens, 0);
    q_bedrock_answer_free(&a);

    static const char *const bad[] = {
        "not json", "[]", "{\"content\":[]}", "{\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}",
        "{\"content\":[],\"usage\":{\"input_tokens\":1}}",
        "{\"content\":[],\"usage\":{\"input_tokens\":-1,\"output_tokens\":1}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(q_bedrock_parse_claude_answer(bad[i], strlen(bad[i]), &a, err, sizeof(err)),
                         -1);
        assert_true(strlen(err) > 0);
        assert_null(a.text);
    }
    q_bedrock_answer_free(NULL);
}

/* Answers the one-pass reader takes and answers it leaves to jansson (\u escapes,
 * non-ASCII text, fractions, repeated members) read to the same values either way. */
static void test_parse_answer_paths(void **state)
{
    static const struct {
        const char *json, *text, *stop, *id;
        long long in, out, cache_read;
    } cases[] = {
        /* plain: the one-pass reader */
        {"{\"id\":\"m1\",\"content\":[{\"text\":\"a\\\"b\\\\c\\/d\\n\"},3,[{\"text\":\"no\"}],"
         "{\"type\":\"tool\"},{\"text\":1},{\"text\":\"e\"}],\"stop_reason\":null,"
         "\"usage\":{\"input_tokens\":0,\"output_tokens\":7,\"x\":[true,false,null,-0]}} ",
         "a\"b\\c/d\ne", "unknown", "m1", 0, 7, 0},
        {"{\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":2,"
         "\"cache_read_input_tokens\":-3}}", "", "unknown", "", 1, 2, 0},
        /* left to jansson */
        {"{\"content\":[{\"text\":\"caf\\u00e9\"}],\"usage\":{\"input_tokens\":1,"
         "\"output_tokens\":2}}", "caf\xc3\xa9", "unknown", "", 1, 2, 0},
        {"{\"content\":[{\"text\":\"caf\xc3\xa9\"}],\"usage\":{\"input_tokens\":1,"
         "\"output_tokens\":2},\"stop_reason\":\"end_turn\"}", "caf\xc3\xa9", "end_turn", "", 1, 2, 0},
        {"{\"content\":[{\"text\":\"a\",\"text\":\"b\"}],\"usage\":{\"input_tokens\":1,"
         "\"output_tokens\":2},\"usage\":{\"input_tokens\":4,\"output_tokens\":5}}", "b", "unknown",
         "", 4, 5, 0},
        {"{\"content\":[{\"text\":\"a\"}],\"score\":0.5,\"usage\":{\"input_tokens\":1,"
         "\"output_tokens\":2,\"cache_read_input_tokens\":1.0}}", "a", "unknown", "", 1, 2, 0},
    };
    static const char *const bad[] = {
        "{\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":2}} x",
        "{\"content\":[],\"usage\":{\"input_tokens\":01,\"output_tokens\":2}}",
        "{\"content\":[{\"text\":\"a\tb\"}],\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}",
        "{\"content\":{},\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}",
        "{\"content\":[],\"usage\":{\"input_tokens\":1.0,\"output_tokens\":2}}",
    };
    q_bedrock_answer a;
    char err[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(q_bedrock_parse_claude_answer(cases[i].json, strlen(cases[i].json), &a,
                                                       err, sizeof(err)), 0);
        assert_string_equal(a.text, cases[i].text);
        assert_string_equal(a.stop_reason, cases[i].stop);
        assert_string_equal(a.id, cases[i].id);
        assert_int_equal(a.input_tokens, cases[i].in);
        assert_int_equal(a.output_tokens, cases[i].out);
        assert_int_equal(a.cache_read_tokens, cases[i].cache_read);
        q_bedrock_answer_free(&a);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(q_bedrock_parse_claude_answer(bad[i], strlen(bad[i]), &a, err, sizeof(err)),
                         -1);
        assert_true(strlen(err) > 0);
        assert_null(a.text);
    }
}

/* Model ids of every shape name their family: foundation models, cross-region inference
 * profiles, and ARNs of either. */
static void test_family_of(void **state)
{
    static const struct {
        const char *id;
        q_bedrock_family want;
    } cases[] = {
        {"anthropic.claude-3-haiku-20240307-v1:0", Q_BEDROCK_CLAUDE},
        {"us.anthropic.claude-3-5-haiku-20241022-v1:0", Q_BEDROCK_CLAUDE},
        {"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
         Q_BEDROCK_CLAUDE},
        {"amazon.nova-micro-v1:0", Q_BEDROCK_NOVA},
        {"us.amazon.nova-lite-v1:0", Q_BEDROCK_NOVA},
        {"arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0",
         Q_BEDROCK_NOVA},
        {"amazon.titan-text-express-v1", Q_BEDROCK_CLAUDE},
        {"", Q_BEDROCK_CLAUDE},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(q_bedrock_family_of(cases[i].id), cases[i].want);
    assert_int_equal(q_bedrock_family_of(NULL), Q_BEDROCK_CLAUDE);
}

/* The Nova messages-v1 body: what the emulator and Bedrock validate (schemaVersion, system
 * and content as text blocks, inferenceConfig.max_new_tokens), nothing more. */
static void test_nova_body(void **state)
{
    char *body = q_bedrock_nova_body("be brief", "What is \"2+2\"?", 64, 1, 0.5);
    json_t *o = json_loads(body, 0, NULL), *cfg;
    const json_t *msg;

    (void)state;
    assert_non_null(o);
    assert_string_equal(body, "{\"schemaVersion\":\"messages-v1\",\"system\":[{\"text\":\"be brief\"}],"
                              "\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":"
                              "\"What is \\\"2+2\\\"?\"}]}],\"inferenceConfig\":"
                              "{\"max_new_tokens\":64,\"temperature\":0.5}}");
    msg = json_array_get(json_object_get(o, "messages"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(msg, "content"), 0), "text")),
                        "What is \"2+2\"?");
    cfg = json_object_get(o, "inferenceConfig");
    assert_int_equal(json_integer_value(json_object_get(cfg, "max_new_tokens")), 64);
    json_decref(o);
    free(body);

    body = q_bedrock_request_body(Q_BEDROCK_NOVA, "", "q", 1, 0, 0);
    assert_string_equal(body, "{\"schemaVersion\":\"messages-v1\",\"messages\":[{\"role\":\"user\","
                              "\"content\":[{\"text\":\"q\"}]}],\"inferenceConfig\":"
                              "{\"max_new_tokens\":1}}");
    free(body);
    body = q_bedrock_request_body(Q_BEDROCK_CLAUDE, NULL, "q", 1, 0, 0);
    assert_non_null(strstr(body, "anthropic_version"));
    free(body);
    assert_null(q_bedrock_nova_body(NULL, "q", 0, 0, 0));
    assert_null(q_bedrock_nova_body(NULL, NULL, 10, 0, 0));
    assert_null(q_bedrock_nova_body(NULL, "bad \xff utf-8", 10, 0, 0));
}

static void test_parse_nova_answer(void **state)
{
    const char *ok = "{\"output\":{\"message\":{\"content\":[{\"text\":\"Four\"},{\"text\":\".\"}],"
                     "\"role\":\"assistant\"}},\"stopReason\":\"max_tokens\",\"usage\":{"
                     "\"inputTokens\":12,\"outputTokens\":3,\"totalTokens\":15,"
                     "\"cacheReadInputTokenCount\":4,\"cacheWriteInputTokenCount\":2}}";
    q_bedrock_answer a;
    char err[128];

    (void)state;
    assert_int_equal(q_bedrock_parse_answer(Q_BEDROCK_NOVA, ok, strlen(ok), &a, err, sizeof(err)),
                     0);
    assert_string_equal(a.text, "Four.");
    assert_string_equal(a.stop_reason, "max_tokens");
    assert_string_equal(a.id, "");
    assert_int_equal(a.input_tokens, 12);
    assert_int_equal(a.output_tokens, 3);
    assert_int_equal(a.cache_read_tokens, 4);
    assert_int_equal(a.cache_write_tokens, 2);
    q_bedrock_answer_free(&a);

    static const char *const bad[] = {
        "not json", "[]", "{\"output\":{}}",
        "{\"output\":{\"message\":{\"content\":[]}}}",
        "{\"output\":{\"message\":{\"content\":[]}},\"usage\":{\"inputTokens\":1}}",
        "{\"output\":{\"message\":{\"content\":{}}},\"usage\":{\"inputTokens\":1,\"outputTokens\":1}}",
        /* a Claude answer is not a Nova answer */
        "{\"content\":[{\"text\":\"x\"}],\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(q_bedrock_parse_nova_answer(bad[i], strlen(bad[i]), &a, err, sizeof(err)),
                         -1);
        assert_true(strlen(err) > 0);
        assert_null(a.text);
    }
}

static void test_classify(void **state)
{
    static const struct {
        int status;
        const char *header, *body, *code;
        q_retry_class retry;
    } cases[] = {
        {429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
         "{\"message\":\"Too many requests, please wait before trying again.\"}",
         "ThrottlingException", Q_RETRY_THROTTLED},
        {429, "ModelNotReadyException", "{\"message\":\"not ready\"}", "ModelNotReadyException",
         Q_RETRY_TRANSIENT},
        {408, "ModelTimeoutException", "{}", "ModelTimeoutException", Q_RETRY_BOUNDED},
        {424, "ModelErrorException", "{}", "ModelErrorException", Q_RETRY_BOUNDED},
        {400, "ServiceQuotaExceededException", "{}", "ServiceQuotaExceededException", Q_RETRY_NEVER},
        {400, "ValidationException", "{\"message\":\"bad\"}", "ValidationException", Q_RETRY_NEVER},
        {403, "AccessDeniedException", "{}", "AccessDeniedException", Q_RETRY_NEVER},
        {403, "InvalidSignatureException", "{}", "InvalidSignatureException", Q_RETRY_NEVER},
        {404, "ResourceNotFoundException", "{}", "ResourceNotFoundException", Q_RETRY_NEVER},
        {500, "InternalServerException", "{}", "InternalServerException", Q_RETRY_TRANSIENT},
        {503, "ServiceUnavailableException", "{}", "ServiceUnavailableException", Q_RETRY_TRANSIENT},
        {502, NULL, "<html>bad gateway</html>", "HTTP502", Q_RETRY_TRANSIENT},
        {400, NULL, "{\"__type\":\"com.amazon#ValidationException\",\"message\":\"m\"}",
         "ValidationException", Q_RETRY_NEVER},
        {400, "", "{\"code\":\"ThrottlingException\"}", "ThrottlingException", Q_RETRY_THROTTLED},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        q_bedrock_error e;

        q_bedrock_classify(cases[i].status, cases[i].header, cases[i].body, strlen(cases[i].body),
                           &e);
        if (strcmp(e.code, cases[i].code) != 0 || e.retry != cases[i].retry)
            fail_msg("case %zu: got %s/%d, want %s/%d", i, e.code, e.retry, cases[i].code,
                     cases[i].retry);
        assert_int_equal(e.http_status, cases[i].status);
    }
    {
        q_bedrock_error e;
        const char *b = "{\"message\":\"Too many requests\"}";
        q_bedrock_classify(429, "ThrottlingException:x", b, strlen(b), &e);
        assert_string_equal(e.message, "Too many requests");
        q_bedrock_classify(500, NULL, NULL, 0, &e);
        assert_string_equal(e.code, "HTTP500");
    }
}

static void test_backoff(void **state)
{
    (void)state;
    /* full jitter: uniform in [0, min(cap, base * 2^n)] */
    assert_int_equal(q_backoff_full_jitter_ms(0, 100, 20000, 0.0), 0);
    assert_true(q_backoff_full_jitter_ms(0, 100, 20000, 0.999999) <= 100);
    assert_true(q_backoff_full_jitter_ms(3, 100, 20000, 0.999999) <= 800);
    assert_true(q_backoff_full_jitter_ms(3, 100, 20000, 0.999999) >= 790);
    assert_true(q_backoff_full_jitter_ms(30, 100, 20000, 0.999999) <= 20000);
    assert_true(q_backoff_full_jitter_ms(30, 100, 20000, 0.999999) >= 19000);
    assert_true(q_backoff_full_jitter_ms(1000, 100, 20000, 0.5) <= 20000);
    assert_true(q_backoff_full_jitter_ms(2, 100, 20000, 5.0) <= 400); /* clamped draw */

    assert_int_equal(q_parse_retry_after_ms("3", NULL), 3000);
    assert_int_equal(q_parse_retry_after_ms("3", "1500"), 1500);
    assert_int_equal(q_parse_retry_after_ms(NULL, NULL), -1);
    assert_int_equal(q_parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL), -1);
    assert_int_equal(q_parse_retry_after_ms("-1", "x"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claude_body),   cmocka_unit_test(test_claude_body_matches_jansson),
        cmocka_unit_test(test_invoke_path),
        cmocka_unit_test(test_parse_answer),  cmocka_unit_test(test_parse_answer_paths),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_family_of),     cmocka_unit_test(test_nova_body),
        cmocka_unit_test(test_parse_nova_answer),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests_name("bedrock", tests, NULL, NULL);
}
