/* report.c - `quarry report`: spend, errors, latency percentiles, the most expensive
 * requests, and rejected or injection-flagged submissions, read from the report views of
 * migrations 0005 and 0007 (docs/reporting.md), as an aligned table, CSV or JSON.
 *
 * Every aggregate report reads live jobs plus the rollups of pruned ones, so its figures
 * do not change when `quarry prune` runs. Days are UTC days of job creation. Grouping or
 * filtering by batch reads report_job_facts directly (the daily views have no batch). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "config.h"

#define MAX_PARAMS 12
#define MAX_DIMS 4

typedef enum { DIM_DAY, DIM_KEY, DIM_MODEL, DIM_BATCH } dim;

struct report_args;

typedef struct {
    const char *name;        /* report name on the command line */
    const char *default_by;  /* default --by, or NULL when --by does not apply */
    int has_model;           /* whether --model applies */
    int has_batch;           /* whether --batch applies (and, with default_by, --by batch) */
    int has_limit;           /* whether --limit applies */
    int (*build)(const struct report_args *, q_buf *sql, const char **params, int *np);
    const char *help;
} report_kind;

typedef struct report_args {
    const report_kind *kind;
    dim dims[MAX_DIMS];
    int ndims;
    char since[11], until[11];   /* "" when not given */
    const char *keys;            /* comma-separated ids/prefixes/names, or NULL */
    const char *models;          /* comma-separated model ids, or NULL */
    q_buf key_ids_buf;           /* --key resolved: "{1,2}", for $n::bigint[] */
    const char *batches;         /* --batch as given, or NULL */
    q_buf batch_ids_buf;         /* --batch checked: "{id,id}", for $n::uuid[] */
    int by_batch;                /* batch is among dims, or --batch was given */
    long limit;
    char limit_text[24];         /* limit as the query parameter (outlives the build) */
    q_rf_format format;
} report_args;

/* ---- SQL building ------------------------------------------------------------------ */

static const char *param(const char **params, int *np, const char *value, char ref[16])
{
    params[*np] = value;
    (*np)++;
    snprintf(ref, 16, "$%d", *np);
    return ref;
}

/* " AND ..." for --since/--until/--key/--model/--batch over a relation with columns day,
 * api_key_id, (when has_model) model and (when --batch is given) batch_id. */
static int add_filters(const report_args *a, q_buf *sql, const char **params, int *np,
                       int has_model)
{
    char ref[16];
    int rc = Q_BUF_OK;

    if (a->since[0])
        rc |= q_buf_printf(sql, " AND day >= %s::date", param(params, np, a->since, ref));
    if (a->until[0])
        rc |= q_buf_printf(sql, " AND day <= %s::date", param(params, np, a->until, ref));
    if (a->keys)
        rc |= q_buf_printf(sql, " AND api_key_id = ANY (%s::bigint[])",
                           param(params, np, q_buf_cstr(&a->key_ids_buf), ref));
    if (a->models && has_model)
        rc |= q_buf_printf(sql, " AND model = ANY (string_to_array(%s, ','))",
                           param(params, np, a->models, ref));
    if (a->batches)
        rc |= q_buf_printf(sql, " AND batch_id = ANY (%s::uuid[])",
                           param(params, np, q_buf_cstr(&a->batch_ids_buf), ref));
    return rc;
}

/* The dimension columns: as selected ("api_key_id AS key_id, key_name") or as named in
 * the output ("key_id, key_name"). Ends with ", " when there is any dimension. */
static int add_dims(const report_args *a, q_buf *sql, int output_names)
{
    int rc = Q_BUF_OK;

    for (int i = 0; i < a->ndims; i++)
        switch (a->dims[i]) {
        case DIM_DAY:
            rc |= q_buf_adds(sql, "day, ");
            break;
        case DIM_KEY:
            rc |= q_buf_adds(sql, output_names ? "key_id, key_name, "
                                               : "api_key_id AS key_id, key_name, ");
            break;
        case DIM_MODEL:
            rc |= q_buf_adds(sql, "model, ");
            break;
        case DIM_BATCH:
            rc |= q_buf_adds(sql, "batch_id, batch_status, ");
            break;
        }
    return rc;
}

