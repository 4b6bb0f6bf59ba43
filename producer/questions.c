/* questions.c - the intake's public API handlers (see questions.h).
 *
 * A submission is checked in order of cost, cheapest first, so abuse is turned away before
 * it costs anything: key (in-memory cache), rate limit (in-memory bucket), body, JSON and
 * fields, model, prompt-injection screen; then the request is suspended and handed to the
 * accept pipeline, which reserves quota and commits in batches. */
#include "questions.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ids.h"
#include "injection.h"
#include "log.h"
#include "money.h"
#include "validate.h"

#define QUESTIONS_PREFIX "/v1/questions"
#define MAX_WAIT_SECONDS 60

static void reply_error(http_request *req, unsigned status, const char *code, const char *msg)
{
    q_error e;

    q_error_set(&e, (int)status, code, "%s", msg);
    http_reply_error(req, &e);
}

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The raw key from x-api-key or "Authorization: Bearer". NULL when neither is there. */
static const char *request_api_key(const http_request *req)
{
    const char *key = http_header(req, "x-api-key");
    const char *authz;

    if (key && *key)
        return key;
    authz = http_header(req, "Authorization");
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        authz += 7;
        while (*authz == ' ')
            authz++;
        return *authz ? authz : NULL;
    }
    return NULL;
}

/* Authenticates the request. Returns a key reference to release, or NULL after replying. */
static q_api_key *authenticate(http_request *req, intake_api *api)
{
    const char *raw = request_api_key(req);
    q_api_key *key = NULL;
    char hash[65];
    int found;

    if (!raw) {
        reply_error(req, 401, "MISSING_API_KEY",
                    "an API key is required in the x-api-key header (or Authorization: Bearer)");
        return NULL;
    }
    q_api_key_hash_hex(raw, strlen(raw), hash);
    found = q_keycache_get(api->keys, hash, intake_now_ms(), &key);
    if (found < 0) {
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not check the API key, retry later");
        return NULL;
    }
    if (found == 0) {
        reply_error(req, 401, "INVALID_API_KEY", "the API key is unknown, disabled or expired");
        return NULL;
    }
    return key;
}

static void record(intake_api *api, http_request *req, const q_api_key *key, const char *code,
                   const char *action, const char *reason, int chars, int score)
{
    intake_rejection r = {.key_id = key->id, .code = code, .action = action, .reason = reason,
                          .question_chars = chars, .score = score};

    snprintf(r.request_id, sizeof(r.request_id), "%s", req->request_id);
    intake_pipeline_record(api->pipeline, &r);
    q_log(strcmp(code, "RATE_LIMITED") == 0 ? Q_LOG_DEBUG : Q_LOG_INFO, "job.rejected",
          json_pack("{s:s,s:I,s:s,s:s,s:s?}", "request_id", req->request_id, "api_key_id",
                    (json_int_t)key->id, "code", code, "action", action, "reason", reason));
}

/* Takes a token from the key's bucket. Returns 1 (rate headers added) or 0 after a 429. */
static int rate_limit(http_request *req, intake_api *api, const q_api_key *key)
{
    q_ratelimit_info info;
    int allowed;

    if (key->requests_per_second <= 0)
        return 1;
    allowed = q_ratelimit_take(api->rates, key->id, key->requests_per_second, key->burst,
                               mono_us(), &info);
    http_add_header(req, "X-RateLimit-Limit", "%d", info.limit);
    http_add_header(req, "X-RateLimit-Remaining", "%d", info.remaining);
    http_add_header(req, "X-RateLimit-Reset", "%d", info.reset_seconds);
    if (allowed != 0)
        return 1;
    http_add_header(req, "Retry-After", "%d", info.retry_after);
    record(api, req, key, "RATE_LIMITED", "rejected", "requests_per_second", -1, -1);
    reply_error(req, 429, "RATE_LIMITED",
                "this API key sends more requests per second than its limit allows; retry after "
                "the number of seconds in Retry-After");
    return 0;
}

static int model_known(const char *model, void *ctx)
{
    return q_prices_known((q_prices *)ctx, model);
}

