/* questions.h - the intake's public API: routes a request to its handler.
 *
 *   GET     /healthz                        liveness
 *   POST    /v1/questions                   submit a question -> 202 {"id", "status": "queued", ...}
 *   GET     /v1/questions/{id}[?wait=N]     the job, for the key that submitted it only;
 *                                           with wait, long-polls up to N (<= 60) seconds
 *   POST    /v1/questions/{id}/cancel       cancels a job that has not started
 *   GET     /v1/usage                       the key's usage today against its limits
 *   OPTIONS any path                        CORS preflight
 *
 * The contract is schema/openapi.yaml. */
#ifndef QUARRY_INTAKE_QUESTIONS_H
#define QUARRY_INTAKE_QUESTIONS_H

#include "http.h"
#include "keycache.h"
#include "listener.h"
#include "pipeline.h"
#include "prices.h"
#include "ratelimit.h"
#include "store.h"

typedef struct {
    intake_store *store;          /* reads (polls, usage, cancel) and key loads */
    intake_pipeline *pipeline;    /* submissions */
    intake_listener *listener;    /* long-polls */
    q_keycache *keys;
    q_ratelimit *rates;
    q_prices *prices;
    const char *default_model;
    int default_max_tokens;
    int max_tokens_limit;
    int prompt_overhead_tokens;   /* added to the question's bytes in the input estimate */
    int fixed_response;           /* benchmark ceiling: POST /v1/questions answers a constant */
} intake_api;

/* An http_handler: ctx is an intake_api. */
void intake_handle(http_request *req, void *ctx);

#endif
