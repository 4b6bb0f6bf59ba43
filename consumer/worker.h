/* worker.h - runs one job to a terminal state: claim it, call the model with retries
 * and backoff, settle the result, all under the job's deadline.
 *
 * The caller stores the Kafka offset only when worker_process returns WORK_DONE, so a
 * job is never acknowledged before its outcome is committed in PostgreSQL. */
#ifndef QUARRY_CONSUMER_WORKER_H
#define QUARRY_CONSUMER_WORKER_H

#include <libpq-fe.h>
#include <signal.h>

#include "bedrock_client.h"
#include "job_message.h"
#include "prices.h"

typedef struct {
    PGconn *conn;
    bedrock_client *bedrock;
    q_prices *prices;
    const char *owner;             /* lease owner id: host:pid:random */
    const char *system_prompt;
    int lease_seconds;
    int max_attempts;              /* model calls per claim, first one included */
    int max_bounded_attempts;      /* for ModelTimeoutException / ModelErrorException */
    long backoff_base_ms;
    long backoff_cap_ms;
    long deadline_seconds;         /* from job creation; past it the job ends expired */
    volatile sig_atomic_t *stop;   /* set by the signal handler */
    unsigned long long rng;        /* private: jitter state */
} worker;

typedef enum {
    WORK_DONE = 0,      /* terminal, skipped or unknown: store the offset */
    WORK_INTERRUPTED    /* shutdown before the job was settled: do not store the offset */
} work_outcome;

work_outcome worker_process(worker *w, const q_job_message *m);

#endif
