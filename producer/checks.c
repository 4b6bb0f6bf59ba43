/* checks.c - the checks every intake endpoint shares (see checks.h). */
#include "checks.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "money.h"

void intake_reply_error(http_request *req, unsigned status, const char *code, const char *msg)
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

q_api_key *intake_authenticate(http_request *req, intake_api *api)
{
    const char *raw = request_api_key(req);
    q_api_key *key = NULL;
    char hash[65];
    int found;

    if (!raw) {
        intake_reply_error(req, 401, "MISSING_API_KEY",
                           "an API key is required in the x-api-key header (or Authorization: Bearer)");
        return NULL;
    }
    q_api_key_hash_hex(raw, strlen(raw), hash);
    found = q_keycache_get(api->keys, hash, intake_now_ms(), &key);
    if (found < 0) {
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE",
                           "could not check the API key, retry later");
        return NULL;
    }
    if (found == 0) {
        intake_reply_error(req, 401, "INVALID_API_KEY",
                           "the API key is unknown, disabled or expired");
        return NULL;
    }
    return key;
}

void intake_record(intake_api *api, http_request *req, const q_api_key *key, const char *code,
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

int intake_rate_limit(http_request *req, intake_api *api, const q_api_key *key)
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
    intake_record(api, req, key, "RATE_LIMITED", "rejected", "requests_per_second", -1, -1);
    intake_reply_error(req, 429, "RATE_LIMITED",
                       "this API key sends more requests per second than its limit allows; "
                       "retry after the number of seconds in Retry-After");
    return 0;
}

int intake_content_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);

    if (!ct || strncasecmp(ct, type, n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static int model_known(const char *model, void *ctx)
{
    return q_prices_known((q_prices *)ctx, model);
}

q_question_limits intake_question_limits(intake_api *api, const q_api_key *key)
{
    return (q_question_limits){
        .min_question_chars = (size_t)(key->min_question_chars > 0 ? key->min_question_chars : 1),
        .max_question_chars = (size_t)key->max_question_chars,
        .max_tokens_limit = api->max_tokens_limit,
        .default_max_tokens = api->default_max_tokens,
        .default_model = api->default_model,
        .is_known_model = model_known,
        .ctx = api->prices,
    };
}

int intake_screen_question(intake_api *api, http_request *req, const q_api_key *key,
                           const q_question *q, q_injection_result *screen, q_error *err)
{
    *screen = (q_injection_result){Q_INJECTION_NONE, "none", 0};
    if (!q_api_key_allows_model(key, q->model)) {
        intake_record(api, req, key, "MODEL_NOT_ALLOWED", "rejected", NULL,
                      (int)q->question_chars, -1);
        q_error_set(err, 403, "MODEL_NOT_ALLOWED", "this API key may not use model \"%.128s\"",
                    q->model);
        return -1;
    }
    if (key->injection_policy == Q_INJECTION_OFF)
        return 0;
    q_injection_screen(q->question, strlen(q->question), screen);
    if (screen->kind != Q_INJECTION_NONE && key->injection_policy == Q_INJECTION_BLOCK) {
        intake_record(api, req, key, "PROMPT_INJECTION", "blocked", screen->reason,
                      (int)q->question_chars, screen->score);
        /* Generic on purpose: telling an attacker which rule matched helps them evade it. */
        q_error_set(err, 400, "PROMPT_INJECTION",
                    "the question was rejected by the prompt-injection screen");
        return -1;
    }
    return 0;
}

int intake_estimate_reservation(intake_api *api, const q_question *q, long long *tokens,
                                long long *pico)
{
    q_price price;
    q_usage usage = {0};
    int64_t cost;

    usage.input_tokens = (int64_t)strlen(q->question) + api->prompt_overhead_tokens;
    usage.output_tokens = q->max_tokens;
    *tokens = usage.input_tokens + usage.output_tokens;
    if (q_prices_lookup(api->prices, q->model, time(NULL), &price) != 0 ||
        q_money_cost_pico(&price, &usage, &cost) != 0)
        return -1;
    *pico = cost;
    return 0;
}

long intake_seconds_to_utc_midnight(void)
{
    return 86400 - (long)(time(NULL) % 86400);
}

json_t *intake_quota_exceeded(intake_pipeline *p, http_request *req, long long key_id,
                              const json_t *detail, int question_chars)
{
    const char *limit = json_string_value(json_object_get(detail, "limit"));
    intake_rejection r = {.key_id = key_id, .code = "QUOTA_EXCEEDED", .action = "rejected",
                          .question_chars = question_chars, .score = -1};
    json_t *details = json_deep_copy(detail);
    time_t midnight = time(NULL) + intake_seconds_to_utc_midnight();
    char resets_at[32];
    struct tm tm;
    q_error e;

    r.reason = !limit                                 ? "quota"
               : strcmp(limit, "daily_requests") == 0 ? "daily_requests"
               : strcmp(limit, "daily_tokens") == 0   ? "daily_tokens"
                                                      : "daily_budget_usd";
    snprintf(r.request_id, sizeof(r.request_id), "%s", req->request_id);
    intake_pipeline_record(p, &r);
    gmtime_r(&midnight, &tm);
    strftime(resets_at, sizeof(resets_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (details)
        json_object_set_new(details, "resets_at", json_string(resets_at));
    http_add_header(req, "Retry-After", "%ld", intake_seconds_to_utc_midnight());
    q_error_set(&e, 429, "QUOTA_EXCEEDED",
                "the daily limit %s of this API key would be exceeded (limit %s, used %s, "
                "reserved %s); it resets at %s",
                r.reason, json_string_value(json_object_get(detail, "limit_value")),
                json_string_value(json_object_get(detail, "used")),
                json_string_value(json_object_get(detail, "reserved")), resets_at);
    return http_error_body(req, &e, details);
}
