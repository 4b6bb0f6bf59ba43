/* batches.c - the batch API (see batches.h). */
#include "batches.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch_reader.h"
#include "config.h"
#include "db.h"
#include "ids.h"
#include "job_message.h"
#include "log.h"
#include "queue.h"

#define MAX_LISTED_ERRORS 1000
#define MAX_MODELS 64
#define COPY_FLUSH_BYTES (256 * 1024)
#define RESULTS_PAGE 1000
#define RESULTS_PAGE_SQL "1000"
#define CANCEL_CHUNK 5000
#define CANCEL_CHUNK_SQL "5000"
#define PUBLISH_WINDOW 2000 /* a batch's messages waiting for the broker at most */
#define ISO_MS "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"

struct intake_batches {
    intake_batches_config cfg;
    intake_queue *queue;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int uploads;                 /* uploads holding a slot (streaming or finishing) */
    int finishing;               /* uploads in a finishing thread */
    int stopping;
};

/* One upload, from its headers to its answer; owned by its request (req->user). */
typedef struct {
    intake_batches *owner;
    intake_api *api;
    http_request *req;
    q_api_key *key;
    int strict;
    q_batch_format format;
    q_batch_reader *reader;
    PGconn *conn;                /* its own connection: the transaction spans the upload */
    int copying;                 /* COPY FROM STDIN in progress */
    char id[Q_UUID_LEN + 1];
    q_buf copy;                  /* COPY rows not yet sent */
    long long bytes;             /* body bytes so far */
    long requests;               /* requests seen, valid or not */
    /* accepted jobs: id and model (an index into models) */
    char (*job_ids)[Q_UUID_LEN + 1];
    unsigned char *job_models;
    size_t n_jobs, cap_jobs;
    char *models[MAX_MODELS];
    int n_models;
    /* custom_ids of the accepted jobs: open addressing, power-of-two size */
    char **custom_ids;
    size_t custom_ids_size;
    json_t *errors;              /* the first MAX_LISTED_ERRORS invalid requests */
    long errors_total;
    /* the upload's own failure, answered instead of the batch */
    unsigned fail_status;
    const char *fail_code;
    char fail_message[256];
    /* finishing */
    long pending;                /* Kafka deliveries not yet reported */
    long in_flight;              /* produced, delivery not yet reported */
    long delivery_failures;
} batch_upload;

/* --- setup -------------------------------------------------------------------------------- */

static void on_delivered(void *opaque, const char *key, size_t key_len, const void *payload,
                         size_t len, const char *err, void *ctx)
{
    batch_upload *u = opaque;
    intake_batches *b = ctx;

    (void)key, (void)key_len, (void)payload, (void)len;
    pthread_mutex_lock(&b->mu);
    if (err)
        u->delivery_failures++;
    u->in_flight--;
    if (--u->pending == 0 || u->in_flight == PUBLISH_WINDOW - 1)
        pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

intake_batches *intake_batches_start(const intake_batches_config *cfg)
{
    intake_batches *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->cfg = *cfg;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->queue = intake_queue_start(cfg->brokers, cfg->topic,
                                  q_env_str("QUARRY_BATCH_KAFKA_LINGER_MS", "20"), on_delivered, NULL,
                                  b);
    if (!b->queue) {
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv);
        free(b);
        return NULL;
    }
    return b;
}

void intake_batches_stop(intake_batches *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    while (b->finishing > 0)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

void intake_batches_free(intake_batches *b)
{
    if (!b)
        return;
    intake_batches_stop(b);
    intake_queue_stop(b->queue);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

static void upload_free(void *p)
{
    batch_upload *u = p;

    if (!u)
        return;
    if (u->conn)
        PQfinish(u->conn); /* an open transaction is rolled back */
    q_batch_reader_free(u->reader);
    q_buf_free(&u->copy);
    free(u->job_ids);
    free(u->job_models);
    for (int i = 0; i < u->n_models; i++)
        free(u->models[i]);
    if (u->custom_ids) {
        for (size_t i = 0; i < u->custom_ids_size; i++)
            free(u->custom_ids[i]);
        free(u->custom_ids);
    }
    json_decref(u->errors);
    q_api_key_release(u->key);
    pthread_mutex_lock(&u->owner->mu);
    u->owner->uploads--;
    pthread_mutex_unlock(&u->owner->mu);
    free(u);
}

/* --- the upload, request by request -------------------------------------------------------- */

static void set_failure(batch_upload *u, unsigned status, const char *code, const char *msg)
{
    if (u->fail_status)
        return;
    u->fail_status = status;
    u->fail_code = code;
    snprintf(u->fail_message, sizeof(u->fail_message), "%s", msg);
}

/* Records an invalid request: listed (up to MAX_LISTED_ERRORS) with its position. */
static void add_error(batch_upload *u, long position, const char *custom_id, const char *code,
                      const char *message)
{
    json_t *e;

    u->errors_total++;
    if (json_array_size(u->errors) >= MAX_LISTED_ERRORS)
        return;
    e = json_pack("{s:I}", u->format == Q_BATCH_FORMAT_JSONL ? "line" : "index",
                  (json_int_t)position);
    if (!e)
        return;
    if (custom_id)
        json_object_set_new(e, "custom_id", json_string(custom_id));
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "message", json_string(message));
    json_array_append_new(u->errors, e);
}

static int custom_id_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return n >= 1 && n <= 64;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/* Adds custom_id to the set. Returns 1 when added, 0 when already there, -1 out of memory.
 * The set is sized for max_requests at half load, so it never fills. */
static int custom_id_add(batch_upload *u, const char *id)
{
    size_t mask, i;

    if (!u->custom_ids) {
        size_t size = 64;
        while (size < (size_t)u->owner->cfg.max_requests * 2)
            size <<= 1;
        u->custom_ids = calloc(size, sizeof(char *));
        if (!u->custom_ids)
            return -1;
        u->custom_ids_size = size;
    }
    mask = u->custom_ids_size - 1;
    for (i = hash_str(id) & mask; u->custom_ids[i]; i = (i + 1) & mask)
        if (strcmp(u->custom_ids[i], id) == 0)
            return 0;
    u->custom_ids[i] = strdup(id);
    return u->custom_ids[i] ? 1 : -1;
}

static int model_index(batch_upload *u, const char *model)
{
    for (int i = 0; i < u->n_models; i++)
        if (strcmp(u->models[i], model) == 0)
            return i;
    if (u->n_models == MAX_MODELS || !(u->models[u->n_models] = strdup(model)))
        return -1;
    return u->n_models++;
}

/* COPY text format: backslash, tab, newline and carriage return escaped (validation has
 * already refused every other control character). */
static int copy_text(q_buf *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r" : NULL;
        if (!esc)
            continue;
        if (q_buf_add(b, run, (size_t)(s - run)) != Q_BUF_OK || q_buf_adds(b, esc) != Q_BUF_OK)
            return -1;
        run = s + 1;
    }
    return q_buf_adds(b, run) == Q_BUF_OK ? 0 : -1;
}

