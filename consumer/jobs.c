/* jobs.c - claim and settle jobs in PostgreSQL (see jobs.h). */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

void job_work_free(job_work *w)
{
    if (!w)
        return;
    free(w->question);
    free(w->model);
    memset(w, 0, sizeof(*w));
}

job_claim_result jobs_claim(PGconn *conn, const char *job_id, const char *owner,
                            int lease_seconds, job_work *out)
{
    char lease[16];
    const char *params[3] = {job_id, owner, lease};
    PGresult *res;
    job_claim_result rc = JOB_CLAIM_ERROR;

    memset(out, 0, sizeof(*out));
    snprintf(lease, sizeof(lease), "%d", lease_seconds);
    /* A queued job, or a running one whose holder's lease ran out, can be claimed. */
    res = PQexecParams(conn,
                       "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, now()), "
                       "lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::int) "
                       "WHERE id = $1::uuid AND (status = 'queued' OR "
                       "(status = 'running' AND lease_expires_at < now())) "
                       "RETURNING question, model, max_tokens, temperature, api_key_id, "
                       "extract(epoch FROM created_at)::bigint",
                       3, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "claim job"))
        goto out;
    if (PQntuples(res) == 1) {
        out->question = strdup(PQgetvalue(res, 0, 0));
        out->model = strdup(PQgetvalue(res, 0, 1));
        out->max_tokens = atoi(PQgetvalue(res, 0, 2));
        out->has_temperature = !PQgetisnull(res, 0, 3);
        out->temperature = out->has_temperature ? strtod(PQgetvalue(res, 0, 3), NULL) : 0;
        out->api_key_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        out->created_at_epoch = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        if (!out->question || !out->model) {
            job_work_free(out);
            goto out;
        }
        rc = JOB_CLAIMED;
        goto out;
    }
    PQclear(res);
    res = PQexecParams(conn, "SELECT status FROM jobs WHERE id = $1::uuid", 1, NULL, params, NULL,
                       NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "read job status"))
        goto out;
    if (PQntuples(res) == 0)
        rc = JOB_UNKNOWN;
    else if (strcmp(PQgetvalue(res, 0, 0), "running") == 0 ||
             strcmp(PQgetvalue(res, 0, 0), "queued") == 0)
        rc = JOB_LEASED_ELSEWHERE;
    else
        rc = JOB_ALREADY_TERMINAL;
out:
    PQclear(res);
    return rc;
}

int jobs_renew_lease(PGconn *conn, const char *job_id, const char *owner, int lease_seconds)
{
    char lease[16];
    const char *params[3] = {job_id, owner, lease};
    PGresult *res;
    int rc = -1;

    snprintf(lease, sizeof(lease), "%d", lease_seconds);
    res = PQexecParams(conn,
                       "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::int)"
                       " WHERE id = $1::uuid AND status = 'running' AND lease_owner = $2",
                       3, NULL, params, NULL, NULL, 0);
    if (q_db_check(res, PGRES_COMMAND_OK, "renew lease"))
        rc = atoi(PQcmdTuples(res)) == 1 ? 1 : 0;
    PQclear(res);
    return rc;
}

/* Runs `update` (which must move the claimed job to a terminal state and return its id)
 * and quarry_job_settled() in one transaction, so the job's state and its money commit
 * together or not at all. Returns 1, 0 when the update matched nothing (lease lost),
 * -1 on a database error (rolled back). */
static int settle(PGconn *conn, const char *what, const char *update, int nparams,
                  const char *const *params)
{
    PGresult *res = NULL;
    int rc = -1;

    if (q_db_exec(conn, "BEGIN") != 0)
        return -1;
    res = PQexecParams(conn, update, nparams, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, what))
        goto out;
    if (PQntuples(res) == 0) {
        rc = 0;
        goto out;
    }
    PQclear(res);
    res = PQexecParams(conn, "SELECT quarry_job_settled($1::uuid)", 1, NULL, params, NULL, NULL,
                       0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "account settled job"))
        goto out;
    rc = 1;
out:
    PQclear(res);
    if (q_db_exec(conn, rc == 1 ? "COMMIT" : "ROLLBACK") != 0)
        rc = -1;
    return rc;
}

int jobs_settle_success(PGconn *conn, const char *job_id, const char *owner,
                        const job_success *s)
{
    char in[24], outt[24], cr[24], cw[24], attempts[16], latency[24];
    const char *params[13] = {job_id,     s->answer->text, s->answer->stop_reason,
                              s->answered_model, in, outt, cr, cw, s->cost_usd, attempts,
                              s->request_id[0] ? s->request_id : NULL, latency, owner};

    snprintf(in, sizeof(in), "%lld", s->answer->input_tokens);
    snprintf(outt, sizeof(outt), "%lld", s->answer->output_tokens);
    snprintf(cr, sizeof(cr), "%lld", s->answer->cache_read_tokens);
    snprintf(cw, sizeof(cw), "%lld", s->answer->cache_write_tokens);
    snprintf(attempts, sizeof(attempts), "%d", s->attempts);
    snprintf(latency, sizeof(latency), "%ld", s->latency_ms);
    return settle(conn, "settle succeeded job",
                  "UPDATE jobs SET status = 'succeeded', answer = $2, stop_reason = $3,"
                  " answered_model = $4, input_tokens = $5::int, output_tokens = $6::int,"
                  " cache_read_tokens = $7::int, cache_write_tokens = $8::int,"
                  " cost_usd = $9::numeric, attempts = attempts + $10::int,"
                  " bedrock_request_id = $11, model_latency_ms = $12::int,"
                  " error_code = NULL, error_message = NULL, finished_at = now(),"
                  " lease_owner = NULL, lease_expires_at = NULL"
                  " WHERE id = $1::uuid AND status = 'running' AND lease_owner = $13"
                  " RETURNING id",
                  13, params);
}

int jobs_settle_failure(PGconn *conn, const char *job_id, const char *owner, const char *status,
                        int attempts, const char *code, const char *message)
{
    char attempts_s[16];
    const char *params[6] = {job_id, status, attempts_s, code, message, owner};

    snprintf(attempts_s, sizeof(attempts_s), "%d", attempts);
    return settle(conn, "settle failed job",
                  "UPDATE jobs SET status = $2, attempts = attempts + $3::int, error_code = $4,"
                  " error_message = $5, finished_at = now(), lease_owner = NULL,"
                  " lease_expires_at = NULL"
                  " WHERE id = $1::uuid AND status = 'running' AND lease_owner = $6"
                  " RETURNING id",
                  6, params);
}
