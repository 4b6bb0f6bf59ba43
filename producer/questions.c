/* questions.c - single questions and usage (see questions.h).
 *
 * A submission is checked in order of cost, cheapest first, so abuse is turned away before
 * it costs anything: key (in-memory cache), rate limit (in-memory bucket), body, JSON and
 * fields, model, prompt-injection screen; then the request is suspended and handed to the
 * accept pipeline, which reserves quota and commits in batches. */
#include "questions.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ids.h"
#include "log.h"

#define QUESTIONS_PREFIX "/v1/questions"
#define MAX_WAIT_SECONDS 60

static int idempotency_key_ok(const char *k)
{
    size_t n = 0;

    for (; k[n]; n++)
        if ((unsigned char)k[n] < 0x20 || (unsigned char)k[n] > 0x7e)
            return 0;
    return n >= 1 && n <= 255;
}

static void fixed_response(http_request *req)
{
    http_reply_json(req, 202,
                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "id",
                              "00000000-0000-7000-8000-000000000000", "status", "queued", "model",
                              "fixed", "created_at", "2026-01-01T00:00:00.000Z", "request_id",
                              req->request_id),
                    "/v1/questions/00000000-0000-7000-8000-000000000000");
}

void intake_question_submit(http_request *req, intake_api *api)
{
    q_api_key *key;
    q_question_limits limits;
    q_question q;
    q_error err;
    json_error_t jerr;
    json_t *body = NULL;
    intake_submission *s;
    const char *idem;
    q_injection_result screen;

    if (api->fixed_response) {
        fixed_response(req);
        return;
    }
    if (!(key = intake_authenticate(req, api)))
        return;
    if (!intake_rate_limit(req, api, key))
        goto out;
    if (req->server_busy) {
        http_add_header(req, "Retry-After", "1");
        intake_reply_error(req, 503, "SERVICE_UNAVAILABLE", "the server is busy, retry shortly");
        goto out;
    }
    if (req->body_too_big) {
        intake_reply_error(req, 413, "BODY_TOO_LARGE", "the request body is larger than this service accepts");
        goto out;
    }
    if (!intake_content_type_is(http_header(req, "Content-Type"), "application/json")) {
        intake_reply_error(req, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
        goto out;
    }
    idem = http_header(req, "Idempotency-Key");
    if (idem && !idempotency_key_ok(idem)) {
        intake_reply_error(req, 400, "INVALID_IDEMPOTENCY_KEY",
                    "Idempotency-Key must be 1 to 255 printable ASCII characters");
        goto out;
    }
    body = json_loadb(q_buf_cstr(&req->body), req->body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);
    if (!body) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            intake_reply_error(req, 400, "INVALID_CHARACTERS", "the request body is not valid UTF-8");
        else {
            q_error_set(&err, 400, "INVALID_JSON", "the request body is not valid JSON: %s at "
                        "position %d", jerr.text, jerr.position);
            http_reply_error(req, &err);
        }
        goto out;
    }
    limits = intake_question_limits(api, key);
    if (q_validate_question(body, &limits, &q, &err) != 0 ||
        intake_screen_question(api, req, key, &q, &screen, &err) != 0) {
        http_reply_error(req, &err);
        goto out;
    }

    s = intake_submission_new(req);
    if (!s || q_uuid_v7(s->id) != 0) {
        intake_reply_error(req, 500, "INTERNAL", "could not prepare the job");
        goto out;
    }
    s->key_id = key->id;
    s->question = q.question;
    s->model = q.model;
    s->max_tokens = q.max_tokens;
    s->has_temperature = q.has_temperature;
    s->temperature = q.temperature;
    s->question_chars = (int)q.question_chars;
    if (screen.kind != Q_INJECTION_NONE) {
        s->injection_reason = screen.reason;
        s->injection_score = screen.score;
    }
    if (intake_estimate_reservation(api, &q, &s->reserved_tokens, &s->reserved_pico) != 0) {
        intake_reply_error(req, 400, "UNKNOWN_MODEL", "the model has no price in force");
        goto out;
    }
    if (idem) {
        s->idempotency_key = strdup(idem);
        if (!s->idempotency_key) {
            intake_reply_error(req, 500, "INTERNAL", "out of memory");
            goto out;
        }
        q_api_key_hash_hex(q_buf_cstr(&req->body), req->body.len, s->body_sha256);
    }
    s->body = body; /* the question and model strings point into it */
    body = NULL;
    if (s->model == api->default_model)
        s->model = api->default_model; /* static configuration: outlives the request */
    q_api_key_release(key);
    http_suspend(req);
    intake_pipeline_submit(api->pipeline, s); /* the request is not touched after this */
    return;
out:
    json_decref(body);
    q_api_key_release(key);
}