static int copy_flush(batch_upload *u)
{
    if (!u->copy.len)
        return 0;
    if (PQputCopyData(u->conn, q_buf_cstr(&u->copy), (int)u->copy.len) != 1) {
        q_log(Q_LOG_ERROR, "batch.copy_failed",
              json_pack("{s:s,s:s}", "batch_id", u->id, "error", PQerrorMessage(u->conn)));
        return -1;
    }
    q_buf_reset(&u->copy);
    return 0;
}

/* Appends the job to the COPY and to the accepted list. Returns 0, or -1 (failure set). */
static int accept_request(batch_upload *u, const q_question *q, const char *custom_id,
                          long line, const q_injection_result *screen, long long res_tokens,
                          long long res_pico)
{
    char job_id[Q_UUID_LEN + 1];
    int model = model_index(u, q->model);
    int ok;

    if (model < 0 || q_uuid_v7(job_id) != 0) {
        set_failure(u, 500, "INTERNAL", "could not prepare a job");
        return -1;
    }
    if (u->n_jobs == u->cap_jobs) {
        size_t cap = u->cap_jobs ? u->cap_jobs * 2 : 1024;
        void *ids = realloc(u->job_ids, cap * sizeof(*u->job_ids));
        void *models = ids ? realloc(u->job_models, cap) : NULL;

        if (ids)
            u->job_ids = ids;
        if (!ids || !models) {
            set_failure(u, 500, "INTERNAL", "out of memory");
            return -1;
        }
        u->job_models = models;
        u->cap_jobs = cap;
    }
    ok = q_buf_printf(&u->copy, "%s\t%lld\t", job_id, u->key->id) == Q_BUF_OK &&
         copy_text(&u->copy, q->question) == 0 &&
         q_buf_printf(&u->copy, "\t%s\t%d\t", q->model, q->max_tokens) == Q_BUF_OK &&
         (q->has_temperature ? q_buf_printf(&u->copy, "%.17g", q->temperature)
                             : q_buf_adds(&u->copy, "\\N")) == Q_BUF_OK &&
         q_buf_printf(&u->copy, "\t%lld\t%lld.%012lld\t%s\t%s\t%s\t%ld\n", res_tokens,
                      res_pico / 1000000000000LL, res_pico % 1000000000000LL,
                      screen->kind != Q_INJECTION_NONE ? screen->reason : "\\N", u->id,
                      custom_id, line) == Q_BUF_OK;
    if (!ok) {
        set_failure(u, 500, "INTERNAL", "out of memory");
        return -1;
    }
    memcpy(u->job_ids[u->n_jobs], job_id, sizeof(job_id));
    u->job_models[u->n_jobs] = (unsigned char)model;
    u->n_jobs++;
    if (u->copy.len >= COPY_FLUSH_BYTES && copy_flush(u) != 0) {
        set_failure(u, 503, "DATABASE_UNAVAILABLE", "the database failed during the upload");
        return -1;
    }
    return 0;
}

/* One request of the upload (a q_batch_item_fn). Invalid requests are recorded and skipped;
 * returns -1 only when the whole upload must stop (failure set). */