/* " GROUP BY dims" / " ORDER BY dims" (nothing when there are no dimensions); the
 * trailing ", " of add_dims is trimmed by writing the list without it. */
static int add_dim_list(const report_args *a, q_buf *sql, const char *lead)
{
    int rc = Q_BUF_OK;

    for (int i = 0; i < a->ndims; i++) {
        static const char *const names[] = {[DIM_DAY] = "day", [DIM_KEY] = "key_id, key_name",
                                            [DIM_MODEL] = "model",
                                            [DIM_BATCH] = "batch_id, batch_status"};

        rc |= q_buf_printf(sql, "%s%s", i == 0 ? lead : ", ", names[a->dims[i]]);
    }
    return rc;
}

/* With a batch dimension or filter, spend and errors read the facts themselves, in the
 * shape of report_spend_daily / report_errors_daily rows plus batch_id and the batch's
 * status (NULL for a job outside any batch); otherwise the view named. */
static int add_source(const report_args *a, q_buf *sql, const char *view)
{
    if (!a->by_batch)
        return q_buf_adds(sql, view);
    return q_buf_adds(sql,
                      "(SELECT f.day, f.api_key_id, k.name AS key_name, f.model, f.status,"
                      " f.error_code, f.batch_id, b.status AS batch_status, f.jobs,"
                      " CASE WHEN f.status = 'succeeded' THEN f.jobs ELSE 0 END AS succeeded,"
                      " CASE WHEN f.status = 'failed' THEN f.jobs ELSE 0 END AS failed,"
                      " CASE WHEN f.status = 'cancelled' THEN f.jobs ELSE 0 END AS cancelled,"
                      " CASE WHEN f.status = 'expired' THEN f.jobs ELSE 0 END AS expired,"
                      " f.attempts, f.input_tokens, f.output_tokens, f.cache_read_tokens,"
                      " f.cache_write_tokens, f.cost_usd"
                      " FROM report_job_facts f JOIN api_keys k ON k.id = f.api_key_id"
                      " LEFT JOIN batches b ON b.id = f.batch_id) s");
}

static int build_spend(const report_args *a, q_buf *sql, const char **params, int *np)
{
    int rc = q_buf_adds(sql, "SELECT ");

    rc |= add_dims(a, sql, 0);
    rc |= q_buf_adds(sql,
                     "sum(jobs)::bigint AS jobs, sum(succeeded)::bigint AS succeeded,"
                     " sum(failed)::bigint AS failed, sum(cancelled)::bigint AS cancelled,"
                     " sum(expired)::bigint AS expired,"
                     " sum(input_tokens)::bigint AS input_tokens,"
                     " sum(output_tokens)::bigint AS output_tokens,"
                     " sum(cache_read_tokens)::bigint AS cache_read_tokens,"
                     " sum(cache_write_tokens)::bigint AS cache_write_tokens,"
                     " sum(cost_usd)::numeric(24,12) AS cost_usd FROM ");
    rc |= add_source(a, sql, "report_spend_daily");
    rc |= q_buf_adds(sql, " WHERE true");
    rc |= add_filters(a, sql, params, np, 1);
    rc |= add_dim_list(a, sql, " GROUP BY ");
    rc |= q_buf_adds(sql, " HAVING count(*) > 0");
    rc |= add_dim_list(a, sql, " ORDER BY ");
    return rc;
}

