/* pipeline.c - claimed jobs from queue to settlement (see pipeline.h). */
#include "pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bedrock.h"
#include "clock.h"
#include "db.h"
#include "ids.h"
#include "log.h"
#include "model_rate.h"
#include "money.h"

typedef struct model_state model_state;

typedef struct job {
    char id[Q_UUID_LEN + 1];
    partition_ref ref;
    job_work work;
    char *body;                    /* InvokeModel request body for body_family */
    q_bedrock_family body_family;  /* rebuilt when a fallback is of another family */
    time_t deadline;               /* wall clock */
    const char *route[Q_MAX_FALLBACKS + 1];
    size_t n_route, route_index;
    int attempts, bounded_calls, route_failures;
    long est_tokens;
    double not_before;             /* monotonic: when a waiting retry may go */
    int in_flight;
    struct job *next;              /* model queue */
    struct job *all_prev, *all_next;
    /* outcome, filled before the job joins a settle batch */
    const char *status;            /* "succeeded" | "failed" | "expired" */
    invoke_result result;          /* owned answer when succeeded */
    const char *answered_model;
    char cost[32];
    int has_cost;
    char error_code[64];
    char error_message[512];
} job;

struct model_state {
    char *id;
    q_model_rate rate;
    job *head[2], *tail[2];        /* [0] interactive, [1] batch (low priority) */
    double blocked_until;          /* monotonic: rate-limit wait */
    model_state *next;
};

typedef struct {
    char *model;
    double rpm, tpm;
} budget;

struct pipeline {
    pipeline_config cfg;
    PGconn *conn;
    invoker *inv;
    partitions *parts;
    q_prices *prices;
    const q_model_routes *routes;
    model_state *models;
    job *all;                      /* every job held */
    size_t held, held_low;
    size_t low_in_flight;
    job **timers;                  /* min-heap on not_before */
    size_t n_timers, cap_timers;
    job **settle;
    size_t n_settle, cap_settle;
    double settle_first;
    double db_retry_at;
    int db_failures;
    budget *budgets;
    size_t n_budgets;
    unsigned long long rng;
    pipeline_stats stats;
};

