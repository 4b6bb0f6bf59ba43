/* invoker.h - many Bedrock InvokeModel calls in flight at once over libcurl multi
 * handles (connection reuse, no thread per call; one multi handle per 32 calls, so
 * libcurl's search for an idle connection stays short), all on one epoll set, each call
 * signed with Quarry's own SigV4 (signing key cached per day) or sent with a Bedrock API
 * key.
 *
 * Target, the rule the README documents:
 *   QUARRY_BEDROCK_ENDPOINT set           -> that endpoint, credentials from the chain
 *   else credentials found in the chain    -> https://bedrock-runtime.REGION.amazonaws.com
 *   else                                   -> the emulator at 127.0.0.1:8090 with its
 *                                             development key pair
 * Single-threaded: all calls happen on the consumer's event loop. */
#ifndef QUARRY_CONSUMER_INVOKER_H
#define QUARRY_CONSUMER_INVOKER_H

#include <stddef.h>

#include "bedrock.h"

typedef struct invoker invoker;

typedef struct {
    int ok;                     /* 1: answer is set; 0: error is set */
    q_bedrock_answer answer;
    q_bedrock_error error;
    char request_id[96];        /* x-amzn-RequestId, "" when none */
    long retry_after_ms;        /* from Retry-After / x-amz-retry-after, -1 when none */
    long latency_ms;            /* wall time of the HTTP exchange */
} invoke_result;

/* Called by invoker_run once per finished call. `result` is valid only during the call;
 * the callback may take ownership of result->answer by zeroing it. */
typedef void (*invoker_done_fn)(void *call_ctx, invoke_result *result, void *run_ctx);

/* Reads the target, region, timeout and credentials from the environment. NULL (logged
 * without secrets) when unusable. */
invoker *invoker_new(long max_in_flight);

/* Aborts calls still in flight (their callbacks are not called) and frees. Accepts NULL. */
void invoker_free(invoker *inv);

const char *invoker_endpoint(const invoker *inv);

/* The credentials provider in use (for --check-credentials). */
struct credentials *invoker_credentials(invoker *inv);

/* Starts one call. `body` must stay valid until the call's callback ran. Returns 0, or
 * -1 with *failure filled (e.g. no valid credentials right now); then no callback comes. */
int invoker_start(invoker *inv, const char *model_id, const char *body, void *call_ctx,
                  invoke_result *failure);

/* Drives transfers, waiting up to timeout_ms for activity, and calls `done` for every
 * finished call. Returns the number of calls finished. */
int invoker_run(invoker *inv, int timeout_ms, invoker_done_fn done, void *run_ctx);

size_t invoker_in_flight(const invoker *inv);

/* Frees the answer held by a result (accepts a zeroed one). */
void invoke_result_free(invoke_result *r);

#endif
