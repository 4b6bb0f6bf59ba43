/* store.c - the intake's PostgreSQL access (see store.h). */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
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

static int64_t epoch_ms_or_zero(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : (int64_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The columns key_from_row() reads, from column 0 of a row; KEY_USABLE: the keys a lookup
 * may return (enabled, unexpired). */
#define KEY_COLUMNS                                                                         \
    "id, min_question_chars, max_question_chars, requests_per_second, burst,"             \
    " daily_requests, daily_tokens, daily_budget_usd::text, injection_policy,"             \
    " (extract(epoch FROM expires_at) * 1000)::bigint, to_json(allowed_models)"
#define KEY_USABLE "disabled_at IS NULL AND (expires_at IS NULL OR expires_at > now())"

/* A new key (one reference) from row `row` of a KEY_COLUMNS result; NULL when out of memory
 * or the model list is malformed. */
static q_api_key *key_from_row(const PGresult *res, int row)
{
    q_api_key *k = NULL;
    json_t *models = NULL;
    const char *policy;

    if (!PQgetisnull(res, row, 10)) {
        models = json_loads(PQgetvalue(res, row, 10), 0, NULL);
        if (!json_is_array(models))
            goto fail;
    }
    k = q_api_key_new(models ? json_array_size(models) : 0);
    if (!k)
        goto fail;
    if (models && json_array_size(models) == 0) {
        /* An empty list allows nothing: keep a non-NULL list with no entries. */
        k->allowed_models = calloc(1, sizeof(char *));
        if (!k->allowed_models)
            goto fail;
    }
    for (size_t i = 0; models && i < json_array_size(models); i++) {
        const char *m = json_string_value(json_array_get(models, i));
        if (m && !(k->allowed_models[i] = strdup(m)))
            goto fail;
    }
    k->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    k->min_question_chars = atoi(PQgetvalue(res, row, 1));
    k->max_question_chars = atoi(PQgetvalue(res, row, 2));
    if (!PQgetisnull(res, row, 3)) {
        k->requests_per_second = strtod(PQgetvalue(res, row, 3), NULL);
        k->burst = PQgetisnull(res, row, 4) ? (int)(k->requests_per_second + 0.999)
                                            : atoi(PQgetvalue(res, row, 4));
        if (k->burst < 1)
            k->burst = 1;
    }
    k->daily_requests = PQgetisnull(res, row, 5) ? -1 : strtoll(PQgetvalue(res, row, 5), NULL, 10);
    k->daily_tokens = PQgetisnull(res, row, 6) ? -1 : strtoll(PQgetvalue(res, row, 6), NULL, 10);
    if (!PQgetisnull(res, row, 7))
        snprintf(k->daily_budget_usd, sizeof(k->daily_budget_usd), "%s", PQgetvalue(res, row, 7));
    policy = PQgetvalue(res, row, 8);
    k->injection_policy = strcmp(policy, "off") == 0    ? Q_INJECTION_OFF
                          : strcmp(policy, "flag") == 0 ? Q_INJECTION_FLAG
                                                        : Q_INJECTION_BLOCK;
    k->expires_at_ms = epoch_ms_or_zero(res, row, 9);
    json_decref(models);
    return k;
fail:
    q_api_key_release(k);
    json_decref(models);
    return NULL;
}

int intake_store_load_key(const char *key_sha256_hex, q_api_key **out, void *ctx)
{
    intake_store *s = ctx;
    const char *params[1] = {key_sha256_hex};
    PGconn *conn;
    PGresult *res;
    int rc = -1;

    *out = NULL;
    conn = intake_store_acquire(s);
    if (!conn)
        return -1;
    res = PQexecParams(conn,
                       "SELECT " KEY_COLUMNS " FROM api_keys "
                       "WHERE key_sha256 = decode($1, 'hex') AND " KEY_USABLE,
                       1, NULL, params, NULL, NULL, 0);
    if (q_db_check(res, PGRES_TUPLES_OK, "find api key")) {
        if (PQntuples(res) == 0)
            rc = 0;
        else if ((*out = key_from_row(res, 0)) != NULL)
            rc = 1;
    }
    PQclear(res);
    intake_store_release(s, conn);
    return rc;
}

int intake_store_load_keys(const char *const *hashes, size_t n, q_api_key **out, void *ctx)
{
    intake_store *s = ctx;
    q_buf list;
    const char *params[1];
    PGconn *conn;
    PGresult *res = NULL;
    int rc = -1;

    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    q_buf_init(&list, (size_t)1 << 24);
    for (size_t i = 0; i < n; i++) /* lowercase hex: nothing to quote in an array literal */
        if (q_buf_adds(&list, i == 0 ? "{" : ",") != Q_BUF_OK || q_buf_adds(&list, hashes[i]) != Q_BUF_OK)
            goto out;
    if (q_buf_adds(&list, n == 0 ? "{}" : "}") != Q_BUF_OK)
        goto out;
    params[0] = q_buf_cstr(&list);
    if (!(conn = intake_store_acquire(s)))
        goto out;
    res = PQexecParams(conn,
                       "SELECT " KEY_COLUMNS ", encode(key_sha256, 'hex') FROM api_keys "
                       "WHERE key_sha256 IN (SELECT decode(h, 'hex') FROM unnest($1::text[]) h) "
                       "AND " KEY_USABLE,
                       1, NULL, params, NULL, NULL, 0);
    intake_store_release(s, conn);
    if (!q_db_check(res, PGRES_TUPLES_OK, "find api keys"))
        goto out;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *hash = PQgetvalue(res, r, 11);

        for (size_t i = 0; i < n; i++) /* every slot asking for it: a hash may come twice */
            if (!out[i] && strcmp(hashes[i], hash) == 0 && !(out[i] = key_from_row(res, r)))
                goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        for (size_t i = 0; i < n; i++) {
            q_api_key_release(out[i]);
            out[i] = NULL;
        }
    PQclear(res);
    q_buf_free(&list);
    return rc;
}

int intake_store_fail_job(PGconn *conn, const char *id, const char *code, const char *message)
{
    const char *params[3] = {id, code, message};
    PGresult *res = PQexecParams(conn,
                                 "WITH f AS (UPDATE jobs SET status = 'failed', error_code = $2, "
                                 "error_message = $3, finished_at = now() "
                                 "WHERE id = $1 AND status = 'queued' RETURNING id) "
                                 "SELECT quarry_job_settled(id) FROM f",
                                 3, NULL, params, NULL, NULL, 0);
    int ok = q_db_check(res, PGRES_TUPLES_OK, "fail unqueued job");

    PQclear(res);
    return ok ? 0 : -1;
}

/* Builds the job body in SQL, so numeric cost keeps every digit (as a string) and the
 * timestamps share one format. */
int intake_store_get_job(PGconn *conn, const char *id, long long api_key_id, json_t **out,
                         int *terminal)
{
    char key_id[24];
    const char *params[2] = {id, key_id};
    PGresult *res;
    int rc = -1;

    *out = NULL;
    *terminal = 0;
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
        " 'finished_at', to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')),"
        " finished_at IS NOT NULL"
        " FROM jobs WHERE id = $1::uuid AND api_key_id = $2",
        2, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "get job"))
        goto out;
    if (PQntuples(res) == 0) {
        rc = 0;
        goto out;
    }
    *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    *terminal = PQgetvalue(res, 0, 1)[0] == 't';
    rc = *out ? 1 : -1;
out:
    PQclear(res);
    return rc;
}

