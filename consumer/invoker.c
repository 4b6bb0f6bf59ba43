/* invoker.c - concurrent InvokeModel calls over libcurl multi (see invoker.h). */
#include "invoker.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "credentials.h"
#include "log.h"
#include "sigv4.h"

#define EMULATOR_DEFAULT_ENDPOINT "http://127.0.0.1:8090"
#define EMULATOR_DEFAULT_ACCESS_KEY "AKIAQUARRYEMULATOR01"
#define EMULATOR_DEFAULT_SECRET_KEY "quarryEmulatorSecretKey0000000000000000"
#define MAX_RESPONSE_BYTES (8 * 1024 * 1024)

typedef struct call {
    CURL *easy;
    struct curl_slist *headers;
    q_buf body;                 /* response body */
    char request_id[96];
    char error_type[128];
    char retry_after[32];
    char amz_retry_after[32];
    char *url;
    void *ctx;
    double started;             /* mono_now() when the transfer was added */
    struct call *next_free;     /* in the free list */
    struct call *prev, *next;   /* in the active list */
} call;

struct invoker {
    CURLM *multi;
    int epfd;           /* sockets libcurl asked us to watch (multi_socket API) */
    double timer_due;   /* monotonic s when libcurl wants CURL_SOCKET_TIMEOUT; <0 none */
    credentials *creds;
    char *endpoint;     /* scheme://host[:port], no trailing slash */
    char *host_header;  /* host[:port] as signed */
    char *region;
    long timeout_ms;
    size_t in_flight;
    call *active;       /* calls in flight (libcurl 7.88 cannot list a multi's handles) */
    call *free_calls;   /* reusable call structs (their easy handles keep TLS sessions) */
};

const char *invoker_endpoint(const invoker *inv)
{
    return inv->endpoint;
}

struct credentials *invoker_credentials(invoker *inv)
{
    return inv->creds;
}

size_t invoker_in_flight(const invoker *inv)
{
    return inv->in_flight;
}

void invoke_result_free(invoke_result *r)
{
    if (r)
        q_bedrock_answer_free(&r->answer);
}

static void copy_value(const char *line, size_t len, size_t name_len, char *out, size_t out_size)
{
    const char *v = line + name_len;
    size_t n = len - name_len;

    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
    call *c = userp;
    size_t len = size * nmemb;
    struct {
        const char *name;
        char *dst;
        size_t size;
    } wanted[] = {
        {"x-amzn-requestid:", c->request_id, sizeof(c->request_id)},
        {"x-amzn-errortype:", c->error_type, sizeof(c->error_type)},
        {"retry-after:", c->retry_after, sizeof(c->retry_after)},
        {"x-amz-retry-after:", c->amz_retry_after, sizeof(c->amz_retry_after)},
    };

    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t n = strlen(wanted[i].name);
        if (len >= n && strncasecmp(line, wanted[i].name, n) == 0)
            copy_value(line, len, n, wanted[i].dst, wanted[i].size);
    }
    return len;
}

/* libcurl sends "Host: host:port" when the URL names a port; that is what is signed. */
static char *host_header_of(const char *endpoint)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *out = NULL;

    if (!u || curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
        if (asprintf(&out, "%s:%s", host, port) < 0)
            out = NULL;
    } else {
        out = strdup(host);
    }
out:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

/* libcurl's socket callback: mirror the sockets it cares about into our epoll set, so a
 * loop turn costs O(ready sockets) rather than poll() over every open connection. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    invoker *inv = userp;
    struct epoll_event ev = {0};

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(inv->epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(inv->multi, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (socketp) {
        epoll_ctl(inv->epfd, EPOLL_CTL_MOD, fd, &ev);
    } else if (epoll_ctl(inv->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ||
               (errno == EEXIST && epoll_ctl(inv->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)) {
        curl_multi_assign(inv->multi, fd, inv); /* any non-NULL marks "registered" */
    }
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    invoker *inv = userp;

    (void)multi;
    inv->timer_due = timeout_ms < 0 ? -1 : mono_now() + (double)timeout_ms / 1000.0;
    return 0;
}

