/* jobs.c - batched claim, lease renewal and settlement of jobs (see jobs.h). */
#include "jobs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "sigv4.h"

void job_work_free(job_work *w)
{
    if (!w)
        return;
    free(w->question);
    free(w->model);
    memset(w, 0, sizeof(*w));
}

/* "{id1,id2,...}": ids are validated UUIDs, so no quoting is needed. */
static char *uuid_array(const char *const *ids, size_t n, size_t stride)
{
    q_buf b;

    q_buf_init(&b, 64 + n * 40);
    q_buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        const char *id = *(const char *const *)((const char *)ids + i * stride);
        if (i)
            q_buf_addc(&b, ',');
        q_buf_adds(&b, id);
    }
    if (q_buf_addc(&b, '}') != Q_BUF_OK) {
        q_buf_free(&b);
        return NULL;
    }
    return q_buf_take(&b);
}

int jobs_claim_batch(PGconn *conn, const char *owner, int lease_seconds, job_claim *claims,
                     size_t n)
{
    char lease[16], *ids = NULL;
    const char *params[3];
    PGresult *res = NULL;
    unsigned char *used = NULL;
    int rc = -1;

    if (n == 0)
        return 0;
    ids = uuid_array(&claims[0].id, n, sizeof(job_claim));
    used = calloc(n, 1);
    if (!ids || !used)
        goto out;
    snprintf(lease, sizeof(lease), "%d", lease_seconds);
    params[0] = ids;
    params[1] = owner;
    params[2] = lease;
    for (size_t i = 0; i < n; i++) {
        claims[i].result = JOB_UNKNOWN;
        memset(&claims[i].work, 0, sizeof(claims[i].work));
    }
    /* A queued job, or a running one whose holder's lease ran out, can be claimed. */
    res = PQexecParams(conn,
                       "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, now()),"
                       " lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::int)"
                       " WHERE id = ANY($1::uuid[]) AND (status = 'queued' OR"
                       " (status = 'running' AND lease_expires_at < now()))"
                       " RETURNING id, question, model, max_tokens, temperature, api_key_id,"
                       " extract(epoch FROM created_at)::bigint",
                       3, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "claim jobs"))
        goto out;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *id = PQgetvalue(res, r, 0);

        for (size_t i = 0; i < n; i++) {
            job_work *w = &claims[i].work;

            /* the first message of a job gets it; duplicates in the batch are skipped */
            if (used[i] || strcmp(claims[i].id, id) != 0)
                continue;
            used[i] = 1;
            claims[i].result = JOB_CLAIMED;
            w->question = strdup(PQgetvalue(res, r, 1));
            w->model = strdup(PQgetvalue(res, r, 2));
            w->max_tokens = atoi(PQgetvalue(res, r, 3));
            w->has_temperature = !PQgetisnull(res, r, 4);
            w->temperature = w->has_temperature ? strtod(PQgetvalue(res, r, 4), NULL) : 0;
            w->api_key_id = strtoll(PQgetvalue(res, r, 5), NULL, 10);
            w->created_at_epoch = strtoll(PQgetvalue(res, r, 6), NULL, 10);
            if (!w->question || !w->model)
                goto out; /* out of memory: the leases expire and the sweeper retries */
            break;
        }
    }
    PQclear(res);
    res = PQexecParams(conn, "SELECT id, status FROM jobs WHERE id = ANY($1::uuid[])", 1, NULL,
                       params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "read job states"))
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (used[i])
            continue;
        for (int r = 0; r < PQntuples(res); r++) {
            const char *status = PQgetvalue(res, r, 1);

            if (strcmp(claims[i].id, PQgetvalue(res, r, 0)) != 0)
                continue;
            claims[i].result = strcmp(status, "queued") == 0 || strcmp(status, "running") == 0
                                   ? JOB_LEASED_ELSEWHERE
                                   : JOB_ALREADY_TERMINAL;
        }
    }
    rc = 0;
out:
    if (rc)
        for (size_t i = 0; i < n; i++)
            job_work_free(&claims[i].work);
    PQclear(res);
    free(ids);
    free(used);
    return rc;
}

