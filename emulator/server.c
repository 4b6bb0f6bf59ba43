/* server.c - libmicrohttpd wiring, routing and the /_emulator admin endpoints. */
#include "server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "catalogue.h"
#include "delay.h"
#include "invoke.h"
#include "ledger.h"
#include "log.h"
#include "plan.h"
#include "quota.h"
#include "rng.h"
#include "wire.h"

#define RECENT_CAPACITY 65536
#define CONNECTION_LIMIT 16384
#define CONNECTION_TIMEOUT_S 120
#define QUERY_CAP 8192
#define SHUTDOWN_FLUSH_MS 3000
#define ERROR_TYPE_SUFFIX ":http://internal.amazon.com/coral/com.amazon.bedrock/"
#define OOM_BODY "{\"message\":\"The emulator ran out of memory.\"}"

struct emu_server {
    const emu_settings *cfg;
    emu_auth_config auth;
    struct MHD_Daemon *mhd;
    emu_ledger *ledger;
    emu_delay *delay;
    emu_plan_store *plan;
    emu_quota *quota;
    emu_rng fault_rng;               /* seeded from QUARRY_EMULATOR_SEED */
    emu_rng id_rng;                  /* request and message ids */
    _Atomic unsigned held;           /* held replies not yet completed */
    unsigned port;
};

typedef enum { BODY_OK, BODY_TOO_BIG, BODY_NOMEM } body_state;

/* Per-request state, owned by libmicrohttpd's con_cls until on_completed frees it. */
typedef struct {
    int held;                        /* reply ready, connection suspended by the delayer */
    body_state body_state;
    uint64_t started_ns;
    q_buf body;
    emu_reply reply;
} request_ctx;

typedef struct {
    q_http_header *items;
    size_t n, cap;
} header_list;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    header_list *l = cls;

    (void)kind;
    if (l->n < l->cap)
        l->items[l->n++] = (q_http_header){key, value ? value : ""};
    return MHD_YES;
}

/* Rebuilds the raw query as name=value pairs (the signer sorts them). A query beyond
 * QUERY_CAP is cut, which can only make its signature fail. */
static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    q_buf *q = cls;

    (void)kind;
    if (q->len)
        q_buf_addc(q, '&');
    q_buf_adds(q, key);
    if (value) {
        q_buf_addc(q, '=');
        q_buf_adds(q, value);
    }
    return MHD_YES;
}

/* POST /model/{id}/invoke and /converse: gathers the wire request for emu_invoke. */
static void route_invoke(emu_server *s, struct MHD_Connection *conn, emu_operation op,
                         const char *path, const char *method, const char *model_raw,
                         request_ctx *ctx)
{
    header_list headers = {0};
    q_buf query;
    emu_wire_request req;
    emu_invoke_env env;
    int n;

    q_buf_init(&query, QUERY_CAP);
    n = MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL, NULL);
    headers.cap = n > 0 ? (size_t)n : 0;
    headers.items = calloc(headers.cap ? headers.cap : 1, sizeof(*headers.items));
    if (!headers.items || ctx->body_state == BODY_NOMEM) {
        emu_ledger_add(s->ledger, &(emu_ledger_entry){EMU_OUTCOME_OTHER_ERROR, op, -1,
                                                      "InternalServerException",
                                                      EMU_THROTTLE_RATE, NULL});
        emu_reply_fail(&ctx->reply, 500, "InternalServerException",
                       "The emulator ran out of memory.");
        goto out;
    }
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &query);

    req = (emu_wire_request){
        .method = method,
        .path = path,
        .query = q_buf_cstr(&query),
        .headers = headers.items,
        .n_headers = headers.n,
        /* A body that was never added to is "" rather than NULL (NULL means too big). */
        .body = ctx->body_state == BODY_TOO_BIG ? NULL : q_buf_cstr(&ctx->body),
        .body_len = ctx->body.len,
    };
    env = (emu_invoke_env){
        .auth = &s->auth,
        .ledger = s->ledger,
        .plan = s->plan,
        .quota = s->quota,
        .fault_rng = &s->fault_rng,
        .id_rng = &s->id_rng,
        .now = (long long)time(NULL),
        .started_ns = ctx->started_ns,
    };
    emu_invoke(&env, op, &req, model_raw, &ctx->reply);
out:
    free(headers.items);
    q_buf_free(&query);
}

