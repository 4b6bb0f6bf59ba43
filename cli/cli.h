/* cli.h - shared pieces of the `quarry` command-line tool: exit codes, option parsing,
 * and the subcommand entry points (one file per concern: migrate.c, keys.c, client.c). */
#ifndef QUARRY_CLI_H
#define QUARRY_CLI_H

/* Exit codes scripts can rely on. */
enum {
    CLI_OK = 0,
    CLI_FAILED = 1,       /* the request was rejected, or the job ended failed/expired */
    CLI_USAGE = 2,        /* bad command line */
    CLI_TIMEOUT = 3,      /* --wait / wait ran out of time; the job goes on */
    CLI_UNAVAILABLE = 4   /* the service or database could not be reached */
};

/* Returns the value of "--name VALUE" / "--name=VALUE" at argv[*i] and advances *i, or
 * NULL when argv[*i] is not that option. Prints an error and sets *bad when the value
 * is missing. */
const char *cli_opt(int argc, char **argv, int *i, const char *name, int *bad);

int cli_migrate(int argc, char **argv);
int cli_keys(int argc, char **argv);
int cli_ask(int argc, char **argv);
int cli_get(int argc, char **argv);
int cli_wait(int argc, char **argv);

#endif