long jobs_renew_leases(PGconn *conn, const char *owner, int lease_seconds)
{
    char lease[16];
    const char *params[2] = {owner, lease};
    PGresult *res;
    long n = -1;

    snprintf(lease, sizeof(lease), "%d", lease_seconds);
    res = PQexecParams(conn,
                       "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $2::int)"
                       " WHERE lease_owner = $1 AND status = 'running'",
                       2, NULL, params, NULL, NULL, 0);
    if (q_db_check(res, PGRES_COMMAND_OK, "renew leases"))
        n = atol(PQcmdTuples(res));
    PQclear(res);
    return n;
}

long jobs_release_batch(PGconn *conn, const char *owner, const char *const *ids, size_t n)
{
    char *array;
    const char *params[2];
    PGresult *res;
    long released = -1;

    if (n == 0)
        return 0;
    array = uuid_array(ids, n, sizeof(*ids));
    if (!array)
        return -1;
    params[0] = array;
    params[1] = owner;
    res = PQexecParams(conn,
                       "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL"
                       " WHERE id = ANY($1::uuid[]) AND lease_owner = $2 AND status = 'running'",
                       2, NULL, params, NULL, NULL, 0);
    if (q_db_check(res, PGRES_COMMAND_OK, "release jobs"))
        released = atol(PQcmdTuples(res));
    PQclear(res);
    free(array);
    return released;
}

/* The most JSON one settlement may take: an answer is at most 4 MiB of text (bedrock.c),
 * which escaping can grow six-fold; the other members are small. */
#define SETTLE_MAX_JSON_PER_JOB ((size_t)32 << 20)

static int add_field_str(q_buf *b, const char *name, const char *value)
{
    /* NULL leaves the member out (json_to_recordset reads it as NULL); text that is not
     * UTF-8 (an error message cut mid-character) gets U+FFFD rather than failing the batch */
    if (!value)
        return Q_BUF_OK;
    if (q_buf_add(b, ",\"", 2) != Q_BUF_OK || q_buf_adds(b, name) != Q_BUF_OK ||
        q_buf_add(b, "\":", 2) != Q_BUF_OK)
        return Q_BUF_NOMEM;
    return q_buf_add_json_string(b, value, strlen(value), 1);
}

/* One settlement as a JSON object for json_to_recordset. Written straight into the
 * batch's buffer: building jansson trees and dumping them was a tenth of the consumer's
 * CPU time at 2,000 jobs/s (issue 4). */
static int add_settlement_json(q_buf *b, const job_settlement *s)
{
    if (q_buf_adds(b, "{\"id\":") != Q_BUF_OK ||
        q_buf_add_json_string(b, s->id, strlen(s->id), 1) != Q_BUF_OK ||
        add_field_str(b, "status", s->status) != Q_BUF_OK ||
        q_buf_printf(b, ",\"attempts\":%d", s->attempts) != Q_BUF_OK)
        return -1;
    if (strcmp(s->status, "succeeded") == 0) {
        if (add_field_str(b, "answer", s->answer ? s->answer : "") != Q_BUF_OK ||
            add_field_str(b, "stop_reason", s->stop_reason ? s->stop_reason : "") != Q_BUF_OK ||
            add_field_str(b, "answered_model", s->answered_model) != Q_BUF_OK ||
            q_buf_printf(b,
                         ",\"input_tokens\":%lld,\"output_tokens\":%lld,"
                         "\"cache_read_tokens\":%lld,\"cache_write_tokens\":%lld,"
                         "\"model_latency_ms\":%ld",
                         s->input_tokens, s->output_tokens, s->cache_read_tokens,
                         s->cache_write_tokens, s->latency_ms) != Q_BUF_OK ||
            add_field_str(b, "cost_usd", s->cost_usd) != Q_BUF_OK ||
            add_field_str(b, "bedrock_request_id",
                          s->request_id && *s->request_id ? s->request_id : NULL) != Q_BUF_OK)
            return -1;
    } else if (add_field_str(b, "error_code", s->error_code) != Q_BUF_OK ||
               add_field_str(b, "error_message", s->error_message) != Q_BUF_OK) {
        return -1;
    }
    return q_buf_addc(b, '}') == Q_BUF_OK ? 0 : -1;
}

