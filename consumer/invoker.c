/* invoker.c - concurrent InvokeModel calls over libcurl multi (see invoker.h). */
#include "invoker.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
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
/* A reused call keeps up to this much of its response buffer for the next call. */
#define KEEP_RESPONSE_BYTES (64 * 1024)

/* Calls per libcurl multi handle. With HTTP/1.1 every call in flight holds a connection,
 * and libcurl 7.88 finds a connection to reuse by walking the host's whole connection
 * list (skipping the busy ones) for every new call: at 2,000 in flight on one multi
 * handle that walk was the consumer's largest single cost (~15% of its CPU, issue 4).
 * Splitting the calls over several multi handles, each with its own connection cache,
 * keeps every walk short. */
#define CALLS_PER_SHARD 32
#define MAX_SHARDS 64

/* Header lines a call sends (Host, Content-Type, X-Amz-Date, X-Amz-Security-Token,
 * Authorization, Accept, Expect). */
#define MAX_HEADER_LINES 8

typedef struct shard {
    CURLM *multi;
    struct invoker *inv;
    int index;
    double timer_due;           /* monotonic s when libcurl wants CURL_SOCKET_TIMEOUT; <0 none */
    size_t in_flight;
} shard;

/* What the epoll set holds for one file descriptor. A connection's socket stays in the
 * set while the connection idles in libcurl's cache (libcurl says CURL_POLL_REMOVE
 * between calls), so reusing it costs no epoll_ctl: two system calls less per call.
 * That is only safe for sockets we open and close ourselves (CURLOPT_OPENSOCKETFUNCTION
 * and CURLOPT_CLOSESOCKETFUNCTION), since only then do we see the descriptor die before
 * its number can come back as another socket; other descriptors (a resolver's) leave
 * the set as soon as libcurl is done with them. */
typedef struct {
    uint32_t events;            /* interest registered in the epoll set */
    unsigned char in_epoll;
    unsigned char ours;         /* opened by on_open, will be closed by on_close */
    short shard;                /* the shard watching it, -1 when libcurl is not */
} fd_watch;

typedef struct call {
    CURL *easy;
    shard *sh;
    struct curl_slist header_nodes[MAX_HEADER_LINES];
    q_buf header_text;          /* the header lines, NUL-separated (reused) */
    q_buf url;                  /* reused */
    q_buf body;                 /* response body (reused) */
    char request_id[96];
    char error_type[128];
    char retry_after[32];
    char amz_retry_after[32];
    void *ctx;
    q_bedrock_family family;    /* how the answer is read */
    double started;             /* mono_now() when the transfer was added */
    struct call *next_free;     /* in the free list */
    struct call *prev, *next;   /* in the active list */
} call;

struct invoker {
    shard *shards;
    size_t n_shards;
    int epfd;           /* sockets libcurl asked us to watch (multi_socket API) */
    fd_watch *fds;      /* indexed by descriptor */
    size_t n_fds;
    credentials *creds;
    q_sigv4_key_cache key_cache;
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

/* The watch entry for fd, growing the table as needed; NULL when out of memory. */
static fd_watch *watch_of(invoker *inv, curl_socket_t fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= inv->n_fds) {
        size_t n = inv->n_fds ? inv->n_fds : 1024;
        fd_watch *grown;

        while (n <= (size_t)fd)
            n *= 2;
        grown = realloc(inv->fds, n * sizeof(*grown));
        if (!grown)
            return NULL;
        for (size_t i = inv->n_fds; i < n; i++)
            grown[i] = (fd_watch){0, 0, 0, -1};
        inv->fds = grown;
        inv->n_fds = n;
    }
    return &inv->fds[fd];
}

