/* partitions.c - assigned partitions, offset windows, pause/resume (see partitions.h). */
#include "partitions.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offset_window.h"

typedef struct {
    char *topic;
    int32_t partition;
    uint64_t generation;
    q_offset_window window;
    int64_t stored;        /* last offset handed to rd_kafka_offsets_store, -1 none */
    int paused;
} part_state;

struct partitions {
    rd_kafka_t *rk;
    size_t window;
    part_state *parts;
    size_t n, cap;
    uint64_t next_generation;
    char **topics;         /* interned topic names, for partition_ref.topic_index */
    size_t n_topics;
    char *low_topic;       /* batch topic: paused first, never starves interactive work */
};

partitions *partitions_new(size_t window)
{
    partitions *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->window = window;
    p->next_generation = 1;
    return p;
}

void partitions_attach(partitions *p, rd_kafka_t *rk)
{
    p->rk = rk;
}

void partitions_set_low_priority_topic(partitions *p, const char *topic)
{
    free(p->low_topic);
    p->low_topic = topic && *topic ? strdup(topic) : NULL;
}

static void part_free(part_state *s)
{
    free(s->topic);
    q_offset_window_free(&s->window);
}

void partitions_free(partitions *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        part_free(&p->parts[i]);
    for (size_t i = 0; i < p->n_topics; i++)
        free(p->topics[i]);
    free(p->topics);
    free(p->parts);
    free(p->low_topic);
    free(p);
}

static int topic_index(partitions *p, const char *topic)
{
    char **grown;

    for (size_t i = 0; i < p->n_topics; i++)
        if (strcmp(p->topics[i], topic) == 0)
            return (int)i;
    grown = realloc(p->topics, (p->n_topics + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    p->topics = grown;
    p->topics[p->n_topics] = strdup(topic);
    return p->topics[p->n_topics] ? (int)p->n_topics++ : -1;
}

static part_state *find(partitions *p, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->parts[i].partition == partition && strcmp(p->parts[i].topic, topic) == 0)
            return &p->parts[i];
    return NULL;
}

static void assign(partitions *p, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        part_state *s;

        if (find(p, tp->topic, tp->partition) || topic_index(p, tp->topic) < 0)
            continue;
        if (p->n == p->cap) {
            size_t ncap = p->cap ? p->cap * 2 : 16;
            part_state *grown = realloc(p->parts, ncap * sizeof(*grown));
            if (!grown)
                continue;
            p->parts = grown;
            p->cap = ncap;
        }
        s = &p->parts[p->n];
        memset(s, 0, sizeof(*s));
        s->topic = strdup(tp->topic);
        if (!s->topic)
            continue;
        s->partition = tp->partition;
        s->generation = p->next_generation++;
        s->stored = -1;
        q_offset_window_init(&s->window);
        p->n++;
    }
}

/* Stores the revoked partitions' committable offsets, commits them synchronously while
 * they are still ours, and forgets them. */
static void revoke(partitions *p, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *commit = rd_kafka_topic_partition_list_new(parts->cnt);
    rd_kafka_resp_err_t err;

    for (int i = 0; i < parts->cnt; i++) {
        part_state *s = find(p, parts->elems[i].topic, parts->elems[i].partition);

        if (!s)
            continue;
        if (s->window.next_commit >= 0 && s->window.next_commit != s->stored)
            rd_kafka_topic_partition_list_add(commit, s->topic, s->partition)->offset =
                s->window.next_commit;
        q_log(Q_LOG_INFO, "kafka.partition_revoked",
              json_pack("{s:s,s:i,s:I,s:i}", "topic", s->topic, "partition", s->partition,
                        "commit_offset", (json_int_t)s->window.next_commit, "in_flight",
                        (int)q_offset_window_in_flight(&s->window)));
        part_free(s);
        *s = p->parts[--p->n];
    }
    if (commit->cnt) {
        err = rd_kafka_commit(p->rk, commit, 0);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            q_log(Q_LOG_WARN, "kafka.commit_failed", json_pack("{s:s}", "error",
                                                               rd_kafka_err2str(err)));
    }
    rd_kafka_topic_partition_list_destroy(commit);
}

