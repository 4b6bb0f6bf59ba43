/* questions.h - the intake's public API: routes a request to its handler.
 *
 *   GET  /healthz                  liveness
 *   POST /v1/questions             submit a question   -> 202 {"id", "status": "queued", ...}
 *   GET  /v1/questions/{id}        the job, for the key that submitted it only
 *
 * The contract is schema/openapi.yaml. */
#ifndef QUARRY_INTAKE_QUESTIONS_H
#define QUARRY_INTAKE_QUESTIONS_H

#include "http.h"
#include "prices.h"
#include "queue.h"
#include "store.h"

typedef struct {
    intake_store *store;
    intake_queue *queue;
    q_prices *prices;
    const char *default_model;
    int default_max_tokens;
    int max_tokens_limit;
} intake_api;

/* An http_handler: ctx is an intake_api. */
void intake_handle(http_request *req, void *ctx);

#endif