invoker *invoker_new(long max_in_flight)
{
    invoker *inv = calloc(1, sizeof(*inv));
    const char *endpoint = q_env_str("QUARRY_BEDROCK_ENDPOINT", NULL);
    char real_endpoint[256], why[512] = "";
    const char *mode;

    if (!inv)
        return NULL;
    inv->epfd = -1;
    inv->timer_due = -1;
    if (q_env_long("QUARRY_BEDROCK_TIMEOUT_MS", 60000, 100, 900000, &inv->timeout_ms))
        goto fail;
    inv->region = strdup(q_env_str("AWS_REGION", q_env_str("AWS_DEFAULT_REGION", "us-east-1")));
    if (!inv->region)
        goto fail;
    inv->creds = credentials_from_chain(why, sizeof(why));
    if (endpoint) {
        mode = "endpoint";
        if (!inv->creds) {
            q_log(Q_LOG_ERROR, "config.missing",
                  json_pack("{s:s,s:s}", "msg", "QUARRY_BEDROCK_ENDPOINT is set but there are "
                            "no credentials", "detail", why));
            goto fail;
        }
    } else if (inv->creds) {
        snprintf(real_endpoint, sizeof(real_endpoint), "https://bedrock-runtime.%s.amazonaws.com",
                 inv->region);
        endpoint = real_endpoint;
        mode = "aws";
    } else {
        endpoint = EMULATOR_DEFAULT_ENDPOINT;
        mode = "emulator-default";
        inv->creds = credentials_fixed(
            q_env_str("QUARRY_EMULATOR_ACCESS_KEY_ID", EMULATOR_DEFAULT_ACCESS_KEY),
            q_env_str("QUARRY_EMULATOR_SECRET_ACCESS_KEY", EMULATOR_DEFAULT_SECRET_KEY));
        if (!inv->creds)
            goto fail;
    }
    inv->endpoint = strdup(endpoint);
    if (!inv->endpoint)
        goto fail;
    while (strlen(inv->endpoint) && inv->endpoint[strlen(inv->endpoint) - 1] == '/')
        inv->endpoint[strlen(inv->endpoint) - 1] = '\0';
    inv->host_header = host_header_of(inv->endpoint);
    if (!inv->host_header) {
        q_log(Q_LOG_ERROR, "config.invalid",
              json_pack("{s:s,s:s}", "setting", "QUARRY_BEDROCK_ENDPOINT", "msg", "not a URL"));
        goto fail;
    }
    inv->multi = curl_multi_init();
    inv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!inv->multi || inv->epfd < 0)
        goto fail;
    curl_multi_setopt(inv->multi, CURLMOPT_MAXCONNECTS, max_in_flight);
    curl_multi_setopt(inv->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(inv->multi, CURLMOPT_SOCKETDATA, inv);
    curl_multi_setopt(inv->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(inv->multi, CURLMOPT_TIMERDATA, inv);
    q_log(Q_LOG_INFO, "bedrock.client",
          json_pack("{s:s,s:s,s:s,s:s,s:I}", "endpoint", inv->endpoint, "region", inv->region,
                    "mode", mode, "credentials", credentials_source(inv->creds), "timeout_ms",
                    (json_int_t)inv->timeout_ms));
    return inv;
fail:
    invoker_free(inv);
    return NULL;
}

static void call_release(invoker *inv, call *c)
{
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    free(c->url);
    c->url = NULL;
    q_buf_free(&c->body);
    c->next_free = inv->free_calls;
    inv->free_calls = c;
}

static void active_unlink(invoker *inv, call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        inv->active = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

void invoker_free(invoker *inv)
{
    if (!inv)
        return;
    while (inv->active) {
        call *c = inv->active;

        curl_multi_remove_handle(inv->multi, c->easy);
        active_unlink(inv, c);
        call_release(inv, c);
    }
    while (inv->free_calls) {
        call *c = inv->free_calls;
        inv->free_calls = c->next_free;
        if (c->easy)
            curl_easy_cleanup(c->easy);
        free(c);
    }
    if (inv->multi)
        curl_multi_cleanup(inv->multi);
    if (inv->epfd >= 0)
        close(inv->epfd);
    credentials_free(inv->creds);
    free(inv->endpoint);
    free(inv->host_header);
    free(inv->region);
    free(inv);
}

static void fail_now(invoke_result *r, const char *code, const char *message)
{
    memset(r, 0, sizeof(*r));
    r->retry_after_ms = -1;
    r->error.retry = Q_RETRY_TRANSIENT;
    snprintf(r->error.code, sizeof(r->error.code), "%s", code);
    snprintf(r->error.message, sizeof(r->error.message), "%s", message);
}

int invoker_start(invoker *inv, const char *model_id, const char *body, void *call_ctx,
                  invoke_result *failure)
{
    call *c = inv->free_calls;
    const q_aws_creds *creds;
    const char *bearer;
    q_sigv4_result sig = {0};
    char *path = NULL, amz_date[17], line[4096];
    q_http_header h[5];
    size_t n = 0;
    int rc = -1;

    if (credentials_get(inv->creds, time(NULL), &creds, &bearer) != 0) {
        fail_now(failure, "CredentialsUnavailable", "no valid AWS credentials right now");
        return -1;
    }
    if (c) {
        inv->free_calls = c->next_free;
        curl_easy_reset(c->easy);
    } else {
        c = calloc(1, sizeof(*c));
        if (!c || !(c->easy = curl_easy_init())) {
            free(c);
            fail_now(failure, "ClientError", "out of memory starting a call");
            return -1;
        }
    }
    c->ctx = call_ctx;
    c->request_id[0] = c->error_type[0] = c->retry_after[0] = c->amz_retry_after[0] = '\0';
    q_buf_init(&c->body, MAX_RESPONSE_BYTES);
    path = q_bedrock_invoke_path(model_id);
    if (!path || asprintf(&c->url, "%s%s", inv->endpoint, path) < 0) {
        c->url = NULL;
        fail_now(failure, "ClientError", "out of memory building the request");
        goto out;
    }
    q_sigv4_amz_date((long long)time(NULL), amz_date);
    h[n++] = (q_http_header){"Host", inv->host_header};
    h[n++] = (q_http_header){"Content-Type", "application/json"};
    h[n++] = (q_http_header){"X-Amz-Date", amz_date};
    if (creds && creds->session_token)
        h[n++] = (q_http_header){"X-Amz-Security-Token", creds->session_token};
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
        c->headers = curl_slist_append(c->headers, line);
    }
    if (bearer) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", bearer);
    } else {
        q_sigv4_request req = {.method = "POST", .path = path, .headers = h, .n_headers = n,
                               .body = body, .body_len = strlen(body)};
        q_aws_credentials ac = {creds->access_key_id, creds->secret_access_key,
                                creds->session_token};

        if (q_sigv4_sign(&req, &ac, inv->region, "bedrock", amz_date, &sig) != 0) {
            fail_now(failure, "ClientError", "could not sign the request");
            goto out;
        }
        snprintf(line, sizeof(line), "Authorization: %s", sig.authorization);
    }
    c->headers = curl_slist_append(c->headers, line);
    c->headers = curl_slist_append(c->headers, "Accept: application/json");
    c->headers = curl_slist_append(c->headers, "Expect:");

    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, q_buf_write_cb);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, inv->timeout_ms);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
    c->started = mono_now();
    if (curl_multi_add_handle(inv->multi, c->easy) != CURLM_OK) {
        fail_now(failure, "ClientError", "could not start the transfer");
        goto out;
    }
    inv->in_flight++;
    c->prev = NULL;
    c->next = inv->active;
    if (inv->active)
        inv->active->prev = c;
    inv->active = c;
    rc = 0;
