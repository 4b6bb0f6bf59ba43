/* sweeper.h - makes sure no accepted job is ever stranded. Every interval, the one
 * consumer that wins a PostgreSQL advisory lock (so only one sweeper acts at a time):
 *   - ends as expired, with its money settled, every queued job past its deadline, and
 *     every queued job of a batch past its expiry;
 *   - re-publishes to Kafka jobs accepted long ago but still queued (never consumed, e.g.
 *     the intake died between commit and produce, or a message was lost; for batch jobs,
 *     only those of a batch whose publication the intake did not finish) and running
 *     jobs whose lease expired (their consumer died), at most once per `again` seconds
 *     per job. A re-published job is claimed like any other: at-least-once delivery,
 *     exactly-once effects. */
#ifndef QUARRY_CONSUMER_SWEEPER_H
#define QUARRY_CONSUMER_SWEEPER_H

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <time.h>

typedef struct {
    const char *topic;
    const char *batch_topic;           /* batch jobs go back here (NULL: to topic) */
    long interval_seconds;
    long queued_after_seconds;
    long again_seconds;
    long deadline_seconds;
    int batch;
} sweeper_config;

typedef struct sweeper sweeper;

/* Borrows conn and producer. */
sweeper *sweeper_new(const sweeper_config *cfg, PGconn *conn, rd_kafka_t *producer);
void sweeper_free(sweeper *s);

/* Sweeps when the interval has passed since the last sweep. */
void sweeper_tick(sweeper *s, time_t now);

#endif
