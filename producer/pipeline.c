/* pipeline.c - group commit into PostgreSQL, then Kafka (see pipeline.h). */
#include "pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "job_message.h"
#include "log.h"
#include "queue.h"
#include "store.h"

#define MAX_BATCH 4096
#define MAX_PENDING_REJECTIONS 20000
#define MAX_THREADS 16

/* What a produced job carries to its delivery report (the request is answered by then). */
typedef struct {
    unsigned long group;     /* its group commit, which picks its partition */
    long long published_us;  /* when produced (the last time, after a retry) */
    int attempts;
} published_job;

typedef struct rejection_node {
    intake_rejection r;
    struct rejection_node *next;
} rejection_node;

typedef struct {
    intake_pipeline *p;
    PGconn *conn;
    int prepared_pid;   /* the backend (session) the accept statement is prepared in */
    pthread_t thread;
} worker;

/* Where a submission's time goes, summed over an interval and logged at info level
 * ("intake.pipeline", every STATS_EVERY_US while there is traffic): waiting for a committer,
 * the commit call, waiting for the answering thread, and (after the answer) Kafka from
 * produce to delivery report. */
#define STATS_EVERY_US 10000000LL
typedef struct {
    long long since_us;
    long batches, jobs, answered, delivered;
    double wait_ms, commit_ms, commit_max_ms, answer_ms, answer_max_ms, kafka_ms, kafka_max_ms;
} pipeline_stats;

/* A group commit's accepted jobs, handed from its committer to the answering thread, so that
 * the next commit runs while these are produced and answered. */
typedef struct accepted_batch {
    intake_submission **items;
    size_t n;
    long long created_at_ms;
    char created_at[32];          /* as in the 202: 2026-12-03T11:22:36.822Z */
    long long committed_us;
    struct accepted_batch *next;
} accepted_batch;

struct intake_pipeline {
    pthread_mutex_t mu;
    pthread_mutex_t stats_mu;
    pipeline_stats stats;
    pthread_cond_t cv;
    intake_submission *head, *tail;   /* waiting submissions, in arrival order */
    size_t queued;
    long seq;
    int publish_attempts;             /* per job, before leaving it to the sweeper */
    int slow_commit_ms;               /* group commits this slow are logged */
    accepted_batch *acc_head, *acc_tail; /* committed, waiting for the answering thread */
    pthread_cond_t acc_cv;
    int answer_stopping;
    int answerer_running;
    pthread_t answerer;
    PGconn *answer_conn;              /* the answering thread's, for the rare failure */
    rejection_node *rej_head, *rej_tail;
    size_t rejections, rejections_dropped;
    int stopping;
    unsigned n_workers;
    worker workers[MAX_THREADS];
    intake_queue *queue;
    unsigned long batches;            /* group commits so far (under mu) */
};

static long long mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Adds d to the interval's figures (its maxima: the largest single value, when d counts
 * one); logs and restarts them when the interval is over. */
static void stats_add(intake_pipeline *p, const pipeline_stats *d)
{
    long long now = mono_us();
    pipeline_stats *st = &p->stats, out;
    int log = 0;

    pthread_mutex_lock(&p->stats_mu);
    if (!st->since_us)
        st->since_us = now;
    st->batches += d->batches;
    st->jobs += d->jobs;
    st->wait_ms += d->wait_ms;
    st->commit_ms += d->commit_ms;
    if (d->commit_max_ms > st->commit_max_ms)
        st->commit_max_ms = d->commit_max_ms;
    st->answered += d->answered;
    st->answer_ms += d->answer_ms;
    if (d->answer_max_ms > st->answer_max_ms)
        st->answer_max_ms = d->answer_max_ms;
    st->delivered += d->delivered;
    st->kafka_ms += d->kafka_ms;
    if (d->kafka_max_ms > st->kafka_max_ms)
        st->kafka_max_ms = d->kafka_max_ms;
    if (now - st->since_us >= STATS_EVERY_US) {
        out = *st;
        memset(st, 0, sizeof(*st));
        st->since_us = now;
        log = 1;
    }
    pthread_mutex_unlock(&p->stats_mu);
    if (log && q_log_enabled(Q_LOG_INFO))
        q_log(Q_LOG_INFO, "intake.pipeline",
              json_pack("{s:f,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "seconds",
                        (now - out.since_us) / 1e6, "batches", (json_int_t)out.batches, "jobs",
                        (json_int_t)out.jobs, "jobs_per_batch",
                        out.batches ? (double)out.jobs / out.batches : 0.0, "wait_ms_mean",
                        out.jobs ? out.wait_ms / out.jobs : 0.0, "commit_ms_mean",
                        out.batches ? out.commit_ms / out.batches : 0.0, "commit_ms_max",
                        out.commit_max_ms, "answer_ms_mean",
                        out.answered ? out.answer_ms / out.answered : 0.0, "answer_ms_max",
                        out.answer_max_ms, "kafka_ms_mean",
                        out.delivered ? out.kafka_ms / out.delivered : 0.0, "kafka_ms_max",
                        out.kafka_max_ms));
}