static int on_request(void *ctx, const char *data, size_t len, long position, int too_large)
{
    batch_upload *u = ctx;
    long line = u->format == Q_BATCH_FORMAT_JSONL ? position : position + 1;
    json_error_t jerr;
    json_t *body, *cid;
    char custom_id[65] = "";
    q_question_limits limits;
    q_question q;
    q_injection_result screen;
    q_error err;
    long long res_tokens, res_pico;
    int rc = 0, added;

    if (++u->requests > u->owner->cfg.max_requests) {
        char msg[128];
        snprintf(msg, sizeof(msg), "a batch holds at most %ld requests",
                 u->owner->cfg.max_requests);
        set_failure(u, 413, "BATCH_TOO_LARGE", msg);
        return -1;
    }
    if (too_large) {
        add_error(u, position, NULL, "REQUEST_TOO_LARGE",
                  "the request is larger than this service accepts for one question");
        return 0;
    }
    body = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!body) {
        if (json_error_code(&jerr) == json_error_invalid_utf8) {
            add_error(u, position, NULL, "INVALID_CHARACTERS", "the request is not valid UTF-8");
        } else {
            char msg[320];
            snprintf(msg, sizeof(msg), "the request is not valid JSON: %s at position %d",
                     jerr.text, jerr.position);
            add_error(u, position, NULL, "INVALID_JSON", msg);
        }
        return 0;
    }
    cid = json_object_get(body, "custom_id");
    if (json_is_string(cid) && custom_id_ok(json_string_value(cid)))
        snprintf(custom_id, sizeof(custom_id), "%s", json_string_value(cid));
    if (!json_is_object(body)) {
        add_error(u, position, NULL, "INVALID_JSON", "a request must be a JSON object");
        goto out;
    }
    if (!*custom_id) {
        add_error(u, position, NULL, "INVALID_CUSTOM_ID",
                  cid ? "custom_id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"
                      : "custom_id is required");
        goto out;
    }
    json_object_del(body, "custom_id");
    limits = intake_question_limits(u->api, u->key);
    if (q_validate_question(body, &limits, &q, &err) != 0 ||
        intake_screen_question(u->api, u->req, u->key, &q, &screen, &err) != 0) {
        add_error(u, position, custom_id, err.code, err.message);
        goto out;
    }
    if (intake_estimate_reservation(u->api, &q, &res_tokens, &res_pico) != 0) {
        add_error(u, position, custom_id, "UNKNOWN_MODEL", "the model has no price in force");
        goto out;
    }
    added = custom_id_add(u, custom_id);
    if (added == 0) {
        add_error(u, position, custom_id, "DUPLICATE_CUSTOM_ID",
                  "an earlier request of this batch has the same custom_id");
        goto out;
    }
    if (added < 0) {
        set_failure(u, 500, "INTERNAL", "out of memory");
        rc = -1;
        goto out;
    }
    rc = accept_request(u, &q, custom_id, line, &screen, res_tokens, res_pico);
out:
    json_decref(body);
    return rc;
}

static void reply_failure(batch_upload *u)
{
    if (strcmp(u->fail_code, "SERVICE_UNAVAILABLE") == 0 ||
        strcmp(u->fail_code, "DATABASE_UNAVAILABLE") == 0)
        http_add_header(u->req, "Retry-After", "5");
    intake_reply_error(u->req, u->fail_status, u->fail_code, u->fail_message);
}

/* A piece of the body (the request's on_body). When the upload cannot go on, the failure is
 * recorded and the rest of the body dropped; intake_batch_submit answers at its end. */
static void upload_body(http_request *req, const char *data, size_t len)
{
    batch_upload *u = req->user;

    u->bytes += (long long)len;
    if (u->bytes > u->owner->cfg.max_bytes) {
        char msg[128];
        snprintf(msg, sizeof(msg), "a batch upload is at most %lld bytes",
                 u->owner->cfg.max_bytes);
        set_failure(u, 413, "BODY_TOO_LARGE", msg);
        http_body_discard(req);
        return;
    }
    if (q_batch_reader_feed(u->reader, data, len) == 0)
        return;
    set_failure(u, 400, "INVALID_JSON", q_batch_reader_error(u->reader));
    http_body_discard(req);
}

static int begin_transaction(batch_upload *u)
{
    char key_id[24], window[24];
    const char *params[4] = {u->id, key_id, u->req->request_id, window};
    PGresult *res;
    int ok;

    snprintf(key_id, sizeof(key_id), "%lld", u->key->id);
    snprintf(window, sizeof(window), "%ld", u->owner->cfg.completion_window_seconds);
    u->conn = q_db_connect(u->owner->cfg.db_url, 0);
    if (!u->conn || q_db_exec(u->conn, "BEGIN") != 0)
        return -1;
    res = PQexecParams(u->conn,
                       "INSERT INTO batches (id, api_key_id, request_id, expires_at)"
                       " VALUES ($1::uuid, $2, $3, now() + make_interval(secs => $4::bigint))",
                       4, NULL, params, NULL, NULL, 0);
    ok = q_db_check(res, PGRES_COMMAND_OK, "insert batch");
    PQclear(res);
    if (!ok)
        return -1;
    res = PQexec(u->conn, "COPY jobs (id, api_key_id, question, model, max_tokens, temperature,"
                          " reserved_tokens, reserved_usd, injection_reason, batch_id, custom_id,"
                          " batch_line) FROM STDIN");
    ok = q_db_check(res, PGRES_COPY_IN, "copy batch jobs");
    PQclear(res);
    u->copying = ok;
    return ok ? 0 : -1;
}

