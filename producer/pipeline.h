/* pipeline.h - the intake's accept pipeline: group commit into PostgreSQL, then Kafka.
 *
 * HTTP workers validate a submission, suspend its request and hand it over with
 * intake_pipeline_submit(). A few pipeline threads, each with its own database connection,
 * take every submission waiting at that moment and accept them in one call of
 * quarry_intake_accept() (migration 0003): one transaction inserts the jobs, reserves quota
 * atomically per key and honours idempotency keys. The more load, the bigger the batches, so
 * the per-job cost of a commit falls as traffic rises.
 *
 * Once the commit returns, each accepted job is handed to the Kafka producer (all of one
 * batch to one partition: one record batch for the broker) and its request is answered 202
 * at once: the job is durable in PostgreSQL, which is what a 202 promises. The broker's
 * acknowledgement arrives later; a job it does not acknowledge is produced again, up to
 * QUARRY_INTAKE_PUBLISH_ATTEMPTS times, and otherwise stays queued for the sweeper, which
 * re-publishes queued jobs (QUARRY_SWEEP_QUEUED_AFTER_SECONDS). When the producer will not
 * even take the message (its local queue full), the job is ended and the client gets 503.
 *
 * Rejections and flags worth reporting (rate limit, quota, injection, model) are queued with
 * intake_pipeline_record() and written in batches too (a bounded queue: under a flood the
 * excess is counted in the log rather than stored). */
#ifndef QUARRY_INTAKE_PIPELINE_H
#define QUARRY_INTAKE_PIPELINE_H

#include <jansson.h>

#include "http.h"
#include "ids.h"

typedef struct intake_submission {
    http_request *req;            /* suspended; answered and resumed by the pipeline */
    char id[Q_UUID_LEN + 1];
    long long key_id;
    json_t *body;                 /* owns question and model */
    const char *question;
    const char *model;
    int max_tokens;
    int has_temperature;
    double temperature;
    int question_chars;
    long long reserved_tokens;
    long long reserved_pico;      /* USD reserved, in pico-USD */
    const char *injection_reason; /* static; non-NULL when flagged */
    int injection_score;
    char *idempotency_key;        /* owned; NULL when the request had none */
    char body_sha256[65];         /* hex, when idempotency_key is set */
    long long queued_us;          /* private: when handed to the pipeline */
    unsigned long group;          /* private: its group commit, which picks its partition */
    long seq;                     /* private */
    struct intake_submission *next; /* private */
} intake_submission;

/* A new submission for `req`, attached to it (freed when the request ends). NULL when out
 * of memory. */
intake_submission *intake_submission_new(http_request *req);

typedef struct {
    long long key_id;
    const char *code;             /* static: "RATE_LIMITED", ... */
    const char *action;           /* static: "blocked" | "rejected" */
    const char *reason;           /* static or NULL */
    int question_chars;           /* -1 when unknown */
    int score;                    /* -1 when none */
    char request_id[72];
} intake_rejection;

typedef struct intake_pipeline intake_pipeline;

typedef struct {
    const char *db_url;
    unsigned committers;          /* pipeline threads, one database connection each */
    int publish_attempts;         /* a job's message is produced this often at most */
    int slow_commit_ms;           /* a group commit taking this long is logged (warn) */
    const char *brokers;
    const char *topic;
} intake_pipeline_config;

/* Starts the committers, the answering thread and the Kafka producer. NULL (logged) on
 * failure. */
intake_pipeline *intake_pipeline_start(const intake_pipeline_config *cfg);

/* Takes over a suspended submission: the pipeline answers and resumes its request. */
void intake_pipeline_submit(intake_pipeline *p, intake_submission *s);

/* Queues a rejection record (copied). */
void intake_pipeline_record(intake_pipeline *p, const intake_rejection *r);

/* Answers everything still queued, stops the threads and flushes Kafka (up to 10 s; what
 * is left stays queued for the sweeper); submissions after this are answered 503 at once.
 * Accepts NULL; a second call does nothing. */
void intake_pipeline_stop(intake_pipeline *p);
/* Stops (if needed) and frees; only once no request can reach the pipeline any more (after
 * http_server_stop). Accepts NULL. */
void intake_pipeline_free(intake_pipeline *p);

#endif