static void submission_free(void *arg)
{
    intake_submission *s = arg;

    if (!s)
        return;
    json_decref(s->body);
    free(s->idempotency_key);
    free(s);
}

intake_submission *intake_submission_new(http_request *req)
{
    intake_submission *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->req = req;
    req->user = s;
    req->user_free = submission_free;
    return s;
}

/* --- answering ------------------------------------------------------------------------------ */

static void answer_error(intake_submission *s, int status, const char *code, json_t *details,
                         const char *message)
{
    q_error e;

    q_error_set(&e, status, code, "%s", message);
    http_defer_reply_json(s->req, (unsigned)status, http_error_body(s->req, &e, details));
    http_resume(s->req); /* s belongs to the request: not touched after this */
}

static void answer_accepted(intake_submission *s, const char *created_at, const char *status,
                            int replayed)
{
    http_request *req = s->req;
    q_buf b;
    char *text;

    http_add_header(req, "Location", "/v1/questions/%s", s->id);
    if (replayed)
        http_add_header(req, "Idempotent-Replayed", "true");
    /* The busiest answer: written out by hand, the text json_dumps would give for
     * {"id","status","model","created_at","request_id"}. */
    q_buf_init(&b, 4096);
    if (q_buf_reserve(&b, 96 + strlen(s->id) + strlen(status) + strlen(s->model) +
                              strlen(created_at) + strlen(req->request_id)) != Q_BUF_OK ||
        q_buf_adds(&b, "{\"id\":") != Q_BUF_OK ||
        q_buf_add_json_string(&b, s->id, strlen(s->id), 1) != Q_BUF_OK ||
        q_buf_adds(&b, ",\"status\":") != Q_BUF_OK ||
        q_buf_add_json_string(&b, status, strlen(status), 1) != Q_BUF_OK ||
        q_buf_adds(&b, ",\"model\":") != Q_BUF_OK ||
        q_buf_add_json_string(&b, s->model, strlen(s->model), 1) != Q_BUF_OK ||
        q_buf_adds(&b, ",\"created_at\":") != Q_BUF_OK ||
        q_buf_add_json_string(&b, created_at, strlen(created_at), 1) != Q_BUF_OK ||
        q_buf_adds(&b, ",\"request_id\":") != Q_BUF_OK ||
        q_buf_add_json_string(&b, req->request_id, strlen(req->request_id), 1) != Q_BUF_OK ||
        q_buf_addc(&b, '}') != Q_BUF_OK || !(text = q_buf_take(&b))) {
        q_buf_free(&b);
        answer_error(s, 500, "INTERNAL", NULL, "out of memory");
        return;
    }
    http_defer_reply_text(req, 202, text);
    http_resume(req);
}

/* A new job, committed and handed to Kafka: logged and answered 202. */
static void answer_committed(intake_submission *s, const char *created_at)
{
    q_log_line line;

    if (q_log_begin(&line, Q_LOG_INFO, "job.accepted")) {
        q_log_str(&line, "job_id", s->id);
        q_log_str(&line, "request_id", s->req->request_id);
        q_log_int(&line, "api_key_id", s->key_id);
        q_log_str(&line, "model", s->model);
        q_log_int(&line, "question_chars", s->question_chars);
        q_log_int(&line, "max_tokens", s->max_tokens);
        q_log_bool(&line, "flagged", s->injection_reason != NULL);
        q_log_end(&line);
    }
    answer_accepted(s, created_at, "queued", 0);
}

static long seconds_to_utc_midnight(void)
{
    time_t now = time(NULL);

    return 86400 - (long)(now % 86400);
}

static unsigned long group_of(void *opaque)
{
    return ((published_job *)opaque)->group;
}

