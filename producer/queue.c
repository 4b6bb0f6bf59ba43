/* queue.c - the intake's Kafka producer with asynchronous delivery reports (see queue.h). */
#include "queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kafka.h"
#include "log.h"

struct intake_queue {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    pthread_t poller;
    atomic_int running;
    intake_delivered_fn delivered;
    intake_group_fn group_of;
    void *ctx;
};

/* Every message of a group to the same partition (see intake_group_fn); the job id stays
 * the message key. Nothing downstream relies on where a job id lands: ids are unique and the
 * consumer claims each job by id. An unavailable partition falls back to the key's hash. */
static int32_t partition_of(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                            int32_t partition_cnt, void *rkt_opaque, void *msg_opaque)
{
    intake_queue *q = rkt_opaque;
    int32_t part;

    if (partition_cnt <= 0)
        return RD_KAFKA_PARTITION_UA;
    if (!msg_opaque)
        return rd_kafka_msg_partitioner_consistent_random(rkt, key, keylen, partition_cnt,
                                                          rkt_opaque, msg_opaque);
    part = (int32_t)(q->group_of(msg_opaque) % (unsigned long)partition_cnt);
    if (rd_kafka_topic_partition_available(rkt, part))
        return part;
    return rd_kafka_msg_partitioner_consistent_random(rkt, key, keylen, partition_cnt,
                                                      rkt_opaque, msg_opaque);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    intake_queue *q = opaque;

    (void)rk;
    if (msg->_private)
        q->delivered(msg->_private, msg->key, msg->key_len, msg->payload, msg->len,
                     msg->err ? rd_kafka_err2str(msg->err) : NULL, q->ctx);
}

static void *poll_loop(void *arg)
{
    intake_queue *q = arg;

    while (atomic_load(&q->running))
        rd_kafka_poll(q->rk, 100);
    return NULL;
}

intake_queue *intake_queue_start(const char *brokers, const char *topic, const char *linger_ms,
                                 intake_delivered_fn delivered, intake_group_fn group_of,
                                 void *ctx)
{
    intake_queue *q = calloc(1, sizeof(*q));
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_conf_t *tconf = NULL;
    char errstr[512];

    if (!q)
        return NULL;
    q->delivered = delivered;
    q->group_of = group_of;
    q->ctx = ctx;
    conf = q_kafka_conf_new(brokers, "quarry-intake");
    if (!conf || q_kafka_conf_set(conf, "enable.idempotence", "true") ||
        q_kafka_conf_set(conf, "acks", "all") || q_kafka_conf_set(conf, "linger.ms", linger_ms) ||
        q_kafka_conf_set(conf, "message.timeout.ms",
                         q_env_str("QUARRY_KAFKA_MESSAGE_TIMEOUT_MS", "10000")) ||
        q_kafka_conf_set(conf, "queue.buffering.max.messages", "200000") ||
        /* Small produce requests must not wait for Nagle + delayed ACK (tens of ms). */
        q_kafka_conf_set(conf, "socket.nagle.disable", "true") ||
        q_kafka_conf_set(conf, "compression.type", q_env_str("QUARRY_KAFKA_COMPRESSION", "lz4")))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, q);
    q->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!q->rk) {
        q_log(Q_LOG_ERROR, "kafka.producer_failed", json_pack("{s:s}", "error", errstr));
        goto fail;
    }
    conf = NULL; /* owned by q->rk now */
    if (group_of) {
        tconf = rd_kafka_topic_conf_new();
        if (!tconf)
            goto fail;
        rd_kafka_topic_conf_set_partitioner_cb(tconf, partition_of);
        rd_kafka_topic_conf_set_opaque(tconf, q);
    }
    q->rkt = rd_kafka_topic_new(q->rk, topic, tconf);
    tconf = NULL; /* owned by q->rkt now, or freed by a failed rd_kafka_topic_new */
    if (!q->rkt)
        goto fail;
    atomic_store(&q->running, 1);
    if (pthread_create(&q->poller, NULL, poll_loop, q) != 0) {
        atomic_store(&q->running, 0);
        goto fail;
    }
    return q;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (q->rkt)
        rd_kafka_topic_destroy(q->rkt);
    if (q->rk)
        rd_kafka_destroy(q->rk);
    free(q);
    return NULL;
}

int intake_queue_publish(intake_queue *q, const char *key, const char *payload, size_t len,
                         void *opaque, char *err, size_t err_size)
{
    if (rd_kafka_produce(q->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)payload,
                         len, key, strlen(key), opaque) != 0) {
        snprintf(err, err_size, "could not enqueue to kafka: %s",
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

void intake_queue_stop(intake_queue *q)
{
    if (!q)
        return;
    /* rd_kafka_flush serves delivery reports itself while the poll thread runs too. What the
     * broker has not taken after 10 s is purged: its delivery reports (failed) still run, so
     * every callback is called exactly once. */
    if (rd_kafka_flush(q->rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        q_log(Q_LOG_WARN, "kafka.flush_incomplete",
              json_pack("{s:i}", "outstanding", rd_kafka_outq_len(q->rk)));
        rd_kafka_purge(q->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(q->rk, 2000);
    }
    atomic_store(&q->running, 0);
    pthread_join(q->poller, NULL);
    rd_kafka_topic_destroy(q->rkt);
    rd_kafka_destroy(q->rk);
    free(q);
}
