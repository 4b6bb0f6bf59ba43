/* prune.c - `quarry prune`: job retention. Deletes finished jobs older than a duration
 * in bounded batches, each batch one transaction of quarry_prune_jobs() (migration 0005),
 * which folds the jobs into job_rollups / job_latency_rollups before deleting them, so
 * every report figure stays the same. Queued and running jobs are never touched, nor
 * the jobs of a batch still running (migration 0007), and daily_usage (itself a rollup)
 * is left as it is. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

#define DEFAULT_BATCH "1000"

static int prune_usage(FILE *out, int rc)
{
    fputs("usage: quarry prune --older-than DURATION [--dry-run] [--batch-size N]\n"
          "                    [--database-url URL]\n\n"
          "Deletes finished jobs (succeeded, failed, cancelled, expired) created more than\n"
          "DURATION ago (e.g. 30d, 12h, 2w; units s m h d w), " DEFAULT_BATCH " per transaction by\n"
          "default. Their tokens, cost, counts and latencies are first added to the\n"
          "rollups the reports read, so `quarry report` shows the same figures afterwards;\n"
          "only the rows themselves (question, answer) are gone. Queued and running jobs are\n"
          "never deleted, nor the jobs of a batch that has not ended (its final figures and\n"
          "results are read from them). --dry-run only counts what would be deleted.\n\n"
          "Exit codes: 0 ok, 1 the database refused, 2 usage, 4 database unavailable.\n",
          out);
    return rc;
}

/* Prints what a prune with this cutoff would delete and keep. */
static int dry_run(PGconn *conn, const char *cutoff)
{
    const char *params[1] = {cutoff};
    PGresult *res = PQexecParams(
        conn,
        "SELECT coalesce(j.status, 'total') AS status,"
        " count(*) FILTER (WHERE j.finished_at IS NOT NULL"
        " AND (j.batch_id IS NULL OR b.ended_at IS NOT NULL)) AS would_delete,"
        " count(*) FILTER (WHERE j.finished_at IS NULL) AS kept_unfinished,"
        " count(*) FILTER (WHERE j.finished_at IS NOT NULL AND j.batch_id IS NOT NULL"
        " AND b.ended_at IS NULL) AS kept_open_batch,"
        " to_char(min(j.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS oldest"
        " FROM jobs j LEFT JOIN batches b ON b.id = j.batch_id"
        " WHERE j.created_at < $1::timestamptz"
        " AND quarry_utc_day(j.created_at) <= quarry_utc_day($1::timestamptz)"
        " GROUP BY ROLLUP (j.status) ORDER BY j.status NULLS LAST",
        1, NULL, params, NULL, NULL, 0);
    int rc;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cli_db_fail("prune", "count the jobs", res, conn);
    } else {
        printf("dry run: jobs created before %s\n", cutoff);
        rc = cli_print_result("prune", res, Q_RF_FORMAT_TABLE);
    }
    PQclear(res);
    return rc;
}

int cli_prune(int argc, char **argv)
{
    const char *url = q_env_str("QUARRY_DATABASE_URL", NULL), *v, *older = NULL;
    const char *batch = DEFAULT_BATCH;
    char seconds[32], cutoff[64];
    long long secs, total = 0, batches = 0;
    int bad = 0, dry = 0, rc = CLI_FAILED;
    PGconn *conn = NULL;
    PGresult *res = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return prune_usage(stdout, CLI_OK);
        if (strcmp(argv[i], "--dry-run") == 0)
            dry = 1;
        else if ((v = cli_opt(argc, argv, &i, "--older-than", &bad)))
            older = v;
        else if ((v = cli_opt(argc, argv, &i, "--batch-size", &bad)))
            batch = v;
        else if ((v = cli_opt(argc, argv, &i, "--database-url", &bad)))
            url = v;
        else {
            if (!bad)
                fprintf(stderr, "quarry prune: unknown %s \"%s\"\n",
                        argv[i][0] == '-' ? "option" : "argument", argv[i]);
            return prune_usage(stderr, CLI_USAGE);
        }
    }
    if (!older) {
        fprintf(stderr, "quarry prune: --older-than is required (e.g. --older-than 30d)\n");
        return CLI_USAGE;
    }
    if (q_rf_parse_duration(older, &secs)) {
        fprintf(stderr, "quarry prune: --older-than must be a number and a unit (s, m, h, d, w), "
                        "e.g. 30d, not \"%s\"\n", older);
        return CLI_USAGE;
    }
    {
        char *end;
        long n = strtol(batch, &end, 10);

        if (end == batch || *end || n < 1 || n > 100000) {
            fprintf(stderr, "quarry prune: --batch-size must be between 1 and 100000, not \"%s\"\n",
                    batch);
            return CLI_USAGE;
        }
    }
    if (!url) {
        fprintf(stderr, "quarry prune: set QUARRY_DATABASE_URL or pass --database-url\n");
        return CLI_USAGE;
    }
    if (!(conn = cli_db_connect("prune", url)))
        return CLI_UNAVAILABLE;
    /* One cutoff for every batch, so the set being pruned does not move while we work. */
    snprintf(seconds, sizeof(seconds), "%lld", secs);
    {
        const char *params[1] = {seconds};

        res = PQexecParams(conn,
                           "SELECT to_char((now() - make_interval(secs => $1::bigint))"
                           " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                           1, NULL, params, NULL, NULL, 0);
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cli_db_fail("prune", "compute the cutoff", res, conn);
        goto out;
    }
    snprintf(cutoff, sizeof(cutoff), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    if (dry) {
        rc = dry_run(conn, cutoff);
        goto out;
    }
    for (;;) {
        const char *params[2] = {cutoff, batch};
        long long n;

        res = PQexecParams(conn, "SELECT quarry_prune_jobs($1::timestamptz, $2::integer)", 2,
                           NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = cli_db_fail("prune", "prune a batch of jobs", res, conn);
            if (total)
                fprintf(stderr, "%lld jobs were pruned before the error; their figures are in "
                                "the rollups\n", total);
            goto out;
        }
        n = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        res = NULL;
        if (n == 0)
            break;
        total += n;
        batches++;
        if (n < atoll(batch))
            break;
    }
    printf("pruned %lld finished job%s created before %s in %lld batch%s\n", total,
           total == 1 ? "" : "s", cutoff, batches, batches == 1 ? "" : "es");
    rc = CLI_OK;
out:
    PQclear(res);
    PQfinish(conn);
    return rc;
}