/* POST /_emulator/config: a JSON object with any subset of the plan's keys (plan.h),
 * applied all together or not at all; answers the whole new config. */
static void route_set_config(emu_server *s, request_ctx *ctx)
{
    json_t *root = NULL, *now = NULL;
    json_error_t jerr;
    char err[512];

    if (ctx->body_state != BODY_OK ||
        !(root = json_loadb(q_buf_cstr(&ctx->body), ctx->body.len, 0, &jerr))) {
        emu_reply_fail(&ctx->reply, 400, "ValidationException",
                       "the config body must be a JSON object");
        goto out;
    }
    if (emu_plan_store_apply(s->plan, root, &now, err, sizeof(err)) != 0) {
        emu_reply_fail(&ctx->reply, 400, "ValidationException", "%s", err);
        goto out;
    }
    /* A new quota starts from an empty minute, as a test setting it expects. */
    if (json_object_get(root, "quotas"))
        emu_quota_clear(s->quota);
    q_log(Q_LOG_INFO, "emulator.config_changed", json_pack("{s:O}", "config", root));
    emu_reply_json(&ctx->reply, 200, now);
out:
    json_decref(root);
}

static void route_reset_config(emu_server *s, request_ctx *ctx)
{
    emu_plan_store_reset(s->plan);
    emu_quota_clear(s->quota);
    q_log(Q_LOG_INFO, "emulator.config_reset", NULL);
    emu_reply_json(&ctx->reply, 200, emu_plan_store_json(s->plan));
}

static json_t *stats_json(emu_server *s)
{
    json_t *o = emu_ledger_stats(s->ledger);

    if (o && json_object_set_new(o, "held", json_integer(atomic_load(&s->held))) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* POST /_emulator/stats/reset: answers the stats as they were, then zeroes them. */
static void route_reset_stats(emu_server *s, request_ctx *ctx)
{
    emu_reply_json(&ctx->reply, 200, stats_json(s));
    emu_ledger_reset(s->ledger);
}

static void route_request_record(emu_server *s, const char *id, request_ctx *ctx)
{
    emu_record rec;

    if (strlen(id) > 36 || emu_ledger_find(s->ledger, id, &rec) != 0)
        emu_reply_fail(&ctx->reply, 404, "ResourceNotFoundException",
                       "no recent successful invocation has request id \"%.36s\"", id);
    else
        emu_reply_json(&ctx->reply, 200,
                       json_pack("{s:s,s:s,s:I,s:I,s:s,s:I}", "request_id", rec.request_id,
                                 "model_id", rec.model_id, "input_tokens",
                                 (json_int_t)rec.input_tokens, "output_tokens",
                                 (json_int_t)rec.output_tokens, "stop_reason",
                                 rec.stop_reason, "latency_ms", (json_int_t)rec.latency_ms));
}

static json_t *models_json(void)
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < emu_catalogue_count(); i++) {
        const emu_model *m = emu_catalogue_at(i);

        if (json_array_append_new(
                list,
                json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:{s:s,s:I,s:I},s:{s:I,s:I}}", "model_id",
                          m->id, "name", m->name, "provider", m->provider, "body_format",
                          m->format == EMU_FORMAT_NOVA ? "nova-messages-v1"
                                                       : "anthropic-messages",
                          "max_output_tokens", (json_int_t)m->max_output_tokens,
                          "context_tokens", (json_int_t)m->context_tokens, "profile_latency",
                          "distribution", "lognormal", "median_ms",
                          (json_int_t)m->profile_median_ms, "p99_ms",
                          (json_int_t)m->profile_p99_ms, "aws_default_quota", "rpm",
                          (json_int_t)m->default_rpm, "tpm", (json_int_t)m->default_tpm)) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list ? json_pack("{s:o}", "models", list) : NULL;
}

/* Fills ctx->reply for the request: every route ends with a reply, or a NULL body when out
 * of memory (answered with a fixed 500). */