static int is_json_content_type(const char *ct)
{
    size_t n = strlen("application/json");

    if (!ct || strncasecmp(ct, "application/json", n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static int idempotency_key_ok(const char *k)
{
    size_t n = 0;

    for (; k[n]; n++)
        if ((unsigned char)k[n] < 0x20 || (unsigned char)k[n] > 0x7e)
            return 0;
    return n >= 1 && n <= 255;
}

/* The upper estimate reserved for a job: every byte of the question could be a token, plus
 * the system prompt and message framing, plus every output token max_tokens allows. */
static int estimate_reservation(intake_api *api, const q_question *q, size_t question_bytes,
                                intake_submission *s)
{
    q_price price;
    q_usage usage = {0};
    int64_t pico;

    usage.input_tokens = (int64_t)question_bytes + api->prompt_overhead_tokens;
    usage.output_tokens = q->max_tokens;
    s->reserved_tokens = usage.input_tokens + usage.output_tokens;
    if (q_prices_lookup(api->prices, q->model, time(NULL), &price) != 0 ||
        q_money_cost_pico(&price, &usage, &pico) != 0)
        return -1;
    s->reserved_pico = pico;
    return 0;
}

static void fixed_response(http_request *req)
{
    http_reply_json(req, 202,
                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "id",
                              "00000000-0000-7000-8000-000000000000", "status", "queued", "model",
                              "fixed", "created_at", "2026-01-01T00:00:00.000Z", "request_id",
                              req->request_id),
                    "/v1/questions/00000000-0000-7000-8000-000000000000");
}

static void submit_question(http_request *req, intake_api *api)
{
    q_api_key *key;
    q_question_limits limits;
    q_question q;
    q_error err;
    json_error_t jerr;
    json_t *body = NULL;
    intake_submission *s;
    const char *idem;
    q_injection_result screen = {Q_INJECTION_NONE, "none", 0};

    if (api->fixed_response) {
        fixed_response(req);
        return;
    }
    if (!(key = authenticate(req, api)))
        return;
    if (!rate_limit(req, api, key))
        goto out;
    if (req->server_busy) {
        http_add_header(req, "Retry-After", "1");
        reply_error(req, 503, "SERVICE_UNAVAILABLE", "the server is busy, retry shortly");
        goto out;
    }
    if (req->body_too_big) {
        reply_error(req, 413, "BODY_TOO_LARGE", "the request body is larger than this service accepts");
        goto out;
    }
    if (!is_json_content_type(http_header(req, "Content-Type"))) {
        reply_error(req, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
        goto out;
    }
    idem = http_header(req, "Idempotency-Key");
    if (idem && !idempotency_key_ok(idem)) {
        reply_error(req, 400, "INVALID_IDEMPOTENCY_KEY",
                    "Idempotency-Key must be 1 to 255 printable ASCII characters");
        goto out;
    }
    body = json_loadb(q_buf_cstr(&req->body), req->body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);
    if (!body) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            reply_error(req, 400, "INVALID_CHARACTERS", "the request body is not valid UTF-8");
        else {
            q_error_set(&err, 400, "INVALID_JSON", "the request body is not valid JSON: %s at "
                        "position %d", jerr.text, jerr.position);
            http_reply_error(req, &err);
        }
        goto out;
    }
    limits = (q_question_limits){
        .min_question_chars = (size_t)(key->min_question_chars > 0 ? key->min_question_chars : 1),
        .max_question_chars = (size_t)key->max_question_chars,
        .max_tokens_limit = api->max_tokens_limit,
        .default_max_tokens = api->default_max_tokens,
        .default_model = api->default_model,
        .is_known_model = model_known,
        .ctx = api->prices,
    };
    if (q_validate_question(body, &limits, &q, &err) != 0) {
        http_reply_error(req, &err);
        goto out;
    }
    if (!q_api_key_allows_model(key, q.model)) {
        record(api, req, key, "MODEL_NOT_ALLOWED", "rejected", NULL, (int)q.question_chars, -1);
        q_error_set(&err, 403, "MODEL_NOT_ALLOWED", "this API key may not use model \"%.128s\"",
                    q.model);
        http_reply_error(req, &err);
        goto out;
    }
    if (key->injection_policy != Q_INJECTION_OFF) {
        q_injection_screen(q.question, strlen(q.question), &screen);
        if (screen.kind != Q_INJECTION_NONE && key->injection_policy == Q_INJECTION_BLOCK) {
            record(api, req, key, "PROMPT_INJECTION", "blocked", screen.reason,
                   (int)q.question_chars, screen.score);
            /* Generic on purpose: telling an attacker which rule matched helps them evade it. */
            reply_error(req, 400, "PROMPT_INJECTION",
                        "the question was rejected by the prompt-injection screen");
            goto out;
        }
    }

    s = intake_submission_new(req);
    if (!s || q_uuid_v7(s->id) != 0) {
        reply_error(req, 500, "INTERNAL", "could not prepare the job");
        goto out;
    }
    s->key_id = key->id;
    s->question = q.question;
    s->model = q.model;
    s->max_tokens = q.max_tokens;
    s->has_temperature = q.has_temperature;
    s->temperature = q.temperature;
    s->question_chars = (int)q.question_chars;
    if (screen.kind != Q_INJECTION_NONE) {
        s->injection_reason = screen.reason;
        s->injection_score = screen.score;
    }
    if (estimate_reservation(api, &q, strlen(q.question), s) != 0) {
        reply_error(req, 400, "UNKNOWN_MODEL", "the model has no price in force");
        goto out;
    }
    if (idem) {
        s->idempotency_key = strdup(idem);
        if (!s->idempotency_key) {
            reply_error(req, 500, "INTERNAL", "out of memory");
            goto out;
        }
        q_api_key_hash_hex(q_buf_cstr(&req->body), req->body.len, s->body_sha256);
    }
    s->body = body; /* the question and model strings point into it */
    body = NULL;
    if (s->model == api->default_model)
        s->model = api->default_model; /* static configuration: outlives the request */
    q_api_key_release(key);
    http_suspend(req);
    intake_pipeline_submit(api->pipeline, s); /* the request is not touched after this */
    return;
out:
    json_decref(body);
    q_api_key_release(key);
}

/* --- reads ---------------------------------------------------------------------------------- */

typedef struct {
    intake_waiter w;
    long long key_id;
} poll_state;

/* Reads the job and answers, or parks the request until the job ends or the deadline. */
static void poll_job(http_request *req, intake_api *api, poll_state *ps)
{
    PGconn *conn;
    json_t *job = NULL;
    int terminal = 0, found, waiting = ps->w.deadline_ms > intake_now_ms();

    if (waiting)
        intake_listener_register(api->listener, &ps->w);
    conn = intake_store_acquire(api->store);
    found = conn ? intake_store_get_job(conn, ps->w.job_id, ps->key_id, &job, &terminal) : -1;
    if (conn)
        intake_store_release(api->store, conn);
    if (found == 1 && !terminal && waiting) {
        if (intake_listener_suspend(api->listener, &ps->w) == 0) {
            json_decref(job);
            return;
        }
        /* It ended between our read and the suspension: read it once more. */
        json_decref(job);
        conn = intake_store_acquire(api->store);
        found = conn ? intake_store_get_job(conn, ps->w.job_id, ps->key_id, &job, &terminal) : -1;
        if (conn)
            intake_store_release(api->store, conn);
    }
    intake_listener_unregister(api->listener, &ps->w);
    if (found < 0)
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not read the job, retry later");
    else if (found == 0)
        reply_error(req, 404, "NOT_FOUND", "no question with this id exists for this API key");
    else
        http_reply_json(req, 200, job, NULL);
}

static void get_question(http_request *req, intake_api *api, const char *id)
{
    q_api_key *key;
    poll_state *ps;
    const char *wait = http_query(req, "wait");
    long wait_s = 0;

    if (req->resumed && req->user) {
        poll_job(req, api, req->user);
        return;
    }
    if (!(key = authenticate(req, api)))
        return;
    if (wait) {
        char *end;
        wait_s = strtol(wait, &end, 10);
        if (!*wait || *end || wait_s < 0 || wait_s > MAX_WAIT_SECONDS) {
            q_api_key_release(key);
            reply_error(req, 400, "INVALID_PARAMETER",
                        "wait must be a whole number of seconds from 0 to 60");
            return;
        }
    }
    /* Unknown, malformed and other keys' ids all look the same: 404. */
    if (!q_uuid_valid(id)) {
        q_api_key_release(key);
        reply_error(req, 404, "NOT_FOUND", "no question with this id exists for this API key");
        return;
    }
    ps = calloc(1, sizeof(*ps));
    if (!ps) {
        q_api_key_release(key);
        reply_error(req, 500, "INTERNAL", "out of memory");
        return;
    }
    req->user = ps;
    req->user_free = free;
    ps->key_id = key->id;
    ps->w.req = req;
    snprintf(ps->w.job_id, sizeof(ps->w.job_id), "%s", id);
    ps->w.deadline_ms = intake_now_ms() + wait_s * 1000;
    q_api_key_release(key);
    poll_job(req, api, ps);
}

static void cancel_question(http_request *req, intake_api *api, const char *id)
{
    q_api_key *key = authenticate(req, api);
    PGconn *conn;
    char status[16] = "";
    json_t *job = NULL;
    int found = 0, terminal;

    if (!key)
        return;
    conn = intake_store_acquire(api->store);
    if (!conn) {
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "the database is unavailable, retry later");
        goto out;
    }
    found = q_uuid_valid(id) ? intake_store_cancel_job(conn, id, key->id, status) : 0;
    if (found == 1 && strcmp(status, "cancelled") == 0 &&
        intake_store_get_job(conn, id, key->id, &job, &terminal) != 1)
        found = -1;
    intake_store_release(api->store, conn);
    if (found < 0) {
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not cancel the job, retry later");
    } else if (found == 0) {
        reply_error(req, 404, "NOT_FOUND", "no question with this id exists for this API key");
    } else if (!job) {
        q_error e;
        q_error_set(&e, 409, "JOB_NOT_CANCELLABLE",
                    "the job is %s: only a queued job can be cancelled", status);
        http_reply_error(req, &e);
    } else {
        http_reply_json(req, 200, job, NULL);
    }
out:
    q_api_key_release(key);
}

static void get_usage(http_request *req, intake_api *api)
{
    q_api_key *key = authenticate(req, api);
    PGconn *conn;
    json_t *usage = NULL;

    if (!key)
        return;
    conn = intake_store_acquire(api->store);
    if (!conn || intake_store_usage(conn, key->id, &usage) != 0)
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not read the usage, retry later");
    else
        http_reply_json(req, 200, usage, NULL);
    if (conn)
        intake_store_release(api->store, conn);
    q_api_key_release(key);
}

/* --- routing -------------------------------------------------------------------------------- */

static void method_not_allowed(http_request *req, const char *allow)
{
    char msg[64];

    http_add_header(req, "Allow", "%s, OPTIONS", allow);
    snprintf(msg, sizeof(msg), "use %s", allow);
    reply_error(req, 405, "METHOD_NOT_ALLOWED", msg);
}

/* Which endpoint a path names; its allowed method in *allow. */
typedef enum { R_NONE, R_HEALTH, R_SUBMIT, R_JOB, R_CANCEL, R_USAGE } route;

static route route_of(const char *path, const char **allow, const char **id)
{
    size_t n = strlen(QUESTIONS_PREFIX);
    const char *slash;

    *id = NULL;
    if (strcmp(path, "/healthz") == 0)
        return *allow = "GET", R_HEALTH;
    if (strcmp(path, "/v1/usage") == 0)
        return *allow = "GET", R_USAGE;
    if (strncmp(path, QUESTIONS_PREFIX, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return R_NONE;
    path += n;
    if (*path == '\0')
        return *allow = "POST", R_SUBMIT;
    *id = path + 1;
    if (**id == '\0' || **id == '/')
        return R_NONE; /* "/v1/questions/" and "/v1/questions//cancel" name no job */
    slash = strchr(path + 1, '/');
    if (!slash)
        return *allow = "GET", R_JOB;
    if (strcmp(slash, "/cancel") == 0)
        return *allow = "POST", R_CANCEL;
    return R_NONE;
}

void intake_handle(http_request *req, void *ctx)
{
    intake_api *api = ctx;
    const char *allow = NULL, *id = NULL;
    route r = route_of(req->path, &allow, &id);
    char job_id[Q_UUID_LEN + 1] = "";

    if (r == R_NONE) {
        reply_error(req, 404, "NOT_FOUND", "no such endpoint");
        return;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        /* CORS preflight: answered without a key, as browsers send none. */
        http_add_header(req, "Allow", "%s, OPTIONS", allow);
        http_add_header(req, "Access-Control-Allow-Methods", "%s, OPTIONS", allow);
        http_add_header(req, "Access-Control-Allow-Headers",
                        "Content-Type, Authorization, x-api-key, Idempotency-Key, X-Request-ID");
        http_add_header(req, "Access-Control-Max-Age", "600");
        http_reply_json(req, 204, NULL, NULL);
        return;
    }
    if (strcmp(req->method, allow) != 0 &&
        !(strcmp(allow, "GET") == 0 && strcmp(req->method, "HEAD") == 0)) {
        method_not_allowed(req, allow);
        return;
    }
    if (id) {
        size_t len = strcspn(id, "/");
        if (len <= Q_UUID_LEN) {
            memcpy(job_id, id, len);
            job_id[len] = '\0';
        } else {
            snprintf(job_id, sizeof(job_id), "-");
        }
    }
    switch (r) {
    case R_HEALTH:
        http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
        break;
    case R_SUBMIT:
        submit_question(req, api);
        break;
    case R_JOB:
        get_question(req, api, job_id);
        break;
    case R_CANCEL:
        cancel_question(req, api, job_id);
        break;
    case R_USAGE:
        get_usage(req, api);
        break;
    default:
        reply_error(req, 404, "NOT_FOUND", "no such endpoint");
    }
}
