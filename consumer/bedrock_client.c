/* bedrock_client.c - InvokeModel over libcurl with Quarry's SigV4 (see bedrock_client.h). */
#include "bedrock_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "sigv4.h"

#define EMULATOR_DEFAULT_ENDPOINT "http://127.0.0.1:8090"
#define EMULATOR_DEFAULT_ACCESS_KEY "AKIAQUARRYEMULATOR01"
#define EMULATOR_DEFAULT_SECRET_KEY "quarryEmulatorSecretKey0000000000000000"
#define MAX_RESPONSE_BYTES (8 * 1024 * 1024)

struct bedrock_client {
    CURL *curl;
    char *endpoint;        /* scheme://host[:port], no trailing slash */
    char *host_header;     /* host[:port] as signed */
    char *region;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;   /* NULL when none */
    char *bearer_token;    /* NULL unless AWS_BEARER_TOKEN_BEDROCK */
    long timeout_ms;
};

typedef struct {
    q_buf body;
    char request_id[96];
    char error_type[128];
    char retry_after[32];
    char amz_retry_after[32];
} response_state;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    response_state *st = userp;

    return q_buf_add(&st->body, data, size * nmemb) == Q_BUF_OK ? size * nmemb : 0;
}

static void copy_header_value(const char *line, size_t len, size_t name_len, char *out,
                              size_t out_size)
{
    const char *v = line + name_len;
    size_t n = len - name_len;

    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
    response_state *st = userp;
    size_t len = size * nmemb;
    static const struct {
        const char *name;
        size_t off, size;
    } wanted[] = {
        {"x-amzn-requestid:", offsetof(response_state, request_id), 96},
        {"x-amzn-errortype:", offsetof(response_state, error_type), 128},
        {"retry-after:", offsetof(response_state, retry_after), 32},
        {"x-amz-retry-after:", offsetof(response_state, amz_retry_after), 32},
    };

    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t n = strlen(wanted[i].name);
        if (len >= n && strncasecmp(line, wanted[i].name, n) == 0)
            copy_header_value(line, len, n, (char *)st + wanted[i].off, wanted[i].size);
    }
    return len;
}

static char *dup_env(const char *name, const char *def)
{
    const char *v = q_env_str(name, def);

    return v ? strdup(v) : NULL;
}

/* Splits the endpoint into the Host header value; libcurl sends host:port when the URL
 * names a port, so that is what must be signed. */
static char *host_header_of(const char *endpoint)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *out = NULL;

    if (!u || curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
        size_t n = strlen(host) + strlen(port) + 2;
        out = malloc(n);
        if (out)
            snprintf(out, n, "%s:%s", host, port);
    } else {
        out = strdup(host);
    }
out:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

bedrock_client *bedrock_client_new(void)
{
    bedrock_client *c = calloc(1, sizeof(*c));
    const char *endpoint = q_env_str("QUARRY_BEDROCK_ENDPOINT", NULL);
    int have_aws = q_env_str("AWS_ACCESS_KEY_ID", NULL) || q_env_str("AWS_PROFILE", NULL) ||
                   q_env_str("AWS_BEARER_TOKEN_BEDROCK", NULL);
    char real_endpoint[256];
    const char *mode;

    if (!c)
        return NULL;
    if (q_env_long("QUARRY_BEDROCK_TIMEOUT_MS", 60000, 100, 900000, &c->timeout_ms))
        goto fail;
    c->region = strdup(q_env_str("AWS_REGION", q_env_str("AWS_DEFAULT_REGION", "us-east-1")));
    if (endpoint) {
        mode = "endpoint";
    } else if (have_aws) {
        snprintf(real_endpoint, sizeof(real_endpoint), "https://bedrock-runtime.%s.amazonaws.com",
                 c->region);
        endpoint = real_endpoint;
        mode = "aws";
    } else {
        endpoint = EMULATOR_DEFAULT_ENDPOINT;
        mode = "emulator-default";
    }
    c->endpoint = strdup(endpoint);
    if (!c->region || !c->endpoint)
        goto fail;
    while (strlen(c->endpoint) && c->endpoint[strlen(c->endpoint) - 1] == '/')
        c->endpoint[strlen(c->endpoint) - 1] = '\0';
    c->host_header = host_header_of(c->endpoint);
    if (!c->host_header) {
        q_log(Q_LOG_ERROR, "config.invalid",
              json_pack("{s:s,s:s}", "setting", "QUARRY_BEDROCK_ENDPOINT", "msg", "not a URL"));
        goto fail;
    }
    c->bearer_token = dup_env("AWS_BEARER_TOKEN_BEDROCK", NULL);
    if (strcmp(mode, "emulator-default") == 0) {
        c->access_key_id = dup_env("QUARRY_EMULATOR_ACCESS_KEY_ID", EMULATOR_DEFAULT_ACCESS_KEY);
        c->secret_access_key =
            dup_env("QUARRY_EMULATOR_SECRET_ACCESS_KEY", EMULATOR_DEFAULT_SECRET_KEY);
    } else {
        c->access_key_id = dup_env("AWS_ACCESS_KEY_ID", NULL);
        c->secret_access_key = dup_env("AWS_SECRET_ACCESS_KEY", NULL);
        c->session_token = dup_env("AWS_SESSION_TOKEN", NULL);
    }
    if (!c->bearer_token && (!c->access_key_id || !c->secret_access_key)) {
        q_logf(Q_LOG_ERROR, "config.missing",
               "no Bedrock credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
               "AWS_SESSION_TOKEN), or AWS_BEARER_TOKEN_BEDROCK; shared credentials files "
               "(AWS_PROFILE) are not read yet");
        goto fail;
    }
    c->curl = curl_easy_init();
    if (!c->curl)
        goto fail;
    q_log(Q_LOG_INFO, "bedrock.client",
          json_pack("{s:s,s:s,s:s,s:s}", "endpoint", c->endpoint, "region", c->region, "mode", mode,
                    "auth", c->bearer_token ? "bearer" : "sigv4"));
    return c;
fail:
    bedrock_client_free(c);
    return NULL;
}