static void dispatch(emu_server *s, struct MHD_Connection *conn, const char *path,
                     const char *method, request_ctx *ctx)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    const char *op = NULL;
    char model_raw[3 * EMU_MODEL_ID_MAX + 1] = "";

    if (strncmp(path, "/model/", 7) == 0 && (op = strchr(path + 7, '/')) != NULL &&
        (size_t)(op - (path + 7)) < sizeof(model_raw)) {
        /* An over-long id stays "" and is refused as invalid after authentication. */
        memcpy(model_raw, path + 7, (size_t)(op - (path + 7)));
        model_raw[op - (path + 7)] = '\0';
    }

    if (op && post && strcmp(op, "/invoke") == 0)
        route_invoke(s, conn, EMU_OP_INVOKE, path, method, model_raw, ctx);
    else if (op && post && strcmp(op, "/converse") == 0)
        route_invoke(s, conn, EMU_OP_CONVERSE, path, method, model_raw, ctx);
    else if (op && (strcmp(op, "/invoke-with-response-stream") == 0 ||
                    strcmp(op, "/converse-stream") == 0))
        emu_reply_fail(&ctx->reply, 404, "UnknownOperationException",
                       "the emulator does not implement %s yet", op + 1);
    else if (get && strcmp(path, "/_emulator/health") == 0)
        emu_reply_json(&ctx->reply, 200, json_pack("{s:s}", "status", "ok"));
    else if (get && strcmp(path, "/_emulator/stats") == 0)
        emu_reply_json(&ctx->reply, 200, stats_json(s));
    else if (post && strcmp(path, "/_emulator/stats/reset") == 0)
        route_reset_stats(s, ctx);
    else if (get && strcmp(path, "/_emulator/config") == 0)
        emu_reply_json(&ctx->reply, 200, emu_plan_store_json(s->plan));
    else if (post && strcmp(path, "/_emulator/config") == 0)
        route_set_config(s, ctx);
    else if (post && strcmp(path, "/_emulator/config/reset") == 0)
        route_reset_config(s, ctx);
    else if (get && strncmp(path, "/_emulator/requests/", 20) == 0)
        route_request_record(s, path + 20, ctx);
    else if (get && strcmp(path, "/_emulator/models") == 0)
        emu_reply_json(&ctx->reply, 200, models_json());
    else
        emu_reply_fail(&ctx->reply, 404, "UnknownOperationException",
                       "no operation for %.16s %.200s", method, path);
}

/* Copies up to size - 1 bytes of a client string for a log line, control and non-ASCII
 * bytes replaced by '?', so the line stays valid JSON whatever came on the wire. */
static const char *loggable(const char *in, char *out, size_t size)
{
    size_t n = 0;

    for (; in[n] && n + 1 < size; n++)
        out[n] = (unsigned char)in[n] < 0x20 || (unsigned char)in[n] >= 0x7f ? '?' : in[n];
    out[n] = '\0';
    return out;
}

static void log_reply(const char *method, const char *path, const request_ctx *ctx)
{
    const emu_reply *r = &ctx->reply;
    char path_buf[256], method_buf[16];
    q_log_level level = r->status >= 500 ? Q_LOG_WARN
                        : r->status >= 400 ? Q_LOG_INFO
                                           : Q_LOG_DEBUG;
    json_t *fields;

    if (!q_log_enabled(level))
        return;
    fields = json_pack("{s:s,s:s,s:s,s:i,s:I}", "request_id", r->request_id, "method",
                       loggable(method, method_buf, sizeof(method_buf)), "path",
                       loggable(path, path_buf, sizeof(path_buf)), "status", (int)r->status, "ms",
                       (json_int_t)((emu_monotonic_ns() - ctx->started_ns) / 1000000ULL));
    if (fields && r->error_code)
        json_object_set_new(fields, "code", json_string(r->error_code));
    if (fields && r->has_usage) {
        json_object_set_new(fields, "input_tokens", json_integer(r->input_tokens));
        json_object_set_new(fields, "output_tokens", json_integer(r->output_tokens));
    }
    q_log(level, r->status >= 400 ? "http.error" : "http.request", fields);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, const char *method,
                                  const char *path, request_ctx *ctx)
{
    emu_reply *r = &ctx->reply;
    struct MHD_Response *resp;
    char value[128];
    enum MHD_Result ret = MHD_NO;

    if (r->body) {
        resp = MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE);
        if (resp)
            r->body = NULL; /* ownership moved to the response */
    } else {
        r->status = 500;
        r->error_code = "InternalServerException";
        r->has_usage = 0;
        resp = MHD_create_response_from_buffer(strlen(OOM_BODY), (void *)OOM_BODY,
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        goto out; /* MHD closes the connection */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "x-amzn-RequestId", r->request_id);
    if (r->error_code) {
        snprintf(value, sizeof(value), "%s" ERROR_TYPE_SUFFIX, r->error_code);
        MHD_add_response_header(resp, "x-amzn-ErrorType", value);
    }
    if (r->has_usage) {
        snprintf(value, sizeof(value), "%u", r->input_tokens);
        MHD_add_response_header(resp, "X-Amzn-Bedrock-Input-Token-Count", value);
        snprintf(value, sizeof(value), "%u", r->output_tokens);
        MHD_add_response_header(resp, "X-Amzn-Bedrock-Output-Token-Count", value);
        snprintf(value, sizeof(value), "%u", r->latency_ms);
        MHD_add_response_header(resp, "X-Amzn-Bedrock-Invocation-Latency", value);
    }
    ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    log_reply(method, path, ctx);
out:
    return ret;
}