/* --- Kafka delivery reports (on the producer's poll thread) --------------------------------- */

/* The request was answered when the job committed; a job the broker did not acknowledge is
 * produced again (it is queued in PostgreSQL either way, and the consumer claims each job
 * once), and after publish_attempts it is left to the sweeper, which re-publishes jobs that
 * stay queued. */
static void on_delivered(void *opaque, const char *key, size_t key_len, const void *payload,
                         size_t len, const char *err, void *ctx)
{
    intake_pipeline *p = ctx;
    published_job *j = opaque;
    char job_id[Q_UUID_LEN + 1], why[160];
    int stopping;

    if (!err) {
        double ms = (mono_us() - j->published_us) / 1000.0;

        stats_add(p, &(pipeline_stats){.delivered = 1, .kafka_ms = ms, .kafka_max_ms = ms});
        free(j);
        return;
    }
    snprintf(job_id, sizeof(job_id), "%.*s", (int)(key_len < Q_UUID_LEN ? key_len : Q_UUID_LEN),
             key ? key : "");
    pthread_mutex_lock(&p->mu);
    stopping = p->stopping;
    pthread_mutex_unlock(&p->mu);
    if (!stopping && j->attempts < p->publish_attempts) {
        j->attempts++;
        j->published_us = mono_us();
        if (intake_queue_publish(p->queue, job_id, payload, len, j, why, sizeof(why)) == 0) {
            q_log(Q_LOG_WARN, "job.publish_retry",
                  json_pack("{s:s,s:s,s:i}", "job_id", job_id, "error", err, "attempt",
                            j->attempts));
            return;
        }
        err = why;
    }
    q_log(Q_LOG_ERROR, "job.publish_abandoned",
          json_pack("{s:s,s:s,s:i,s:s}", "job_id", job_id, "error", err, "attempts",
                    j->attempts, "then", "queued in PostgreSQL: the sweeper re-publishes it"));
    free(j);
}

static void fail_undelivered(PGconn *conn, intake_submission *s, const char *err)
{
    q_log(Q_LOG_ERROR, "job.enqueue_failed",
          json_pack("{s:s,s:s,s:s}", "job_id", s->id, "request_id", s->req->request_id,
                    "error", err));
    /* The row is committed but no 202 went out (Kafka would not even take the message, say
     * its local queue is full): end the job (releasing its reservation) so it is not left
     * queued, and tell the client to retry. */
    if (!conn || q_db_ensure(conn) != 0 ||
        intake_store_fail_job(conn, s->id, "QUEUE_UNAVAILABLE", "the job could not be queued"))
        q_log(Q_LOG_ERROR, "job.fail_unqueued_failed", json_pack("{s:s}", "job_id", s->id));
    answer_error(s, 503, "QUEUE_UNAVAILABLE", NULL, "the job queue is unavailable, retry later");
}

/* --- one batch ------------------------------------------------------------------------------ */

