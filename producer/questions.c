/* questions.c - the intake's public API handlers (see questions.h). */
#include "questions.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ids.h"
#include "job_message.h"
#include "log.h"
#include "validate.h"

#define QUESTIONS_PREFIX "/v1/questions"

static void reply_error(http_request *req, unsigned status, const char *code, const char *msg)
{
    q_error e;

    q_error_set(&e, (int)status, code, "%s", msg);
    http_reply_error(req, &e);
}

/* The raw key from x-api-key or "Authorization: Bearer". NULL when neither is there. */
static const char *request_api_key(const http_request *req)
{
    const char *key = http_header(req, "x-api-key");
    const char *authz;

    if (key && *key)
        return key;
    authz = http_header(req, "Authorization");
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        authz += 7;
        while (*authz == ' ')
            authz++;
        return *authz ? authz : NULL;
    }
    return NULL;
}

/* Authenticates the request. Returns 1 with *key filled, or 0 after replying. */
static int authenticate(http_request *req, PGconn *conn, intake_key *key)
{
    const char *raw = request_api_key(req);
    char hash[65];
    int found;

    if (!raw) {
        reply_error(req, 401, "MISSING_API_KEY",
                    "an API key is required in the x-api-key header (or Authorization: Bearer)");
        return 0;
    }
    q_api_key_hash_hex(raw, strlen(raw), hash);
    found = intake_store_find_key(conn, hash, key);
    if (found < 0) {
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not check the API key, retry later");
        return 0;
    }
    if (found == 0) {
        reply_error(req, 401, "INVALID_API_KEY", "the API key is unknown, disabled or expired");
        return 0;
    }
    return 1;
}

static int model_known(const char *model, void *ctx)
{
    return q_prices_known((q_prices *)ctx, model);
}

static int model_allowed(const intake_key *key, const char *model)
{
    size_t i;
    json_t *m;

    if (!key->allowed_models)
        return 1;
    json_array_foreach(key->allowed_models, i, m)
        if (json_is_string(m) && strcmp(json_string_value(m), model) == 0)
            return 1;
    return 0;
}

