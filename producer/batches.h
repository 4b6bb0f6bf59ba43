/* batches.h - the batch API (contract: docs/batches.md, schema/openapi.yaml).
 *
 *   POST /v1/batches                  upload (JSONL or JSON, streamed) -> 202 batch object
 *   GET  /v1/batches[?limit&after]    the key's batches, newest first
 *   GET  /v1/batches/{id}             status, request_counts, usage, cost
 *   GET  /v1/batches/{id}/results     streamed JSONL, one line per request
 *   POST /v1/batches/{id}/cancel      cancels what has not started
 *
 * An upload is never held whole. Once the headers are in (intake_batch_begin) the key, rate
 * limit and content type are checked and a database connection of its own opens a
 * transaction: the batch row, then `COPY jobs FROM STDIN`. Each request is validated as it
 * arrives (lib/batch_reader.h splits the body) and the valid ones are streamed into the COPY;
 * the intake keeps only each job's id and model, and the custom_ids for the uniqueness check.
 * When the body ends (intake_batch_submit) the request is parked and a finishing thread
 * reserves the whole batch's quota (quarry_batch_accept, migration 0006), commits, produces
 * every job to the batch topic, waits for Kafka's acknowledgements, marks the batch
 * published and answers 202. A rejected batch (strict mode, quota, nothing valid) is rolled
 * back whole. */
#ifndef QUARRY_INTAKE_BATCHES_H
#define QUARRY_INTAKE_BATCHES_H

#include <stddef.h>

#include "checks.h"
#include "http.h"

typedef struct {
    const char *db_url;
    const char *brokers;
    const char *topic;                 /* the batch topic */
    long max_requests;                 /* requests per batch */
    long long max_bytes;               /* upload size */
    size_t max_request_bytes;          /* one request (line) */
    long completion_window_seconds;    /* batches.expires_at = created_at + this */
    int max_uploads;                   /* uploads at once on this instance */
} intake_batches_config;

/* Starts the batch topic's producer. NULL (logged) on failure. */
intake_batches *intake_batches_start(const intake_batches_config *cfg);
/* Refuses new uploads and waits until every finishing upload has been answered. Accepts
 * NULL; a second call does nothing. */
void intake_batches_stop(intake_batches *b);
/* Flushes Kafka and frees, once no request can reach it (after http_server_stop). Accepts
 * NULL. */
void intake_batches_free(intake_batches *b);

/* POST /v1/batches when its headers are in (the server's begin hook): checks, then streams
 * the body, or replies at once. */
void intake_batch_begin(http_request *req, intake_api *api);
/* POST /v1/batches once the body has been read. */
void intake_batch_submit(http_request *req, intake_api *api);
void intake_batch_list(http_request *req, intake_api *api);
void intake_batch_get(http_request *req, intake_api *api, const char *id);
void intake_batch_results(http_request *req, intake_api *api, const char *id);
void intake_batch_cancel(http_request *req, intake_api *api, const char *id);

#endif