static int by_key_then_arrival(const void *a, const void *b)
{
    const intake_submission *x = *(intake_submission *const *)a;
    const intake_submission *y = *(intake_submission *const *)b;

    if (x->key_id != y->key_id)
        return x->key_id < y->key_id ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends one element of a PostgreSQL array literal: NULL, or a double-quoted string with
 * " and \ escaped (copied in runs between them). */
static void array_add_text(q_buf *b, int first, const char *v)
{
    q_buf_addc(b, first ? '{' : ',');
    if (!v) {
        q_buf_adds(b, "NULL");
        return;
    }
    q_buf_addc(b, '"');
    for (;;) {
        size_t run = strcspn(v, "\"\\");

        q_buf_add(b, v, run);
        if (!v[run])
            break;
        q_buf_addc(b, '\\');
        q_buf_addc(b, v[run]);
        v += run + 1;
    }
    q_buf_addc(b, '"');
}

enum { A_IDS, A_KEYS, A_QUESTIONS, A_MODELS, A_MAXTOK, A_TEMPS, A_RESTOK, A_RESUSD, A_INJ,
       A_CHARS, A_SCORES, A_REQIDS, A_IDEM, A_HASH, A_COUNT };

static void fail_batch(intake_submission **items, size_t n, int status, const char *code,
                       const char *msg)
{
    for (size_t i = 0; i < n; i++)
        answer_error(items[i], status, code, NULL, msg);
}

/* Produces an accepted job's message and answers 202 (503 when Kafka would not take it). */
static void answer_accepted_job(intake_pipeline *p, PGconn *conn, intake_submission *s,
                                long long created_at_ms, const char *created_at)
{
    q_job_message msg;
    published_job *j;
    char *payload, err[200];

    memset(&msg, 0, sizeof(msg));
    memcpy(msg.id, s->id, sizeof(msg.id));
    msg.api_key_id = s->key_id;
    snprintf(msg.model, sizeof(msg.model), "%s", s->model);
    msg.created_at_ms = created_at_ms;
    payload = q_job_message_encode(&msg);
    j = malloc(sizeof(*j));
    if (!payload || !j) {
        free(payload);
        free(j);
        fail_undelivered(conn, s, "out of memory");
        return;
    }
    j->group = s->group;
    j->published_us = mono_us();
    j->attempts = 1;
    if (intake_queue_publish(p->queue, s->id, payload, strlen(payload), j, err,
                             sizeof(err)) != 0) {
        free(j);
        fail_undelivered(conn, s, err);
    } else {
        answer_committed(s, created_at);
    }
    free(payload);
}

/* Answers a submission the accept call did not accept: quota, idempotency, key. */
static void answer_outcome(intake_pipeline *p, PGconn *conn, intake_submission *s,
                           const char *outcome, json_t *detail)
{
    if (strcmp(outcome, "quota") == 0) {
        intake_rejection r = {.key_id = s->key_id, .code = "QUOTA_EXCEEDED",
                              .action = "rejected", .question_chars = s->question_chars,
                              .score = -1};
        const char *limit = json_string_value(json_object_get(detail, "limit"));
        json_t *details = json_deep_copy(detail);
        char resets_at[32], msgbuf[200];
        time_t midnight = time(NULL) + seconds_to_utc_midnight();
        struct tm tm;

        r.reason = !limit                                    ? "quota"
                   : strcmp(limit, "daily_requests") == 0    ? "daily_requests"
                   : strcmp(limit, "daily_tokens") == 0      ? "daily_tokens"
                                                             : "daily_budget_usd";
        snprintf(r.request_id, sizeof(r.request_id), "%s", s->req->request_id);
        intake_pipeline_record(p, &r);
        gmtime_r(&midnight, &tm);
        strftime(resets_at, sizeof(resets_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(details, "resets_at", json_string(resets_at));
        http_add_header(s->req, "Retry-After", "%ld", seconds_to_utc_midnight());
        snprintf(msgbuf, sizeof(msgbuf),
                 "the daily limit %s of this API key would be exceeded (limit %s, used %s, "
                 "reserved %s); it resets at %s",
                 r.reason, json_string_value(json_object_get(detail, "limit_value")),
                 json_string_value(json_object_get(detail, "used")),
                 json_string_value(json_object_get(detail, "reserved")), resets_at);
        answer_error(s, 429, "QUOTA_EXCEEDED", details, msgbuf);
        return;
    }
    if (strcmp(outcome, "duplicate") == 0) {
        const char *job_id = json_string_value(json_object_get(detail, "job_id"));
        json_t *job = NULL;
        int terminal, found;

        if (!json_is_true(json_object_get(detail, "same_body"))) {
            answer_error(s, 409, "IDEMPOTENCY_CONFLICT", NULL,
                         "this Idempotency-Key was already used with a different request "
                         "body");
            return;
        }
        found = job_id ? intake_store_get_job(conn, job_id, s->key_id, &job, &terminal) : 0;
        if (found != 1) {
            answer_error(s, found < 0 ? 503 : 409,
                         found < 0 ? "DATABASE_UNAVAILABLE" : "IDEMPOTENCY_CONFLICT", NULL,
                         found < 0 ? "could not read the original job, retry later"
                                   : "the original job of this Idempotency-Key is gone");
            return;
        }
        snprintf(s->id, sizeof(s->id), "%s", job_id);
        /* The replay names the original job's model (borrowed from `job` below). */
        json_decref(s->body);
        s->body = job;
        s->model = json_string_value(json_object_get(job, "model"));
        answer_accepted(s, json_string_value(json_object_get(job, "created_at")),
                        json_string_value(json_object_get(job, "status")), 1);
        return;
    }
    if (strcmp(outcome, "retry") == 0) {
        answer_error(s, 409, "IDEMPOTENCY_CONFLICT", NULL,
                     "another request with this Idempotency-Key was not accepted; retry");
        return;
    }
    answer_error(s, 401, "INVALID_API_KEY", NULL, "the API key is unknown, disabled or expired");
}

/* Queues the batch's accepted submissions (answered[i] == 0) for the answering thread;
 * answers them here when memory runs out. */
static void hand_over_accepted(intake_pipeline *p, PGconn *conn, intake_submission **items,
                               size_t n, const char *answered, json_t *created)
{
    accepted_batch *b = calloc(1, sizeof(*b));
    long long created_at_ms = json_integer_value(json_object_get(created, "created_at_ms"));
    const char *created_at = json_string_value(json_object_get(created, "created_at"));

    if (!created_at)
        created_at = "";
    if (b)
        b->items = malloc(n * sizeof(*b->items));
    if (!b || !b->items) {
        free(b);
        for (size_t i = 0; i < n; i++)
            if (!answered[i])
                answer_accepted_job(p, conn, items[i], created_at_ms, created_at);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!answered[i])
            b->items[b->n++] = items[i];
    if (b->n == 0) {
        free(b->items);
        free(b);
        return;
    }
    b->created_at_ms = created_at_ms;
    snprintf(b->created_at, sizeof(b->created_at), "%s", created_at);
    b->committed_us = mono_us();
    pthread_mutex_lock(&p->mu);
    if (p->acc_tail)
        p->acc_tail->next = b;
    else
        p->acc_head = b;
    p->acc_tail = b;
    pthread_cond_signal(&p->acc_cv);
    pthread_mutex_unlock(&p->mu);
}

#define ACCEPT_STATEMENT "quarry_intake_accept"
#define ACCEPT_SQL                                                                         \
    "SELECT idx, outcome, detail::text FROM quarry_intake_accept("                          \
    "$1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::real[],"              \
    " $7::bigint[], $8::bigint[], $9::text[], $10::int[], $11::int[],"                      \
    " $12::text[], $13::text[], $14::bytea[])"

/* Prepares the accept call once per database session (again after a reconnect), instead of
 * parsing and planning it for every group commit. 0 or -1. */
static int prepare_accept(worker *w)
{
    int pid = PQbackendPID(w->conn);
    PGresult *res;
    int ok;

    if (pid != 0 && pid == w->prepared_pid)
        return 0;
    res = PQprepare(w->conn, ACCEPT_STATEMENT, ACCEPT_SQL, A_COUNT, NULL);
    ok = q_db_check(res, PGRES_COMMAND_OK, "prepare accept");
    PQclear(res);
    if (!ok)
        return -1;
    w->prepared_pid = pid;
    return 0;
}

/* Accepts n submissions (sorted by key) in one call. Returns 0, or -1 when the call failed
 * without any answer sent (`conn_failed` says whether the connection was at fault). */
static int try_batch(intake_pipeline *p, worker *w, intake_submission **items, size_t n,
                     int *conn_failed)
{
    PGconn *conn = w->conn;
    q_buf a[A_COUNT];
    const char *params[A_COUNT];
    PGresult *res = NULL;
    char num[64];
    int rc = -1;

    *conn_failed = 0;
    for (int i = 0; i < A_COUNT; i++)
        q_buf_init(&a[i], (size_t)1 << 30);
    for (size_t i = 0; i < n; i++) {
        intake_submission *s = items[i];
        char hash[80];

        array_add_text(&a[A_IDS], i == 0, s->id);
        snprintf(num, sizeof(num), "%lld", s->key_id);
        array_add_text(&a[A_KEYS], i == 0, num);
        array_add_text(&a[A_QUESTIONS], i == 0, s->question);
        array_add_text(&a[A_MODELS], i == 0, s->model);
        snprintf(num, sizeof(num), "%d", s->max_tokens);
        array_add_text(&a[A_MAXTOK], i == 0, num);
        snprintf(num, sizeof(num), "%.6f", s->temperature); /* [0, 1]: never a float4 underflow */
        array_add_text(&a[A_TEMPS], i == 0, s->has_temperature ? num : NULL);
        snprintf(num, sizeof(num), "%lld", s->reserved_tokens);
        array_add_text(&a[A_RESTOK], i == 0, num);
        snprintf(num, sizeof(num), "%lld", s->reserved_pico);
        array_add_text(&a[A_RESUSD], i == 0, num);
        array_add_text(&a[A_INJ], i == 0, s->injection_reason);
        snprintf(num, sizeof(num), "%d", s->question_chars);
        array_add_text(&a[A_CHARS], i == 0, num);
        snprintf(num, sizeof(num), "%d", s->injection_score);
        array_add_text(&a[A_SCORES], i == 0, s->injection_reason ? num : NULL);
        array_add_text(&a[A_REQIDS], i == 0, s->req->request_id);
        array_add_text(&a[A_IDEM], i == 0, s->idempotency_key);
        snprintf(hash, sizeof(hash), "\\x%s", s->body_sha256);
        array_add_text(&a[A_HASH], i == 0, s->idempotency_key ? hash : NULL);
    }
    for (int i = 0; i < A_COUNT; i++) {
        if (q_buf_addc(&a[i], '}') != Q_BUF_OK)
            goto out;
        params[i] = q_buf_cstr(&a[i]);
    }
    if (prepare_accept(w) != 0) {
        *conn_failed = PQstatus(conn) != CONNECTION_OK;
        goto out;
    }
    res = PQexecPrepared(conn, ACCEPT_STATEMENT, A_COUNT, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "accept batch")) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        /* 26000: the session lost its prepared statement (DISCARD ALL, a pooler): again */
        if (state && strcmp(state, "26000") == 0)
            w->prepared_pid = 0;
        *conn_failed = q_db_is_connection_error(res, conn);
        goto out;
    }
    {
        /* Row idx 0 carries created_at; then one row per submission NOT accepted. */
        char *answered = calloc(n, 1);
        json_t *created = NULL;

        if (!answered) {
            fail_batch(items, n, 500, "INTERNAL", "out of memory");
            rc = 0;
            goto out;
        }
        for (int r = 0; r < PQntuples(res); r++) {
            long idx = strtol(PQgetvalue(res, r, 0), NULL, 10);
            json_t *detail =
                PQgetisnull(res, r, 2) ? NULL : json_loads(PQgetvalue(res, r, 2), 0, NULL);

            if (idx == 0) {
                json_decref(created);
                created = detail;
                continue;
            }
            if (idx >= 1 && (size_t)idx <= n && !answered[idx - 1]) {
                answered[idx - 1] = 1;
                answer_outcome(p, conn, items[idx - 1], PQgetvalue(res, r, 1), detail);
            }
            json_decref(detail);
        }
        hand_over_accepted(p, conn, items, n, answered, created);
        json_decref(created);
        free(answered);
    }
    rc = 0;
out:
    PQclear(res);
    for (int i = 0; i < A_COUNT; i++)
        q_buf_free(&a[i]);
    return rc;
}

static void run_batch(intake_pipeline *p, worker *w, intake_submission **items, size_t n)
{
    PGconn *conn = w->conn;
    int conn_failed;

    qsort(items, n, sizeof(*items), by_key_then_arrival);
    if (q_db_ensure(conn) != 0) {
        fail_batch(items, n, 503, "DATABASE_UNAVAILABLE",
                   "the database is unavailable, retry later");
        return;
    }
    long long t0 = mono_us();
    double wait_ms = 0;

    for (size_t i = 0; i < n; i++)
        wait_ms += (t0 - items[i]->queued_us) / 1000.0;
    if (try_batch(p, w, items, n, &conn_failed) == 0) {
        double ms = (mono_us() - t0) / 1000.0;

        stats_add(p, &(pipeline_stats){.batches = 1, .jobs = (long)n, .wait_ms = wait_ms,
                                       .commit_ms = ms, .commit_max_ms = ms});
        /* Every submission waiting meanwhile waits this long: on a disk whose fdatasync
         * stalls (docs/benchmarks.md) this is where a latency tail comes from. */
        if (ms >= p->slow_commit_ms)
            q_log(Q_LOG_WARN, "intake.commit_slow",
                  json_pack("{s:f,s:I}", "ms", ms, "jobs", (json_int_t)n));
        return;
    }
    if (conn_failed || n == 1) {
        /* Whether it committed is unknown when the connection broke during the call: any
         * job that did is found by the sweeper, its reservation released when it ends. */
        fail_batch(items, n, 503, "DATABASE_UNAVAILABLE",
                   "could not store the question, retry later");
        return;
    }
    /* One bad element (say, a key deleted a moment ago) must not fail the others. */
    for (size_t i = 0; i < n; i++)
        if (try_batch(p, w, &items[i], 1, &conn_failed) != 0)
            fail_batch(&items[i], 1, 503, "DATABASE_UNAVAILABLE",
                       "could not store the question, retry later");
}

static void write_rejections(PGconn *conn, rejection_node *list)
{
    q_buf a[7];
    const char *params[7];
    char num[32];
    int first = 1;
    PGresult *res;

    for (int i = 0; i < 7; i++)
        q_buf_init(&a[i], (size_t)1 << 28);
    for (rejection_node *r = list; r; r = r->next, first = 0) {
        snprintf(num, sizeof(num), "%lld", r->r.key_id);
        array_add_text(&a[0], first, num);
        array_add_text(&a[1], first, r->r.code);
        array_add_text(&a[2], first, r->r.action);
        array_add_text(&a[3], first, r->r.reason);
        snprintf(num, sizeof(num), "%d", r->r.question_chars);
        array_add_text(&a[4], first, r->r.question_chars >= 0 ? num : NULL);
        snprintf(num, sizeof(num), "%d", r->r.score);
        array_add_text(&a[5], first, r->r.score >= 0 ? num : NULL);
        array_add_text(&a[6], first, r->r.request_id);
    }
    for (int i = 0; i < 7; i++) {
        q_buf_addc(&a[i], '}');
        params[i] = q_buf_cstr(&a[i]);
    }
    if (q_db_ensure(conn) == 0) {
        res = PQexecParams(conn,
                           "INSERT INTO intake_rejections (api_key_id, code, action, reason,"
                           " question_chars, score, request_id)"
                           " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[],"
                           " $4::text[], $5::int[], $6::smallint[], $7::text[])",
                           7, NULL, params, NULL, NULL, 0);
        q_db_check(res, PGRES_COMMAND_OK, "record rejections");
        PQclear(res);
    }
    for (int i = 0; i < 7; i++)
        q_buf_free(&a[i]);
}

/* --- threads -------------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    worker *w = arg;
    intake_pipeline *p = w->p;
    intake_submission **items = malloc(MAX_BATCH * sizeof(*items));

    if (!items)
        abort(); /* at startup, 32 KiB */
    pthread_setname_np(pthread_self(), "intake-commit");
    for (;;) {
        size_t n = 0, dropped = 0;
        rejection_node *rej = NULL;
        int stopping;

        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->rej_head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        while (p->head && n < MAX_BATCH) {
            items[n++] = p->head;
            p->head = p->head->next;
            p->queued--;
        }
        if (!p->head)
            p->tail = NULL;
        for (size_t i = 0; i < n; i++)
            items[i]->group = p->batches;
        p->batches++;
        if (n == 0 || p->rejections >= 256) {
            rej = p->rej_head;
            p->rej_head = p->rej_tail = NULL;
            p->rejections = 0;
            dropped = p->rejections_dropped;
            p->rejections_dropped = 0;
        }
        stopping = p->stopping && !p->head;
        pthread_mutex_unlock(&p->mu);

        if (n)
            run_batch(p, w, items, n);
        if (rej) {
            write_rejections(w->conn, rej);
            while (rej) {
                rejection_node *next = rej->next;
                free(rej);
                rej = next;
            }
        }
        if (dropped)
            q_log(Q_LOG_WARN, "rejections.dropped",
                  json_pack("{s:I}", "count", (json_int_t)dropped));
        if (stopping && n == 0)
            break;
    }
    free(items);
    return NULL;
}

