/* test_sigv4.c - SigV4 signing vs the AWS suite and botocore's Bedrock signatures; helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sigv4.h"

/* ---------------------------------------------------------------------------------------
 * 1. The AWS SigV4 test suite (../shared/testdata/sigv4, see its README.md), every case
 *    folder found by walking the directory: a case is a folder D holding D/<basename D>.req.
 * ------------------------------------------------------------------------------------- */

#define SUITE_AK "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_REGION "us-east-1"
#define SUITE_SERVICE "service"
#define SUITE_DATE "20150830T123600Z"
#define SUITE_MAX_CASES 256
#define SUITE_MAX_DEPTH 4

/* Vectors the design deliberately does not support. Empty today: botocore's four skips
 * all pass here (get-space: our .req reader takes the path up to the last space of the
 * request line; the three query-order cases: repeated query names are kept and sorted by
 * value). get-vanilla-with-session-token passes because the harness acts as Quarry's
 * callers do and puts the X-Amz-Security-Token header in before signing. Add
 * { "relative/case", "reason" } lines above the sentinel. */
static const struct {
    const char *name;
    const char *reason;
} k_suite_skips[] = {
    { NULL, NULL },
};

/* snprintf that fails the test instead of truncating a path. */
static void fmt_path(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_path(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < size);
}

static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    data = malloc((size_t)n + 1);
    if (!data)
        goto out;
    if (fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
        goto out;
    }
    data[n] = '\0';
    if (len_out)
        *len_out = (size_t)n;
out:
    fclose(f);
    return data;
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *base_name(const char *rel)
{
    const char *s = strrchr(rel, '/');

    return s ? s + 1 : rel;
}

typedef struct {
    char *names[SUITE_MAX_CASES]; /* relative to the suite root: "normalize-path/get-slash" */
    size_t n;
} case_list;

static void case_list_free(case_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->names[i]);
    l->n = 0;
}

