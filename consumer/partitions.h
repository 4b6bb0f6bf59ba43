/* partitions.h - the Kafka partitions assigned to this consumer: each one's window of
 * in-flight offsets (lowest in flight = the offset to store), pausing a partition whose
 * window is full and resuming only partitions this module paused (librdkafka 2.0.2
 * rewinds a partition on a spurious resume), and cooperative-sticky rebalances.
 *
 * A job remembers where its message came from as a partition_ref; when the partition is
 * revoked while the job is in flight, the ref goes stale (its generation no longer
 * matches) and finishing the job no longer touches offsets: the new owner has the
 * message, finds the job leased or terminal, and moves on. */
#ifndef QUARRY_CONSUMER_PARTITIONS_H
#define QUARRY_CONSUMER_PARTITIONS_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct {
    int32_t partition;
    int64_t offset;
    uint64_t generation;   /* 0: not from Kafka */
    int topic_index;
    int low_priority;      /* 1 for the batch topic */
} partition_ref;

typedef struct partitions partitions;

/* `window` is the most offsets one partition may have in flight before it is paused.
 * Attach the consumer handle (created with this object as its opaque) before polling. */
partitions *partitions_new(size_t window);
void partitions_attach(partitions *p, rd_kafka_t *rk);

/* Names the topic whose messages are low priority (batch jobs); NULL/"" for none. */
void partitions_set_low_priority_topic(partitions *p, const char *topic);
void partitions_free(partitions *p);

/* The rebalance callback to install with rd_kafka_conf_set_rebalance_cb; opaque must be
 * the partitions object (set it with rd_kafka_conf_set_opaque). */
void partitions_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque);

/* Records a message just received. Returns 0 and fills *ref, 1 when the offset is a
 * redelivery already tracked (skip the message), -1 when the partition is not assigned. */
int partitions_track(partitions *p, const rd_kafka_message_t *msg, partition_ref *ref);

/* Marks a message done (its job is settled, skipped or dead-lettered). Stale refs are
 * ignored. */
void partitions_done(partitions *p, const partition_ref *ref);

/* Stores the committable offset of every partition that moved (auto-commit sends them),
 * pauses partitions whose window is full and resumes paused ones that drained below
 * half. `hold_all` pauses every partition (the consumer holds as many jobs as it will);
 * `hold_low` pauses the low-priority topic's partitions only (enough batch work held). */
void partitions_sync(partitions *p, int hold_all, int hold_low);

/* Stores every committable offset and commits synchronously (drain, shutdown). */
void partitions_commit_now(partitions *p);

/* Offsets in flight across all partitions. */
size_t partitions_in_flight(const partitions *p);

#endif
