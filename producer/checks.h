/* checks.h - what every intake endpoint checks the same way: the API key, its rate limit,
 * a request's question against the key's limits, the quota a job reserves, and the record of
 * a rejected or flagged submission. Single questions (questions.c) and batches (batches.c)
 * both go through these, so a question is judged the same whichever way it comes in. */
#ifndef QUARRY_INTAKE_CHECKS_H
#define QUARRY_INTAKE_CHECKS_H

#include "http.h"
#include "injection.h"
#include "keycache.h"
#include "listener.h"
#include "pipeline.h"
#include "prices.h"
#include "ratelimit.h"
#include "store.h"
#include "validate.h"

typedef struct intake_batches intake_batches;

/* Everything the handlers share; one per intake process. */
typedef struct {
    intake_store *store;          /* reads (polls, usage, cancel) and key loads */
    intake_pipeline *pipeline;    /* submissions */
    intake_listener *listener;    /* long-polls */
    intake_batches *batches;      /* batch uploads (batches.h) */
    q_keycache *keys;
    q_ratelimit *rates;
    q_prices *prices;
    const char *default_model;
    int default_max_tokens;
    int max_tokens_limit;
    int prompt_overhead_tokens;   /* added to the question's bytes in the input estimate */
    int fixed_response;           /* benchmark ceiling: POST /v1/questions answers a constant */
} intake_api;

/* Sends {"error":{"code","message"}} with `status`. */
void intake_reply_error(http_request *req, unsigned status, const char *code, const char *msg);

/* Authenticates the request (x-api-key or Authorization: Bearer). Returns a key reference to
 * release with q_api_key_release, or NULL after replying 401/503. */
q_api_key *intake_authenticate(http_request *req, intake_api *api);

/* Takes a token from the key's bucket. Returns 1 (X-RateLimit-* headers added), or 0 after
 * replying 429 RATE_LIMITED (and recording it). */
int intake_rate_limit(http_request *req, intake_api *api, const q_api_key *key);

/* Queues a record of a rejected or flagged submission (never its text) and logs it. */
void intake_record(intake_api *api, http_request *req, const q_api_key *key, const char *code,
                   const char *action, const char *reason, int chars, int score);

/* 1 when the Content-Type header names `type` (parameters such as charset allowed). */
int intake_content_type_is(const char *content_type, const char *type);

/* The limits a question of this key is validated against. */
q_question_limits intake_question_limits(intake_api *api, const q_api_key *key);

/* Checks a validated question against the key: model allowed, then the prompt-injection
 * screen under the key's policy. Returns 0 (screen filled: kind NONE, or a flag to keep on
 * the job), or -1 with err set (MODEL_NOT_ALLOWED 403, PROMPT_INJECTION 400, message generic
 * on purpose); either way a rejection or a flag worth reporting is recorded. */
int intake_screen_question(intake_api *api, http_request *req, const q_api_key *key,
                           const q_question *q, q_injection_result *screen, q_error *err);

/* The upper estimate a job reserves: every byte of the question could be a token, plus the
 * system prompt and framing, plus every output token max_tokens allows, priced now. Returns
 * 0, or -1 when the model has no price in force. */
int intake_estimate_reservation(intake_api *api, const q_question *q, long long *tokens,
                                long long *pico);

/* Seconds until the next UTC midnight, when daily limits reset. */
long intake_seconds_to_utc_midnight(void);

/* The answer to a submission (or batch) that a daily limit refused: `detail` is the quota
 * detail of quarry_intake_accept / quarry_batch_accept ({"limit", "limit_value", "used",
 * "reserved", "requested"}). Records the rejection, adds Retry-After (until UTC midnight) and
 * returns the 429 QUOTA_EXCEEDED error body, with the detail and "resets_at" as details. */
json_t *intake_quota_exceeded(intake_pipeline *p, http_request *req, long long key_id,
                              const json_t *detail, int question_chars);

#endif
