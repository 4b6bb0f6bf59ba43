/* store.h - the intake's PostgreSQL access: a fixed pool of connections shared by the
 * HTTP worker threads, API key lookup, job insertion and job reads. */
#ifndef QUARRY_INTAKE_STORE_H
#define QUARRY_INTAKE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>

typedef struct intake_store intake_store;

/* Opens `size` connections (waiting up to wait_seconds for the server). NULL on failure. */
intake_store *intake_store_open(const char *url, unsigned size, int wait_seconds);
/* Closes every connection. Accepts NULL. Callers must have returned all connections. */
void intake_store_close(intake_store *s);

/* Borrows a connection (blocks while all are in use); give it back with release. The
 * connection is reset first when the server closed it. NULL when it cannot be revived. */
PGconn *intake_store_acquire(intake_store *s);
void intake_store_release(intake_store *s, PGconn *conn);

typedef struct {
    long long id;
    int max_question_chars;
    json_t *allowed_models;   /* array of strings, or NULL for "any"; owned: decref it */
} intake_key;

/* Looks up an enabled, unexpired key by the hex SHA-256 of its raw value. Returns 1
 * when found, 0 when not, -1 on a database error. */
int intake_store_find_key(PGconn *conn, const char *key_sha256_hex, intake_key *out);

typedef struct {
    const char *id;
    long long api_key_id;
    const char *question;
    const char *model;
    int max_tokens;
    int has_temperature;
    double temperature;
} intake_new_job;

/* Inserts and commits a queued job. Returns 0 and its created_at (epoch ms and
 * RFC 3339 text, 40 bytes), or -1 on a database error. */
int intake_store_insert_job(PGconn *conn, const intake_new_job *job, long long *created_at_ms,
                            char created_at[40]);

/* Marks a job that could not be enqueued as failed with `code` and `message`. */
int intake_store_fail_job(PGconn *conn, const char *id, const char *code, const char *message);

/* The job as its owner sees it (the GET /v1/questions/{id} body). Returns 1 and sets
 * *out (a new object), 0 when no job of that key has this id, -1 on a database error. */
int intake_store_get_job(PGconn *conn, const char *id, long long api_key_id, json_t **out);

#endif
