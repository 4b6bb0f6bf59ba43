/* db.h - small helpers over libpq shared by the daemons and the CLI.
 *
 * Connections are never shared between threads: each thread owns its PGconn. */
#ifndef QUARRY_DB_H
#define QUARRY_DB_H

#include <libpq-fe.h>

/* Connects to `url`, retrying for up to `wait_seconds` (0 = one try) while the server
 * is starting. Returns a connection in CONNECTION_OK, or NULL (logged, without the
 * password). The caller owns the connection (PQfinish). */
PGconn *q_db_connect(const char *url, int wait_seconds);

/* Makes sure *conn is usable: resets it when the server closed it. Returns 0 or -1. */
int q_db_ensure(PGconn *conn);

/* 1 when `res` has the expected status; otherwise logs `what` with the server's
 * message and SQLSTATE and returns 0. Does not clear res. */
int q_db_check(PGresult *res, ExecStatusType expected, const char *what);

/* Runs a statement without parameters or results ("BEGIN", "COMMIT"). Returns 0 or -1. */
int q_db_exec(PGconn *conn, const char *sql);

/* 1 when the SQLSTATE of `res` says the connection or server failed (class 08, 57P),
 * i.e. the statement may be retried on a new connection. */
int q_db_is_connection_error(const PGresult *res, const PGconn *conn);

#endif