static int build_errors(const report_args *a, q_buf *sql, const char **params, int *np)
{
    int rc = q_buf_adds(sql, "WITH e AS (SELECT ");

    rc |= add_dims(a, sql, 0);
    rc |= q_buf_adds(sql, "status, error_code, sum(jobs)::bigint AS jobs,"
                          " sum(attempts)::bigint AS attempts,"
                          " sum(cost_usd)::numeric(24,12) AS cost_usd FROM ");
    rc |= add_source(a, sql, "report_errors_daily");
    rc |= q_buf_adds(sql, " WHERE status <> 'succeeded'");
    rc |= add_filters(a, sql, params, np, 1);
    rc |= q_buf_adds(sql, " GROUP BY ");
    rc |= add_dims(a, sql, 1);
    /* share of every terminal job under the same filters, succeeded ones included */
    rc |= q_buf_adds(sql, "status, error_code), t AS (SELECT sum(jobs) AS total"
                          " FROM report_job_facts WHERE true");
    rc |= add_filters(a, sql, params, np, 1);
    rc |= q_buf_adds(sql, ") SELECT e.*, round(100.0 * e.jobs / t.total, 2) AS pct_of_jobs"
                          " FROM e, t ORDER BY ");
    rc |= add_dims(a, sql, 1);
    rc |= q_buf_adds(sql, "e.jobs DESC, status, error_code NULLS FIRST");
    return rc;
}

static int build_latency(const report_args *a, q_buf *sql, const char **params, int *np)
{
    static const struct { const char *kind, *prefix; } kinds[] = {{"model", "model"},
                                                                   {"end_to_end", "e2e"}};
    static const int pcts[] = {50, 90, 99};
    int rc = q_buf_adds(sql, "WITH h AS (SELECT ");

    rc |= add_dims(a, sql, 0);
    rc |= q_buf_adds(sql, "kind, latency_ms, sum(jobs) AS n FROM (SELECT h.*, k.name AS key_name");
    if (a->by_batch)
        rc |= q_buf_adds(sql, ", b.status AS batch_status");
    rc |= q_buf_adds(sql, " FROM report_latency_histogram h JOIN api_keys k ON k.id = h.api_key_id");
    if (a->by_batch)
        rc |= q_buf_adds(sql, " LEFT JOIN batches b ON b.id = h.batch_id");
    rc |= q_buf_adds(sql, ") f WHERE status = 'succeeded'");
    rc |= add_filters(a, sql, params, np, 1);
    rc |= q_buf_adds(sql, " GROUP BY ");
    rc |= add_dims(a, sql, 1);
    rc |= q_buf_adds(sql, "kind, latency_ms),"
                          " c AS (SELECT h.*, sum(n) OVER (PARTITION BY ");
    rc |= add_dims(a, sql, 1);
    rc |= q_buf_adds(sql, "kind ORDER BY latency_ms) AS cum, sum(n) OVER (PARTITION BY ");
    rc |= add_dims(a, sql, 1);
    rc |= q_buf_adds(sql, "kind) AS total FROM h) SELECT ");
    rc |= add_dims(a, sql, 1);
    rc |= q_buf_adds(sql, "max(total) FILTER (WHERE kind = 'end_to_end')::bigint AS jobs");
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (size_t p = 0; p < sizeof(pcts) / sizeof(pcts[0]); p++)
            rc |= q_buf_printf(sql,
                               ", min(latency_ms) FILTER (WHERE kind = '%s'"
                               " AND cum * 100 >= total * %d) AS %s_p%d_ms",
                               kinds[k].kind, pcts[p], kinds[k].prefix, pcts[p]);
        rc |= q_buf_printf(sql, ", max(latency_ms) FILTER (WHERE kind = '%s') AS %s_max_ms",
                           kinds[k].kind, kinds[k].prefix);
    }
    rc |= q_buf_adds(sql, " FROM c");
    rc |= add_dim_list(a, sql, " GROUP BY ");
    rc |= q_buf_adds(sql, " HAVING count(*) > 0");
    rc |= add_dim_list(a, sql, " ORDER BY ");
    return rc;
}