void bedrock_client_free(bedrock_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->endpoint);
    free(c->host_header);
    free(c->region);
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    free(c->bearer_token);
    free(c);
}

const char *bedrock_client_endpoint(const bedrock_client *c)
{
    return c->endpoint;
}

void bedrock_result_free(bedrock_result *r)
{
    if (r)
        q_bedrock_answer_free(&r->answer);
}

static void transport_error(bedrock_result *out, CURLcode code, const char *detail)
{
    out->ok = 0;
    out->error.http_status = 0;
    out->error.retry = Q_RETRY_TRANSIENT;
    snprintf(out->error.code, sizeof(out->error.code), "%s",
             code == CURLE_OPERATION_TIMEDOUT ? "ClientTimeout" : "ConnectionError");
    snprintf(out->error.message, sizeof(out->error.message), "%s: %s", curl_easy_strerror(code),
             detail);
}

void bedrock_client_invoke(bedrock_client *c, const char *model_id, const char *body,
                           bedrock_result *out)
{
    response_state st;
    struct curl_slist *headers = NULL;
    q_sigv4_result sig = {0};
    char *path = NULL, *url = NULL;
    char amz_date[17], line[4096], curl_err[CURL_ERROR_SIZE] = "";
    struct timespec t0, t1;
    CURLcode cc;
    long status = 0;

    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    memset(&st, 0, sizeof(st));
    q_buf_init(&st.body, MAX_RESPONSE_BYTES);

    path = q_bedrock_invoke_path(model_id);
    if (!path || asprintf(&url, "%s%s", c->endpoint, path) < 0) {
        url = NULL;
        transport_error(out, CURLE_OUT_OF_MEMORY, "building the request");
        goto out;
    }
    q_sigv4_amz_date((long long)time(NULL), amz_date);
    {
        q_http_header h[5];
        size_t n = 0;

        h[n++] = (q_http_header){"Host", c->host_header};
        h[n++] = (q_http_header){"Content-Type", "application/json"};
        h[n++] = (q_http_header){"X-Amz-Date", amz_date};
        if (!c->bearer_token && c->session_token)
            h[n++] = (q_http_header){"X-Amz-Security-Token", c->session_token};
        for (size_t i = 0; i < n; i++) {
            snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
            headers = curl_slist_append(headers, line);
        }
        if (c->bearer_token) {
            snprintf(line, sizeof(line), "Authorization: Bearer %s", c->bearer_token);
        } else {
            q_sigv4_request req = {.method = "POST", .path = path, .query = NULL, .headers = h,
                                   .n_headers = n, .body = body, .body_len = strlen(body)};
            q_aws_credentials creds = {c->access_key_id, c->secret_access_key, c->session_token};

            if (q_sigv4_sign(&req, &creds, c->region, "bedrock", amz_date, &sig) != 0) {
                transport_error(out, CURLE_OUT_OF_MEMORY, "signing the request");
                goto out;
            }
            snprintf(line, sizeof(line), "Authorization: %s", sig.authorization);
        }
        headers = curl_slist_append(headers, line);
        headers = curl_slist_append(headers, "Accept: application/json");
        headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    }

    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    cc = curl_easy_perform(c->curl);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->latency_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    snprintf(out->request_id, sizeof(out->request_id), "%s", st.request_id);
    out->retry_after_ms = q_parse_retry_after_ms(st.retry_after, st.amz_retry_after);
    if (cc != CURLE_OK) {
        transport_error(out, cc, curl_err[0] ? curl_err : "no detail");
        goto out;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
        char why[128];

        if (q_bedrock_parse_claude_answer(q_buf_cstr(&st.body), st.body.len, &out->answer, why,
                                          sizeof(why)) == 0) {
            out->ok = 1;
        } else {
            /* A 200 we cannot read is a server fault: retry it like a 5xx. */
            out->error.http_status = 200;
            out->error.retry = Q_RETRY_TRANSIENT;
            snprintf(out->error.code, sizeof(out->error.code), "MalformedResponse");
            snprintf(out->error.message, sizeof(out->error.message), "%s", why);
        }
    } else {
        q_bedrock_classify((int)status, st.error_type, q_buf_cstr(&st.body), st.body.len,
                           &out->error);
    }
out:
    q_sigv4_result_free(&sig);
    curl_slist_free_all(headers);
    q_buf_free(&st.body);
    free(path);
    free(url);
}