void intake_batch_begin(http_request *req, intake_api *api)
{
    intake_batches *b = api->batches;
    const char *ct = http_header(req, "Content-Type");
    const char *strict = http_query(req, "strict");
    const char *length = http_header(req, "Content-Length");
    q_batch_format format;
    q_api_key *key;
    batch_upload *u;
    int slot = 0;

    if (!(key = intake_authenticate(req, api)))
        return;
    if (!intake_rate_limit(req, api, key))
        goto fail;
    if (intake_content_type_is(ct, "application/x-ndjson") ||
        intake_content_type_is(ct, "application/jsonl") ||
        intake_content_type_is(ct, "application/x-jsonlines")) {
        format = Q_BATCH_FORMAT_JSONL;
    } else if (intake_content_type_is(ct, "application/json")) {
        format = Q_BATCH_FORMAT_JSON;
    } else {
        intake_reply_error(req, 415, "UNSUPPORTED_MEDIA_TYPE",
                           "Content-Type must be application/x-ndjson (one request per line) "
                           "or application/json");
        goto fail;
    }
    if (strict && strcmp(strict, "true") != 0 && strcmp(strict, "false") != 0) {
        intake_reply_error(req, 400, "INVALID_PARAMETER", "strict must be true or false");
        goto fail;
    }
    if (http_header(req, "Idempotency-Key")) {
        intake_reply_error(req, 400, "IDEMPOTENCY_NOT_SUPPORTED",
                           "batches do not take an Idempotency-Key: after a failed upload, "
                           "list the key's batches (GET /v1/batches) before sending it again");
        goto fail;
    }
    if (length && strtoll(length, NULL, 10) > b->cfg.max_bytes) {
        char msg[128];
        snprintf(msg, sizeof(msg), "a batch upload is at most %lld bytes", b->cfg.max_bytes);
        intake_reply_error(req, 413, "BODY_TOO_LARGE", msg);
        goto fail;
    }
    pthread_mutex_lock(&b->mu);
    if (!b->stopping && b->uploads < b->cfg.max_uploads) {
        b->uploads++;
        slot = 1;
    }
    pthread_mutex_unlock(&b->mu);
    if (!slot) {
        http_add_header(req, "Retry-After", "5");
        intake_reply_error(req, 503, "SERVICE_UNAVAILABLE",
                           "too many batch uploads at once on this server, retry shortly");
        goto fail;
    }
    u = calloc(1, sizeof(*u));
    if (!u) {
        pthread_mutex_lock(&b->mu);
        b->uploads--;
        pthread_mutex_unlock(&b->mu);
        intake_reply_error(req, 500, "INTERNAL", "out of memory");
        goto fail;
    }
    /* From here the upload owns the key reference and the slot (upload_free). */
    u->owner = b;
    u->api = api;
    u->req = req;
    u->key = key;
    u->format = format;
    u->strict = strict && strcmp(strict, "true") == 0;
    q_buf_init(&u->copy, (size_t)COPY_FLUSH_BYTES + b->cfg.max_request_bytes * 2 + 4096);
    req->user = u;
    req->user_free = upload_free;
    u->errors = json_array();
    u->reader = q_batch_reader_new(format, b->cfg.max_request_bytes, on_request, u);
    if (!u->errors || !u->reader || q_uuid_v7(u->id) != 0) {
        intake_reply_error(req, 500, "INTERNAL", "out of memory");
        return;
    }
    if (begin_transaction(u) != 0) {
        http_add_header(req, "Retry-After", "5");
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE",
                           "could not start the batch, retry later");
        return;
    }
    req->on_body = upload_body;
    return;
fail:
    q_api_key_release(key);
}

/* --- finishing ----------------------------------------------------------------------------- */

static json_t *errors_details(batch_upload *u)
{
    return json_pack("{s:O,s:I}", "errors", u->errors, "errors_total", (json_int_t)u->errors_total);
}

/* The batch object (docs/batches.md) of every batch the WHERE clause selects. */
#define BATCH_OBJECT_SQL                                                                      \
    "SELECT json_build_object("                                                               \
    " 'id', b.id, 'object', 'batch', 'status', b.status,"                                     \
    " 'request_counts', json_build_object('total', b.request_total,"                          \
    "   'queued', c.queued, 'running', c.running,"                                            \
    "   'succeeded', coalesce(b.succeeded, c.succeeded), 'failed', coalesce(b.failed, c.failed)," \
    "   'cancelled', coalesce(b.cancelled, c.cancelled), 'expired', coalesce(b.expired, c.expired)),"\
    " 'invalid_requests', b.invalid_requests,"                                                \
    " 'usage', json_build_object('input_tokens', coalesce(b.input_tokens, c.input_tokens),"   \
    "   'output_tokens', coalesce(b.output_tokens, c.output_tokens),"                         \
    "   'cache_read_tokens', coalesce(b.cache_read_tokens, c.cache_read_tokens),"             \
    "   'cache_write_tokens', coalesce(b.cache_write_tokens, c.cache_write_tokens)),"         \
    " 'cost_usd', coalesce(b.cost_usd, c.cost_usd)::text, 'metadata', b.metadata,"            \
    " 'created_at', to_char(b.created_at AT TIME ZONE 'UTC', " ISO_MS "),"                    \
    " 'expires_at', to_char(b.expires_at AT TIME ZONE 'UTC', " ISO_MS "),"                    \
    " 'cancel_requested_at', to_char(b.cancel_requested_at AT TIME ZONE 'UTC', " ISO_MS "),"  \
    " 'ended_at', to_char(b.ended_at AT TIME ZONE 'UTC', " ISO_MS "),"                        \
    " 'results_url', '/v1/batches/' || b.id || '/results')::text, b.id"                       \
    " FROM batches b LEFT JOIN LATERAL ("                                                     \
    "   SELECT count(*) FILTER (WHERE j.status = 'queued') AS queued,"                        \
    "          count(*) FILTER (WHERE j.status = 'running') AS running,"                      \
    "          count(*) FILTER (WHERE j.status = 'succeeded') AS succeeded,"                  \
    "          count(*) FILTER (WHERE j.status = 'failed') AS failed,"                        \
    "          count(*) FILTER (WHERE j.status = 'cancelled') AS cancelled,"                  \
    "          count(*) FILTER (WHERE j.status = 'expired') AS expired,"                      \
    "          coalesce(sum(j.input_tokens), 0) AS input_tokens,"                             \
    "          coalesce(sum(j.output_tokens), 0) AS output_tokens,"                           \
    "          coalesce(sum(j.cache_read_tokens), 0) AS cache_read_tokens,"                   \
    "          coalesce(sum(j.cache_write_tokens), 0) AS cache_write_tokens,"                 \
    "          coalesce(sum(j.cost_usd), 0)::numeric(24,12) AS cost_usd"                      \
    "   FROM jobs j WHERE j.batch_id = b.id AND b.ended_at IS NULL) c ON true "