int intake_store_cancel_job(PGconn *conn, const char *id, long long api_key_id, char status[16])
{
    char key_id[24];
    const char *params[2] = {id, key_id};
    PGresult *res;
    int rc = -1;

    snprintf(key_id, sizeof(key_id), "%lld", api_key_id);
    res = PQexecParams(conn, "SELECT quarry_job_cancel($1::uuid, $2)", 2, NULL, params, NULL,
                       NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "cancel job"))
        goto out;
    if (PQgetisnull(res, 0, 0)) {
        rc = 0;
        goto out;
    }
    snprintf(status, 16, "%s", PQgetvalue(res, 0, 0));
    rc = 1;
out:
    PQclear(res);
    return rc;
}

int intake_store_usage(PGconn *conn, long long api_key_id, json_t **out)
{
    char key_id[24];
    const char *params[1] = {key_id};
    PGresult *res;
    int rc = -1;

    *out = NULL;
    snprintf(key_id, sizeof(key_id), "%lld", api_key_id);
    res = PQexecParams(
        conn,
        "WITH d AS (SELECT (now() AT TIME ZONE 'UTC')::date AS day) "
        "SELECT json_build_object("
        " 'day', to_char(d.day, 'YYYY-MM-DD'),"
        " 'resets_at', to_char(d.day + 1, 'YYYY-MM-DD\"T00:00:00Z\"'),"
        " 'requests', json_build_object('used', coalesce(u.requests, 0),"
        "   'limit', k.daily_requests),"
        " 'tokens', json_build_object('used', coalesce(u.input_tokens + u.output_tokens"
        "   + u.cache_read_tokens + u.cache_write_tokens, 0),"
        "   'reserved', coalesce(u.reserved_tokens, 0), 'limit', k.daily_tokens),"
        " 'cost_usd', json_build_object('used', coalesce(u.cost_usd, 0)::text,"
        "   'reserved', coalesce(u.reserved_usd, 0)::text, 'limit', k.daily_budget_usd::text),"
        " 'settled_jobs', coalesce(u.settled_jobs, 0),"
        " 'rate_limit', json_build_object('requests_per_second', k.requests_per_second,"
        "   'burst', CASE WHEN k.requests_per_second IS NULL THEN NULL"
        "                 ELSE coalesce(k.burst, greatest(1, ceil(k.requests_per_second))) END))"
        " FROM api_keys k CROSS JOIN d"
        " LEFT JOIN daily_usage u ON u.api_key_id = k.id AND u.day = d.day"
        " WHERE k.id = $1",
        1, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "read usage") || PQntuples(res) != 1)
        goto out;
    *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    rc = *out ? 0 : -1;
out:
    PQclear(res);
    return rc;
}

int intake_store_cleanup(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT quarry_intake_cleanup()");
    int ok = q_db_check(res, PGRES_TUPLES_OK, "intake cleanup");

    PQclear(res);
    return ok ? 0 : -1;
}
