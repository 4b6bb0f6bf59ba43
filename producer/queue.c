/* queue.c - the intake's Kafka producer with synchronous delivery (see queue.h). */
#include "queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "log.h"

struct intake_queue {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    pthread_t poller;
    atomic_int running;
};

/* One per publish call, on the caller's stack; the delivery callback signals it. The
 * caller waits until `done`, and librdkafka always delivers a report (success or
 * failure) within message.timeout.ms, so the stack frame outlives the callback. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    rd_kafka_resp_err_t err;
} delivery_wait;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    delivery_wait *w = msg->_private;

    (void)rk;
    (void)opaque;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->err = msg->err;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *poll_loop(void *arg)
{
    intake_queue *q = arg;

    while (q->running)
        rd_kafka_poll(q->rk, 100);
    return NULL;
}

intake_queue *intake_queue_start(const char *brokers, const char *topic)
{
    intake_queue *q = calloc(1, sizeof(*q));
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];

    if (!q)
        return NULL;
    conf = q_kafka_conf_new(brokers, "quarry-intake");
    if (!conf || q_kafka_conf_set(conf, "enable.idempotence", "true") ||
        q_kafka_conf_set(conf, "acks", "all") || q_kafka_conf_set(conf, "linger.ms", "2") ||
        q_kafka_conf_set(conf, "message.timeout.ms", "10000") ||
        q_kafka_conf_set(conf, "compression.type", "lz4"))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    q->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!q->rk) {
        q_log(Q_LOG_ERROR, "kafka.producer_failed", json_pack("{s:s}", "error", errstr));
        goto fail;
    }
    conf = NULL; /* owned by q->rk now */
    q->rkt = rd_kafka_topic_new(q->rk, topic, NULL);
    if (!q->rkt)
        goto fail;
    q->running = 1;
    if (pthread_create(&q->poller, NULL, poll_loop, q) != 0) {
        q->running = 0;
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
                         char *err, size_t err_size)
{
    delivery_wait w = {.done = 0, .err = RD_KAFKA_RESP_ERR_NO_ERROR};
    int rc = -1;

    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    if (rd_kafka_produce(q->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)payload,
                         len, key, strlen(key), &w) != 0) {
        snprintf(err, err_size, "could not enqueue to kafka: %s",
                 rd_kafka_err2str(rd_kafka_last_error()));
        goto out;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (w.err) {
        snprintf(err, err_size, "kafka did not acknowledge the job: %s", rd_kafka_err2str(w.err));
        goto out;
    }
    rc = 0;
out:
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}

void intake_queue_stop(intake_queue *q)
{
    if (!q)
        return;
    if (rd_kafka_flush(q->rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        q_log(Q_LOG_WARN, "kafka.flush_incomplete",
              json_pack("{s:i}", "outstanding", rd_kafka_outq_len(q->rk)));
    q->running = 0;
    pthread_join(q->poller, NULL);
    rd_kafka_topic_destroy(q->rkt);
    rd_kafka_destroy(q->rk);
    free(q);
}