static int build_top(const report_args *a, q_buf *sql, const char **params, int *np)
{
    char ref[16];
    int rc;

    rc = q_buf_adds(sql, "SELECT id, to_char(created_at AT TIME ZONE 'UTC',"
                         " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_at,"
                         " api_key_id AS key_id, key_name, model, status, error_code,"
                         " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
                         " cost_usd, model_latency_ms, end_to_end_ms"
                         " FROM report_requests WHERE true");
    rc |= add_filters(a, sql, params, np, 1);
    rc |= q_buf_printf(sql, " ORDER BY cost_usd DESC, created_at, id LIMIT %s::bigint",
                       param(params, np, a->limit_text, ref));
    return rc;
}

static int build_rejections(const report_args *a, q_buf *sql, const char **params, int *np)
{
    int rc = q_buf_adds(sql, "SELECT ");

    rc |= add_dims(a, sql, 0);
    rc |= q_buf_adds(sql, "code, action, reason, sum(attempts)::bigint AS attempts,"
                          " max(max_question_chars) AS max_question_chars"
                          " FROM report_rejections_daily WHERE true");
    rc |= add_filters(a, sql, params, np, 0);
    rc |= q_buf_adds(sql, " GROUP BY ");
    rc |= add_dims(a, sql, 1);
    rc |= q_buf_adds(sql, "code, action, reason ORDER BY ");
    rc |= add_dims(a, sql, 1);
    rc |= q_buf_adds(sql, "attempts DESC, code, action, reason NULLS FIRST");
    return rc;
}

static int build_injections(const report_args *a, q_buf *sql, const char **params, int *np)
{
    char ref[16];
    int rc;

    rc = q_buf_adds(sql, "SELECT to_char(at AT TIME ZONE 'UTC',"
                         " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at,"
                         " api_key_id AS key_id, key_name, injection_policy AS policy, action,"
                         " reason, score, question_chars, job_id, request_id"
                         " FROM report_injection_attempts WHERE true");
    rc |= add_filters(a, sql, params, np, 0);
    rc |= q_buf_printf(sql, " ORDER BY report_injection_attempts.at DESC, id DESC LIMIT %s::bigint",
                       param(params, np, a->limit_text, ref));
    return rc;
}

static const report_kind KINDS[] = {
    {"spend", "day", 1, 1, 0, build_spend,
     "jobs, tokens (input/output/cache read/cache write) and cost in USD"},
    {"errors", "", 1, 1, 0, build_errors,
     "jobs that did not succeed, by status and error code, with their share"},
    {"latency", "model", 1, 1, 0, build_latency,
     "p50/p90/p99/max of model latency and end-to-end time, succeeded jobs"},
    {"top", NULL, 1, 1, 1, build_top, "the most expensive requests still in jobs"},
    {"rejections", "", 0, 0, 0, build_rejections,
     "submissions the intake rejected or flagged, by code, action and reason"},
    {"injections", NULL, 0, 0, 1, build_injections,
     "prompt-injection attempts, blocked or flagged, newest first"},
};
#define NKINDS (sizeof(KINDS) / sizeof(KINDS[0]))

/* ---- command line ------------------------------------------------------------------ */

static int report_usage(FILE *out, int rc)
{
    fputs("usage: quarry report REPORT [--by DIMS] [--since DAY] [--until DAY] [--key KEYS]\n"
          "                            [--model MODELS] [--batch IDS] [--limit N]\n"
          "                            [--format table|csv|json] [--database-url URL]\n\n"
          "Reports:\n",
          out);
    for (size_t k = 0; k < NKINDS; k++)
        fprintf(out, "  %-11s %s\n", KINDS[k].name, KINDS[k].help);
    fputs("\nOptions:\n"
          "  --by DIMS       group by a comma-separated list of day, key, model, batch, or\n"
          "                  \"total\" (spend: default day; errors and rejections: default\n"
          "                  none; latency: default model); batch adds batch_id and\n"
          "                  batch_status, empty for jobs outside any batch (not for\n"
          "                  rejections)\n"
          "  --since DAY     first UTC day, YYYY-MM-DD or Nd (N days ago); inclusive\n"
          "  --until DAY     last UTC day, same forms; inclusive\n"
          "  --key KEYS      comma-separated key ids, prefixes or names\n"
          "  --model MODELS  comma-separated model ids (not for rejections, injections)\n"
          "  --batch IDS     comma-separated batch ids (not for rejections, injections)\n"
          "  --limit N       rows of top and injections (default 20)\n"
          "  --format F      table (default), csv or json (exact decimals as strings)\n\n"
          "A job counts on the UTC day it was created; only finished jobs are reported.\n"
          "Figures include jobs removed by `quarry prune` (from its rollups), except top,\n"
          "which lists jobs still stored. The views behind each report are documented in\n"
          "docs/reporting.md. Exit codes: 0 ok, 1 no such key or batch or the query\n"
          "failed, 2 usage, 4 database unavailable.\n",
          out);
    return rc;
}

