/* jobs.h - the consumer's side of the job lifecycle in PostgreSQL: claim a job under a
 * lease, then settle it exactly once (succeeded, failed or expired), adding its real
 * usage to the key's daily totals in the same statement.
 *
 * Only a claimed job (status running, lease_owner = us) can be settled, and settling
 * moves it to a terminal state and calls quarry_job_settled() (migration 0002) in the
 * same transaction, so a job's usage and cost are counted exactly once however often
 * its message is delivered. */
#ifndef QUARRY_CONSUMER_JOBS_H
#define QUARRY_CONSUMER_JOBS_H

#include <libpq-fe.h>

#include "bedrock.h"

typedef enum {
    JOB_CLAIMED = 0,
    JOB_ALREADY_TERMINAL,   /* redelivery of a finished job: skip without a model call */
    JOB_LEASED_ELSEWHERE,   /* another consumer holds a live lease */
    JOB_UNKNOWN,            /* no such job row */
    JOB_CLAIM_ERROR         /* database error: do not store the offset */
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

job_claim_result jobs_claim(PGconn *conn, const char *job_id, const char *owner,
                            int lease_seconds, job_work *out);
void job_work_free(job_work *w);

/* Extends our lease before another model call. Returns 1, 0 when the lease was lost
 * (stop working on the job), -1 on a database error. */
int jobs_renew_lease(PGconn *conn, const char *job_id, const char *owner, int lease_seconds);

typedef struct {
    const q_bedrock_answer *answer;
    const char *answered_model;
    const char *cost_usd;          /* numeric text, NULL when the model has no price */
    int attempts;                  /* model calls made under this claim */
    const char *request_id;
    long latency_ms;
} job_success;

/* Returns 1 when settled, 0 when the lease was lost (someone else settles), -1 on a
 * database error. */
int jobs_settle_success(PGconn *conn, const char *job_id, const char *owner,
                        const job_success *s);

/* Ends a claimed job as `status` ("failed" or "expired") with an error code and message.
 * Same return values as jobs_settle_success. */
int jobs_settle_failure(PGconn *conn, const char *job_id, const char *owner, const char *status,
                        int attempts, const char *code, const char *message);

#endif