/* Adds every case folder under root/rel (rel "" for the root) to l. */
static void find_cases(const char *root, const char *rel, int depth, case_list *l)
{
    char path[4096], sub[4096], req[4096];
    DIR *d;
    struct dirent *e;

    fmt_path(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    d = opendir(path);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        fmt_path(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        fmt_path(path, sizeof path, "%s/%s", root, sub);
        if (!is_dir(path))
            continue;
        fmt_path(req, sizeof req, "%s/%s.req", path, e->d_name);
        if (is_file(req)) {
            assert_true(l->n < SUITE_MAX_CASES);
            l->names[l->n] = strdup(sub);
            assert_non_null(l->names[l->n]);
            l->n++;
        }
        if (depth < SUITE_MAX_DEPTH)
            find_cases(root, sub, depth + 1, l);
    }
    closedir(d);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A .req cut up in place: the request line, "Name:value" headers (a line starting with
 * a space or tab continues the previous value, and the line break is kept so that the
 * signer's whitespace folding is what is tested), an empty line, then the body. */
typedef struct {
    char *text;
    const char *method, *path, *query;
    q_http_header headers[64];
    size_t n_headers;
    const char *body;
    size_t body_len;
} parsed_req;

static int parse_req(char *text, size_t len, parsed_req *r)
{
    char *p = text, *end = text + len, *nl, *sp1, *sp2, *colon, *q;

    memset(r, 0, sizeof *r);
    r->text = text;
    nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return -1;
    *nl = '\0';
    sp1 = strchr(p, ' ');
    sp2 = strrchr(p, ' ');
    if (!sp1 || sp1 == sp2 || strcmp(sp2 + 1, "HTTP/1.1") != 0)
        return -1;
    *sp1 = *sp2 = '\0';
    r->method = p;
    r->path = sp1 + 1;
    q = strchr(sp1 + 1, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    p = nl + 1;
    while (p < end && *p != '\n') {
        if (r->n_headers == sizeof r->headers / sizeof r->headers[0])
            return -1;
        nl = memchr(p, '\n', (size_t)(end - p));
        while (nl && nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t'))
            nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1));
        if (nl)
            *nl = '\0';
        colon = strchr(p, ':');
        if (!colon)
            return -1;
        *colon = '\0';
        r->headers[r->n_headers].name = p;
        r->headers[r->n_headers].value = colon + 1;
        r->n_headers++;
        p = nl ? nl + 1 : end;
    }
    if (p < end) { /* the empty line */
        r->body = p + 1;
        r->body_len = (size_t)(end - p - 1);
    }
    return 0;
}

static int check_eq(const char *name, const char *what, const char *want, const char *got)
{
    if (got && strcmp(want, got) == 0)
        return 0;
    print_error("sigv4 vector %s: %s differs\n--- expected\n%s\n--- got\n%s\n", name, what, want,
                got ? got : "(null)");
    return 1;
}

/* Returns the number of mismatches (0 = pass); a vector that cannot be read counts as one. */
static int run_suite_case(const char *root, const char *name)
{
    char path[4096], token[4096] = "";
    char *req_text = NULL, *creq = NULL, *sts = NULL, *authz = NULL;
    const char *t;
    size_t req_len = 0, tok_len, i;
    parsed_req r;
    q_sigv4_request sreq;
    q_aws_credentials creds = { SUITE_AK, SUITE_SECRET, NULL };
    q_sigv4_result res = { 0 };
    int have_token_header = 0, bad = 1;

#define CASE_FILE(ext)                                                                         \
    (fmt_path(path, sizeof path, "%s/%s/%s.%s", root, name, base_name(name), ext), path)
    req_text = read_file(CASE_FILE("req"), &req_len);
    creq = read_file(CASE_FILE("creq"), NULL);
    sts = read_file(CASE_FILE("sts"), NULL);
    authz = read_file(CASE_FILE("authz"), NULL);
#undef CASE_FILE
    if (!req_text || !creq || !sts || !authz) {
        print_error("sigv4 vector %s: missing .req/.creq/.sts/.authz\n", name);
        goto out;
    }
    if (parse_req(req_text, req_len, &r) != 0) {
        print_error("sigv4 vector %s: cannot parse the .req\n", name);
        goto out;
    }
    /* Like botocore's harness: the session token is whatever the expected .creq signs. */
    t = strstr(creq, "\nx-amz-security-token:");
    if (t) {
        t += strlen("\nx-amz-security-token:");
        tok_len = strcspn(t, "\n");
        assert_true(tok_len < sizeof token);
        memcpy(token, t, tok_len);
        token[tok_len] = '\0';
        creds.session_token = token;
        for (i = 0; i < r.n_headers; i++)
            if (strcasecmp(r.headers[i].name, "X-Amz-Security-Token") == 0)
                have_token_header = 1;
        if (!have_token_header) { /* what Quarry's callers do before signing */
            assert_true(r.n_headers < sizeof r.headers / sizeof r.headers[0]);
            r.headers[r.n_headers].name = "X-Amz-Security-Token";
            r.headers[r.n_headers].value = token;
            r.n_headers++;
        }
    }
    sreq = (q_sigv4_request){ r.method, r.path, r.query, r.headers, r.n_headers, r.body,
                              r.body_len };
    if (q_sigv4_sign(&sreq, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_DATE, &res) != 0) {
        print_error("sigv4 vector %s: q_sigv4_sign failed\n", name);
        goto out;
    }
    bad = check_eq(name, "canonical request", creq, res.canonical_request) +
          check_eq(name, "string to sign", sts, res.string_to_sign) +
          check_eq(name, "authorization", authz, res.authorization);
out:
    q_sigv4_result_free(&res);
    free(req_text);
    free(creq);
    free(sts);
    free(authz);
    return bad;
}

static const char *skip_reason(const char *name)
{
    size_t i;

    for (i = 0; k_suite_skips[i].name; i++)
        if (strcmp(k_suite_skips[i].name, name) == 0)
            return k_suite_skips[i].reason;
    return NULL;
}

static void test_aws_suite(void **state)
{
    const char *shared = getenv("QUARRY_SHARED_DIR");
    char root[4096];
    case_list cases = { .n = 0 };
    size_t i, passed = 0, skipped = 0, failed = 0;
    const char *reason;

    (void)state;
    fmt_path(root, sizeof root, "%s/testdata/sigv4", shared && *shared ? shared : "../shared");
    if (!is_dir(root)) {
        print_message("sigv4 test vectors absent (no directory %s): skipping the AWS suite\n",
                      root);
        skip();
    }
    find_cases(root, "", 0, &cases);
    qsort(cases.names, cases.n, sizeof cases.names[0], cmp_str_ptr);
    for (i = 0; i < cases.n; i++) {
        reason = skip_reason(cases.names[i]);
        if (reason) {
            print_message("sigv4 vector %s: skipped: %s\n", cases.names[i], reason);
            skipped++;
        } else if (run_suite_case(root, cases.names[i]) == 0) {
            passed++;
        } else {
            failed++;
        }
    }
    print_message("sigv4 vectors in %s: %zu found, %zu passed, %zu skipped, %zu failed\n", root,
                  cases.n, passed, skipped, failed);
    case_list_free(&cases);
    assert_true(passed > 0); /* a directory without cases must not pass silently */
    assert_int_equal(failed, 0);
}

/* ---------------------------------------------------------------------------------------
 * 2. Bedrock paths containing ':' - expectations produced by botocore 1.43.11. Regenerate
 *    with this (the path encoding is what botocore's rest-json serializer does for the
 *    {modelId} label, checked against a real bedrock-runtime client's wire URL):
 *
 *    import datetime
 *    from unittest import mock
 *    from urllib.parse import quote
 *    import botocore.auth
 *    from botocore.auth import SigV4Auth
 *    from botocore.awsrequest import AWSRequest
 *    from botocore.credentials import Credentials
 *
 *    AK, SK = 'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
 *    TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJH+token/with=specials=='
 *    BODY = (b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,'
 *            b'"messages":[{"role":"user","content":"hi"}]}')
 *    NOW = datetime.datetime(2024, 5, 1, 12, 0, 0)
 *    CASES = [('a', 'anthropic.claude-3-haiku-20240307-v1:0', None),
 *             ('b', 'us.anthropic.claude-3-5-haiku-20241022-v1:0', None),
 *             ('c', 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/'
 *                   'us.anthropic.claude-3-haiku-20240307-v1:0', None),
 *             ('d', 'anthropic.claude-3-haiku-20240307-v1:0', TOKEN)]
 *    for name, model, token in CASES:
 *        # the rest-json serializer percent-encodes a non-greedy URI label with safe='~'
 *        path = '/model/' + quote(model, safe='~') + '/invoke'
 *        req = AWSRequest(method='POST',
 *                         url='https://bedrock-runtime.us-east-1.amazonaws.com' + path,
 *                         data=BODY, headers={'Content-Type': 'application/json'})
 *        signer = SigV4Auth(Credentials(AK, SK, token), 'bedrock', 'us-east-1')
 *        seen = {}
 *        real_cr = signer.canonical_request
 *        signer.canonical_request = lambda r: seen.setdefault('creq', real_cr(r))
 *        with mock.patch.object(botocore.auth, 'get_current_datetime', return_value=NOW):
 *            signer.add_auth(req)
 *        print(name, path)
 *        print('  creq  ', repr(seen['creq']))
 *        print('  authz ', req.headers['Authorization'])
 *        print('  sent  ', dict(req.headers))
 *
 *    botocore signs content-type, host (taken from the URL), x-amz-date and, with a token,
 *    x-amz-security-token: exactly the headers passed to q_sigv4_sign below.
 * ------------------------------------------------------------------------------------- */

#define BR_HOST "bedrock-runtime.us-east-1.amazonaws.com"
#define BR_DATE "20240501T120000Z"
#define BR_SCOPE "20240501/us-east-1/bedrock/aws4_request"
#define BR_TOKEN "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJH+token/with=specials=="
#define BR_BODY                                                                                 \
    "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":16,"                         \
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define BR_BODY_SHA "616eb59224eb795b641b4c541ad9ee8b939a1e8798f73b54fce66bb79ddbb992"
#define BR_HEADERS_CREQ                                                                         \
    "content-type:application/json\nhost:" BR_HOST "\nx-amz-date:" BR_DATE "\n"

static const struct {
    const char *name;
    const char *model_id;
    const char *wire_path;
    const char *token;
    const char *creq;
    const char *authz;
} k_bedrock[] = {
    { "a: foundation model id",
      "anthropic.claude-3-haiku-20240307-v1:0",
      "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
      NULL,
      "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/invoke\n\n" BR_HEADERS_CREQ
      "\ncontent-type;host;x-amz-date\n" BR_BODY_SHA,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" BR_SCOPE ", SignedHeaders=content-type;host;"
      "x-amz-date, Signature=82f90a21c94892ad9f014aaaad07ce978d72afc1714b4b01f8db1c0d594c6bfb" },
    { "b: inference profile id",
      "us.anthropic.claude-3-5-haiku-20241022-v1:0",
      "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke",
      NULL,
      "POST\n/model/us.anthropic.claude-3-5-haiku-20241022-v1%253A0/invoke\n\n" BR_HEADERS_CREQ
      "\ncontent-type;host;x-amz-date\n" BR_BODY_SHA,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" BR_SCOPE ", SignedHeaders=content-type;host;"
      "x-amz-date, Signature=52f062be87b1f15df29c417bc21c1d6783e84f6d420ac3a425f5a54bfee41474" },
    { "c: inference profile ARN",
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
      "us.anthropic.claude-3-haiku-20240307-v1:0",
      "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
      "us.anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
      NULL,
      "POST\n/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile"
      "%252Fus.anthropic.claude-3-haiku-20240307-v1%253A0/invoke\n\n" BR_HEADERS_CREQ
      "\ncontent-type;host;x-amz-date\n" BR_BODY_SHA,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" BR_SCOPE ", SignedHeaders=content-type;host;"
      "x-amz-date, Signature=e8f0e5b111e8617beecfcad39e6b16f3d6e6245cbb14a55be16be0589aa54e5d" },
    { "d: foundation model id with a session token",
      "anthropic.claude-3-haiku-20240307-v1:0",
      "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
      BR_TOKEN,
      "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/invoke\n\n" BR_HEADERS_CREQ
      "x-amz-security-token:" BR_TOKEN "\n"
      "\ncontent-type;host;x-amz-date;x-amz-security-token\n" BR_BODY_SHA,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" BR_SCOPE ", SignedHeaders=content-type;host;"
      "x-amz-date;x-amz-security-token, "
      "Signature=9235498d80fe9335d056395b704619b8e05d24f8b018f14299e5b1b8ded1054a" },
};

static void test_bedrock_botocore(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof k_bedrock / sizeof k_bedrock[0]; i++) {
        q_http_header h[] = {
            { "Content-Type", "application/json" },
            { "Host", BR_HOST },
            { "X-Amz-Date", BR_DATE },
            { "X-Amz-Security-Token", k_bedrock[i].token },
        };
        q_aws_credentials creds = { SUITE_AK, SUITE_SECRET, k_bedrock[i].token };
        q_sigv4_request req = { "POST", NULL, NULL, h, k_bedrock[i].token ? 4 : 3, BR_BODY,
                                strlen(BR_BODY) };
        q_sigv4_result res = { 0 };
        char *label, sts[256], creq_sha[65];

        print_message("bedrock case %s\n", k_bedrock[i].name);
        /* The wire path is /model/ + the model id encoded as one label. */
        label = q_aws_uri_encode(k_bedrock[i].model_id, strlen(k_bedrock[i].model_id), 0);
        assert_non_null(label);
        assert_int_equal(strncmp(k_bedrock[i].wire_path, "/model/", 7), 0);
        assert_int_equal(strlen(k_bedrock[i].wire_path), 7 + strlen(label) + strlen("/invoke"));
        assert_memory_equal(k_bedrock[i].wire_path + 7, label, strlen(label));
        free(label);

        req.path = k_bedrock[i].wire_path;
        assert_int_equal(q_sigv4_sign(&req, &creds, "us-east-1", "bedrock", BR_DATE, &res), 0);
        assert_string_equal(res.canonical_request, k_bedrock[i].creq);
        assert_string_equal(res.authorization, k_bedrock[i].authz);
        q_sha256_hex(k_bedrock[i].creq, strlen(k_bedrock[i].creq), creq_sha);
        snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n" BR_DATE "\n" BR_SCOPE "\n%s", creq_sha);
        assert_string_equal(res.string_to_sign, sts);
        q_sigv4_result_free(&res);
    }
}

/* ---------------------------------------------------------------------------------------
 * 3. Helpers and edge cases.
 * ------------------------------------------------------------------------------------- */

static void test_uri_encode(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        int keep_slash;
        const char *want;
    } cases[] = {
        { "", 0, 0, "" },
        { "-._~09AZaz", 10, 0, "-._~09AZaz" },
        { "a b", 3, 0, "a%20b" },
        { "a/b", 3, 1, "a/b" },
        { "a/b", 3, 0, "a%2Fb" },
        { "v1:0", 4, 1, "v1%3A0" },
        { "v1%3A0", 6, 1, "v1%253A0" },
        { "+=&?#*", 6, 0, "%2B%3D%26%3F%23%2A" },
        { "\xe1\x88\xb4", 3, 0, "%E1%88%B4" },
        { "a\0b", 3, 0, "a%00b" },
        { "abc", 1, 0, "a" },
        { "\x7f\xff", 2, 0, "%7F%FF" },
    };
    size_t i;
    char *got;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        got = q_aws_uri_encode(cases[i].in, cases[i].len, cases[i].keep_slash);
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
    got = q_aws_uri_encode(NULL, 0, 0);
    assert_non_null(got);
    assert_string_equal(got, "");
    free(got);
    assert_null(q_aws_uri_encode(NULL, 1, 0));
}

static void test_sha256_hex(void **state)
{
    char out[65];

    (void)state;
    q_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    q_sha256_hex(NULL, 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    q_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    q_sha256_hex("Param1=value1", 13, out);
    assert_string_equal(out, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

static void test_amz_date(void **state)
{
    static const struct {
        long long t;
        const char *want;
    } cases[] = {
        { 0, "19700101T000000Z" },
        { 1440938160, "20150830T123600Z" },
        { 1714564800, "20240501T120000Z" },
        { 951868799, "20000229T235959Z" },  /* leap day of a year divisible by 400 */
        { 4107542400LL, "21000301T000000Z" }, /* 2100 is not a leap year */
        { 1709251199, "20240229T235959Z" },
        { 1735689599, "20241231T235959Z" },
        { 253402300799LL, "99991231T235959Z" },
        { 253402300800LL, "99991231T235959Z" }, /* clamped */
        { -1, "19700101T000000Z" },              /* clamped */
    };
    size_t i;
    char out[17];

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(out, 'x', sizeof out);
        q_sigv4_amz_date(cases[i].t, out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_const_time_streq(void **state)
{
    (void)state;
    assert_true(q_const_time_streq("", ""));
    assert_true(q_const_time_streq("abc", "abc"));
    assert_false(q_const_time_streq("abc", "abd"));
    assert_false(q_const_time_streq("abc", "ab"));
    assert_false(q_const_time_streq("ab", "abc"));
    assert_false(q_const_time_streq("", "a"));
    assert_false(q_const_time_streq(NULL, "a"));
    assert_false(q_const_time_streq("a", NULL));
    assert_false(q_const_time_streq(NULL, NULL));
}

#define GOOD_SIG "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"
#define GOOD_CRED "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"

static void test_parse_authorization_good(void **state)
{
    static const char *const good[] = {
        "AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders=host;my-header1;x-amz-date, "
        "Signature=" GOOD_SIG,
        "AWS4-HMAC-SHA256 " GOOD_CRED ",SignedHeaders=host;my-header1;x-amz-date,Signature="
        GOOD_SIG,
        "AWS4-HMAC-SHA256   " GOOD_CRED ", \t  SignedHeaders=host;my-header1;x-amz-date,\t"
        "Signature=" GOOD_SIG "  ",
        "AWS4-HMAC-SHA256 Signature=" GOOD_SIG ", " GOOD_CRED
        ", SignedHeaders=host;my-header1;x-amz-date",
        "AWS4-HMAC-SHA256 " GOOD_CRED " , SignedHeaders=host;my-header1;x-amz-date , "
        "Signature=C9D5EA9F3F72853AEA855B47EA873832890DBDD183B4468F858259531A5138EA",
    };
    size_t i;
    q_sigv4_authz a;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        print_message("good authorization %zu\n", i);
        assert_int_equal(q_sigv4_parse_authorization(good[i], &a), 0);
        assert_string_equal(a.access_key_id, "AKIDEXAMPLE");
        assert_string_equal(a.date, "20150830");
        assert_string_equal(a.region, "us-east-1");
        assert_string_equal(a.service, "service");
        assert_string_equal(a.signed_headers, "host;my-header1;x-amz-date");
        assert_string_equal(a.signature, GOOD_SIG);
        assert_true(q_const_time_streq(a.signature, GOOD_SIG));
        q_sigv4_authz_free(&a);
        assert_null(a.storage);
        q_sigv4_authz_free(&a); /* idempotent on a freed struct */
    }
    q_sigv4_authz_free(NULL);
}

/* Building blocks for the malformed headers below; BAD_SCOPE(x) is good but for the scope. */
#define ALG "AWS4-HMAC-SHA256 "
#define SH_HOST ", SignedHeaders=host"
#define SIG_GOOD ", Signature=" GOOD_SIG
#define BAD_SCOPE(scope) ALG "Credential=" scope SH_HOST SIG_GOOD
#define BAD_SIG(sig) ALG GOOD_CRED SH_HOST ", Signature=" sig
#define BAD_SH(sh) ALG GOOD_CRED ", SignedHeaders=" sh SIG_GOOD

static void test_parse_authorization_bad(void **state)
{
    static const struct {
        const char *why;
        const char *header;
    } bad[] = {
        { "empty", "" },
        { "algorithm only", "AWS4-HMAC-SHA256" },
        { "algorithm and space", ALG },
        { "wrong algorithm", "AWS4-HMAC-SHA1 " GOOD_CRED SH_HOST SIG_GOOD },
        { "lower-case algorithm", "aws4-hmac-sha256 " GOOD_CRED SH_HOST SIG_GOOD },
        { "no space after algorithm", "AWS4-HMAC-SHA256" GOOD_CRED SH_HOST SIG_GOOD },
        { "sigv2", "AWS AKIDEXAMPLE:c2lnbmF0dXJl" },
        { "bearer", "Bearer abc" },
        { "no Credential", ALG "SignedHeaders=host" SIG_GOOD },
        { "no SignedHeaders", ALG GOOD_CRED SIG_GOOD },
        { "no Signature", ALG GOOD_CRED SH_HOST },
        { "repeated Signature", ALG GOOD_CRED SH_HOST SIG_GOOD SIG_GOOD },
        { "repeated Credential", ALG GOOD_CRED ", " GOOD_CRED SH_HOST SIG_GOOD },
        { "unknown parameter", ALG GOOD_CRED SH_HOST SIG_GOOD ", Foo=bar" },
        { "lower-case key",
          ALG "credential=AKIDEXAMPLE/20150830/us-east-1/s/aws4_request" SH_HOST SIG_GOOD },
        { "empty Credential", BAD_SCOPE("") },
        { "no comma", ALG GOOD_CRED " SignedHeaders=host" SIG_GOOD },
        { "trailing comma", ALG GOOD_CRED SH_HOST SIG_GOOD "," },
        { "double comma", ALG GOOD_CRED "," SH_HOST SIG_GOOD },
        { "space around '='", ALG GOOD_CRED ", SignedHeaders = host" SIG_GOOD },
        { "scope with 4 parts", BAD_SCOPE("AKIDEXAMPLE/20150830/us-east-1/aws4_request") },
        { "scope with 6 parts", BAD_SCOPE("AKIDEXAMPLE/20150830/us-east-1/s/x/aws4_request") },
        { "scope end", BAD_SCOPE("AKIDEXAMPLE/20150830/us-east-1/service/aws4_requesT") },
        { "scope with an empty part", BAD_SCOPE("AKIDEXAMPLE/20150830//service/aws4_request") },
        { "scope without access key", BAD_SCOPE("/20150830/us-east-1/service/aws4_request") },
        { "scope date of 7 digits", BAD_SCOPE("AKIDEXAMPLE/2015083/us-east-1/s/aws4_request") },
        { "scope date not digits", BAD_SCOPE("AKIDEXAMPLE/2015O830/us-east-1/s/aws4_request") },
        { "signature too short",
          BAD_SIG("c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138e") },
        { "signature too long", BAD_SIG(GOOD_SIG "0") },
        { "signature not hex",
          BAD_SIG("g9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea") },
        { "empty signature", BAD_SIG("") },
        { "empty SignedHeaders", BAD_SH("") },
        { "SignedHeaders with an empty name", BAD_SH("host;;x-amz-date") },
        { "SignedHeaders ending in ';'", BAD_SH("host;") },
        { "SignedHeaders upper case", BAD_SH("Host") },
        { "SignedHeaders with ':'", BAD_SH("host:x") },
    };
    size_t i;
    q_sigv4_authz a;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&a, 0x5a, sizeof a);
        if (q_sigv4_parse_authorization(bad[i].header, &a) != -1)
            fail_msg("malformed authorization accepted (%s): %s", bad[i].why, bad[i].header);
        assert_null(a.storage);
        assert_null(a.signature);
    }
    assert_int_equal(q_sigv4_parse_authorization(NULL, &a), -1);
    assert_int_equal(q_sigv4_parse_authorization(bad[0].header, NULL), -1);
}
#undef ALG
#undef SH_HOST
#undef SIG_GOOD
#undef BAD_SCOPE
#undef BAD_SIG
#undef BAD_SH

/* Sign-then-parse round trip: what a verifier (the emulator) does. */
static void test_sign_parse_roundtrip(void **state)
{
    q_http_header h[] = { { "Host", "example.amazonaws.com" }, { "X-Amz-Date", SUITE_DATE } };
    q_sigv4_request req = { "GET", "/", NULL, h, 2, NULL, 0 };
    q_aws_credentials creds = { SUITE_AK, SUITE_SECRET, NULL };
    q_sigv4_result res = { 0 };
    q_sigv4_authz a;

    (void)state;
    assert_int_equal(q_sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_DATE, &res), 0);
    assert_int_equal(q_sigv4_parse_authorization(res.authorization, &a), 0);
    assert_string_equal(a.signed_headers, res.signed_headers);
    assert_true(q_const_time_streq(a.signature, res.signature));
    assert_string_equal(res.signature,
                        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    q_sigv4_authz_free(&a);
    q_sigv4_result_free(&res);
    q_sigv4_result_free(&res); /* accepts a zeroed result */
    q_sigv4_result_free(NULL);
}

/* The signing-key cache gives exactly the signatures q_sigv4_sign gives, across a date
 * change (a new day means a new key), a rotated secret, another region or service, and
 * a secret too long to cache. */
static void test_key_cache(void **state)
{
    static const char long_secret[] =
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789";
    static const struct {
        const char *date, *secret, *region, *service;
        int cached_after;   /* cache->valid afterwards */
    } steps[] = {
        { "20150830T123600Z", SUITE_SECRET, SUITE_REGION, SUITE_SERVICE, 1 },
        { "20150830T235959Z", SUITE_SECRET, SUITE_REGION, SUITE_SERVICE, 1 },  /* hit */
        { "20150831T000000Z", SUITE_SECRET, SUITE_REGION, SUITE_SERVICE, 1 },  /* new day */
        { "20150831T000001Z", "rotatedSecretKey", SUITE_REGION, SUITE_SERVICE, 1 },
        { "20150831T000002Z", "rotatedSecretKey", "eu-west-1", SUITE_SERVICE, 1 },
        { "20150831T000003Z", "rotatedSecretKey", "eu-west-1", "bedrock", 1 },
        { "20150831T000004Z", long_secret, "eu-west-1", "bedrock", 0 },       /* not cached */
        { "20150830T123600Z", SUITE_SECRET, SUITE_REGION, SUITE_SERVICE, 1 },  /* back again */
        { "20150830T123600Z", SUITE_SECRET, SUITE_REGION, SUITE_SERVICE, 1 },
    };
    q_sigv4_key_cache cache;
    size_t i;

    (void)state;
    memset(&cache, 0, sizeof cache);
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        q_http_header h[] = { { "Host", "example.amazonaws.com" },
                              { "X-Amz-Date", steps[i].date } };
        q_sigv4_request req = { "POST", "/model/m/invoke", NULL, h, 2, "{}", 2 };
        q_aws_credentials creds = { SUITE_AK, steps[i].secret, NULL };
        q_sigv4_result plain = { 0 }, cached = { 0 };

        print_message("key cache step %zu\n", i);
        assert_int_equal(q_sigv4_sign(&req, &creds, steps[i].region, steps[i].service,
                                      steps[i].date, &plain), 0);
        assert_int_equal(q_sigv4_sign_cached(&req, &creds, steps[i].region, steps[i].service,
                                             steps[i].date, &cache, &cached), 0);
        assert_string_equal(cached.authorization, plain.authorization);
        assert_string_equal(cached.string_to_sign, plain.string_to_sign);
        assert_int_equal(cache.valid, steps[i].cached_after);
        if (cache.valid)
            assert_memory_equal(cache.date8, steps[i].date, 8);
        q_sigv4_result_free(&plain);
        q_sigv4_result_free(&cached);
    }
    /* the suite's known signature, from a warm cache */
    {
        q_http_header h[] = { { "Host", "example.amazonaws.com" }, { "X-Amz-Date", SUITE_DATE } };
        q_sigv4_request req = { "GET", "/", NULL, h, 2, NULL, 0 };
        q_aws_credentials creds = { SUITE_AK, SUITE_SECRET, NULL };
        q_sigv4_result res = { 0 };

        assert_int_equal(q_sigv4_sign_cached(&req, &creds, SUITE_REGION, SUITE_SERVICE,
                                             SUITE_DATE, &cache, &res), 0);
        assert_string_equal(res.signature,
                            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        q_sigv4_result_free(&res);
    }
    q_sigv4_key_cache_clear(&cache);
    assert_int_equal(cache.valid, 0);
    for (i = 0; i < sizeof cache.key; i++)
        assert_int_equal(cache.key[i], 0);
    assert_int_equal(cache.secret[0], 0);
    q_sigv4_key_cache_clear(NULL);
}

/* Canonical URI and query rules beyond what the suite covers. */
static void test_canonical_uri_and_query(void **state)
{
    static const struct {
        const char *path;
        const char *query;
        const char *want_uri;
        const char *want_query;
    } cases[] = {
        { "", NULL, "/", "" },
        { NULL, "", "/", "" },
        { "/a/./b/../c/", NULL, "/a/c/", "" },
        { "/a/b/../../..", NULL, "/", "" },
        { "/a//b///", NULL, "/a/b/", "" },
        { "/model/x%3Ay/invoke", NULL, "/model/x%253Ay/invoke", "" },
        { "/a:b c", NULL, "/a%3Ab%20c", "" },
        { "/", "b=2&a=1", "/", "a=1&b=2" },
        { "/", "a=2&a=10&a=1", "/", "a=1&a=10&a=2" },
        { "/", "a&b=", "/", "a=&b=" },
        { "/", "a=b=c", "/", "a=b%3Dc" },
        { "/", "a=x+y&b=%7e&c=%7E%2f", "/", "a=x%2By&b=~&c=~%2F" },
        { "/", "k=%e1%88%b4&%zz=%4", "/", "%25zz=%254&k=%E1%88%B4" },
        { "/", "&&a=1&", "/", "a=1" },
        { "/", "a b=c d", "/", "a%20b=c%20d" },
    };
    q_http_header h[] = { { "Host", "h" } };
    q_aws_credentials creds = { SUITE_AK, SUITE_SECRET, NULL };
    q_sigv4_result res = { 0 };
    char want[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q_sigv4_request req = { "GET", cases[i].path, cases[i].query, h, 1, NULL, 0 };

        assert_int_equal(q_sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_DATE, &res),
                         0);
        snprintf(want, sizeof want,
                 "GET\n%s\n%s\nhost:h\n\nhost\n"
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 cases[i].want_uri, cases[i].want_query);
        assert_string_equal(res.canonical_request, want);
        q_sigv4_result_free(&res);
    }
}

static void test_header_canonicalisation(void **state)
{
    q_http_header h[] = {
        { "X-B", "  two\t\r\n  words  " },
        { "host", "h" },
        { "x-a", "first" },
        { "X-A", "" },
        { "X-a", " third " },
    };
    q_sigv4_request req = { "PUT", "/", NULL, h, 5, "x", 1 };
    q_aws_credentials creds = { SUITE_AK, SUITE_SECRET, "" };
    q_sigv4_result res = { 0 };

    (void)state;
    assert_int_equal(q_sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_DATE, &res), 0);
    assert_string_equal(res.canonical_request,
                        "PUT\n/\n\nhost:h\nx-a:first,,third\nx-b:two words\n\nhost;x-a;x-b\n"
                        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    assert_string_equal(res.signed_headers, "host;x-a;x-b");
    q_sigv4_result_free(&res);
}

static void test_sign_bad_arguments(void **state)
{
    q_http_header good[] = { { "Host", "h" }, { "X-Amz-Date", SUITE_DATE } };
    q_http_header no_host[] = { { "X-Amz-Date", SUITE_DATE } };
    q_http_header bad_name[] = { { "Host", "h" }, { "Bad Name", "v" } };
    q_http_header colon_name[] = { { "Host", "h" }, { "a:b", "v" } };
    q_http_header empty_name[] = { { "Host", "h" }, { "", "v" } };
    q_http_header null_value[] = { { "Host", "h" }, { "x", NULL } };
    q_http_header wrong_tok[] = { { "Host", "h" }, { "X-Amz-Security-Token", "other" } };
    q_http_header right_tok[] = { { "Host", "h" }, { "x-amz-security-token", " tok " } };
    q_aws_credentials creds = { SUITE_AK, SUITE_SECRET, NULL };
    q_aws_credentials with_tok = { SUITE_AK, SUITE_SECRET, "tok" };
    q_aws_credentials no_ak = { "", SUITE_SECRET, NULL };
    q_aws_credentials slash_ak = { "AK/X", SUITE_SECRET, NULL };
    q_aws_credentials no_secret = { SUITE_AK, NULL, NULL };
    q_sigv4_request req = { "GET", "/", NULL, good, 2, NULL, 0 };
    q_sigv4_request r2;
    q_sigv4_result res;

#define EXPECT_FAIL(rq, cr, region, service, date)                                             \
    do {                                                                                       \
        memset(&res, 0x5a, sizeof res);                                                        \
        assert_int_equal(q_sigv4_sign((rq), (cr), (region), (service), (date), &res), -1);    \
        assert_null(res.canonical_request);                                                    \
        assert_null(res.authorization);                                                        \
        assert_null(res.signature);                                                            \
    } while (0)

    (void)state;
    EXPECT_FAIL(NULL, &creds, "r", "s", SUITE_DATE);
    EXPECT_FAIL(&req, NULL, "r", "s", SUITE_DATE);
    EXPECT_FAIL(&req, &no_ak, "r", "s", SUITE_DATE);
    EXPECT_FAIL(&req, &slash_ak, "r", "s", SUITE_DATE);
    EXPECT_FAIL(&req, &no_secret, "r", "s", SUITE_DATE);
    EXPECT_FAIL(&req, &creds, NULL, "s", SUITE_DATE);
    EXPECT_FAIL(&req, &creds, "", "s", SUITE_DATE);
    EXPECT_FAIL(&req, &creds, "us/east", "s", SUITE_DATE);
    EXPECT_FAIL(&req, &creds, "r", "", SUITE_DATE);
    EXPECT_FAIL(&req, &creds, "r", "s s", SUITE_DATE);
    EXPECT_FAIL(&req, &creds, "r", "s", NULL);
    EXPECT_FAIL(&req, &creds, "r", "s", "20150830");
    EXPECT_FAIL(&req, &creds, "r", "s", "20150830 123600Z");
    EXPECT_FAIL(&req, &creds, "r", "s", "2015083OT123600Z");
    EXPECT_FAIL(&req, &creds, "r", "s", "20150830T123600Z0");
    assert_int_equal(q_sigv4_sign(&req, &creds, "r", "s", SUITE_DATE, NULL), -1);

    r2 = req;
    r2.method = "";
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    r2 = req;
    r2.body_len = 1; /* body NULL */
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    r2 = req;
    r2.headers = NULL;
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    r2.n_headers = 0;
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE); /* no Host */
    r2.headers = no_host;
    r2.n_headers = 1;
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    r2.headers = bad_name;
    r2.n_headers = 2;
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    r2.headers = colon_name;
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    r2.headers = empty_name;
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    r2.headers = null_value;
    EXPECT_FAIL(&r2, &creds, "r", "s", SUITE_DATE);
    /* A session token must have been put in the headers by the caller, unchanged. */
    EXPECT_FAIL(&req, &with_tok, "r", "s", SUITE_DATE);
    r2.headers = wrong_tok;
    EXPECT_FAIL(&r2, &with_tok, "r", "s", SUITE_DATE);
    r2.headers = right_tok;
    assert_int_equal(q_sigv4_sign(&r2, &with_tok, "r", "s", SUITE_DATE, &res), 0);
    assert_string_equal(res.signed_headers, "host;x-amz-security-token");
    q_sigv4_result_free(&res);
#undef EXPECT_FAIL
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_suite),
        cmocka_unit_test(test_bedrock_botocore),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_const_time_streq),
        cmocka_unit_test(test_parse_authorization_good),
        cmocka_unit_test(test_parse_authorization_bad),
        cmocka_unit_test(test_sign_parse_roundtrip),
        cmocka_unit_test(test_key_cache),
        cmocka_unit_test(test_canonical_uri_and_query),
        cmocka_unit_test(test_header_canonicalisation),
        cmocka_unit_test(test_sign_bad_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