static double next_random01(pipeline *pl)
{
    /* xorshift64*: jitter only needs to be spread, not secret */
    pl->rng ^= pl->rng >> 12;
    pl->rng ^= pl->rng << 25;
    pl->rng ^= pl->rng >> 27;
    return (double)((pl->rng * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

/* "MODEL=RPM[/TPM];MODEL2=RPM" */
static int parse_budgets(pipeline *pl, const char *text)
{
    const char *p = text ? text : "";

    while (*p) {
        size_t len = strcspn(p, ";");
        const char *eq = memchr(p, '=', len);
        char num[64];
        budget *grown;
        double rpm, tpm = 0;
        char *end;

        if (len == 0) {
            p++;
            continue;
        }
        if (!eq || (size_t)(p + len - eq - 1) >= sizeof(num))
            goto bad;
        snprintf(num, sizeof(num), "%.*s", (int)(p + len - eq - 1), eq + 1);
        rpm = strtod(num, &end);
        if (*end == '/')
            tpm = strtod(end + 1, &end);
        if (*end || rpm < 0 || tpm < 0 || !isfinite(rpm) || !isfinite(tpm))
            goto bad;
        grown = realloc(pl->budgets, (pl->n_budgets + 1) * sizeof(*grown));
        if (!grown)
            return -1;
        pl->budgets = grown;
        pl->budgets[pl->n_budgets].model = strndup(p, (size_t)(eq - p));
        pl->budgets[pl->n_budgets].rpm = rpm;
        pl->budgets[pl->n_budgets].tpm = tpm;
        if (!pl->budgets[pl->n_budgets].model)
            return -1;
        pl->n_budgets++;
        p += len + (p[len] == ';');
        continue;
bad:
        q_log(Q_LOG_ERROR, "config.invalid",
              json_pack("{s:s,s:s}", "setting", "QUARRY_MODEL_BUDGETS", "msg",
                        "want MODEL=RPM[/TPM];... with non-negative numbers"));
        return -1;
    }
    return 0;
}

static model_state *model_for(pipeline *pl, const char *id)
{
    model_state *m;

    for (m = pl->models; m; m = m->next)
        if (strcmp(m->id, id) == 0)
            return m;
    m = calloc(1, sizeof(*m));
    if (!m || !(m->id = strdup(id))) {
        free(m);
        return NULL;
    }
    {
        double rpm = 0, tpm = 0;
        for (size_t i = 0; i < pl->n_budgets; i++)
            if (strcmp(pl->budgets[i].model, id) == 0) {
                rpm = pl->budgets[i].rpm;
                tpm = pl->budgets[i].tpm;
            }
        q_model_rate_init(&m->rate, rpm, tpm, mono_now());
    }
    m->next = pl->models;
    pl->models = m;
    return m;
}

pipeline *pipeline_new(const pipeline_config *cfg, PGconn *conn, invoker *inv,
                       partitions *parts, q_prices *prices, const q_model_routes *routes)
{
    pipeline *pl = calloc(1, sizeof(*pl));

    if (!pl)
        return NULL;
    pl->cfg = *cfg;
    pl->conn = conn;
    pl->inv = inv;
    pl->parts = parts;
    pl->prices = prices;
    pl->routes = routes;
    pl->rng = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32) ^
              0x9e3779b97f4a7c15ULL;
    if (parse_budgets(pl, cfg->model_budgets) != 0) {
        pipeline_free(pl);
        return NULL;
    }
    return pl;
}

static void job_free(pipeline *pl, job *j)
{
    if (j->all_prev)
        j->all_prev->all_next = j->all_next;
    else
        pl->all = j->all_next;
    if (j->all_next)
        j->all_next->all_prev = j->all_prev;
    pl->held--;
    if (j->ref.low_priority)
        pl->held_low--;
    job_work_free(&j->work);
    invoke_result_free(&j->result);
    free(j->body);
    free(j);
}

void pipeline_free(pipeline *pl)
{
    if (!pl)
        return;
    while (pl->all)
        job_free(pl, pl->all);
    while (pl->models) {
        model_state *m = pl->models;
        pl->models = m->next;
        free(m->id);
        free(m);
    }
    for (size_t i = 0; i < pl->n_budgets; i++)
        free(pl->budgets[i].model);
    free(pl->budgets);
    free(pl->timers);
    free(pl->settle);
    free(pl);
}

size_t pipeline_held(const pipeline *pl)
{
    return pl->held;
}

size_t pipeline_held_low(const pipeline *pl)
{
    return pl->held_low;
}

const pipeline_stats *pipeline_get_stats(const pipeline *pl)
{
    return &pl->stats;
}

/* --- queues and timers ------------------------------------------------------------------ */

static int timer_push(pipeline *pl, job *j);

static model_state *current_model(pipeline *pl, job *j)
{
    return model_for(pl, j->route[j->route_index]);
}

static void enqueue(pipeline *pl, job *j, int front)
{
    model_state *m = current_model(pl, j);
    int q = j->ref.low_priority;

    if (!m) { /* out of memory: try again in a second rather than lose it */
        j->not_before = mono_now() + 1;
        timer_push(pl, j);
        return;
    }
    j->next = NULL;
    if (front) {
        j->next = m->head[q];
        m->head[q] = j;
        if (!m->tail[q])
            m->tail[q] = j;
    } else {
        if (m->tail[q])
            m->tail[q]->next = j;
        else
            m->head[q] = j;
        m->tail[q] = j;
    }
}

static void heap_swap(job **h, size_t a, size_t b)
{
    job *t = h[a];
    h[a] = h[b];
    h[b] = t;
}

static int timer_push(pipeline *pl, job *j)
{
    size_t i;

    if (pl->n_timers == pl->cap_timers) {
        size_t ncap = pl->cap_timers ? pl->cap_timers * 2 : 64;
        job **grown = realloc(pl->timers, ncap * sizeof(*grown));
        if (!grown)
            return -1;
        pl->timers = grown;
        pl->cap_timers = ncap;
    }
    i = pl->n_timers++;
    pl->timers[i] = j;
    while (i && pl->timers[(i - 1) / 2]->not_before > pl->timers[i]->not_before) {
        heap_swap(pl->timers, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return 0;
}

static job *timer_pop(pipeline *pl)
{
    job *top = pl->timers[0];
    size_t i = 0;

    pl->timers[0] = pl->timers[--pl->n_timers];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < pl->n_timers && pl->timers[l]->not_before < pl->timers[m]->not_before)
            m = l;
        if (r < pl->n_timers && pl->timers[r]->not_before < pl->timers[m]->not_before)
            m = r;
        if (m == i)
            break;
        heap_swap(pl->timers, i, m);
        i = m;
    }
    return top;
}

/* --- settlement ------------------------------------------------------------------------- */

static void to_settle(pipeline *pl, job *j)
{
    if (pl->n_settle == pl->cap_settle) {
        size_t ncap = pl->cap_settle ? pl->cap_settle * 2 : 256;
        job **grown = realloc(pl->settle, ncap * sizeof(*grown));
        if (!grown) {
            /* cannot queue it: park it as a retry in a second, nothing is lost */
            j->not_before = mono_now() + 1;
            j->status = NULL;
            timer_push(pl, j);
            return;
        }
        pl->settle = grown;
        pl->cap_settle = ncap;
    }
    if (!pl->n_settle)
        pl->settle_first = mono_now();
    pl->settle[pl->n_settle++] = j;
}

static void finish_failed(pipeline *pl, job *j, const char *status, const char *code,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void finish_failed(pipeline *pl, job *j, const char *status, const char *code,
                          const char *fmt, ...)
{
    va_list ap;

    j->status = status;
    snprintf(j->error_code, sizeof(j->error_code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(j->error_message, sizeof(j->error_message), fmt, ap);
    va_end(ap);
    to_settle(pl, j);
}

static void price_answer(pipeline *pl, job *j)
{
    char name[256];
    q_price price;
    q_usage usage = {j->result.answer.input_tokens, j->result.answer.output_tokens,
                     j->result.answer.cache_read_tokens, j->result.answer.cache_write_tokens};
    int64_t pico;
    time_t now = time(NULL);

    q_model_price_name(j->answered_model, name, sizeof(name));
    if ((q_prices_lookup(pl->prices, name, now, &price) == 0 ||
         q_prices_lookup(pl->prices, j->work.model, now, &price) == 0) &&
        q_money_cost_pico(&price, &usage, &pico) == 0) {
        q_money_format_pico(pico, j->cost);
        j->has_cost = 1;
    } else {
        q_log(Q_LOG_ERROR, "prices.missing",
              json_pack("{s:s,s:s}", "job_id", j->id, "model", j->answered_model));
    }
}

int pipeline_flush(pipeline *pl)
{
    job_settlement *s;
    int settled;
    q_log_line line;

    if (!pl->n_settle)
        return 0;
    s = calloc(pl->n_settle, sizeof(*s));
    if (!s)
        return -1;
    for (size_t i = 0; i < pl->n_settle; i++) {
        job *j = pl->settle[i];
        const q_bedrock_answer *a = &j->result.answer;

        s[i] = (job_settlement){.id = j->id, .status = j->status, .attempts = j->attempts};
        if (strcmp(j->status, "succeeded") == 0) {
            s[i].answer = a->text;
            s[i].stop_reason = a->stop_reason;
            s[i].answered_model = j->answered_model;
            s[i].request_id = j->result.request_id;
            s[i].cost_usd = j->has_cost ? j->cost : NULL;
            s[i].input_tokens = a->input_tokens;
            s[i].output_tokens = a->output_tokens;
            s[i].cache_read_tokens = a->cache_read_tokens;
            s[i].cache_write_tokens = a->cache_write_tokens;
            s[i].latency_ms = j->result.latency_ms;
        } else {
            s[i].error_code = j->error_code;
            s[i].error_message = j->error_message;
        }
    }
    {
        double t0 = mono_now();
        settled = jobs_settle_batch(pl->conn, pl->cfg.owner, s, pl->n_settle);
        pl->stats.settle_ms += (mono_now() - t0) * 1000.0;
    }
    if (settled < 0) {
        long delay = q_backoff_full_jitter_ms(pl->db_failures++, 200, 5000, next_random01(pl));

        pl->db_retry_at = mono_now() + (double)(delay + 100) / 1000.0;
        q_db_ensure(pl->conn);
        free(s);
        return -1;
    }
    pl->db_failures = 0;
    pl->stats.settle_batches++;
    for (size_t i = 0; i < pl->n_settle; i++) {
        job *j = pl->settle[i];

        if (!s[i].settled) {
            pl->stats.lease_lost++;
            q_log(Q_LOG_WARN, "job.lease_lost", json_pack("{s:s}", "job_id", j->id));
        } else if (strcmp(j->status, "succeeded") == 0) {
            pl->stats.succeeded++;
            /* one line per job: built without jansson (same text as json_pack's) */
            if (q_log_begin(&line, Q_LOG_INFO, "job.succeeded")) {
                q_log_str(&line, "job_id", j->id);
                q_log_str(&line, "model", j->answered_model);
                q_log_int(&line, "attempts", j->attempts);
                q_log_int(&line, "input_tokens", (long long)j->result.answer.input_tokens);
                q_log_int(&line, "output_tokens", (long long)j->result.answer.output_tokens);
                q_log_str_or_null(&line, "cost_usd", j->has_cost ? j->cost : NULL);
                q_log_int(&line, "latency_ms", (long long)j->result.latency_ms);
                q_log_str(&line, "bedrock_request_id", j->result.request_id);
                q_log_end(&line);
            }
        } else {
            if (strcmp(j->status, "expired") == 0)
                pl->stats.expired++;
            else
                pl->stats.failed++;
            if (q_log_begin(&line, Q_LOG_INFO, "job.failed")) {
                q_log_str(&line, "job_id", j->id);
                q_log_str(&line, "status", j->status);
                q_log_str(&line, "error_code", j->error_code);
                q_log_int(&line, "attempts", j->attempts);
                q_log_end(&line);
            }
        }
        partitions_done(pl->parts, &j->ref);
        job_free(pl, j);
    }
    pl->n_settle = 0;
    free(s);
    return 0;
}

/* --- claiming --------------------------------------------------------------------------- */

/* The request body for the model the job goes to next: built at claim time for its first
 * model, and again only when a fallback is of another family (Claude <-> Nova). Returns 0,
 * or -1 on bad input or when out of memory (the old body is kept). */
static int build_body(pipeline *pl, job *j)
{
    q_bedrock_family f = q_bedrock_family_of(j->route[j->route_index]);
    char *body;

    if (j->body && j->body_family == f)
        return 0;
    body = q_bedrock_request_body(f, pl->cfg.system_prompt, j->work.question,
                                  j->work.max_tokens, j->work.has_temperature,
                                  j->work.temperature);
    if (!body)
        return -1;
    free(j->body);
    j->body = body;
    j->body_family = f;
    return 0;
}

int pipeline_claim(pipeline *pl, const char *const *ids, const partition_ref *refs, size_t n)
{
    job_claim *claims = calloc(n ? n : 1, sizeof(*claims));
    time_t now = time(NULL);
    size_t sys_len = pl->cfg.system_prompt ? strlen(pl->cfg.system_prompt) : 0;

    if (!claims)
        return -1;
    for (size_t i = 0; i < n; i++)
        claims[i].id = ids[i];
    double t0 = mono_now();
    int claimed = jobs_claim_batch(pl->conn, pl->cfg.owner, pl->cfg.lease_seconds, claims, n);

    pl->stats.claim_ms += (mono_now() - t0) * 1000.0;
    if (claimed != 0) {
        q_db_ensure(pl->conn);
        free(claims);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        job *j;

        if (claims[i].result != JOB_CLAIMED) {
            pl->stats.skipped++;
            q_log(Q_LOG_INFO, "job.skipped",
                  json_pack("{s:s,s:s}", "job_id", ids[i], "reason",
                            claims[i].result == JOB_ALREADY_TERMINAL   ? "terminal"
                            : claims[i].result == JOB_LEASED_ELSEWHERE ? "leased"
                                                                       : "unknown"));
            partitions_done(pl->parts, &refs[i]);
            continue;
        }
        j = calloc(1, sizeof(*j));
        if (!j) {
            /* leave it claimed: the lease expires and the sweeper re-publishes it */
            job_work_free(&claims[i].work);
            continue;
        }
        pl->stats.claimed++;
        snprintf(j->id, sizeof(j->id), "%s", ids[i]);
        j->ref = refs[i];
        j->work = claims[i].work;
        memset(&claims[i].work, 0, sizeof(claims[i].work));
        j->all_next = pl->all;
        if (pl->all)
            pl->all->all_prev = j;
        pl->all = j;
        pl->held++;
        if (j->ref.low_priority)
            pl->held_low++;
        j->deadline = (time_t)j->work.created_at_epoch +
                      (j->ref.low_priority ? pl->cfg.batch_deadline_seconds
                                           : pl->cfg.deadline_seconds);
        j->n_route = q_model_routes_for(pl->routes, j->work.model, j->route);
        j->est_tokens =
            (long)((strlen(j->work.question) + sys_len) / 4) + 16 + j->work.max_tokens;
        if (build_body(pl, j) != 0)
            finish_failed(pl, j, "failed", "INTERNAL", "could not build the model request");
        else if (now >= j->deadline)
            finish_failed(pl, j, "expired", "DEADLINE_EXCEEDED",
                          "the job was not started before its deadline");
        else
            enqueue(pl, j, 0);
    }
    free(claims);
    return 0;
}

/* --- calls ------------------------------------------------------------------------------ */

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

static void on_result(pipeline *pl, job *j, invoke_result *r)
{
    model_state *m = current_model(pl, j);
    double now = mono_now();
    const q_bedrock_error *e = &r->error;
    long delay;

    j->in_flight = 0;
    if (j->ref.low_priority)
        pl->low_in_flight--;
    if (m && (r->ok || e->retry == Q_RETRY_THROTTLED || e->http_status))
        q_model_rate_on_response(&m->rate, now, !r->ok && e->retry == Q_RETRY_THROTTLED);
    if (r->ok) {
        if (m)
            q_model_rate_correct_tokens(&m->rate, (long)(r->answer.input_tokens +
                                                         r->answer.output_tokens) -
                                                      j->est_tokens);
        j->result = *r;
        memset(&r->answer, 0, sizeof(r->answer)); /* the job owns the answer now */
        j->answered_model = j->route[j->route_index];
        j->status = "succeeded";
        price_answer(pl, j);
        to_settle(pl, j);
        return;
    }
    if (e->retry == Q_RETRY_THROTTLED)
        pl->stats.throttled++;
    q_log(Q_LOG_WARN, "bedrock.call_failed",
          json_pack("{s:s,s:s,s:i,s:s,s:i,s:s}", "job_id", j->id, "model",
                    j->route[j->route_index], "attempt", j->attempts, "error_code", e->code,
                    "http_status", e->http_status, "bedrock_request_id", r->request_id));
    if (e->retry == Q_RETRY_BOUNDED)
        j->bounded_calls++;
    if (e->retry == Q_RETRY_NEVER || j->attempts >= pl->cfg.max_attempts ||
        (e->retry == Q_RETRY_BOUNDED && j->bounded_calls >= pl->cfg.max_bounded_attempts)) {
        finish_failed(pl, j, "failed", failure_code(e),
                      "bedrock answered %s (HTTP %d) after %d attempt%s on %s: %s", e->code,
                      e->http_status, j->attempts, j->attempts == 1 ? "" : "s",
                      j->route[j->route_index], e->message);
        return;
    }
    delay = q_backoff_full_jitter_ms(j->attempts - 1, pl->cfg.backoff_base_ms,
                                     pl->cfg.backoff_cap_ms, next_random01(pl));
    if (r->retry_after_ms > delay)
        delay = r->retry_after_ms > pl->cfg.backoff_cap_ms ? pl->cfg.backoff_cap_ms
                                                           : r->retry_after_ms;
    if (e->retry == Q_RETRY_THROTTLED || e->retry == Q_RETRY_TRANSIENT) {
        if (++j->route_failures >= pl->cfg.fallback_after && j->route_index + 1 < j->n_route) {
            q_log(Q_LOG_INFO, "job.fallback",
                  json_pack("{s:s,s:s,s:s,s:s}", "job_id", j->id, "from",
                            j->route[j->route_index], "to", j->route[j->route_index + 1],
                            "reason", "failures"));
            j->route_index++;
            j->route_failures = 0;
            delay = 0; /* a different model: no reason to wait */
        }
    }
    if (time(NULL) + (delay + 999) / 1000 >= j->deadline) {
        finish_failed(pl, j, "expired", "DEADLINE_EXCEEDED",
                      "the job's deadline passed while retrying; last error %s (HTTP %d): %s",
                      e->code, e->http_status, e->message);
        return;
    }
    pl->stats.retries++;
    j->not_before = now + (double)delay / 1000.0;
    if (timer_push(pl, j) != 0)
        finish_failed(pl, j, "failed", "INTERNAL", "out of memory scheduling a retry");
}

static void on_done(void *call_ctx, invoke_result *r, void *run_ctx)
{
    on_result(run_ctx, call_ctx, r);
}

static job *pop_head(model_state *m, int q)
{
    job *j = m->head[q];

    m->head[q] = j->next;
    if (!m->head[q])
        m->tail[q] = NULL;
    return j;
}

/* Starts calls for one model's queue q until it is empty, the model's rate limit says
 * wait, or the in-flight limits are reached. */
static void dispatch_queue(pipeline *pl, model_state *m, int q, double now, time_t wall)
{
    while (m->head[q] && invoker_in_flight(pl->inv) < pl->cfg.max_in_flight &&
           (q == 0 || pl->low_in_flight < pl->cfg.max_low_in_flight)) {
        job *j = m->head[q];
        invoke_result fail;
        long wait;

        if (wall >= j->deadline) {
            pop_head(m, q);
            finish_failed(pl, j, "expired", "DEADLINE_EXCEEDED",
                          "the job reached its deadline while waiting to be sent");
            continue;
        }
        wait = now < m->blocked_until ? (long)((m->blocked_until - now) * 1000.0) + 1
                                       : q_model_rate_acquire(&m->rate, now, j->est_tokens);
        if (wait > 0) {
            if (now >= m->blocked_until)
                m->blocked_until = now + (double)wait / 1000.0;
            /* The model is being throttled and would hold this job back: a job that has
             * a fallback goes there now instead of queueing behind it. */
            if (wait >= pl->cfg.fallback_wait_ms && m->rate.enabled &&
                j->route_index + 1 < j->n_route) {
                pop_head(m, q);
                q_log(Q_LOG_INFO, "job.fallback",
                      json_pack("{s:s,s:s,s:s,s:s}", "job_id", j->id, "from",
                                j->route[j->route_index], "to", j->route[j->route_index + 1],
                                "reason", "rate_limited"));
                j->route_index++;
                j->route_failures = 0;
                enqueue(pl, j, 0);
                continue;
            }
            return;
        }
        pop_head(m, q);
        if (build_body(pl, j) != 0) {
            finish_failed(pl, j, "failed", "INTERNAL", "could not build the model request");
            continue;
        }
        j->attempts++;
        j->in_flight = 1;
        if (j->ref.low_priority)
            pl->low_in_flight++;
        if (invoker_start(pl->inv, j->route[j->route_index], j->body, j, &fail) != 0) {
            on_result(pl, j, &fail);
            invoke_result_free(&fail);
        }
    }
}

static void dispatch(pipeline *pl)
{
    double now = mono_now();
    time_t wall = time(NULL);

    /* every model's interactive queue before any batch queue */
    for (int q = 0; q < 2; q++)
        for (model_state *m = pl->models; m; m = m->next)
            dispatch_queue(pl, m, q, now, wall);
}

static void fire_timers(pipeline *pl)
{
    double now = mono_now();

    while (pl->n_timers && pl->timers[0]->not_before <= now) {
        job *j = timer_pop(pl);

        if (j->status) /* a settlement that could not be queued earlier */
            to_settle(pl, j);
        else
            enqueue(pl, j, 1); /* retries go first: they have waited already */
    }
}

void pipeline_step(pipeline *pl, int wait_ms)
{
    double now;

    fire_timers(pl);
    dispatch(pl);
    invoker_run(pl->inv, wait_ms, on_done, pl);
    fire_timers(pl);
    dispatch(pl);
    now = mono_now();
    if (pl->n_settle && now >= pl->db_retry_at &&
        (pl->n_settle >= pl->cfg.settle_batch ||
         (now - pl->settle_first) * 1000.0 >= (double)pl->cfg.settle_delay_ms))
        pipeline_flush(pl);
}

int pipeline_idle_ms(const pipeline *pl, int cap_ms)
{
    double now = mono_now(), next = now + (double)cap_ms / 1000.0;

    if (pl->n_timers && pl->timers[0]->not_before < next)
        next = pl->timers[0]->not_before;
    /* A queued job is due only if it could be sent: at the in-flight limit the next
     * event is a finished call, which wakes the loop by itself (no busy waiting). */
    if (invoker_in_flight(pl->inv) < pl->cfg.max_in_flight)
        for (const model_state *m = pl->models; m; m = m->next) {
            int sendable = m->head[0] ||
                           (m->head[1] && pl->low_in_flight < pl->cfg.max_low_in_flight);
            if (sendable && m->blocked_until < next)
                next = m->blocked_until > now ? m->blocked_until : now;
        }
    if (pl->n_settle) {
        double due = pl->settle_first + (double)pl->cfg.settle_delay_ms / 1000.0;
        if (due < next)
            next = due > now ? due : now;
    }
    return next <= now ? 0 : (int)ceil((next - now) * 1000.0);
}

/* --- drain ------------------------------------------------------------------------------ */

static long release(pipeline *pl, int include_in_flight)
{
    const char **ids = calloc(pl->held ? pl->held : 1, sizeof(*ids));
    job **victims = calloc(pl->held ? pl->held : 1, sizeof(*victims));
    size_t n = 0;
    long released;

    if (!ids || !victims) {
        free(ids);
        free(victims);
        return -1;
    }
    for (job *j = pl->all; j; j = j->all_next) {
        int settling = 0;

        for (size_t i = 0; i < pl->n_settle && !settling; i++)
            settling = pl->settle[i] == j;
        if (settling || (j->in_flight && !include_in_flight))
            continue;
        ids[n] = j->id;
        victims[n++] = j;
    }
    released = jobs_release_batch(pl->conn, pl->cfg.owner, ids, n);
    if (released >= 0 && !include_in_flight) {
        /* Their messages stay uncommitted, so whoever owns the partition next gets them. */
        for (model_state *m = pl->models; m; m = m->next)
            m->head[0] = m->tail[0] = m->head[1] = m->tail[1] = NULL;
        pl->n_timers = 0;
        for (size_t i = 0; i < n; i++)
            job_free(pl, victims[i]);
    }
    if (released >= 0)
        q_log(Q_LOG_INFO, "jobs.released", json_pack("{s:I,s:b}", "count", (json_int_t)released,
                                                     "in_flight", include_in_flight));
    free(ids);
    free(victims);
    return released;
}

long pipeline_release_waiting(pipeline *pl)
{
    return release(pl, 0);
}

long pipeline_release_all(pipeline *pl)
{
    return release(pl, 1);
}