int jobs_settle_batch(PGconn *conn, const char *owner, job_settlement *s, size_t n)
{
    q_buf rows;
    char *settled_ids = NULL;
    const char **settled = calloc(n ? n : 1, sizeof(*settled));
    const char *params[2];
    PGresult *res = NULL;
    int rc = -1, count = 0;

    q_buf_init(&rows, n < SIZE_MAX / SETTLE_MAX_JSON_PER_JOB - 1 ? (n + 1) * SETTLE_MAX_JSON_PER_JOB
                                                                : SIZE_MAX / 2);
    if (!settled || q_buf_addc(&rows, '[') != Q_BUF_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        s[i].settled = 0;
        if ((i && q_buf_addc(&rows, ',') != Q_BUF_OK) || add_settlement_json(&rows, &s[i]) != 0)
            goto out;
    }
    if (q_buf_addc(&rows, ']') != Q_BUF_OK || q_db_exec(conn, "BEGIN") != 0)
        goto out;
    params[0] = q_buf_cstr(&rows);
    params[1] = owner;
    res = PQexecParams(
        conn,
        "UPDATE jobs j SET status = v.status, answer = v.answer, stop_reason = v.stop_reason,"
        " answered_model = v.answered_model, input_tokens = v.input_tokens,"
        " output_tokens = v.output_tokens,"
        " cache_read_tokens = coalesce(v.cache_read_tokens, 0),"
        " cache_write_tokens = coalesce(v.cache_write_tokens, 0), cost_usd = v.cost_usd,"
        " attempts = j.attempts + v.attempts, bedrock_request_id = v.bedrock_request_id,"
        " model_latency_ms = v.model_latency_ms, error_code = v.error_code,"
        " error_message = v.error_message, finished_at = now(), lease_owner = NULL,"
        " lease_expires_at = NULL"
        " FROM json_to_recordset($1::json) AS v(id uuid, status text, attempts int, answer text,"
        "   stop_reason text, answered_model text, input_tokens int, output_tokens int,"
        "   cache_read_tokens int, cache_write_tokens int, model_latency_ms int,"
        "   cost_usd numeric, bedrock_request_id text, error_code text, error_message text)"
        /* lease_owner is set only while a job runs (0002 checks it), so it alone proves
         * our claim; naming status too lets the planner pick the partial index on running
         * jobs from stale statistics and re-scan the JSON once per running job */
        " WHERE j.id = v.id AND j.lease_owner = $2"
        " RETURNING j.id",
        2, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "settle jobs"))
        goto rollback;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *id = PQgetvalue(res, r, 0);

        for (size_t i = 0; i < n; i++)
            if (!s[i].settled && strcmp(s[i].id, id) == 0) {
                s[i].settled = 1;
                settled[count++] = s[i].id;
                break;
            }
    }
    PQclear(res);
    res = NULL;
    settled_ids = uuid_array(settled, (size_t)count, sizeof(*settled));
    if (!settled_ids)
        goto rollback;
    params[0] = settled_ids;
    res = PQexecParams(conn, "SELECT quarry_jobs_settled($1::uuid[])", 1, NULL, params, NULL,
                       NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "account settled jobs"))
        goto rollback;
    if (q_db_exec(conn, "COMMIT") != 0)
        goto undo;
    rc = count;
    goto out;
rollback:
    q_db_exec(conn, "ROLLBACK");
undo:
    for (size_t i = 0; i < n; i++)
        s[i].settled = 0;
out:
    PQclear(res);
    q_buf_free(&rows);
    free(settled_ids);
    free(settled);
    return rc;
}

int jobs_record_dead_letter(PGconn *conn, const char *topic, int partition, long long offset,
                            const char *reason, const void *payload, size_t len)
{
    char part[16], off[24], bytes[24], sha[65];
    const char *params[6] = {topic, part, off, reason, bytes, sha};
    PGresult *res;
    int ok;

    snprintf(part, sizeof(part), "%d", partition);
    snprintf(off, sizeof(off), "%lld", offset);
    snprintf(bytes, sizeof(bytes), "%zu", len);
    q_sha256_hex(payload, len, sha);
    res = PQexecParams(conn,
                       "INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, reason,"
                       " payload_bytes, payload_sha256) VALUES ($1, $2::int, $3::bigint, $4,"
                       " $5::int, $6) ON CONFLICT DO NOTHING",
                       6, NULL, params, NULL, NULL, 0);
    ok = q_db_check(res, PGRES_COMMAND_OK, "record dead letter");
    PQclear(res);
    return ok ? 0 : -1;
}
