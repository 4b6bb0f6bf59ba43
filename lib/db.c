/* db.c - small helpers over libpq (see db.h). */
#include "db.h"

#include <string.h>
#include <unistd.h>

#include "log.h"

PGconn *q_db_connect(const char *url, int wait_seconds)
{
    PGconn *conn = NULL;

    for (int waited = 0;; waited++) {
        conn = PQconnectdb(url);
        if (PQstatus(conn) == CONNECTION_OK)
            break;
        if (waited >= wait_seconds) {
            /* PQerrorMessage never contains the password */
            q_log(Q_LOG_ERROR, "db.connect_failed",
                  json_pack("{s:s}", "error", PQerrorMessage(conn)));
            PQfinish(conn);
            return NULL;
        }
        PQfinish(conn);
        sleep(1);
    }
    return conn;
}

int q_db_ensure(PGconn *conn)
{
    if (PQstatus(conn) == CONNECTION_OK)
        return 0;
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK) {
        q_log(Q_LOG_WARN, "db.reconnected", NULL);
        return 0;
    }
    q_log(Q_LOG_ERROR, "db.reconnect_failed", json_pack("{s:s}", "error", PQerrorMessage(conn)));
    return -1;
}

int q_db_check(PGresult *res, ExecStatusType expected, const char *what)
{
    const char *state;

    if (res && PQresultStatus(res) == expected)
        return 1;
    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    q_log(Q_LOG_ERROR, "db.statement_failed",
          json_pack("{s:s,s:s,s:s}", "statement", what, "sqlstate", state ? state : "",
                    "error", res ? PQresultErrorMessage(res) : "no result"));
    return 0;
}

int q_db_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int ok = q_db_check(res, PGRES_COMMAND_OK, sql);

    PQclear(res);
    return ok ? 0 : -1;
}

int q_db_is_connection_error(const PGresult *res, const PGconn *conn)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(conn) != CONNECTION_OK)
        return 1;
    return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0);
}
