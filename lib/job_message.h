/* job_message.h - the Kafka message that carries a job from intake to consumer.
 *
 * Contract: schema/job-message.schema.json. The message is a pointer, not a copy: it
 * carries the job id and routing facts, never the question text, which stays in
 * PostgreSQL (the source of truth) and is read by the consumer when it claims the job.
 * The Kafka key is the job id, so redeliveries of one job stay on one partition. */
#ifndef QUARRY_JOB_MESSAGE_H
#define QUARRY_JOB_MESSAGE_H

#include <stddef.h>

#include "ids.h"

#define Q_JOB_MESSAGE_VERSION 1

typedef struct {
    char id[Q_UUID_LEN + 1];
    long long api_key_id;
    char model[256];
    long long created_at_ms;   /* Unix epoch milliseconds */
} q_job_message;

/* Returns a malloc'd compact JSON payload, or NULL when out of memory. */
char *q_job_message_encode(const q_job_message *m);

/* Parses and checks a payload. Returns 0, or -1 with a short reason in err (for the
 * dead-letter record). */
int q_job_message_decode(const void *payload, size_t len, q_job_message *out, char *err,
                         size_t err_size);

#endif