static int is_json_content_type(const char *ct)
{
    size_t n = strlen("application/json");

    if (!ct || strncasecmp(ct, "application/json", n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static void submit_question(http_request *req, intake_api *api, PGconn *conn)
{
    intake_key key;
    q_question_limits limits;
    q_question q;
    q_error err;
    json_error_t jerr;
    json_t *body = NULL;
    q_job_message msg;
    intake_new_job job;
    char created_at[40], location[128], qerr[256];
    char *payload = NULL;

    if (!authenticate(req, conn, &key))
        return;
    if (req->body_too_big) {
        reply_error(req, 413, "BODY_TOO_LARGE", "the request body is larger than this service accepts");
        goto out;
    }
    if (!is_json_content_type(http_header(req, "Content-Type"))) {
        reply_error(req, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
        goto out;
    }
    body = json_loadb(q_buf_cstr(&req->body), req->body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);
    if (!body) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            reply_error(req, 400, "INVALID_CHARACTERS", "the request body is not valid UTF-8");
        else {
            q_error_set(&err, 400, "INVALID_JSON", "the request body is not valid JSON: %s at "
                        "position %d", jerr.text, jerr.position);
            http_reply_error(req, &err);
        }
        goto out;
    }
    limits = (q_question_limits){
        .min_question_chars = 1,
        .max_question_chars = (size_t)key.max_question_chars,
        .max_tokens_limit = api->max_tokens_limit,
        .default_max_tokens = api->default_max_tokens,
        .default_model = api->default_model,
        .is_known_model = model_known,
        .ctx = api->prices,
    };
    if (q_validate_question(body, &limits, &q, &err) != 0) {
        http_reply_error(req, &err);
        goto out;
    }
    if (!model_allowed(&key, q.model)) {
        q_error_set(&err, 403, "MODEL_NOT_ALLOWED", "this API key may not use model \"%.128s\"",
                    q.model);
        http_reply_error(req, &err);
        goto out;
    }

    memset(&msg, 0, sizeof(msg));
    if (q_uuid_v7(msg.id) != 0) {
        reply_error(req, 500, "INTERNAL", "could not generate a job id");
        goto out;
    }
    job = (intake_new_job){.id = msg.id, .api_key_id = key.id, .question = q.question,
                           .model = q.model, .max_tokens = q.max_tokens,
                           .has_temperature = q.has_temperature, .temperature = q.temperature};
    if (intake_store_insert_job(conn, &job, &msg.created_at_ms, created_at) != 0) {
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not store the question, retry later");
        goto out;
    }
    msg.api_key_id = key.id;
    snprintf(msg.model, sizeof(msg.model), "%s", q.model);
    payload = q_job_message_encode(&msg);
    if (!payload || intake_queue_publish(api->queue, msg.id, payload, strlen(payload), qerr,
                                         sizeof(qerr)) != 0) {
        /* The row is committed but no 202 went out: end the job so it is not left
         * queued forever, and tell the client to retry. */
        q_log(Q_LOG_ERROR, "job.enqueue_failed",
              json_pack("{s:s,s:s,s:s}", "job_id", msg.id, "request_id", req->request_id,
                        "error", payload ? qerr : "out of memory"));
        intake_store_fail_job(conn, msg.id, "QUEUE_UNAVAILABLE", "the job could not be queued");
        reply_error(req, 503, "QUEUE_UNAVAILABLE", "the job queue is unavailable, retry later");
        goto out;
    }
    q_log(Q_LOG_INFO, "job.accepted",
          json_pack("{s:s,s:s,s:I,s:s,s:i,s:i}", "job_id", msg.id, "request_id", req->request_id,
                    "api_key_id", (json_int_t)key.id, "model", q.model, "question_chars",
                    (int)q.question_chars, "max_tokens", q.max_tokens));
    snprintf(location, sizeof(location), QUESTIONS_PREFIX "/%s", msg.id);
    http_reply_json(req, 202,
                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", msg.id, "status", "queued", "model",
                              q.model, "created_at", created_at, "request_id", req->request_id),
                    location);
out:
    free(payload);
    json_decref(body);
    json_decref(key.allowed_models);
}

static void get_question(http_request *req, PGconn *conn, const char *id)
{
    intake_key key;
    json_t *job = NULL;
    int found;

    if (!authenticate(req, conn, &key))
        return;
    /* Unknown, malformed and other keys' ids all look the same: 404. */
    found = q_uuid_valid(id) ? intake_store_get_job(conn, id, key.id, &job) : 0;
    if (found < 0)
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not read the job, retry later");
    else if (found == 0)
        reply_error(req, 404, "NOT_FOUND", "no question with this id exists for this API key");
    else
        http_reply_json(req, 200, job, NULL);
    json_decref(key.allowed_models);
}

void intake_handle(http_request *req, void *ctx)
{
    intake_api *api = ctx;
    const char *path = req->path;
    PGconn *conn;

    if (strcmp(path, "/healthz") == 0) {
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
            reply_error(req, 405, "METHOD_NOT_ALLOWED", "use GET");
        else
            http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
        return;
    }
    if (strncmp(path, QUESTIONS_PREFIX, strlen(QUESTIONS_PREFIX)) != 0 ||
        (path[strlen(QUESTIONS_PREFIX)] != '\0' && path[strlen(QUESTIONS_PREFIX)] != '/')) {
        reply_error(req, 404, "NOT_FOUND", "no such endpoint");
        return;
    }
    path += strlen(QUESTIONS_PREFIX);
    if (*path == '\0' || strcmp(path, "/") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            reply_error(req, 405, "METHOD_NOT_ALLOWED", "use POST to submit a question");
            return;
        }
    } else if (strchr(path + 1, '/')) {
        reply_error(req, 404, "NOT_FOUND", "no such endpoint");
        return;
    } else if (strcmp(req->method, "GET") != 0) {
        reply_error(req, 405, "METHOD_NOT_ALLOWED", "use GET to read a question");
        return;
    }

    conn = intake_store_acquire(api->store);
    if (!conn) {
        reply_error(req, 503, "DATABASE_UNAVAILABLE", "the database is unavailable, retry later");
        return;
    }
    if (*path == '\0' || strcmp(path, "/") == 0)
        submit_question(req, api, conn);
    else
        get_question(req, conn, path + 1);
    intake_store_release(api->store, conn);
}