static int parse_by(const char *s, report_args *a)
{
    char buf[64], *save = NULL, *tok;

    a->ndims = 0;
    if (strlen(s) >= sizeof(buf))
        return -1;
    if (strcmp(s, "total") == 0 || *s == '\0')
        return 0;
    snprintf(buf, sizeof(buf), "%s", s);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        dim d;

        if (strcmp(tok, "day") == 0)
            d = DIM_DAY;
        else if (strcmp(tok, "key") == 0)
            d = DIM_KEY;
        else if (strcmp(tok, "model") == 0)
            d = DIM_MODEL;
        else if (strcmp(tok, "batch") == 0)
            d = DIM_BATCH;
        else
            return -1;
        for (int i = 0; i < a->ndims; i++)
            if (a->dims[i] == d)
                return -1;
        if (a->ndims == MAX_DIMS)
            return -1;
        a->dims[a->ndims++] = d;
    }
    return 0;
}

/* Checks --batch (comma-separated UUIDs, any case) and writes it as a uuid[] literal
 * "{id,id}" to out. Returns 0, or -1 when an id is malformed or out is full. */
static int parse_batches(const char *s, q_buf *out)
{
    const char *p = s;
    int rc = q_buf_adds(out, "{");

    for (;;) {
        size_t n = strcspn(p, ",");

        if (n != 36)
            return -1;
        for (size_t i = 0; i < n; i++) {
            int dash = i == 8 || i == 13 || i == 18 || i == 23;

            if (dash ? p[i] != '-' : !strchr("0123456789abcdefABCDEF", p[i]))
                return -1;
        }
        rc |= q_buf_printf(out, "%s%.*s", p == s ? "" : ",", (int)n, p);
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    rc |= q_buf_adds(out, "}");
    return rc == Q_BUF_OK ? 0 : -1;
}

/* Fails when a --batch id names no batch, as --key does for keys. Returns CLI_OK or an
 * exit code (printed). */
static int check_batches(PGconn *conn, const report_args *a)
{
    const char *params[1] = {q_buf_cstr(&a->batch_ids_buf)};
    PGresult *res = PQexecParams(conn,
                                 "SELECT w::text FROM unnest($1::uuid[]) w"
                                 " WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = w)"
                                 " LIMIT 1",
                                 1, NULL, params, NULL, NULL, 0);
    int rc = CLI_OK;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = cli_db_fail("report", "look up the batches", res, conn);
    else if (PQntuples(res) > 0) {
        fprintf(stderr, "quarry report: no batch has id %s\n", PQgetvalue(res, 0, 0));
        rc = CLI_FAILED;
    }
    PQclear(res);
    return rc;
}

/* Resolves --key into a bigint[] literal in a->key_ids_buf. Returns CLI_OK or an exit
 * code (printed). */
static int resolve_keys(PGconn *conn, report_args *a)
{
    const char *params[1] = {a->keys};
    PGresult *res;
    int rc = CLI_OK;

    res = PQexecParams(conn,
                       "WITH w AS (SELECT unnest(string_to_array($1, ',')) AS w)"
                       " SELECT w.w, array_agg(k.id ORDER BY k.id)::text FROM w"
                       " LEFT JOIN api_keys k ON k.id::text = w.w OR k.key_prefix = w.w"
                       " OR k.name = w.w GROUP BY w.w",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cli_db_fail("report", "look up the keys", res, conn);
        goto out;
    }
    if (q_buf_adds(&a->key_ids_buf, "{") != Q_BUF_OK)
        goto nomem;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *ids = PQgetvalue(res, r, 1);   /* "{1,2}" or "{NULL}" */

        if (strcmp(ids, "{NULL}") == 0) {
            fprintf(stderr, "quarry report: no api key matches \"%s\"\n", PQgetvalue(res, r, 0));
            rc = CLI_FAILED;
            goto out;
        }
        if (q_buf_printf(&a->key_ids_buf, "%s%.*s", a->key_ids_buf.len > 1 ? "," : "",
                         (int)strlen(ids) - 2, ids + 1) != Q_BUF_OK)
            goto nomem;
    }
    if (q_buf_adds(&a->key_ids_buf, "}") != Q_BUF_OK)
        goto nomem;
    goto out;
nomem:
    fprintf(stderr, "quarry report: too many keys in --key\n");
    rc = CLI_USAGE;
out:
    PQclear(res);
    return rc;
}