/* The answering thread: produces and answers each committed batch in commit order. */
static void *answerer_main(void *arg)
{
    intake_pipeline *p = arg;

    pthread_setname_np(pthread_self(), "intake-answer");
    for (;;) {
        accepted_batch *b;
        double ms;

        pthread_mutex_lock(&p->mu);
        while (!p->acc_head && !p->answer_stopping)
            pthread_cond_wait(&p->acc_cv, &p->mu);
        b = p->acc_head;
        if (b) {
            p->acc_head = b->next;
            if (!p->acc_head)
                p->acc_tail = NULL;
        }
        pthread_mutex_unlock(&p->mu);
        if (!b)
            break; /* stopping, and nothing left */
        ms = (mono_us() - b->committed_us) / 1000.0;
        for (size_t i = 0; i < b->n; i++)
            answer_accepted_job(p, p->answer_conn, b->items[i], b->created_at_ms,
                                b->created_at);
        stats_add(p, &(pipeline_stats){.answered = (long)b->n, .answer_ms = ms * (double)b->n,
                                       .answer_max_ms = ms});
        free(b->items);
        free(b);
    }
    return NULL;
}

intake_pipeline *intake_pipeline_start(const intake_pipeline_config *cfg)
{
    intake_pipeline *p = calloc(1, sizeof(*p));
    unsigned threads = cfg->committers;

    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->stats_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->acc_cv, NULL);
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    p->publish_attempts = cfg->publish_attempts < 1 ? 1 : cfg->publish_attempts;
    p->slow_commit_ms = cfg->slow_commit_ms;
    /* linger.ms 10: the broker's acknowledgement is no longer in a submission's latency, so
     * the producer may wait to put several group commits (one partition each, see group_of)
     * into one produce request: at 128 connections Kafka's CPU per job 8-12 us against
     * 17-20 us with 1 ms, and 22-51% more accepted/s (docs/benchmarks.md, third round). */
    p->queue = intake_queue_start(cfg->brokers, cfg->topic,
                                  q_env_str("QUARRY_KAFKA_LINGER_MS", "10"), on_delivered,
                                  group_of, p);
    if (!p->queue)
        goto fail;
    p->answer_conn = q_db_connect(cfg->db_url, 30);
    if (!p->answer_conn)
        goto fail;
    if (pthread_create(&p->answerer, NULL, answerer_main, p) != 0)
        goto fail;
    p->answerer_running = 1;
    for (unsigned i = 0; i < threads; i++) {
        p->workers[i].p = p;
        p->workers[i].conn = q_db_connect(cfg->db_url, 30);
        if (!p->workers[i].conn)
            goto fail;
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
            PQfinish(p->workers[i].conn);
            goto fail;
        }
        p->n_workers++;
    }
    return p;
