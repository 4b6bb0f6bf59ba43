/* queue.h - the intake's Kafka producer: publishes a job message and waits for the
 * broker's acknowledgement (idempotent producer, acks=all), so a 202 is only sent for
 * a job that is both committed in PostgreSQL and durable in Kafka. */
#ifndef QUARRY_INTAKE_QUEUE_H
#define QUARRY_INTAKE_QUEUE_H

#include <stddef.h>

typedef struct intake_queue intake_queue;

/* Creates the producer and its delivery-report thread. NULL (logged) on failure. */
intake_queue *intake_queue_start(const char *brokers, const char *topic);

/* Publishes payload under `key` and blocks until the broker acknowledged it or
 * delivery failed (bounded by message.timeout.ms). Returns 0, or -1 with the reason
 * in err. Safe to call from many threads. */
int intake_queue_publish(intake_queue *q, const char *key, const char *payload, size_t len,
                         char *err, size_t err_size);

/* Flushes outstanding messages (up to 10 s), stops the thread, frees. Accepts NULL. */
void intake_queue_stop(intake_queue *q);

#endif
