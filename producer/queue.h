/* queue.h - the intake's Kafka producer (idempotent, acks=all). Publishing never blocks a
 * thread on the broker: the delivery report arrives later, on the producer's poll thread. */
#ifndef QUARRY_INTAKE_QUEUE_H
#define QUARRY_INTAKE_QUEUE_H

#include <stddef.h>

typedef struct intake_queue intake_queue;

/* Called once per published message, on the poll thread, with the opaque given to
 * intake_queue_publish and the message itself (key = the job id, not NUL-terminated): err
 * is NULL when the broker acknowledged it, else the reason. The callback may publish again. */
typedef void (*intake_delivered_fn)(void *opaque, const char *key, size_t key_len,
                                    const void *payload, size_t len, const char *err,
                                    void *ctx);

/* Says which group a message belongs to, from the opaque given to intake_queue_publish: the
 * messages of one group go to one partition (group modulo the partition count), so a group
 * commit's jobs travel as one record batch instead of one small batch per partition. */
typedef unsigned long (*intake_group_fn)(void *opaque);

/* Creates the producer and its delivery-report thread; linger_ms is librdkafka's
 * linger.ms (how long messages wait to fill a batch). A message the broker has not
 * acknowledged within QUARRY_KAFKA_MESSAGE_TIMEOUT_MS (10,000) is reported as failed; one
 * for a broker never reached since startup waits in the producer's queue until it is (or
 * the producer stops: intake_queue_stop). NULL (logged) on failure. */
intake_queue *intake_queue_start(const char *brokers, const char *topic, const char *linger_ms,
                                 intake_delivered_fn delivered, intake_group_fn group_of,
                                 void *ctx);

/* Queues payload under `key` (copied). Returns 0 and the delivery callback will be called
 * exactly once, or -1 with the reason in err and the callback is never called. Safe to
 * call from many threads. */
int intake_queue_publish(intake_queue *q, const char *key, const char *payload, size_t len,
                         void *opaque, char *err, size_t err_size);

/* Flushes outstanding messages (up to 10 s; their callbacks run), purges what is still left
 * (their callbacks run with an error), stops the thread, frees. Accepts NULL. */
void intake_queue_stop(intake_queue *q);

#endif