/* Reads one batch of the key. Returns 1 with a new object, 0 when the key has no such
 * batch, -1 on a database error. */
static int read_batch(PGconn *conn, const char *id, long long key_id, json_t **out)
{
    char key[24];
    const char *params[2] = {id, key};
    PGresult *res;
    int rc = -1;

    *out = NULL;
    snprintf(key, sizeof(key), "%lld", key_id);
    res = PQexecParams(conn, BATCH_OBJECT_SQL "WHERE b.id = $1::uuid AND b.api_key_id = $2", 2,
                       NULL, params, NULL, NULL, 0);
    if (q_db_check(res, PGRES_TUPLES_OK, "read batch")) {
        if (PQntuples(res) == 0) {
            rc = 0;
        } else {
            *out = json_loads(PQgetvalue(res, 0, 0), JSON_PRESERVE_ORDER, NULL);
            rc = *out ? 1 : -1;
        }
    }
    PQclear(res);
    return rc;
}

/* Produces every job of the batch to Kafka and waits for the acknowledgements. Returns the
 * count of jobs not acknowledged (left to the sweeper). At most PUBLISH_WINDOW messages of
 * the batch wait for the broker at a time, so the producer's queue (a few hundred bytes a
 * message) does not hold a whole 50,000-job batch when the broker is slow. */
static long publish_jobs(batch_upload *u, long long created_at_ms)
{
    intake_batches *b = u->owner;
    long not_sent = 0;

    pthread_mutex_lock(&b->mu);
    u->pending = (long)u->n_jobs + 1; /* +1 until every message is queued */
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < u->n_jobs; i++) {
        q_job_message m = {.api_key_id = u->key->id, .created_at_ms = created_at_ms};
        char *payload, err[256];
        int sent = 0;

        memcpy(m.id, u->job_ids[i], sizeof(m.id));
        snprintf(m.model, sizeof(m.model), "%s", u->models[u->job_models[i]]);
        pthread_mutex_lock(&b->mu);
        while (u->in_flight >= PUBLISH_WINDOW)
            pthread_cond_wait(&b->cv, &b->mu);
        u->in_flight++; /* before producing: the report may come before we look again */
        pthread_mutex_unlock(&b->mu);
        payload = q_job_message_encode(&m);
        /* A full producer queue empties as the broker acknowledges: wait a little. */
        for (int tries = 0; payload && !sent && tries < 500; tries++) {
            sent = intake_queue_publish(b->queue, m.id, payload, strlen(payload), u, err,
                                        sizeof(err)) == 0;
            if (!sent)
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        free(payload);
        if (!sent) {
            not_sent++;
            pthread_mutex_lock(&b->mu);
            u->pending--;
            u->in_flight--;
            pthread_mutex_unlock(&b->mu);
        }
    }
    pthread_mutex_lock(&b->mu);
    u->pending--;
    while (u->pending > 0)
        pthread_cond_wait(&b->cv, &b->mu);
    not_sent += u->delivery_failures;
    pthread_mutex_unlock(&b->mu);
    return not_sent;
}

/* Stores the answer a parked request gets when it is resumed. */
static void defer_error(http_request *req, unsigned status, const char *code, const char *msg)
{
    q_error e;

    q_error_set(&e, (int)status, code, "%s", msg);
    http_defer_reply_json(req, status, http_error_body(req, &e, NULL));
}

