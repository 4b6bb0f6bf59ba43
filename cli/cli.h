/* cli.h - shared pieces of the `quarry` command-line tool: exit codes, option parsing,
 * database helpers, and the subcommand entry points (one file per concern: migrate.c,
 * keys.c, client.c, batch.c, report.c, prune.c; dbout.c has the database helpers, api.c
 * the intake API helpers of the client commands). */
#ifndef QUARRY_CLI_H
#define QUARRY_CLI_H

#include <libpq-fe.h>

#include "report_format.h"

/* Exit codes scripts can rely on. */
enum {
    CLI_OK = 0,
    CLI_FAILED = 1,       /* the request was rejected, the job ended failed/expired, or a
                             batch had invalid lines or requests that did not succeed */
    CLI_USAGE = 2,        /* bad command line */
    CLI_TIMEOUT = 3,      /* --wait / wait / --timeout ran out of time; the job goes on */
    CLI_UNAVAILABLE = 4   /* the service or database could not be reached */
};

/* Returns the value of "--name VALUE" / "--name=VALUE" at argv[*i] and advances *i, or
 * NULL when argv[*i] is not that option. Prints an error and sets *bad when the value
 * is missing. */
const char *cli_opt(int argc, char **argv, int *i, const char *name, int *bad);

/* Database helpers shared by keys, report and prune (dbout.c). */
/* Connects to url (QUARRY_DATABASE_URL or --database-url, checked by the caller), one
 * try. Returns the connection, or NULL after printing "quarry CMD: could not connect to
 * the database: ..." (libpq's message never holds the password); the caller owns it. */
PGconn *cli_db_connect(const char *cmd, const char *url);

/* Prints "quarry CMD: could not WHAT: <server message>" for a failed result and returns
 * the exit code for it: CLI_UNAVAILABLE when the connection or server failed, CLI_USAGE
 * when the server rejected a value given on the command line (SQLSTATE classes 22, 23),
 * CLI_FAILED otherwise. */
int cli_db_fail(const char *cmd, const char *what, PGresult *res, PGconn *conn);

/* Writes a query result in `format`: integer columns as integers, numeric ones as exact
 * decimals (strings in JSON), everything else as text. Returns CLI_OK, or CLI_FAILED
 * (printed) when out of memory or the output could not be written. */
int cli_print_result(const char *cmd, PGresult *res, q_rf_format format);

int cli_migrate(int argc, char **argv);
int cli_keys(int argc, char **argv);
int cli_ask(int argc, char **argv);
int cli_get(int argc, char **argv);
int cli_wait(int argc, char **argv);
int cli_batch(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_prune(int argc, char **argv);

#endif