out:
    q_sigv4_result_free(&sig);
    free(path);
    if (rc)
        call_release(inv, c);
    return rc;
}

static void finish(invoker *inv, call *c, CURLcode cc, invoke_result *r)
{
    long status = 0;

    memset(r, 0, sizeof(*r));
    r->latency_ms = (long)((mono_now() - c->started) * 1000.0);
    snprintf(r->request_id, sizeof(r->request_id), "%s", c->request_id);
    r->retry_after_ms = q_parse_retry_after_ms(c->retry_after, c->amz_retry_after);
    if (cc != CURLE_OK) {
        r->error.retry = Q_RETRY_TRANSIENT;
        snprintf(r->error.code, sizeof(r->error.code), "%s",
                 cc == CURLE_OPERATION_TIMEDOUT ? "ClientTimeout" : "ConnectionError");
        snprintf(r->error.message, sizeof(r->error.message), "%s", curl_easy_strerror(cc));
        return;
    }
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
        char why[128];

        if (q_bedrock_parse_claude_answer(q_buf_cstr(&c->body), c->body.len, &r->answer, why,
                                          sizeof(why)) == 0) {
            r->ok = 1;
            return;
        }
        /* A 200 that cannot be read is a server fault: retried like a 5xx. */
        r->error.http_status = 200;
        r->error.retry = Q_RETRY_TRANSIENT;
        snprintf(r->error.code, sizeof(r->error.code), "MalformedResponse");
        snprintf(r->error.message, sizeof(r->error.message), "%s", why);
        return;
    }
    q_bedrock_classify((int)status, c->error_type, q_buf_cstr(&c->body), c->body.len, &r->error);
    (void)inv;
}

int invoker_run(invoker *inv, int timeout_ms, invoker_done_fn done, void *run_ctx)
{
    struct epoll_event events[256];
    CURLMsg *msg;
    int running = 0, left, finished = 0, n, wait = timeout_ms;

    /* libcurl's own timer (connect/transfer timeouts, newly added handles) bounds the wait */
    if (inv->timer_due >= 0) {
        double left_ms = (inv->timer_due - mono_now()) * 1000.0;
        if (left_ms < wait)
            wait = left_ms <= 0 ? 0 : (int)left_ms + 1;
    }
    if (!inv->in_flight)
        wait = 0;
    n = epoll_wait(inv->epfd, events, (int)(sizeof(events) / sizeof(events[0])), wait);
    for (int i = 0; i < n; i++) {
        int mask = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                   (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(inv->multi, events[i].data.fd, mask, &running);
    }
    if (inv->timer_due >= 0 && mono_now() >= inv->timer_due) {
        inv->timer_due = -1; /* libcurl sets a new one from inside the call if it needs one */
        curl_multi_socket_action(inv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    while ((msg = curl_multi_info_read(inv->multi, &left))) {
        call *c = NULL;
        invoke_result r;
        void *ctx;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        finish(inv, c, msg->data.result, &r);
        curl_multi_remove_handle(inv->multi, c->easy);
        active_unlink(inv, c);
        inv->in_flight--;
        ctx = c->ctx;
        call_release(inv, c);
        done(ctx, &r, run_ctx);
        invoke_result_free(&r);
        finished++;
    }
    return finished;
}