static void watch_drop(invoker *inv, curl_socket_t fd, fd_watch *w)
{
    if (w->in_epoll)
        epoll_ctl(inv->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->in_epoll = 0;
    w->events = 0;
}

static curl_socket_t on_open(void *userp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    invoker *inv = userp;
    curl_socket_t fd;
    fd_watch *w;

    (void)purpose;
    fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    w = watch_of(inv, fd);
    if (!w) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    /* a new descriptor: whatever the table said about its number is over */
    *w = (fd_watch){0, 0, 1, -1};
    return fd;
}

static int on_close(void *userp, curl_socket_t fd)
{
    invoker *inv = userp;

    /* closing takes it out of the epoll set too (no other descriptor shares it) */
    if (fd >= 0 && (size_t)fd < inv->n_fds)
        inv->fds[fd] = (fd_watch){0, 0, 0, -1};
    return close(fd);
}

/* libcurl's socket callback: mirror the sockets it cares about into our epoll set, so a
 * loop turn costs O(ready sockets) rather than poll() over every open connection. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    shard *sh = userp;
    invoker *inv = sh->inv;
    fd_watch *w = watch_of(inv, fd);
    struct epoll_event ev = {0};

    (void)easy;
    (void)socketp;
    /* Failures (out of memory) leave the transfer to its timeout: a -1 would make
     * libcurl fail every transfer on this multi handle. */
    if (!w)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        w->shard = -1;
        if (!w->ours)
            watch_drop(inv, fd, w);
        return 0;
    }
    w->shard = (short)sh->index;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (w->in_epoll && w->events == ev.events)
        return 0;
    if (w->in_epoll ? epoll_ctl(inv->epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ||
                          (errno == ENOENT && epoll_ctl(inv->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
                    : epoll_ctl(inv->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ||
                          (errno == EEXIST && epoll_ctl(inv->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)) {
        w->in_epoll = 1;
        w->events = ev.events;
        return 0;
    }
    w->in_epoll = 0;
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    shard *sh = userp;

    (void)multi;
    sh->timer_due = timeout_ms < 0 ? -1 : mono_now() + (double)timeout_ms / 1000.0;
    return 0;
}

invoker *invoker_new(long max_in_flight)
{
    invoker *inv = calloc(1, sizeof(*inv));
    const char *endpoint = q_env_str("QUARRY_BEDROCK_ENDPOINT", NULL);
    char real_endpoint[256], why[512] = "";
    const char *mode;
    long per_shard;

    if (!inv)
        return NULL;
    inv->epfd = -1;
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
    inv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (inv->epfd < 0)
        goto fail;
    inv->n_shards = ((size_t)(max_in_flight > 0 ? max_in_flight : 1) + CALLS_PER_SHARD - 1) /
                    CALLS_PER_SHARD;
    if (inv->n_shards > MAX_SHARDS)
        inv->n_shards = MAX_SHARDS;
    per_shard = (max_in_flight > 0 ? max_in_flight : 1) / (long)inv->n_shards + 2;
    inv->shards = calloc(inv->n_shards, sizeof(*inv->shards));
    if (!inv->shards)
        goto fail;
    for (size_t i = 0; i < inv->n_shards; i++) {
        shard *sh = &inv->shards[i];

        sh->inv = inv;
        sh->index = (int)i;
        sh->timer_due = -1;
        sh->multi = curl_multi_init();
        if (!sh->multi)
            goto fail;
        /* New calls go to the least busy shard, so none carries more than its share
         * plus one: that many connections each, and never many more than max_in_flight
         * in all (as with one multi handle). */
        curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, per_shard);
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
    }
    q_log(Q_LOG_INFO, "bedrock.client",
          json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "endpoint", inv->endpoint, "region",
                    inv->region, "mode", mode, "credentials", credentials_source(inv->creds),
                    "timeout_ms", (json_int_t)inv->timeout_ms, "multi_handles",
                    (json_int_t)inv->n_shards));
    return inv;
fail:
    invoker_free(inv);
    return NULL;
}

/* Back to the free list; the easy handle and buffers are kept for the next call. */
static void call_release(invoker *inv, call *c)
{
    q_buf_reset_shrink(&c->body, KEEP_RESPONSE_BYTES);
    c->ctx = NULL;
    c->sh = NULL;
    c->next_free = inv->free_calls;
    inv->free_calls = c;
}

static void call_free(call *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    q_buf_free(&c->header_text);
    q_buf_free(&c->url);
    q_buf_free(&c->body);
    free(c);
}

/* A new call with the options every call shares set once; NULL when out of memory. */
static call *call_new(invoker *inv)
{
    call *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    q_buf_init(&c->header_text, 64 * 1024);
    q_buf_init(&c->url, 16 * 1024);
    q_buf_init(&c->body, MAX_RESPONSE_BYTES);
    c->easy = curl_easy_init();
    if (!c->easy) {
        call_free(c);
        return NULL;
    }
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
    curl_easy_setopt(c->easy, CURLOPT_OPENSOCKETFUNCTION, on_open);
    curl_easy_setopt(c->easy, CURLOPT_OPENSOCKETDATA, inv);
    curl_easy_setopt(c->easy, CURLOPT_CLOSESOCKETFUNCTION, on_close);
    curl_easy_setopt(c->easy, CURLOPT_CLOSESOCKETDATA, inv);
    return c;
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

        curl_multi_remove_handle(c->sh->multi, c->easy);
        active_unlink(inv, c);
        call_release(inv, c);
    }
    while (inv->free_calls) {
        call *c = inv->free_calls;
        inv->free_calls = c->next_free;
        call_free(c);
    }
    /* the multi handles close their cached connections through on_close: before fds goes */
    for (size_t i = 0; inv->shards && i < inv->n_shards; i++)
        if (inv->shards[i].multi)
            curl_multi_cleanup(inv->shards[i].multi);
    free(inv->shards);
    if (inv->epfd >= 0)
        close(inv->epfd);
    free(inv->fds);
    q_sigv4_key_cache_clear(&inv->key_cache);
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

/* Appends one "Name: value" line to the call's header text; its offset goes to *off. */
static int add_header_line(call *c, size_t *off, const char *name, const char *value)
{
    *off = c->header_text.len;
    if (q_buf_adds(&c->header_text, name) != Q_BUF_OK ||
        (value && (q_buf_add(&c->header_text, ": ", 2) != Q_BUF_OK ||
                   q_buf_adds(&c->header_text, value) != Q_BUF_OK)) ||
        q_buf_addc(&c->header_text, '\0') != Q_BUF_OK)
        return -1;
    return 0;
}

static shard *least_busy_shard(invoker *inv)
{
    shard *best = &inv->shards[0];

    for (size_t i = 1; i < inv->n_shards; i++)
        if (inv->shards[i].in_flight < best->in_flight)
            best = &inv->shards[i];
    return best;
}

int invoker_start(invoker *inv, const char *model_id, const char *body, void *call_ctx,
                  invoke_result *failure)
{
    call *c = inv->free_calls;
    const q_aws_creds *creds;
    const char *bearer;
    q_sigv4_result sig = {0};
    char amz_date[17];
    q_http_header h[5];
    size_t n = 0, off[MAX_HEADER_LINES], n_lines = 0, path_at, body_len = strlen(body);
    int rc = -1;

    if (credentials_get(inv->creds, time(NULL), &creds, &bearer) != 0) {
        fail_now(failure, "CredentialsUnavailable", "no valid AWS credentials right now");
        return -1;
    }
    if (c) {
        inv->free_calls = c->next_free;
    } else if (!(c = call_new(inv))) {
        fail_now(failure, "ClientError", "out of memory starting a call");
        return -1;
    }
    c->ctx = call_ctx;
    c->family = q_bedrock_family_of(model_id);
    c->request_id[0] = c->error_type[0] = c->retry_after[0] = c->amz_retry_after[0] = '\0';
    q_buf_reset(&c->url);
    q_buf_reset(&c->header_text);
    if (q_buf_adds(&c->url, inv->endpoint) != Q_BUF_OK) {
        fail_now(failure, "ClientError", "out of memory building the request");
        goto out;
    }
    path_at = c->url.len;
    if (q_bedrock_add_invoke_path(&c->url, model_id) != Q_BUF_OK) {
        fail_now(failure, "ClientError", "out of memory building the request");
        goto out;
    }
    q_sigv4_amz_date((long long)time(NULL), amz_date);
    h[n++] = (q_http_header){"Host", inv->host_header};
    h[n++] = (q_http_header){"Content-Type", "application/json"};
    h[n++] = (q_http_header){"X-Amz-Date", amz_date};
    if (creds && creds->session_token)
        h[n++] = (q_http_header){"X-Amz-Security-Token", creds->session_token};
    for (size_t i = 0; i < n; i++)
        if (add_header_line(c, &off[n_lines++], h[i].name, h[i].value) != 0)
            goto oom;
    if (bearer) {
        off[n_lines++] = c->header_text.len;
        if (q_buf_adds(&c->header_text, "Authorization: Bearer ") != Q_BUF_OK ||
            q_buf_adds(&c->header_text, bearer) != Q_BUF_OK ||
            q_buf_addc(&c->header_text, '\0') != Q_BUF_OK)
            goto oom;
    } else {
        q_sigv4_request req = {.method = "POST", .path = q_buf_cstr(&c->url) + path_at,
                               .headers = h, .n_headers = n, .body = body,
                               .body_len = body_len};
        q_aws_credentials ac = {creds->access_key_id, creds->secret_access_key,
                                creds->session_token};

        if (q_sigv4_sign_cached(&req, &ac, inv->region, "bedrock", amz_date, &inv->key_cache,
                                &sig) != 0) {
            fail_now(failure, "ClientError", "could not sign the request");
            goto out;
        }
        if (add_header_line(c, &off[n_lines++], "Authorization", sig.authorization) != 0)
            goto oom;
    }
    if (add_header_line(c, &off[n_lines++], "Accept", "application/json") != 0 ||
        add_header_line(c, &off[n_lines++], "Expect:", NULL) != 0)
        goto oom;
    /* The list's nodes live in the call and point into header_text, now that it no
     * longer moves: libcurl only reads the list, and nothing is allocated per call. */
    for (size_t i = 0; i < n_lines; i++) {
        c->header_nodes[i].data = (char *)q_buf_cstr(&c->header_text) + off[i];
        c->header_nodes[i].next = i + 1 < n_lines ? &c->header_nodes[i + 1] : NULL;
    }

    curl_easy_setopt(c->easy, CURLOPT_URL, q_buf_cstr(&c->url));
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->header_nodes);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
    c->sh = least_busy_shard(inv);
    c->started = mono_now();
    if (curl_multi_add_handle(c->sh->multi, c->easy) != CURLM_OK) {
        fail_now(failure, "ClientError", "could not start the transfer");
        goto out;
    }
    c->sh->in_flight++;
    inv->in_flight++;
    c->prev = NULL;
    c->next = inv->active;
    if (inv->active)
        inv->active->prev = c;
    inv->active = c;
    rc = 0;
    goto out;
oom:
    fail_now(failure, "ClientError", "out of memory building the request");
out:
    q_sigv4_result_free(&sig);
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

        if (q_bedrock_parse_answer(c->family, q_buf_cstr(&c->body), c->body.len, &r->answer,
                                   why, sizeof(why)) == 0) {
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
    double now;

    /* libcurl's own timers (connect/transfer timeouts, newly added handles) bound the wait */
    now = mono_now();
    for (size_t i = 0; i < inv->n_shards; i++) {
        double due = inv->shards[i].timer_due;

        if (due >= 0) {
            double left_ms = (due - now) * 1000.0;
            if (left_ms < wait)
                wait = left_ms <= 0 ? 0 : (int)left_ms + 1;
        }
    }
    if (!inv->in_flight)
        wait = 0;
    n = epoll_wait(inv->epfd, events, (int)(sizeof(events) / sizeof(events[0])), wait);
    for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        fd_watch *w = (size_t)fd < inv->n_fds ? &inv->fds[fd] : NULL;
        int mask = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                   (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

        if (!w)
            continue;
        if (w->shard < 0) {
            /* an idle cached connection woke up (the server closed it, most likely):
             * stop watching it; libcurl notices when it next considers reusing it */
            watch_drop(inv, fd, w);
            continue;
        }
        curl_multi_socket_action(inv->shards[w->shard].multi, fd, mask, &running);
    }
    now = mono_now();
    for (size_t i = 0; i < inv->n_shards; i++) {
        shard *sh = &inv->shards[i];

        if (sh->timer_due >= 0 && now >= sh->timer_due) {
            sh->timer_due = -1; /* libcurl sets a new one from inside the call if it needs one */
            curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
    }
    for (size_t i = 0; i < inv->n_shards; i++) {
        shard *sh = &inv->shards[i];

        while ((msg = curl_multi_info_read(sh->multi, &left))) {
            call *c = NULL;
            invoke_result r;
            void *ctx;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            finish(inv, c, msg->data.result, &r);
            curl_multi_remove_handle(sh->multi, c->easy);
            active_unlink(inv, c);
            sh->in_flight--;
            inv->in_flight--;
            ctx = c->ctx;
            call_release(inv, c);
            done(ctx, &r, run_ctx);
            invoke_result_free(&r);
            finished++;
        }
    }
    return finished;
}