/* Runs on its own thread: reserves, commits, publishes, answers. */
static void *finish_upload(void *arg)
{
    batch_upload *u = arg;
    intake_batches *b = u->owner;
    http_request *req = u->req;
    char invalid[24];
    const char *params[3] = {u->id, NULL, invalid};
    json_t *meta = q_batch_reader_metadata(u->reader), *detail = NULL, *batch = NULL;
    char *meta_text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    char key_id[24];
    const char *accept_params[2] = {u->id, key_id};
    PGresult *res = NULL;
    const char *outcome = NULL;
    long not_sent;

    snprintf(invalid, sizeof(invalid), "%ld", u->errors_total);
    snprintf(key_id, sizeof(key_id), "%lld", u->key->id);
    params[1] = meta_text;
    res = PQexecParams(u->conn,
                       "UPDATE batches SET metadata = $2::jsonb, invalid_requests = $3"
                       " WHERE id = $1::uuid",
                       3, NULL, params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_COMMAND_OK, "update batch"))
        goto unavailable;
    PQclear(res);
    res = PQexecParams(u->conn, "SELECT outcome, detail FROM quarry_batch_accept($1::uuid, $2)",
                       2, NULL, accept_params, NULL, NULL, 0);
    if (!q_db_check(res, PGRES_TUPLES_OK, "accept batch") || PQntuples(res) != 1)
        goto unavailable;
    outcome = PQgetvalue(res, 0, 0);
    detail = PQgetisnull(res, 0, 1) ? NULL : json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    if (strcmp(outcome, "quota") == 0) {
        /* The batch asked for more than the key has left today: nothing is created. The
         * request count of the detail is the batch's size, not one question. */
        q_db_exec(u->conn, "ROLLBACK");
        http_defer_reply_json(req, 429,
                              intake_quota_exceeded(u->api->pipeline, req, u->key->id, detail,
                                                    -1));
        goto answer;
    }
    if (strcmp(outcome, "accepted") != 0) {
        q_db_exec(u->conn, "ROLLBACK");
        defer_error(req, 401, "INVALID_API_KEY", "the API key is unknown, disabled or expired");
        goto answer;
    }
    if (q_db_exec(u->conn, "COMMIT") != 0)
        goto unavailable; /* not committed: nothing was created */
    /* Committed: from here the batch exists whatever happens; the sweeper publishes what
     * Kafka does not acknowledge now. */
    not_sent = publish_jobs(u, json_integer_value(json_object_get(detail, "created_at_ms")));
    if (not_sent == 0) {
        PGresult *r = PQexecParams(u->conn,
                                   "UPDATE batches SET published_at = now() WHERE id = $1::uuid",
                                   1, NULL, params, NULL, NULL, 0);
        q_db_check(r, PGRES_COMMAND_OK, "mark batch published");
        PQclear(r);
    } else {
        q_log(Q_LOG_WARN, "batch.publish_incomplete",
              json_pack("{s:s,s:I}", "batch_id", u->id, "not_published", (json_int_t)not_sent));
    }
    q_log(Q_LOG_INFO, "batch.accepted",
          json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "batch_id", u->id, "request_id",
                    req->request_id, "api_key_id", (json_int_t)u->key->id, "requests",
                    (json_int_t)u->n_jobs, "invalid", (json_int_t)u->errors_total, "bytes",
                    (json_int_t)u->bytes));
    if (read_batch(u->conn, u->id, u->key->id, &batch) == 1) {
        json_object_set(batch, "errors", u->errors);
        json_object_set_new(batch, "errors_total", json_integer(u->errors_total));
        json_object_set_new(batch, "request_id", json_string(req->request_id));
    } else {
        /* Accepted and committed: the client must learn the id even if this read failed. */
        batch = json_pack("{s:s,s:s,s:O,s:I,s:s}", "id", u->id, "status", "in_progress",
                          "errors", u->errors, "errors_total", (json_int_t)u->errors_total,
                          "request_id", req->request_id);
    }
    http_add_header(req, "Location", "/v1/batches/%s", u->id);
    http_defer_reply_json(req, 202, batch);
    goto answer;
unavailable:
    q_db_exec(u->conn, "ROLLBACK");
    http_add_header(req, "Retry-After", "5");
    defer_error(req, 503, "DATABASE_UNAVAILABLE", "could not store the batch, retry later");
answer:
    PQclear(res);
    json_decref(detail);
    json_decref(meta);
    free(meta_text);
    pthread_mutex_lock(&b->mu);
    b->finishing--;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    http_resume(req); /* the upload is freed with the request: not touched after this */
    return NULL;
}

void intake_batch_submit(http_request *req, intake_api *api)
{
    batch_upload *u = req->user;
    intake_batches *b = api->batches;
    pthread_t thread;
    pthread_attr_t attr;
    PGresult *res;
    int started = 0;

    if (!u || !u->reader) {
        intake_reply_error(req, 500, "INTERNAL", "the upload was not prepared");
        return;
    }
    if (!u->fail_status && q_batch_reader_finish(u->reader) != 0)
        set_failure(u, 400, "INVALID_JSON", q_batch_reader_error(u->reader));
    if (u->fail_status) {
        reply_failure(u);
        return;
    }
    if (u->n_jobs == 0 || (u->strict && u->errors_total > 0)) {
        q_error e;
        int empty = u->n_jobs == 0;

        q_error_set(&e, 400, empty ? "BATCH_EMPTY" : "BATCH_INVALID",
                    empty ? "the batch has no valid request (%ld invalid)"
                          : "%ld request(s) of the batch are invalid and strict=true: "
                            "nothing was created",
                    u->errors_total);
        http_reply_json(req, 400, http_error_body(req, &e, errors_details(u)), NULL);
        return;
    }
    if (copy_flush(u) != 0 || PQputCopyEnd(u->conn, NULL) != 1) {
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not store the batch");
        return;
    }
    u->copying = 0;
    res = PQgetResult(u->conn);
    started = q_db_check(res, PGRES_COMMAND_OK, "copy batch jobs");
    PQclear(res);
    while ((res = PQgetResult(u->conn)))
        PQclear(res);
    if (!started) {
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not store the batch");
        return;
    }
    /* Reserving, committing and waiting for Kafka take a while for a large batch: not on a
     * server thread. */
    pthread_mutex_lock(&b->mu);
    b->finishing++;
    pthread_mutex_unlock(&b->mu);
    http_suspend(req);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    started = pthread_create(&thread, &attr, finish_upload, u) == 0;
    pthread_attr_destroy(&attr);
    if (!started)
        finish_upload(u); /* no thread to spare: finish here */
}

/* --- reads and cancel ---------------------------------------------------------------------- */

/* Unknown ids and another key's batches get the same answer. */
static void reply_no_batch(http_request *req)
{
    intake_reply_error(req, 404, "NOT_FOUND", "no batch with this id exists for this API key");
}

