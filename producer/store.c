/* store.c - the intake's PostgreSQL access (see store.h). */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

struct intake_store {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn **conns;
    int *busy;
    unsigned size;
};

intake_store *intake_store_open(const char *url, unsigned size, int wait_seconds)
{
    intake_store *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->conns = calloc(size, sizeof(*s->conns));
    s->busy = calloc(size, sizeof(*s->busy));
    if (!s->conns || !s->busy)
        goto fail;
    for (s->size = 0; s->size < size; s->size++) {
        s->conns[s->size] = q_db_connect(url, s->size == 0 ? wait_seconds : 0);
        if (!s->conns[s->size])
            goto fail;
    }
    return s;
fail:
    intake_store_close(s);
    return NULL;
}

void intake_store_close(intake_store *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->size; i++)
        PQfinish(s->conns[i]);
    free(s->conns);
    free(s->busy);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

PGconn *intake_store_acquire(intake_store *s)
{
    PGconn *conn = NULL;
    unsigned i;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (i = 0; i < s->size && s->busy[i]; i++)
            ;
        if (i < s->size)
            break;
        pthread_cond_wait(&s->cv, &s->mu);
    }
    s->busy[i] = 1;
    conn = s->conns[i];
    pthread_mutex_unlock(&s->mu);
    if (q_db_ensure(conn) != 0) {
        intake_store_release(s, conn);
        return NULL;
    }
    return conn;
}

void intake_store_release(intake_store *s, PGconn *conn)
{
    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < s->size; i++)
        if (s->conns[i] == conn)
            s->busy[i] = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int intake_store_find_key(PGconn *conn, const char *key_sha256_hex, intake_key *out)
{
    const char *params[1] = {key_sha256_hex};
    PGresult *res;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    res = PQexecParams(conn,
                       "SELECT id, max_question_chars, to_json(allowed_models) FROM api_keys "
                       "WHERE key_sha256 = decode($1, 'hex') AND disabled_at IS NULL "
                       "AND (expires_at IS NULL OR expires_at > now())",
                       1, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "find api key"))
        goto out;
    if (PQntuples(res) == 0) {
        rc = 0;
        goto out;
    }
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->max_question_chars = atoi(PQgetvalue(res, 0, 1));
    if (!PQgetisnull(res, 0, 2)) {
        out->allowed_models = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
        if (!json_is_array(out->allowed_models)) {
            json_decref(out->allowed_models);
            out->allowed_models = NULL;
            goto out;
        }
    }
    rc = 1;
out:
    PQclear(res);
    return rc;
}

int intake_store_insert_job(PGconn *conn, const intake_new_job *job, long long *created_at_ms,
                            char created_at[40])
{
    char key_id[24], max_tokens[16], temperature[32];
    const char *params[6] = {job->id, key_id, job->question, job->model, max_tokens,
                             job->has_temperature ? temperature : NULL};
    PGresult *res;
    int rc = -1;

    snprintf(key_id, sizeof(key_id), "%lld", job->api_key_id);
    snprintf(max_tokens, sizeof(max_tokens), "%d", job->max_tokens);
    snprintf(temperature, sizeof(temperature), "%.6g", job->temperature);
    res = PQexecParams(conn,
                       "INSERT INTO jobs (id, api_key_id, question, model, max_tokens, temperature) "
                       "VALUES ($1, $2, $3, $4, $5, $6) RETURNING "
                       "(extract(epoch FROM created_at) * 1000)::bigint, "
                       "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
                       6, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "insert job"))
        goto out;
    *created_at_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(created_at, 40, "%s", PQgetvalue(res, 0, 1));
    rc = 0;
out:
    PQclear(res);
    return rc;
}

int intake_store_fail_job(PGconn *conn, const char *id, const char *code, const char *message)
{
    const char *params[3] = {id, code, message};
    PGresult *res = PQexecParams(conn,
                                 "UPDATE jobs SET status = 'failed', error_code = $2, "
                                 "error_message = $3, finished_at = now() "
                                 "WHERE id = $1 AND status = 'queued'",
                                 3, NULL, params, NULL, NULL, 0);
    int ok = q_db_check(res, PGRES_COMMAND_OK, "fail unqueued job");

    PQclear(res);
    return ok ? 0 : -1;
}

/* Builds the job body in SQL, so numeric cost keeps every digit (as a string) and the
 * timestamps share one format. */
int intake_store_get_job(PGconn *conn, const char *id, long long api_key_id, json_t **out)
{
    char key_id[24];
    const char *params[2] = {id, key_id};
    PGresult *res;
    int rc = -1;

    *out = NULL;
    snprintf(key_id, sizeof(key_id), "%lld", api_key_id);
    res = PQexecParams(
        conn,
        "SELECT json_build_object("
        " 'id', id, 'status', status, 'model', model, 'answered_model', answered_model,"
        " 'max_tokens', max_tokens, 'temperature', temperature,"
        " 'answer', answer, 'stop_reason', stop_reason,"
        " 'usage', CASE WHEN input_tokens IS NULL THEN NULL ELSE json_build_object("
        "   'input_tokens', input_tokens, 'output_tokens', output_tokens,"
        "   'cache_read_tokens', cache_read_tokens, 'cache_write_tokens', cache_write_tokens) END,"
        " 'cost_usd', cost_usd::text, 'attempts', attempts,"
        " 'error', CASE WHEN error_code IS NULL THEN NULL ELSE json_build_object("
        "   'code', error_code, 'message', error_message) END,"
        " 'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
        " 'started_at', to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
        " 'finished_at', to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
        " FROM jobs WHERE id = $1::uuid AND api_key_id = $2",
        2, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "get job"))
        goto out;
    if (PQntuples(res) == 0) {
        rc = 0;
        goto out;
    }
    *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    rc = *out ? 1 : -1;
out:
    PQclear(res);
    return rc;
}