/* Drops the connection with a TCP reset: SO_LINGER 0 makes close() send RST, and
 * returning MHD_NO makes libmicrohttpd close it without a response. */
static enum MHD_Result reset_connection(struct MHD_Connection *conn, const char *method,
                                        const char *path, const request_ctx *ctx)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct linger lg = {1, 0};
    char path_buf[256], method_buf[16];

    if (info)
        setsockopt(info->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    if (q_log_enabled(Q_LOG_INFO))
        q_log(Q_LOG_INFO, "http.reset",
              json_pack("{s:s,s:s,s:s,s:I}", "request_id", ctx->reply.request_id, "method",
                        loggable(method, method_buf, sizeof(method_buf)), "path",
                        loggable(path, path_buf, sizeof(path_buf)), "ms",
                        (json_int_t)((emu_monotonic_ns() - ctx->started_ns) / 1000000ULL)));
    return MHD_NO;
}

/* Sends the prepared reply, or resets the connection when that is the reply. */
static enum MHD_Result finish(struct MHD_Connection *conn, const char *method,
                              const char *path, request_ctx *ctx)
{
    if (ctx->reply.action == EMU_REPLY_RESET)
        return reset_connection(conn, method, path, ctx);
    return send_reply(conn, method, path, ctx);
}

static request_ctx *request_new(emu_server *s)
{
    request_ctx *ctx = calloc(1, sizeof(*ctx));

    if (ctx) {
        q_buf_init(&ctx->body, EMU_MAX_BODY);
        ctx->started_ns = emu_monotonic_ns();
        emu_rng_uuid4(&s->id_rng, ctx->reply.request_id);
    }
    return ctx;
}

/* Keeps up to EMU_MAX_BODY bytes; an oversized body is still drained (so the client reads
 * the reply instead of a reset) but none of it is held. */
static void request_take_body(request_ctx *ctx, const char *data, size_t len)
{
    int rc;

    if (ctx->body_state != BODY_OK)
        return;
    rc = q_buf_add(&ctx->body, data, len);
    if (rc != Q_BUF_OK) {
        ctx->body_state = rc == Q_BUF_TOO_BIG ? BODY_TOO_BIG : BODY_NOMEM;
        q_buf_free(&ctx->body);
    }
}

/* libmicrohttpd calls this once with the headers, once per body chunk, once at the end of
 * the body, and once more after the delayer resumes a held connection. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    emu_server *s = cls;
    request_ctx *ctx = *con_cls;
    enum MHD_Result ret = MHD_YES;

    (void)version;
    if (!ctx) {
        ctx = *con_cls = request_new(s);
        ret = ctx ? MHD_YES : MHD_NO;
    } else if (*upload_data_size) {
        request_take_body(ctx, upload_data, *upload_data_size);
        *upload_data_size = 0;
    } else if (ctx->held) {
        ret = finish(conn, method, url, ctx);
    } else {
        dispatch(s, conn, url, method, ctx);
        if (ctx->reply.delay_ms &&
            (ctx->reply.body || ctx->reply.action == EMU_REPLY_RESET) &&
            emu_delay_hold(s->delay, conn, ctx->reply.delay_ms) == 0) {
            ctx->held = 1; /* finished on the call after the delayer resumes the connection */
            atomic_fetch_add(&s->held, 1);
        } else {
            ret = finish(conn, method, url, ctx);
        }
    }
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    emu_server *s = cls;
    request_ctx *ctx = *con_cls;

    (void)conn;
    (void)toe;
    if (!ctx)
        return;
    if (ctx->held)
        atomic_fetch_sub(&s->held, 1);
    q_buf_free(&ctx->body);
    emu_reply_free(&ctx->reply);
    free(ctx);
    *con_cls = NULL;
}