static int id_valid(http_request *req, const char *id)
{
    if (q_uuid_valid(id))
        return 1;
    reply_no_batch(req);
    return 0;
}

void intake_batch_get(http_request *req, intake_api *api, const char *id)
{
    q_api_key *key = intake_authenticate(req, api);
    PGconn *conn;
    json_t *batch = NULL;
    int found;

    if (!key)
        return;
    if (!id_valid(req, id))
        goto out;
    conn = intake_store_acquire(api->store);
    found = conn ? read_batch(conn, id, key->id, &batch) : -1;
    if (conn)
        intake_store_release(api->store, conn);
    if (found < 0)
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not read the batch, retry later");
    else if (found == 0)
        reply_no_batch(req);
    else
        http_reply_json(req, 200, batch, NULL);
out:
    q_api_key_release(key);
}

void intake_batch_list(http_request *req, intake_api *api)
{
    q_api_key *key = intake_authenticate(req, api);
    const char *after = http_query(req, "after"), *limit_s = http_query(req, "limit");
    char key_id[24], limit_plus[24];
    const char *params[3] = {key_id, NULL, limit_plus};
    long limit = 20;
    PGconn *conn;
    PGresult *res = NULL;
    json_t *data, *list;
    int n;

    if (!key)
        return;
    if (limit_s) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (!*limit_s || *end || limit < 1 || limit > 100) {
            intake_reply_error(req, 400, "INVALID_PARAMETER",
                               "limit must be a whole number from 1 to 100");
            goto out;
        }
    }
    if (after && !q_uuid_valid(after)) {
        intake_reply_error(req, 400, "INVALID_PARAMETER", "after must be a batch id");
        goto out;
    }
    snprintf(key_id, sizeof(key_id), "%lld", key->id);
    snprintf(limit_plus, sizeof(limit_plus), "%ld", limit + 1);
    params[1] = after;
    conn = intake_store_acquire(api->store);
    if (conn)
        res = PQexecParams(conn,
                           BATCH_OBJECT_SQL
                           "WHERE b.api_key_id = $1 AND ($2::uuid IS NULL OR (b.created_at, b.id) <"
                           " (SELECT a.created_at, a.id FROM batches a"
                           "  WHERE a.id = $2::uuid AND a.api_key_id = $1))"
                           " ORDER BY b.created_at DESC, b.id DESC LIMIT $3::int",
                           3, NULL, params, NULL, NULL, 0);
    if (!conn || !q_db_check(res, PGRES_TUPLES_OK, "list batches")) {
        if (conn)
            intake_store_release(api->store, conn);
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not list the batches, retry later");
        goto out;
    }
    intake_store_release(api->store, conn);
    data = json_array();
    n = PQntuples(res);
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(data, json_loads(PQgetvalue(res, i, 0), JSON_PRESERVE_ORDER, NULL));
    list = json_pack("{s:s,s:o,s:b,s:s?}", "object", "list", "data", data, "has_more", n > limit,
                     "last_id", n > 0 ? PQgetvalue(res, (n > limit ? limit : n) - 1, 1) : NULL);
    http_reply_json(req, 200, list, NULL);
out:
    PQclear(res);
    q_api_key_release(key);
}

/* Cancels the batch's queued jobs in transactions of CANCEL_CHUNK jobs, so no lock is held
 * long (migration 0006). Returns 0, or -1 on a database error (the sweeper finishes). */
static int cancel_queued(PGconn *conn, const char *id)
{
    const char *params[1] = {id};

    for (int round = 0; round < 1000; round++) {
        PGresult *res = PQexecParams(conn,
                                     "SELECT quarry_batch_cancel_queued($1::uuid, "
                                     CANCEL_CHUNK_SQL ")",
                                     1, NULL, params, NULL, NULL, 0);
        long n = q_db_check(res, PGRES_TUPLES_OK, "cancel queued batch jobs")
                     ? atol(PQgetvalue(res, 0, 0))
                     : -1;

        PQclear(res);
        if (n < 0)
            return -1;
        if (n < CANCEL_CHUNK)
            return 0;
    }
    return 0;
}

void intake_batch_cancel(http_request *req, intake_api *api, const char *id)
{
    q_api_key *key = intake_authenticate(req, api);
    char key_id[24], status[16] = "";
    const char *params[2] = {id, key_id};
    PGconn *conn;
    PGresult *res = NULL;
    json_t *batch = NULL;
    int found = -1;

    if (!key)
        return;
    if (!id_valid(req, id))
        goto out;
    snprintf(key_id, sizeof(key_id), "%lld", key->id);
    conn = intake_store_acquire(api->store);
    if (conn) {
        res = PQexecParams(conn, "SELECT quarry_batch_cancel($1::uuid, $2)", 2, NULL, params,
                           NULL, NULL, 0);
        if (q_db_check(res, PGRES_TUPLES_OK, "cancel batch")) {
            found = !PQgetisnull(res, 0, 0);
            snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 0));
        }
        if (found == 1 && strcmp(status, "cancelling") == 0 && cancel_queued(conn, id) != 0)
            q_log(Q_LOG_WARN, "batch.cancel_incomplete",
                  json_pack("{s:s,s:s}", "batch_id", id, "request_id", req->request_id));
        if (found == 1 && read_batch(conn, id, key->id, &batch) != 1)
            found = -1;
        intake_store_release(api->store, conn);
    }
    if (found < 0) {
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not cancel the batch, retry later");
    } else if (found == 0) {
        reply_no_batch(req);
    } else if (strcmp(status, "completed") == 0 || strcmp(status, "expired") == 0) {
        q_error e;
        q_error_set(&e, 409, "BATCH_NOT_CANCELLABLE", "the batch has already ended (%s)", status);
        http_reply_error(req, &e);
    } else {
        q_log(Q_LOG_INFO, "batch.cancelled",
              json_pack("{s:s,s:s,s:s}", "batch_id", id, "request_id", req->request_id,
                        "status", json_string_value(json_object_get(batch, "status"))));
        http_reply_json(req, 200, batch, NULL);
        batch = NULL;
    }