void partitions_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    partitions *p = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;

    q_log(Q_LOG_INFO, "kafka.rebalance",
          json_pack("{s:s,s:i,s:s}", "change",
                    err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assign" : "revoke",
                    "partitions", parts->cnt, "protocol", rd_kafka_rebalance_protocol(rk)));
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        assign(p, parts);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
    } else {
        /* __REVOKE_PARTITIONS, or an error: give up what we hold */
        revoke(p, parts);
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (error) {
        q_log(Q_LOG_ERROR, "kafka.rebalance_failed",
              json_pack("{s:s}", "error", rd_kafka_error_string(error)));
        rd_kafka_error_destroy(error);
    }
}

int partitions_track(partitions *p, const rd_kafka_message_t *msg, partition_ref *ref)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    part_state *s = find(p, topic, msg->partition);
    int rc;

    if (!s)
        return -1;
    rc = q_offset_window_add(&s->window, msg->offset);
    if (rc != 0)
        return rc < 0 ? -1 : 1;
    ref->partition = msg->partition;
    ref->offset = msg->offset;
    ref->generation = s->generation;
    ref->topic_index = topic_index(p, topic);
    ref->low_priority = p->low_topic && strcmp(p->low_topic, topic) == 0;
    return 0;
}

void partitions_done(partitions *p, const partition_ref *ref)
{
    if (!ref->generation)
        return;
    for (size_t i = 0; i < p->n; i++) {
        part_state *s = &p->parts[i];

        if (s->generation == ref->generation) {
            q_offset_window_done(&s->window, ref->offset);
            return;
        }
    }
}

static void set_paused(partitions *p, part_state *s, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(l, s->topic, s->partition);
    if (pause)
        rd_kafka_pause_partitions(p->rk, l);
    else
        rd_kafka_resume_partitions(p->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    s->paused = pause;
    q_log(Q_LOG_DEBUG, pause ? "kafka.partition_paused" : "kafka.partition_resumed",
          json_pack("{s:s,s:i}", "topic", s->topic, "partition", s->partition));
}

void partitions_sync(partitions *p, int hold_all, int hold_low)
{
    rd_kafka_topic_partition_list_t *store = NULL;

    for (size_t i = 0; i < p->n; i++) {
        part_state *s = &p->parts[i];
        size_t in_flight = s->window.len;
        int hold = hold_all || (hold_low && p->low_topic && strcmp(s->topic, p->low_topic) == 0);

        if (s->window.next_commit >= 0 && s->window.next_commit != s->stored) {
            if (!store)
                store = rd_kafka_topic_partition_list_new((int)p->n);
            rd_kafka_topic_partition_list_add(store, s->topic, s->partition)->offset =
                s->window.next_commit;
            s->stored = s->window.next_commit;
        }
        if (!s->paused && (hold || in_flight >= p->window))
            set_paused(p, s, 1);
        else if (s->paused && !hold && in_flight < p->window / 2)
            set_paused(p, s, 0); /* only partitions we paused are ever resumed */
    }
    if (store) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(p->rk, store);
        if (err)
            q_log(Q_LOG_WARN, "kafka.offset_store_failed",
                  json_pack("{s:s}", "error", rd_kafka_err2str(err)));
        rd_kafka_topic_partition_list_destroy(store);
    }
}

void partitions_commit_now(partitions *p)
{
    rd_kafka_resp_err_t err;

    for (size_t i = 0; i < p->n; i++)
        p->parts[i].stored = -1; /* force a store of every committable offset */
    partitions_sync(p, 1, 1);
    err = rd_kafka_commit(p->rk, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        q_log(Q_LOG_WARN, "kafka.commit_failed", json_pack("{s:s}", "error",
                                                           rd_kafka_err2str(err)));
}

size_t partitions_in_flight(const partitions *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n; i++)
        n += p->parts[i].window.len;
    return n;
}