/* Keeps the path exactly as it came on the wire: SigV4 needs the raw encoding, and the
 * model id is percent-decoded by the invoke code itself. */
static size_t keep_raw_url(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    return strlen(uri);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    q_log(Q_LOG_WARN, "mhd.message", json_pack("{s:s}", "msg", msg));
}

/* Resolves the listen address into *addr; returns its length, or 0 after logging. */
static socklen_t resolve_listen(const emu_settings *cfg, struct sockaddr_storage *addr)
{
    struct addrinfo hints = {0}, *res = NULL;
    socklen_t len = 0;
    int rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(cfg->listen_host, NULL, &hints, &res);
    if (rc != 0 || !res || res->ai_addrlen > sizeof(*addr)) {
        q_logf(Q_LOG_ERROR, "emulator.listen_failed", "could not resolve listen address %s: %s",
               cfg->listen_host, rc ? gai_strerror(rc) : "no address");
        goto out;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    if (addr->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)addr)->sin6_port = htons((uint16_t)cfg->listen_port);
    else
        ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)cfg->listen_port);
out:
    if (res)
        freeaddrinfo(res);
    return len;
}

emu_server *emu_server_start(const emu_settings *cfg, const emu_plan *plan)
{
    struct sockaddr_storage addr;
    const union MHD_DaemonInfo *info;
    /* epoll worker pool; suspend/resume for held replies; ITC so MHD_quiesce_daemon works
     * with the pool; TURBO reads and writes before polling, which suits short requests. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    emu_server *s = calloc(1, sizeof(*s));

    if (!s)
        goto nomem;
    s->cfg = cfg;
    s->auth = (emu_auth_config){cfg->access_key_id, cfg->secret_access_key, cfg->session_token,
                                cfg->bearer_token, cfg->region, "bedrock"};
    emu_rng_init(&s->fault_rng, cfg->seed);
    emu_rng_init(&s->id_rng, emu_rng_entropy());
    s->plan = emu_plan_store_new(plan, cfg->region);
    s->quota = emu_quota_new(emu_catalogue_count());
    s->ledger = emu_ledger_new(RECENT_CAPACITY);
    s->delay = emu_delay_new();
    if (!s->plan || !s->quota || !s->ledger || !s->delay)
        goto nomem;
    if (resolve_listen(cfg, &addr) == 0)
        goto fail;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;

    s->mhd = MHD_start_daemon(
        flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first, so it sees every message */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(cfg->threads > 1 ? cfg->threads : 0),
        MHD_OPTION_UNESCAPE_CALLBACK, keep_raw_url, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_END);
    if (!s->mhd) {
        q_logf(Q_LOG_ERROR, "emulator.listen_failed", "could not listen on %s port %u",
               cfg->listen_host, cfg->listen_port);
        goto fail;
    }
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : cfg->listen_port;
    return s;

nomem:
    q_logf(Q_LOG_ERROR, "emulator.start_failed", "out of memory or threads");
fail:
    if (s) {
        emu_delay_free(s->delay);
        emu_ledger_free(s->ledger);
        emu_quota_free(s->quota);
        emu_plan_store_free(s->plan);
        free(s);
    }
    return NULL;
}

unsigned emu_server_port(const emu_server *s)
{
    return s->port;
}

void emu_server_stop(emu_server *s)
{
    struct timespec tick = {0, 10 * 1000000L};
    MHD_socket listener;

    if (!s)
        return;
    /* Stop accepting; the listening socket is ours to close from now on. */
    listener = MHD_quiesce_daemon(s->mhd);
    /* Release the held replies (MHD_stop_daemon must not find suspended connections)
     * and give them a moment to go out before the connections are closed. */
    emu_delay_stop(s->delay);
    for (int i = 0; i < SHUTDOWN_FLUSH_MS / 10 && atomic_load(&s->held) > 0; i++)
        nanosleep(&tick, NULL);
    MHD_stop_daemon(s->mhd);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    emu_delay_free(s->delay);
    emu_ledger_free(s->ledger);
    emu_quota_free(s->quota);
    emu_plan_store_free(s->plan);
    free(s);
}