out:
    json_decref(batch);
    PQclear(res);
    q_api_key_release(key);
}

/* --- results ------------------------------------------------------------------------------- */

typedef struct {
    intake_api *api;
    char batch_id[Q_UUID_LEN + 1];
    long last_line;
    q_buf page;                  /* JSONL lines not yet sent */
    size_t pos;
    int done;
} results_stream;

static int q_buf_dump_cb(const char *data, size_t len, void *buf)
{
    return q_buf_add(buf, data, len) == Q_BUF_OK ? 0 : -1;
}

static void results_free(void *p)
{
    results_stream *s = p;

    q_buf_free(&s->page);
    free(s);
}

/* The next RESULTS_PAGE lines, in line order. Returns 0, or -1 on a database error. */
static int results_page(results_stream *s)
{
    char after[24];
    const char *params[2] = {s->batch_id, after};
    PGconn *conn = intake_store_acquire(s->api->store);
    PGresult *res;
    int n, rc = -1;

    if (!conn)
        return -1;
    snprintf(after, sizeof(after), "%ld", s->last_line);
    res = PQexecParams(
        conn,
        "SELECT batch_line, json_build_object("
        " 'custom_id', custom_id, 'id', id, 'line', batch_line, 'status', status,"
        " 'model', model, 'answered_model', answered_model, 'answer', answer,"
        " 'stop_reason', stop_reason,"
        " 'usage', CASE WHEN input_tokens IS NULL THEN NULL ELSE json_build_object("
        "   'input_tokens', input_tokens, 'output_tokens', output_tokens,"
        "   'cache_read_tokens', cache_read_tokens, 'cache_write_tokens', cache_write_tokens) END,"
        " 'cost_usd', cost_usd::text,"
        " 'error', CASE WHEN error_code IS NULL THEN NULL ELSE json_build_object("
        "   'code', error_code, 'message', error_message) END)::text"
        " FROM jobs WHERE batch_id = $1::uuid AND batch_line > $2::int"
        " ORDER BY batch_line LIMIT " RESULTS_PAGE_SQL,
        2, NULL, params, NULL, NULL, 0);
    intake_store_release(s->api->store, conn);
    if (q_db_check(res, PGRES_TUPLES_OK, "batch results")) {
        q_buf_reset(&s->page);
        s->pos = 0;
        n = PQntuples(res);
        rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            /* PostgreSQL spaces its JSON out: re-emit it compact, keys in the same order. */
            json_t *line = json_loadb(PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1),
                                      JSON_PRESERVE_ORDER, NULL);

            if (!line || json_dump_callback(line, q_buf_dump_cb, &s->page,
                                            JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
                q_buf_addc(&s->page, '\n') != Q_BUF_OK)
                rc = -1;
            json_decref(line);
        }
        if (n > 0)
            s->last_line = atol(PQgetvalue(res, n - 1, 0));
        if (n < RESULTS_PAGE)
            s->done = 1;
    }
    PQclear(res);
    return rc;
}

static long results_next(void *cls, char *buf, size_t max)
{
    results_stream *s = cls;
    size_t n;

    if (s->pos == s->page.len) {
        if (s->done)
            return 0;
        if (results_page(s) != 0)
            return -1;
        if (s->page.len == 0)
            return 0;
    }
    n = s->page.len - s->pos;
    if (n > max)
        n = max;
    memcpy(buf, q_buf_cstr(&s->page) + s->pos, n);
    s->pos += n;
    return (long)n;
}

void intake_batch_results(http_request *req, intake_api *api, const char *id)
{
    q_api_key *key = intake_authenticate(req, api);
    char key_id[24];
    const char *params[2] = {id, key_id};
    PGconn *conn;
    PGresult *res = NULL;
    results_stream *s;
    int found = -1;

    if (!key)
        return;
    if (!id_valid(req, id))
        goto out;
    snprintf(key_id, sizeof(key_id), "%lld", key->id);
    conn = intake_store_acquire(api->store);
    if (conn) {
        res = PQexecParams(conn, "SELECT 1 FROM batches WHERE id = $1::uuid AND api_key_id = $2",
                           2, NULL, params, NULL, NULL, 0);
        if (q_db_check(res, PGRES_TUPLES_OK, "find batch"))
            found = PQntuples(res) > 0;
        intake_store_release(api->store, conn);
    }
    if (found < 0) {
        intake_reply_error(req, 503, "DATABASE_UNAVAILABLE", "could not read the batch, retry later");
        goto out;
    }
    if (found == 0) {
        reply_no_batch(req);
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        intake_reply_error(req, 500, "INTERNAL", "out of memory");
        goto out;
    }
    s->api = api;
    snprintf(s->batch_id, sizeof(s->batch_id), "%s", id);
    q_buf_init(&s->page, (size_t)1 << 30);
    http_reply_stream(req, 200, "application/x-ndjson", results_next, s, results_free);
out:
    PQclear(res);
    q_api_key_release(key);
}