int cli_report(int argc, char **argv)
{
    report_args a;
    const char *url = q_env_str("QUARRY_DATABASE_URL", NULL), *v, *by = NULL;
    const char *params[MAX_PARAMS];
    long today = (long)(time(NULL) / 86400), since = 0, until = 0;
    int bad = 0, np = 0, rc = CLI_USAGE, have_since = 0, have_until = 0, have_limit = 0;
    q_buf sql;
    PGconn *conn = NULL;
    PGresult *res = NULL;

    memset(&a, 0, sizeof(a));
    a.limit = 20;
    q_buf_init(&a.key_ids_buf, 64 * 1024);
    q_buf_init(&a.batch_ids_buf, 64 * 1024);
    q_buf_init(&sql, 64 * 1024);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        rc = report_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_USAGE : CLI_OK);
        goto out;
    }
    for (size_t k = 0; k < NKINDS; k++)
        if (strcmp(argv[1], KINDS[k].name) == 0)
            a.kind = &KINDS[k];
    if (!a.kind) {
        fprintf(stderr, "quarry report: unknown report \"%s\"\n", argv[1]);
        rc = report_usage(stderr, CLI_USAGE);
        goto out;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            rc = report_usage(stdout, CLI_OK);
            goto out;
        } else if ((v = cli_opt(argc, argv, &i, "--database-url", &bad))) {
            url = v;
        } else if ((v = cli_opt(argc, argv, &i, "--by", &bad))) {
            by = v;
        } else if ((v = cli_opt(argc, argv, &i, "--since", &bad))) {
            if (q_rf_parse_day(v, today, &since)) {
                fprintf(stderr, "quarry report: --since must be YYYY-MM-DD or Nd, not \"%s\"\n", v);
                goto out;
            }
            have_since = 1;
        } else if ((v = cli_opt(argc, argv, &i, "--until", &bad))) {
            if (q_rf_parse_day(v, today, &until)) {
                fprintf(stderr, "quarry report: --until must be YYYY-MM-DD or Nd, not \"%s\"\n", v);
                goto out;
            }
            have_until = 1;
        } else if ((v = cli_opt(argc, argv, &i, "--key", &bad))) {
            a.keys = v;
        } else if ((v = cli_opt(argc, argv, &i, "--model", &bad))) {
            a.models = v;
        } else if ((v = cli_opt(argc, argv, &i, "--batch", &bad))) {
            if (a.batches || parse_batches(v, &a.batch_ids_buf)) {
                fprintf(stderr, "quarry report: --batch must be comma-separated batch ids "
                                "(given once), not \"%s\"\n", v);
                goto out;
            }
            a.batches = v;
        } else if ((v = cli_opt(argc, argv, &i, "--limit", &bad))) {
            char *end;

            a.limit = strtol(v, &end, 10);
            if (end == v || *end || a.limit < 1 || a.limit > 100000) {
                fprintf(stderr, "quarry report: --limit must be between 1 and 100000, not \"%s\"\n", v);
                goto out;
            }
            have_limit = 1;
        } else if ((v = cli_opt(argc, argv, &i, "--format", &bad))) {
            if (q_rf_parse_format(v, &a.format)) {
                fprintf(stderr, "quarry report: --format must be table, csv or json, not \"%s\"\n", v);
                goto out;
            }
        } else {
            if (!bad)
                fprintf(stderr, "quarry report %s: unknown %s \"%s\"\n", a.kind->name,
                        argv[i][0] == '-' ? "option" : "argument", argv[i]);
            goto out;
        }
    }
    if (bad)
        goto out;
    if (by && !a.kind->default_by) {
        fprintf(stderr, "quarry report %s: --by does not apply to this report\n", a.kind->name);
        goto out;
    }
    if (a.kind->default_by && parse_by(by ? by : a.kind->default_by, &a)) {
        fprintf(stderr, "quarry report: --by must list day, key, model and batch (each at most "
                        "once) or be \"total\", not \"%s\"\n", by);
        goto out;
    }
    if (a.models && !a.kind->has_model) {
        fprintf(stderr, "quarry report %s: --model does not apply: the intake records "
                        "rejections without a model\n", a.kind->name);
        goto out;
    }
    if (have_limit && !a.kind->has_limit) {
        fprintf(stderr, "quarry report %s: --limit applies to top and injections only\n",
                a.kind->name);
        goto out;
    }
    if (have_since && have_until && until < since) {
        fprintf(stderr, "quarry report: --until is before --since\n");
        goto out;
    }
    if (have_since)
        q_rf_format_day(since, a.since);
    if (have_until)
        q_rf_format_day(until, a.until);
    if (a.batches && !a.kind->has_batch) {
        fprintf(stderr, "quarry report %s: --batch does not apply: the intake records "
                        "rejections without a batch\n", a.kind->name);
        goto out;
    }
    for (int i = 0; i < a.ndims; i++) {
        if (a.dims[i] == DIM_MODEL && !a.kind->has_model) {
            fprintf(stderr, "quarry report %s: cannot group by model: the intake records "
                            "rejections without a model\n", a.kind->name);
            goto out;
        }
        if (a.dims[i] == DIM_BATCH && !a.kind->has_batch) {
            fprintf(stderr, "quarry report %s: cannot group by batch: the intake records "
                            "rejections without a batch\n", a.kind->name);
            goto out;
        }
        if (a.dims[i] == DIM_BATCH)
            a.by_batch = 1;
    }
    if (a.batches)
        a.by_batch = 1;
    if (!url) {
        fprintf(stderr, "quarry report: set QUARRY_DATABASE_URL or pass --database-url\n");
        goto out;
    }
    if (!(conn = cli_db_connect("report", url))) {
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    if (a.keys && (rc = resolve_keys(conn, &a)) != CLI_OK)
        goto out;
    if (a.batches && (rc = check_batches(conn, &a)) != CLI_OK)
        goto out;
    snprintf(a.limit_text, sizeof(a.limit_text), "%ld", a.limit);
    if (a.kind->build(&a, &sql, params, &np) != Q_BUF_OK) {
        fprintf(stderr, "quarry report: the query grew too large\n");
        rc = CLI_FAILED;
        goto out;
    }
    /* One snapshot for the whole report, read-only. */
    res = PQexecParams(conn, q_buf_cstr(&sql), np, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cli_db_fail("report", "run the report", res, conn);
        goto out;
    }
    rc = cli_print_result("report", res, a.format);
out:
    PQclear(res);
    PQfinish(conn);
    q_buf_free(&sql);
    q_buf_free(&a.key_ids_buf);
    q_buf_free(&a.batch_ids_buf);
    return rc;
}
