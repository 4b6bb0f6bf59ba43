/* worker.c - one job from claim to settlement (see worker.h). */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "jobs.h"
#include "log.h"
#include "money.h"

static double next_random01(worker *w)
{
    /* xorshift64*: jitter only needs to be spread, not secret */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return (double)((w->rng * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

/* Sleeps up to ms, waking early on shutdown. Returns 0, or -1 when asked to stop. */
static int sleep_interruptible(worker *w, long ms)
{
    while (ms > 0) {
        long step = ms > 100 ? 100 : ms;

        if (*w->stop)
            return -1;
        usleep((useconds_t)step * 1000);
        ms -= step;
    }
    return *w->stop ? -1 : 0;
}

/* Database calls are retried on a fresh connection until they succeed or shutdown:
 * the job must not be acknowledged before its outcome is stored. */
static int wait_for_database(worker *w, int attempt)
{
    long delay = q_backoff_full_jitter_ms(attempt, 200, 5000, next_random01(w)) + 100;

    q_log(Q_LOG_WARN, "db.retrying", json_pack("{s:i,s:I}", "attempt", attempt + 1,
                                                "delay_ms", (json_int_t)delay));
    if (sleep_interruptible(w, delay) != 0)
        return -1;
    q_db_ensure(w->conn);
    return 0;
}

static const char *failure_code(const q_bedrock_error *e)
{
    switch (e->retry) {
    case Q_RETRY_THROTTLED:
        return "UPSTREAM_THROTTLED";
    case Q_RETRY_TRANSIENT:
        return "UPSTREAM_UNAVAILABLE";
    case Q_RETRY_BOUNDED:
        return "UPSTREAM_MODEL_ERROR";
    case Q_RETRY_NEVER:
        break;
    }
    if (e->http_status == 403)
        return "UPSTREAM_ACCESS_DENIED";
    if (e->http_status == 404)
        return "UPSTREAM_NOT_FOUND";
    if (strcmp(e->code, "ValidationException") == 0)
        return "UPSTREAM_VALIDATION";
    return "UPSTREAM_REJECTED";
}

static work_outcome settle_failure(worker *w, const char *job_id, const char *status,
                                   int attempts, const char *code, const char *message)
{
    for (int i = 0;; i++) {
        int rc = jobs_settle_failure(w->conn, job_id, w->owner, status, attempts, code, message);

        if (rc >= 0) {
            q_log(rc ? Q_LOG_INFO : Q_LOG_WARN, rc ? "job.failed" : "job.lease_lost",
                  json_pack("{s:s,s:s,s:s,s:i}", "job_id", job_id, "status", status,
                            "error_code", code, "attempts", attempts));
            return WORK_DONE;
        }
        if (wait_for_database(w, i) != 0)
            return WORK_INTERRUPTED;
    }
}

static work_outcome settle_success(worker *w, const char *job_id, const job_work *job,
                                   const bedrock_result *r, int attempts)
{
    q_price price;
    q_usage usage = {r->answer.input_tokens, r->answer.output_tokens,
                     r->answer.cache_read_tokens, r->answer.cache_write_tokens};
    int64_t pico;
    char cost[32];
    const char *cost_text = NULL;
    job_success s;

    if (q_prices_lookup(w->prices, job->model, time(NULL), &price) == 0 &&
        q_money_cost_pico(&price, &usage, &pico) == 0) {
        q_money_format_pico(pico, cost);
        cost_text = cost;
    } else {
        q_log(Q_LOG_ERROR, "prices.missing", json_pack("{s:s,s:s}", "job_id", job_id, "model",
                                                       job->model));
    }
    s = (job_success){.answer = &r->answer, .answered_model = job->model, .cost_usd = cost_text,
                      .attempts = attempts, .request_id = r->request_id,
                      .latency_ms = r->latency_ms};
    for (int i = 0;; i++) {
        int rc = jobs_settle_success(w->conn, job_id, w->owner, &s);

        if (rc >= 0) {
            q_log(rc ? Q_LOG_INFO : Q_LOG_WARN, rc ? "job.succeeded" : "job.lease_lost",
                  json_pack("{s:s,s:s,s:i,s:I,s:I,s:s?,s:I,s:s}", "job_id", job_id, "model",
                            job->model, "attempts", attempts, "input_tokens",
                            (json_int_t)r->answer.input_tokens, "output_tokens",
                            (json_int_t)r->answer.output_tokens, "cost_usd", cost_text,
                            "latency_ms", (json_int_t)r->latency_ms, "bedrock_request_id",
                            r->request_id));
            return WORK_DONE;
        }
        if (wait_for_database(w, i) != 0)
            return WORK_INTERRUPTED;
    }
}

static work_outcome call_model(worker *w, const char *job_id, const job_work *job)
{
    char *body = q_bedrock_claude_body(w->system_prompt, job->question, job->max_tokens,
                                       job->has_temperature, job->temperature);
    time_t deadline = (time_t)job->created_at_epoch + w->deadline_seconds;
    int attempts = 0, bounded = 0;
    work_outcome outcome;

    if (!body)
        return settle_failure(w, job_id, "failed", 0, "INTERNAL", "could not build the request");
    for (int retry = 0;; retry++) {
        bedrock_result r;
        char message[512];
        long delay;

        if (time(NULL) >= deadline) {
            outcome = settle_failure(w, job_id, "expired", attempts, "DEADLINE_EXCEEDED",
                                     "the job was not answered before its deadline");
            break;
        }
        if (attempts > 0) {
            int renewed;

            for (int i = 0; (renewed = jobs_renew_lease(w->conn, job_id, w->owner,
                                                        w->lease_seconds)) < 0; i++)
                if (wait_for_database(w, i) != 0)
                    break;
            if (renewed != 1) {
                q_log(Q_LOG_WARN, "job.lease_lost", json_pack("{s:s}", "job_id", job_id));
                outcome = renewed == 0 ? WORK_DONE : WORK_INTERRUPTED;
                break;
            }
        }
        attempts++;
        bedrock_client_invoke(w->bedrock, job->model, body, &r);
        if (r.ok) {
            outcome = settle_success(w, job_id, job, &r, attempts);
            bedrock_result_free(&r);
            break;
        }
        q_log(Q_LOG_WARN, "bedrock.call_failed",
              json_pack("{s:s,s:s,s:i,s:s,s:i,s:s}", "job_id", job_id, "model", job->model,
                        "attempt", attempts, "error_code", r.error.code, "http_status",
                        r.error.http_status, "bedrock_request_id", r.request_id));
        if (r.error.retry == Q_RETRY_BOUNDED)
            bounded++;
        if (r.error.retry == Q_RETRY_NEVER || attempts >= w->max_attempts ||
            (r.error.retry == Q_RETRY_BOUNDED && bounded >= w->max_bounded_attempts)) {
            snprintf(message, sizeof(message), "bedrock answered %s (HTTP %d) after %d attempt%s: %s",
                     r.error.code, r.error.http_status, attempts, attempts == 1 ? "" : "s",
                     r.error.message);
            outcome = settle_failure(w, job_id, "failed", attempts, failure_code(&r.error), message);
            bedrock_result_free(&r);
            break;
        }
        delay = q_backoff_full_jitter_ms(retry, w->backoff_base_ms, w->backoff_cap_ms,
                                         next_random01(w));
        if (r.retry_after_ms > delay)
            delay = r.retry_after_ms > w->backoff_cap_ms ? w->backoff_cap_ms : r.retry_after_ms;
        bedrock_result_free(&r);
        if (sleep_interruptible(w, delay) != 0) {
            /* Left running: the lease expires and the job is claimed again later. */
            outcome = WORK_INTERRUPTED;
            break;
        }
    }
    free(body);
    return outcome;
}

work_outcome worker_process(worker *w, const q_job_message *m)
{
    job_work job;
    job_claim_result claim;
    work_outcome outcome;

    if (!w->rng)
        w->rng = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    for (int i = 0;; i++) {
        claim = jobs_claim(w->conn, m->id, w->owner, w->lease_seconds, &job);
        if (claim != JOB_CLAIM_ERROR)
            break;
        if (wait_for_database(w, i) != 0)
            return WORK_INTERRUPTED;
    }
    switch (claim) {
    case JOB_CLAIMED:
        break;
    case JOB_ALREADY_TERMINAL:
        q_log(Q_LOG_INFO, "job.skipped_terminal", json_pack("{s:s}", "job_id", m->id));
        return WORK_DONE;
    case JOB_LEASED_ELSEWHERE:
        q_log(Q_LOG_INFO, "job.skipped_leased", json_pack("{s:s}", "job_id", m->id));
        return WORK_DONE;
    case JOB_UNKNOWN:
        q_log(Q_LOG_WARN, "job.unknown", json_pack("{s:s}", "job_id", m->id));
        return WORK_DONE;
    case JOB_CLAIM_ERROR:
        return WORK_INTERRUPTED;
    }
    q_log(Q_LOG_DEBUG, "job.claimed", json_pack("{s:s,s:s}", "job_id", m->id, "model", job.model));
    outcome = call_model(w, m->id, &job);
    job_work_free(&job);
    return outcome;
}
