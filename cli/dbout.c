/* dbout.c - the database side of the admin commands (keys, report, prune): connecting,
 * turning a failed statement into a message and an exit code, and printing a result
 * set as a table, CSV or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"

/* Type OIDs from pg_type.h (stable across PostgreSQL versions). */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

PGconn *cli_db_connect(const char *cmd, const char *url)
{
    PGconn *conn = PQconnectdb(url);
    const char *msg;

    if (PQstatus(conn) == CONNECTION_OK) {
        PQclear(PQexec(conn, "SET client_min_messages = warning"));
        return conn;
    }
    msg = conn ? PQerrorMessage(conn) : "out of memory\n";
    fprintf(stderr, "quarry %s: could not connect to the database: %s%s", cmd, msg,
            *msg && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
    PQfinish(conn);
    return NULL;
}

int cli_db_fail(const char *cmd, const char *what, PGresult *res, PGconn *conn)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    const char *msg = primary ? primary : res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    size_t n;

    if (!msg || !*msg)
        msg = "unknown error";
    n = strlen(msg);
    /* libpq's own messages end with a newline; the server's primary message does not */
    fprintf(stderr, "quarry %s: could not %s: %.*s\n", cmd, what,
            (int)(msg[n - 1] == '\n' ? n - 1 : n), msg);
    if (detail)
        fprintf(stderr, "Detail: %s\n", detail);
    if (hint)
        fprintf(stderr, "Hint: %s\n", hint);
    if (!res || q_db_is_connection_error(res, conn))
        return CLI_UNAVAILABLE;
    if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0))
        return CLI_USAGE;
    return CLI_FAILED;
}

static q_rf_kind kind_of(Oid type)
{
    switch (type) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        return Q_RF_INT;
    case OID_NUMERIC:
    case OID_FLOAT4:
    case OID_FLOAT8:
        return Q_RF_DECIMAL;
    default:
        return Q_RF_TEXT;
    }
}

int cli_print_result(const char *cmd, PGresult *res, q_rf_format format)
{
    int ncols = PQnfields(res), rc = CLI_FAILED;
    q_rf_table *t = q_rf_table_new(ncols);
    const char **cells = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof(*cells));

    if (!t || !cells)
        goto out;
    for (int c = 0; c < ncols; c++)
        if (q_rf_table_column(t, c, PQfname(res, c), kind_of(PQftype(res, c))))
            goto out;
    for (int r = 0; r < PQntuples(res); r++) {
        for (int c = 0; c < ncols; c++)
            cells[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
        if (q_rf_table_add_row(t, cells))
            goto out;
    }
    if (q_rf_table_write(t, format, stdout) || fflush(stdout)) {
        fprintf(stderr, "quarry %s: could not write the output\n", cmd);
        rc = CLI_FAILED;
        goto done;
    }
    rc = CLI_OK;
    goto done;
out:
    fprintf(stderr, "quarry %s: out of memory while formatting the result\n", cmd);
done:
    free(cells);
    q_rf_table_free(t);
    return rc;
}