/* --- reads ---------------------------------------------------------------------------------- */

typedef struct {
    intake_waiter w;
    long long key_id;
} poll_state;

/* Reads the job and answers, or parks the request until the job ends or the deadline. */
static void poll_job(http_request *req, intake_api *api, poll_state *ps)
{
    PGconn *conn;
    json_t *job = NULL;
    int terminal = 0, found, waiting = ps->w.deadline_ms > intake_now_ms();

    if (waiting)
        intake_listener_register(api->listener, &ps->w);
    conn = intake_store_acquire(api->store);
    found = conn ? intake_store_get_job(conn, ps->w.job_id, ps->key_id, &job, &terminal) : -1;
    if (conn)
        intake_store_release(api->store, conn);
    if (found == 1 && !terminal && waiting) {
        if (intake_listener_suspend(api->listener, &ps->w) == 0) {
            json_decref(job);
            return;
        }
        /* It ended between our read and the suspension: read it once more. */
        json_decref(job);
        conn = intake_store_acquire(api->store);
        found = conn ? intake_store_get_job(conn, ps->w.job_id, ps->key_id, &job, &terminal) : -1;
        if (conn)
            intake_store_release(api->store, conn);
    }
    intake_listener_unregister(api->listener, &ps->w);
    if (found < 0)
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not read the job, retry later");
    else if (found == 0)
        intake_reply_error(req, 404, "NOT_FOUND", "no question with this id exists for this API key");
    else
        http_reply_json(req, 200, job, NULL);
}

void intake_question_get(http_request *req, intake_api *api, const char *id)
{
    q_api_key *key;
    poll_state *ps;
    const char *wait = http_query(req, "wait");
    long wait_s = 0;

    if (req->resumed && req->user) {
        poll_job(req, api, req->user);
        return;
    }
    if (!(key = intake_authenticate(req, api)))
        return;
    if (wait) {
        char *end;
        wait_s = strtol(wait, &end, 10);
        if (!*wait || *end || wait_s < 0 || wait_s > MAX_WAIT_SECONDS) {
            q_api_key_release(key);
            intake_reply_error(req, 400, "INVALID_PARAMETER",
                        "wait must be a whole number of seconds from 0 to 60");
            return;
        }
    }
    /* Unknown, malformed and other keys' ids all look the same: 404. */
    if (!q_uuid_valid(id)) {
        q_api_key_release(key);
        intake_reply_error(req, 404, "NOT_FOUND", "no question with this id exists for this API key");
        return;
    }
    ps = calloc(1, sizeof(*ps));
    if (!ps) {
        q_api_key_release(key);
        intake_reply_error(req, 500, "INTERNAL", "out of memory");
        return;
    }
    req->user = ps;
    req->user_free = free;
    ps->key_id = key->id;
    ps->w.req = req;
    snprintf(ps->w.job_id, sizeof(ps->w.job_id), "%s", id);
    ps->w.deadline_ms = intake_now_ms() + wait_s * 1000;
    q_api_key_release(key);
    poll_job(req, api, ps);
}

void intake_question_cancel(http_request *req, intake_api *api, const char *id)
{
    q_api_key *key = intake_authenticate(req, api);
    PGconn *conn;
    char status[16] = "";
    json_t *job = NULL;
    int found = 0, terminal;

    if (!key)
        return;
    conn = intake_store_acquire(api->store);
    if (!conn) {
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "the database is unavailable, retry later");
        goto out;
    }
    found = q_uuid_valid(id) ? intake_store_cancel_job(conn, id, key->id, status) : 0;
    if (found == 1 && strcmp(status, "cancelled") == 0 &&
        intake_store_get_job(conn, id, key->id, &job, &terminal) != 1)
        found = -1;
    intake_store_release(api->store, conn);
    if (found < 0) {
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not cancel the job, retry later");
    } else if (found == 0) {
        intake_reply_error(req, 404, "NOT_FOUND", "no question with this id exists for this API key");
    } else if (!job) {
        q_error e;
        q_error_set(&e, 409, "JOB_NOT_CANCELLABLE",
                    "the job is %s: only a queued job can be cancelled", status);
        http_reply_error(req, &e);
    } else {
        http_reply_json(req, 200, job, NULL);
    }
out:
    q_api_key_release(key);
}

void intake_usage_get(http_request *req, intake_api *api)
{
    q_api_key *key = intake_authenticate(req, api);
    PGconn *conn;
    json_t *usage = NULL;

    if (!key)
        return;
    conn = intake_store_acquire(api->store);
    if (!conn || intake_store_usage(conn, key->id, &usage) != 0)
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not read the usage, retry later");
    else
        http_reply_json(req, 200, usage, NULL);
    if (conn)
        intake_store_release(api->store, conn);
    q_api_key_release(key);
}
