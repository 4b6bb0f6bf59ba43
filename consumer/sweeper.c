/* sweeper.c - re-publishes stranded jobs and expires overdue ones (see sweeper.h). */
#include "sweeper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "job_message.h"
#include "log.h"

#define SWEEPER_LOCK_KEY "727011710, 2"

struct sweeper {
    sweeper_config cfg;
    PGconn *conn;
    rd_kafka_t *producer;
    time_t last;
};

sweeper *sweeper_new(const sweeper_config *cfg, PGconn *conn, rd_kafka_t *producer)
{
    sweeper *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->conn = conn;
    s->producer = producer;
    return s;
}

void sweeper_free(sweeper *s)
{
    free(s);
}

/* Expires queued interactive jobs past their deadline and queued jobs of batches past their
 * expires_at, and cancels queued jobs of batches being cancelled (migration 0006), settling
 * their money in the same transaction. Returns the count or -1. Runs inside the caller's
 * transaction. */
static long expire_overdue(sweeper *s)
{
    char secs[24];
    const char *params[1] = {secs};
    PGresult *res;
    long n = -1;

    snprintf(secs, sizeof(secs), "%ld", s->cfg.deadline_seconds);
    res = PQexecParams(s->conn,
                       "WITH e AS (UPDATE jobs SET status = 'expired', error_code = 'DEADLINE_EXCEEDED',"
                       " error_message = 'the job was not started before its deadline',"
                       " finished_at = now(), lease_owner = NULL, lease_expires_at = NULL"
                       " WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND"
                       " batch_id IS NULL AND created_at < now() - make_interval(secs => $1::bigint)"
                       " ORDER BY created_at LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING id)"
                       " SELECT count(*), coalesce(array_agg(id), '{}')::text FROM e",
                       1, NULL, params, NULL, NULL, 0);
    if (q_db_check(res, PGRES_TUPLES_OK, "expire overdue jobs"))
        n = atol(PQgetvalue(res, 0, 0));
    if (n > 0) {
        const char *ids[1] = {PQgetvalue(res, 0, 1)};
        PGresult *settled = PQexecParams(s->conn,
                                         "SELECT quarry_jobs_settled($1::uuid[])",
                                         1, NULL, ids, NULL, NULL, 0);
        if (!q_db_check(settled, PGRES_TUPLES_OK, "settle expired jobs"))
            n = -1;
        PQclear(settled);
    }
    PQclear(res);
    if (n >= 0) {
        /* Batches whose cancel was requested but not carried out (the intake stopped). */
        res = PQexec(s->conn, "SELECT coalesce(sum(quarry_batch_cancel_queued(id, 1000)), 0)"
                              " FROM batches WHERE status = 'cancelling'");
        if (q_db_check(res, PGRES_TUPLES_OK, "cancel batch jobs"))
            n += atol(PQgetvalue(res, 0, 0));
        else
            n = -1;
        PQclear(res);
    }
    if (n >= 0) {
        res = PQexec(s->conn, "SELECT quarry_batches_expire(1000)");
        if (q_db_check(res, PGRES_TUPLES_OK, "expire batch jobs"))
            n += atol(PQgetvalue(res, 0, 0));
        else
            n = -1;
        PQclear(res);
    }
    return n;
}

void sweeper_tick(sweeper *s, time_t now)
{
    char queued_after[24], again[24], batch[16];
    const char *params[3] = {queued_after, again, batch};
    PGresult *res = NULL;
    long expired;
    int published = 0, locked;

    if (now - s->last < s->cfg.interval_seconds)
        return;
    s->last = now;
    if (q_db_ensure(s->conn) != 0 || q_db_exec(s->conn, "BEGIN") != 0)
        return;
    res = PQexec(s->conn, "SELECT pg_try_advisory_xact_lock(" SWEEPER_LOCK_KEY ")");
    locked = q_db_check(res, PGRES_TUPLES_OK, "sweeper lock") &&
             strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    res = NULL;
    if (!locked)
        goto rollback; /* another consumer is sweeping */
    expired = expire_overdue(s);
    if (expired < 0)
        goto rollback;
    snprintf(queued_after, sizeof(queued_after), "%ld", s->cfg.queued_after_seconds);
    snprintf(again, sizeof(again), "%ld", s->cfg.again_seconds);
    snprintf(batch, sizeof(batch), "%d", s->cfg.batch);
    res = PQexecParams(
        s->conn,
        "UPDATE jobs SET swept_at = now(), sweep_count = sweep_count + 1"
        " WHERE id IN (SELECT id FROM jobs WHERE"
        /* A batch's jobs wait their turn on the batch topic for as long as the batch takes:
         * only those of a batch the intake did not finish publishing are stranded. */
        "   ((status = 'queued' AND created_at < now() - make_interval(secs => $1::bigint)"
        "     AND (batch_id IS NULL OR batch_id IN (SELECT b.id FROM batches b"
        "          WHERE b.published_at IS NULL AND b.status = 'in_progress')))"
        "    OR (status = 'running' AND lease_expires_at < now()))"
        "   AND (swept_at IS NULL OR swept_at < now() - make_interval(secs => $2::bigint))"
        "   ORDER BY created_at LIMIT $3::int FOR UPDATE SKIP LOCKED)"
        " RETURNING id, api_key_id, model, (extract(epoch FROM created_at) * 1000)::bigint,"
        "  batch_id IS NOT NULL",
        3, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "select stranded jobs"))
        goto rollback;
    if (q_db_exec(s->conn, "COMMIT") != 0)
        goto out;
    for (int r = 0; r < PQntuples(res); r++) {
        q_job_message m;
        char *payload;
        const char *topic = PQgetvalue(res, r, 4)[0] == 't' && s->cfg.batch_topic
                                ? s->cfg.batch_topic
                                : s->cfg.topic;

        memset(&m, 0, sizeof(m));
        snprintf(m.id, sizeof(m.id), "%s", PQgetvalue(res, r, 0));
        m.api_key_id = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        snprintf(m.model, sizeof(m.model), "%s", PQgetvalue(res, r, 2));
        m.created_at_ms = strtoll(PQgetvalue(res, r, 3), NULL, 10);
        payload = q_job_message_encode(&m);
        if (payload &&
            rd_kafka_producev(s->producer, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY(m.id, strlen(m.id)),
                              RD_KAFKA_V_VALUE(payload, strlen(payload)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == 0)
            published++;
        free(payload);
    }
    if (published && rd_kafka_flush(s->producer, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        q_log(Q_LOG_WARN, "sweeper.flush_incomplete", NULL);
    if (published || expired)
        q_log(Q_LOG_INFO, "sweeper.swept",
              json_pack("{s:i,s:I,s:i}", "republished", published, "expired", (json_int_t)expired,
                        "candidates", PQntuples(res)));
    goto out;
rollback:
    q_db_exec(s->conn, "ROLLBACK");
out:
    PQclear(res);
}
