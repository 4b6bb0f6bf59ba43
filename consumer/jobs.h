/* jobs.h - the consumer's side of the job lifecycle in PostgreSQL, in batches: claim
 * jobs under a lease, renew the leases, settle jobs exactly once (succeeded, failed or
 * expired) together with their money, and record dead letters.
 *
 * Only a job we hold (status running, lease_owner = us) can be settled; settling moves
 * it to a terminal state and calls quarry_jobs_settled() (migration 0002) in the
 * same transaction, so a job's usage and cost are counted exactly once however often its
 * message is delivered. */
#ifndef QUARRY_CONSUMER_JOBS_H
#define QUARRY_CONSUMER_JOBS_H

#include <libpq-fe.h>
#include <stddef.h>

typedef enum {
    JOB_CLAIMED = 0,
    JOB_ALREADY_TERMINAL,   /* redelivery of a finished job: skip without a model call */
    JOB_LEASED_ELSEWHERE,   /* another holder has a live lease (or a duplicate in the batch) */
    JOB_UNKNOWN             /* no such job row */
} job_claim_result;

typedef struct {
    char *question;
    char *model;
    int max_tokens;
    int has_temperature;
    double temperature;
    long long api_key_id;
    long long created_at_epoch;   /* seconds */
} job_work;

typedef struct {
    const char *id;               /* in */
    job_claim_result result;      /* out */
    job_work work;                /* out, when JOB_CLAIMED: owned, free with job_work_free */
} job_claim;

/* Claims a batch of jobs in one statement. Returns 0, or -1 on a database error (then
 * no job was claimed). */
int jobs_claim_batch(PGconn *conn, const char *owner, int lease_seconds, job_claim *claims,
                     size_t n);
void job_work_free(job_work *w);

/* Extends every lease we hold. Returns the number of jobs renewed, or -1. */
long jobs_renew_leases(PGconn *conn, const char *owner, int lease_seconds);

typedef struct {
    const char *id;
    const char *status;           /* "succeeded", "failed" or "expired" */
    int attempts;                 /* model calls made under this claim */
    /* succeeded */
    const char *answer, *stop_reason, *answered_model, *request_id;
    const char *cost_usd;         /* numeric text; NULL when the model has no price */
    long long input_tokens, output_tokens, cache_read_tokens, cache_write_tokens;
    long latency_ms;
    /* failed / expired */
    const char *error_code, *error_message;
    int settled;                  /* out: 1 settled by this call, 0 lease lost */
} job_settlement;

/* Settles a batch in one transaction. Returns the number settled, or -1 on a database
 * error (rolled back: nothing settled). */
int jobs_settle_batch(PGconn *conn, const char *owner, job_settlement *s, size_t n);

/* Gives jobs back: each one we hold goes back to status queued with no lease, so the
 * next consumer that sees its message claims it at once. Returns the number released,
 * or -1. */
long jobs_release_batch(PGconn *conn, const char *owner, const char *const *ids, size_t n);

/* Records a dead-lettered message. Returns 0 or -1. */
int jobs_record_dead_letter(PGconn *conn, const char *topic, int partition, long long offset,
                            const char *reason, const void *payload, size_t len);

#endif
