/* store.h - the intake's PostgreSQL access: a fixed pool of connections shared by the
 * HTTP worker threads, API key lookup, job insertion and job reads. */
#ifndef QUARRY_INTAKE_STORE_H
#define QUARRY_INTAKE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "keycache.h"

typedef struct intake_store intake_store;

/* Opens `size` connections (waiting up to wait_seconds for the server). NULL on failure. */
intake_store *intake_store_open(const char *url, unsigned size, int wait_seconds);
/* Closes every connection. Accepts NULL. Callers must have returned all connections. */
void intake_store_close(intake_store *s);

/* Borrows a connection (blocks while all are in use); give it back with release. The
 * connection is reset first when the server closed it. NULL when it cannot be revived. */
PGconn *intake_store_acquire(intake_store *s);
void intake_store_release(intake_store *s, PGconn *conn);

/* Loads an enabled, unexpired key by the hex SHA-256 of its raw value (a q_key_loader
 * over the pool: ctx is the intake_store). Returns 1 with a new key, 0 when not found, -1 on
 * a database error. */
int intake_store_load_key(const char *key_sha256_hex, q_api_key **out, void *ctx);
/* The same for n keys in one query (a q_key_batch_loader: the key cache's refresher). Returns
 * 0 with out[i] a new key or NULL (not found), or -1 on a database error (all NULL). */
int intake_store_load_keys(const char *const *hashes, size_t n, q_api_key **out, void *ctx);

/* Marks a job that could not be enqueued as failed with `code` and `message`, and releases
 * its reservation, in one transaction. Returns 0 or -1. */
int intake_store_fail_job(PGconn *conn, const char *id, const char *code, const char *message);

/* The job as its owner sees it (the GET /v1/questions/{id} body). Returns 1 and sets
 * *out (a new object) and *terminal, 0 when no job of that key has this id, -1 on a
 * database error. */
int intake_store_get_job(PGconn *conn, const char *id, long long api_key_id, json_t **out,
                         int *terminal);

/* Cancels a queued job of the key (releasing its reservation). Returns 1 with the job's
 * status afterwards in status[16] ("cancelled" when cancelled), 0 when the key has no such
 * job, -1 on a database error. */
int intake_store_cancel_job(PGconn *conn, const char *id, long long api_key_id, char status[16]);

/* The key's usage today against its limits (the GET /v1/usage body). Returns 0 and a new
 * object in *out, or -1 on a database error. */
int intake_store_usage(PGconn *conn, long long api_key_id, json_t **out);

/* Deletes expired idempotency keys. Returns 0 or -1. */
int intake_store_cleanup(PGconn *conn);

#endif