fail:
    intake_pipeline_free(p);
    return NULL;
}

void intake_pipeline_submit(intake_pipeline *p, intake_submission *s)
{
    int stopping;

    pthread_mutex_lock(&p->mu);
    stopping = p->stopping;
    if (!stopping) {
        s->seq = p->seq++;
        s->queued_us = mono_us();
        s->next = NULL;
        if (p->tail)
            p->tail->next = s;
        else
            p->head = s;
        p->tail = s;
        p->queued++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (stopping)
        answer_error(s, 503, "SERVICE_UNAVAILABLE", NULL, "the service is shutting down, retry");
}

void intake_pipeline_record(intake_pipeline *p, const intake_rejection *r)
{
    rejection_node *n = NULL;

    pthread_mutex_lock(&p->mu);
    if (p->rejections < MAX_PENDING_REJECTIONS && (n = malloc(sizeof(*n)))) {
        n->r = *r;
        n->next = NULL;
        if (p->rej_tail)
            p->rej_tail->next = n;
        else
            p->rej_head = n;
        p->rej_tail = n;
        p->rejections++;
        pthread_cond_signal(&p->cv);
    } else {
        p->rejections_dropped++;
    }
    pthread_mutex_unlock(&p->mu);
}

void intake_pipeline_stop(intake_pipeline *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_workers; i++)
        pthread_join(p->workers[i].thread, NULL);
    if (p->answerer_running) { /* it answers what the committers handed over, then ends */
        pthread_mutex_lock(&p->mu);
        p->answer_stopping = 1;
        pthread_cond_signal(&p->acc_cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->answerer, NULL);
        p->answerer_running = 0;
    }
    /* Every request is answered by now; the last jobs' messages get up to 10 s to reach
     * the broker, and any that do not stay queued in PostgreSQL for the sweeper. */
    intake_queue_stop(p->queue);
    p->queue = NULL;
}

void intake_pipeline_free(intake_pipeline *p)
{
    if (!p)
        return;
    intake_pipeline_stop(p);
    if (p->n_workers && p->rej_head)
        write_rejections(p->workers[0].conn, p->rej_head);
    while (p->rej_head) {
        rejection_node *next = p->rej_head->next;
        free(p->rej_head);
        p->rej_head = next;
    }
    for (unsigned i = 0; i < p->n_workers; i++)
        PQfinish(p->workers[i].conn);
    if (p->answer_conn)
        PQfinish(p->answer_conn);
    pthread_cond_destroy(&p->acc_cv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->stats_mu);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
