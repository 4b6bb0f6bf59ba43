/* pipeline.h - every claimed job from the moment it is claimed until it is settled:
 *
 *   claimed -> model queue -> (rate control) -> in flight -> answer -> settle batch
 *                   ^                                  |
 *                   +---- retry timer (backoff) <------+-> failure -> settle batch
 *
 * Per model (each id on a job's fallback route) two FIFO queues (interactive first, then
 * batch jobs, which may use at most max_low_in_flight calls) and a q_model_rate decide
 * when a call may go; the invoker keeps up to max_in_flight calls open; finished jobs
 * are settled in batches (one transaction each) and only then is their Kafka message
 * marked done. Retry policy (documented in the README):
 *   throttling, ModelNotReady, 5xx, timeouts, connection errors, unreadable 200s:
 *       retried with full-jitter exponential backoff (Retry-After honoured, capped)
 *   ModelTimeoutException (408) / ModelErrorException (424):
 *       retried too, but at most max_bounded_attempts calls of that kind per job
 *   400 / 403 / 404 and other client errors: never retried
 *   all of it bounded by max_attempts calls and the job's deadline.
 * A job moves to the next id on its route (QUARRY_MODEL_FALLBACKS) after fallback_after
 * consecutive throttled/unavailable calls on one model id, or at once when that model is
 * being throttled and its rate limit would hold the job back fallback_wait_ms or more. */
#ifndef QUARRY_CONSUMER_PIPELINE_H
#define QUARRY_CONSUMER_PIPELINE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "invoker.h"
#include "jobs.h"
#include "model_routes.h"
#include "partitions.h"
#include "prices.h"

typedef struct {
    const char *owner;
    const char *system_prompt;
    size_t max_in_flight;
    size_t max_low_in_flight;     /* calls open for batch jobs at most (rest kept for interactive) */
    int max_attempts;
    int max_bounded_attempts;
    int fallback_after;
    long fallback_wait_ms;        /* a throttled model's queue wait that sends a job on */
    long backoff_base_ms, backoff_cap_ms;
    long deadline_seconds;
    long batch_deadline_seconds;  /* for jobs of the batch topic */
    int lease_seconds;
    size_t settle_batch;          /* flush when this many are waiting */
    long settle_delay_ms;         /* or when the oldest waited this long */
    const char *model_budgets;    /* QUARRY_MODEL_BUDGETS: "MODEL=RPM/TPM;..." */
} pipeline_config;

typedef struct pipeline pipeline;

typedef struct {
    unsigned long long claimed, succeeded, failed, expired, skipped, retries, throttled,
        lease_lost, settle_batches;
    double claim_ms, settle_ms;   /* wall time the loop spent waiting on these statements */
} pipeline_stats;

/* The pipeline borrows every pointer; they must outlive it. NULL when out of memory or
 * the budgets text is malformed (logged). */
pipeline *pipeline_new(const pipeline_config *cfg, PGconn *conn, invoker *inv,
                       partitions *parts, q_prices *prices, const q_model_routes *routes);
void pipeline_free(pipeline *pl);

/* Takes a batch of job messages (ids and their Kafka refs), claims them in one statement
 * and queues the claimed ones. Messages for terminal/leased/unknown jobs are marked done.
 * Returns 0, or -1 on a database error (nothing was claimed; the caller retries later). */
int pipeline_claim(pipeline *pl, const char *const *ids, const partition_ref *refs, size_t n);

/* One turn of the loop: start what may start, wait up to wait_ms for call activity,
 * handle finished calls, settle what is due. */
void pipeline_step(pipeline *pl, int wait_ms);

/* Jobs held: claimed and not yet settled (queued, waiting to retry, in flight, or
 * waiting in a settle batch); the second counts batch (low-priority) jobs only. */
size_t pipeline_held(const pipeline *pl);
size_t pipeline_held_low(const pipeline *pl);

/* Settles everything waiting to be settled now. Returns 0, or -1 on a database error. */
int pipeline_flush(pipeline *pl);

/* Drain support: gives back (to status queued, lease dropped) every job not in flight,
 * so another consumer can take it at once. Returns the number released, or -1. */
long pipeline_release_waiting(pipeline *pl);

/* Gives back every job still held (after the drain grace period). */
long pipeline_release_all(pipeline *pl);

/* The milliseconds until the pipeline next has something to do without I/O (a retry
 * timer or a rate-limit wait), capped at cap_ms. */
int pipeline_idle_ms(const pipeline *pl, int cap_ms);

const pipeline_stats *pipeline_get_stats(const pipeline *pl);

#endif
