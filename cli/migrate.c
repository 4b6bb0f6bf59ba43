/* migrate.c - `quarry migrate`: applies numbered, forward-only SQL migrations in order.
 *
 * Each applied file is recorded in schema_migrations with its SHA-256; a later run
 * refuses to do anything when an applied file was edited or removed, because the
 * database would no longer match the files. A session advisory lock lets several
 * migrators start at once (e.g. one per container) without racing. */
#include <dirent.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "sigv4.h"

#define MIGRATION_LOCK_KEY "7270117101"   /* arbitrary, constant for Quarry */
#define MAX_MIGRATION_BYTES (16 * 1024 * 1024)

typedef struct {
    int version;
    char name[256];
    char checksum[65];
    char *sql;
} migration;

static int is_migration_name(const char *name)
{
    size_t n = strlen(name);

    if (n < 10 || strcmp(name + n - 4, ".sql") != 0 || name[4] != '_')
        return 0;
    for (int i = 0; i < 4; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return 1;
}

static int by_version(const void *a, const void *b)
{
    return ((const migration *)a)->version - ((const migration *)b)->version;
}

static void free_migrations(migration *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].sql);
    free(m);
}

/* Loads every NNNN_name.sql in dir, sorted. Returns the count or -1 (printed). */
static int load_migrations(const char *dir, migration **out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    migration *list = NULL;
    size_t n = 0;

    *out = NULL;
    if (!d) {
        fprintf(stderr, "quarry migrate: could not open migrations folder %s\n", dir);
        return -1;
    }
    while ((e = readdir(d))) {
        char path[4096];
        migration *grown;

        if (!is_migration_name(e->d_name))
            continue;
        grown = realloc(list, (n + 1) * sizeof(*list));
        if (!grown)
            goto fail;
        list = grown;
        memset(&list[n], 0, sizeof(list[n]));
        list[n].version = atoi(e->d_name);
        snprintf(list[n].name, sizeof(list[n].name), "%s", e->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        list[n].sql = q_buf_read_file(path, MAX_MIGRATION_BYTES);
        n++;
        if (!list[n - 1].sql) {
            fprintf(stderr, "quarry migrate: could not read %s\n", path);
            goto fail;
        }
        q_sha256_hex(list[n - 1].sql, strlen(list[n - 1].sql), list[n - 1].checksum);
    }
    closedir(d);
    qsort(list, n, sizeof(*list), by_version);
    for (size_t i = 1; i < n; i++)
        if (list[i].version == list[i - 1].version) {
            fprintf(stderr, "quarry migrate: two migrations share version %04d: %s and %s\n",
                    list[i].version, list[i - 1].name, list[i].name);
            free_migrations(list, n);
            return -1;
        }
    *out = list;
    return (int)n;
fail:
    closedir(d);
    free_migrations(list, n);
    return -1;
}

static int run(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "quarry migrate: %s failed: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

int cli_migrate(int argc, char **argv)
{
    const char *dir = "migrations", *url = q_env_str("QUARRY_DATABASE_URL", NULL), *v;
    migration *list = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int n, bad = 0, rc = CLI_FAILED, applied = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: quarry migrate [--dir DIR] [--database-url URL]\n\n"
                 "Applies pending migrations from DIR (default ./migrations) in order.\n"
                 "Refuses to run when an applied migration was edited or removed.");
            return CLI_OK;
        } else if ((v = cli_opt(argc, argv, &i, "--dir", &bad))) {
            dir = v;
        } else if ((v = cli_opt(argc, argv, &i, "--database-url", &bad))) {
            url = v;
        } else {
            if (!bad)
                fprintf(stderr, "quarry migrate: unknown option %s\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!url) {
        fprintf(stderr, "quarry migrate: set QUARRY_DATABASE_URL or pass --database-url\n");
        return CLI_USAGE;
    }
    n = load_migrations(dir, &list);
    if (n < 0)
        return CLI_FAILED;
    conn = q_db_connect(url, 30);
    if (!conn) {
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    if (run(conn, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", "taking the migration lock") ||
        run(conn,
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())",
            "creating schema_migrations"))
        goto out;
    res = PQexec(conn, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "quarry migrate: reading schema_migrations failed: %s",
                PQresultErrorMessage(res));
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        int version = atoi(PQgetvalue(res, r, 0)), found = 0;

        for (int i = 0; i < n; i++) {
            if (list[i].version != version)
                continue;
            found = 1;
            if (strcmp(list[i].checksum, PQgetvalue(res, r, 2)) != 0) {
                fprintf(stderr,
                        "quarry migrate: migration %s was edited after it was applied "
                        "(applied sha256 %s, file sha256 %s)\n"
                        "Migrations are forward-only: restore the file and add a new one.\n",
                        list[i].name, PQgetvalue(res, r, 2), list[i].checksum);
                goto out;
            }
        }
        if (!found) {
            fprintf(stderr, "quarry migrate: applied migration %s is missing from %s\n",
                    PQgetvalue(res, r, 1), dir);
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        int done = 0;
        char version[16];
        const char *params[3] = {version, list[i].name, list[i].checksum};
        PGresult *ins;

        for (int r = 0; r < PQntuples(res); r++)
            done |= atoi(PQgetvalue(res, r, 0)) == list[i].version;
        if (done)
            continue;
        snprintf(version, sizeof(version), "%d", list[i].version);
        if (run(conn, "BEGIN", "BEGIN") || run(conn, list[i].sql, list[i].name)) {
            PQclear(PQexec(conn, "ROLLBACK"));
            goto out;
        }
        ins = PQexecParams(conn,
                           "INSERT INTO schema_migrations (version, name, checksum) "
                           "VALUES ($1::int, $2, $3)",
                           3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(ins) != PGRES_COMMAND_OK || run(conn, "COMMIT", "COMMIT")) {
            fprintf(stderr, "quarry migrate: recording %s failed: %s", list[i].name,
                    PQresultErrorMessage(ins));
            PQclear(ins);
            PQclear(PQexec(conn, "ROLLBACK"));
            goto out;
        }
        PQclear(ins);
        printf("applied %s\n", list[i].name);
        applied++;
    }
    if (!applied)
        printf("database is up to date (%d migration%s)\n", n, n == 1 ? "" : "s");
    rc = CLI_OK;
out:
    PQclear(res);
    PQfinish(conn);
    free_migrations(list, n > 0 ? (size_t)n : 0);
    return rc;
}
