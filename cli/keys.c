/* keys.c - `quarry keys create|list|update|disable|enable`: API key administration,
 * straight against PostgreSQL. The raw key is printed once by create, alone on the last
 * line; only its SHA-256 is stored. Every per-key limit of api_keys has an option, shared
 * by create and update through one table (FIELDS) so the two cannot drift apart. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "ids.h"

typedef enum {
    V_TEXT,          /* any non-empty text */
    V_POS_INT,       /* 1, 2, ... */
    V_NONNEG_INT,    /* 0, 1, ... */
    V_POS_DEC,       /* decimal > 0 */
    V_NONNEG_DEC,    /* decimal >= 0 */
    V_MODELS,        /* M1,M2,... each a model with a price */
    V_TIME,          /* a timestamp PostgreSQL understands */
    V_POLICY         /* block | flag | off */
} value_kind;

typedef struct {
    const char *option;
    const char *column;
    const char *expr;    /* SQL for the value; %s is the parameter ($N) */
    value_kind kind;
    const char *unset;   /* word that removes the limit (stores NULL), or NULL */
    const char *arg;     /* placeholder in --help */
    const char *help;
} key_field;

static const key_field FIELDS[] = {
    {"--name", "name", "%s", V_TEXT, NULL, "NAME", "label shown in listings and reports"},
    {"--max-question-chars", "max_question_chars", "%s::integer", V_POS_INT, NULL, "N",
     "longest question, in characters (default 32000)"},
    {"--min-question-chars", "min_question_chars", "%s::integer", V_POS_INT, NULL, "N",
     "shortest question, in characters (default 1)"},
    {"--allowed-models", "allowed_models", "string_to_array(%s, ',')", V_MODELS, "any", "M1,M2",
     "models the key may use, or \"any\" (default)"},
    {"--requests-per-second", "requests_per_second", "%s::numeric", V_POS_DEC, "none", "R",
     "sustained request rate, or \"none\""},
    {"--burst", "burst", "%s::integer", V_POS_INT, "none", "N",
     "requests allowed at once above the rate, or \"none\""},
    {"--daily-requests", "daily_requests", "%s::bigint", V_NONNEG_INT, "none", "N",
     "accepted requests per UTC day, or \"none\""},
    {"--daily-tokens", "daily_tokens", "%s::bigint", V_NONNEG_INT, "none", "N",
     "tokens per UTC day, or \"none\""},
    {"--daily-budget-usd", "daily_budget_usd", "%s::numeric", V_NONNEG_DEC, "none", "USD",
     "spend per UTC day, or \"none\""},
    {"--injection-policy", "injection_policy", "%s", V_POLICY, NULL, "P",
     "prompt injections: block (default), flag or off"},
    {"--expires-at", "expires_at", "%s::timestamptz", V_TIME, "never", "TIME",
     "e.g. 2027-01-31T00:00:00Z, or \"never\""},
    {"--expires-in-days", "expires_at", "now() + make_interval(days => %s::integer)", V_POS_INT,
     NULL, "D", "expires D days from now"},
};
#define NFIELDS (sizeof(FIELDS) / sizeof(FIELDS[0]))
enum { F_NAME = 0, F_MODELS = 3 };   /* indexes into FIELDS */

/* Columns shown by list, update, disable and enable. */
#define KEY_COLUMNS                                                                       \
    "k.id, k.name, k.key_prefix AS prefix,"                                               \
    " CASE WHEN k.disabled_at IS NOT NULL THEN 'disabled'"                                \
    "      WHEN k.expires_at <= now() THEN 'expired' ELSE 'active' END AS status,"        \
    " to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at," \
    " to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at," \
    " array_to_string(k.allowed_models, ',') AS allowed_models,"                          \
    " k.min_question_chars, k.max_question_chars, k.requests_per_second, k.burst,"        \
    " k.daily_requests, k.daily_tokens, k.daily_budget_usd, k.injection_policy"

static void print_field_help(FILE *out)
{
    for (size_t f = 0; f < NFIELDS; f++)
    {
        char opt[64];

        snprintf(opt, sizeof(opt), "%s %s", FIELDS[f].option, FIELDS[f].arg);
        fprintf(out, "  %-30s %s\n", opt, FIELDS[f].help);
    }
}

static int keys_usage(FILE *out, int rc)
{
    fputs("usage: quarry keys create --name NAME [LIMITS] [--database-url URL]\n"
          "       quarry keys list [--active] [--format table|csv|json] [--database-url URL]\n"
          "       quarry keys update KEY [--name NAME] [LIMITS] [--database-url URL]\n"
          "       quarry keys disable KEY [--database-url URL]\n"
          "       quarry keys enable KEY [--database-url URL]\n\n"
          "KEY is the key's id, its prefix (qk_ and 7 more characters) or the raw key.\n"
          "create prints the raw key once, alone on the last line: store it then, only\n"
          "its SHA-256 is kept. A disabled key is refused by every intake within seconds.\n\n"
          "LIMITS (a key without a limit of some kind is not limited in that way):\n",
          out);
    print_field_help(out);
    fputs("\nThe database is QUARRY_DATABASE_URL unless --database-url is given.\n"
          "Exit codes: 0 ok, 1 no such key or the database refused, 2 usage or invalid\n"
          "value, 4 database unavailable.\n",
          out);
    return rc;
}

static int all_digits(const char *s, size_t max_len)
{
    size_t n = strlen(s);

    if (n == 0 || n > max_len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Plain decimal: digits, optionally one '.' and more digits; at most 20 characters. */
static int is_decimal(const char *s)
{
    size_t n = strlen(s), digits = 0, dots = 0;

    if (n == 0 || n > 20)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else
            return 0;
    }
    return digits > 0 && dots <= 1 && s[0] != '.' && s[n - 1] != '.';
}

static int is_zero(const char *s)
{
    for (; *s; s++)
        if (*s != '0' && *s != '.')
            return 0;
    return 1;
}

/* Checks a value given on the command line; prints why it is wrong. Returns 0 or -1. */
static int check_value(const char *cmd, const key_field *f, const char *v)
{
    const char *want = NULL;

    if (f->unset && strcmp(v, f->unset) == 0)
        return 0;
    switch (f->kind) {
    case V_TEXT:
        if (!*v || strlen(v) > 200)
            want = "between 1 and 200 characters";
        break;
    case V_POS_INT:
        if (!all_digits(v, 9) || is_zero(v))
            want = "a positive integer";
        break;
    case V_NONNEG_INT:
        if (!all_digits(v, 18))
            want = "a non-negative integer";
        break;
    case V_POS_DEC:
        if (!is_decimal(v) || is_zero(v))
            want = "a positive decimal number";
        break;
    case V_NONNEG_DEC:
        if (!is_decimal(v))
            want = "a non-negative decimal number";
        break;
    case V_MODELS:
        if (!*v || v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
            want = "a comma-separated list of model ids";
        break;
    case V_TIME:
        if (!*v)
            want = "a timestamp";
        break;
    case V_POLICY:
        if (strcmp(v, "block") && strcmp(v, "flag") && strcmp(v, "off"))
            want = "block, flag or off";
        break;
    }
    if (!want)
        return 0;
    fprintf(stderr, "quarry keys %s: %s must be %s%s%s%s, not \"%s\"\n", cmd, f->option, want,
            f->unset ? " or \"" : "", f->unset ? f->unset : "", f->unset ? "\"" : "", v);
    return -1;
}

/* Every model of --allowed-models must have a price, or the intake would never accept it
 * for this key and the typo would go unnoticed. Returns CLI_OK or an exit code (printed). */
static int check_models(PGconn *conn, const char *cmd, const char *models)
{
    const char *params[1] = {models};
    PGresult *res;
    int rc = CLI_OK;

    if (!models || strcmp(models, "any") == 0)
        return CLI_OK;
    res = PQexecParams(conn,
                       "SELECT m FROM unnest(string_to_array($1, ',')) m"
                       " WHERE NOT EXISTS (SELECT 1 FROM model_prices p WHERE p.model = m)",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cli_db_fail(cmd, "check the models", res, conn);
    } else if (PQntuples(res) > 0) {
        fprintf(stderr,
                "quarry %s: unknown model \"%s\" in --allowed-models\n"
                "Known models are the ones in model_prices.\n",
                cmd, PQgetvalue(res, 0, 0));
        rc = CLI_USAGE;
    }
    PQclear(res);
    return rc;
}

/* Resolves KEY (id, prefix or raw key) to an id written into id[32]. Returns CLI_OK or
 * an exit code (printed): CLI_FAILED when no key matches, CLI_USAGE when a prefix
 * matches several keys. */
static int resolve_key(PGconn *conn, const char *cmd, const char *key, char id[32])
{
    char hash[65] = "";
    const char *params[2] = {key, hash};
    PGresult *res;
    int rc = CLI_OK;

    if (all_digits(key, 18)) {
        res = PQexecParams(conn, "SELECT id FROM api_keys WHERE id = $1::bigint", 1, NULL,
                           params, NULL, NULL, 0);
    } else {
        if (strlen(key) == Q_API_KEY_LEN)
            q_api_key_hash_hex(key, strlen(key), hash);
        res = PQexecParams(conn,
                           "SELECT id FROM api_keys WHERE key_prefix = $1"
                           " OR key_sha256 = decode(nullif($2, ''), 'hex') ORDER BY id",
                           2, NULL, params, NULL, NULL, 0);
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = cli_db_fail(cmd, "look up the key", res, conn);
    else if (PQntuples(res) == 0) {
        fprintf(stderr, "quarry %s: no api key matches \"%s\"\n", cmd, key);
        rc = CLI_FAILED;
    } else if (PQntuples(res) > 1) {
        fprintf(stderr, "quarry %s: prefix \"%s\" matches %d api keys; give the key's id\n", cmd,
                key, PQntuples(res));
        rc = CLI_USAGE;
    } else
        snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* Parsed command line of create and update. */
typedef struct {
    const char *vals[NFIELDS];   /* NULL: not given */
    const char *url;
    const char *key;             /* update: the KEY argument */
} key_args;

/* Parses [KEY] and options from argv[2..]. Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, const char *cmd, int want_key, key_args *a)
{
    int bad = 0;
    const char *v;

    memset(a, 0, sizeof(*a));
    a->url = q_env_str("QUARRY_DATABASE_URL", NULL);
    for (int i = 2; i < argc; i++) {
        size_t f;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return keys_usage(stdout, CLI_OK);
        if ((v = cli_opt(argc, argv, &i, "--database-url", &bad))) {
            a->url = v;
            continue;
        }
        for (f = 0; f < NFIELDS; f++)
            if ((v = cli_opt(argc, argv, &i, FIELDS[f].option, &bad)))
                break;
        if (bad)
            return CLI_USAGE;
        if (f < NFIELDS) {
            if (check_value(cmd, &FIELDS[f], v))
                return CLI_USAGE;
            a->vals[f] = v;
        } else if (want_key && !a->key && argv[i][0] != '-') {
            a->key = argv[i];
        } else {
            fprintf(stderr, "quarry keys %s: unknown %s \"%s\"\n", cmd,
                    argv[i][0] == '-' ? "option" : "argument", argv[i]);
            return CLI_USAGE;
        }
    }
    for (size_t f = 0; f < NFIELDS; f++)
        for (size_t g = f + 1; g < NFIELDS; g++)
            if (a->vals[f] && a->vals[g] && strcmp(FIELDS[f].column, FIELDS[g].column) == 0) {
                fprintf(stderr, "quarry keys %s: %s and %s cannot be used together\n", cmd,
                        FIELDS[f].option, FIELDS[g].option);
                return CLI_USAGE;
            }
    if (want_key && !a->key) {
        fprintf(stderr, "quarry keys %s: which key? give its id or prefix\n", cmd);
        return CLI_USAGE;
    }
    if (!a->url) {
        fprintf(stderr, "quarry keys %s: set QUARRY_DATABASE_URL or pass --database-url\n", cmd);
        return CLI_USAGE;
    }
    return -1;
}

/* Copies template into out with its one "%s" replaced by ref (no printf: the template
 * is data, and -Wformat-nonliteral rightly refuses it as a format). */
static void subst(char *out, size_t size, const char *template, const char *ref)
{
    const char *at = strstr(template, "%s");

    if (!at)
        snprintf(out, size, "%s", template);
    else
        snprintf(out, size, "%.*s%s%s", (int)(at - template), template, ref, at + 2);
}

/* Appends "col = expr" (update) or the column / the value list (create) for every given
 * field; parameters are numbered from *next. Returns 0, or -1 when out of memory. */
static int add_fields(const key_args *a, q_buf *cols, q_buf *exprs, const char **params,
                      int *next, int assign)
{
    for (size_t f = 0; f < NFIELDS; f++) {
        char ref[16], expr[160];
        const key_field *fd = &FIELDS[f];

        if (!a->vals[f])
            continue;
        if (fd->unset && strcmp(a->vals[f], fd->unset) == 0) {
            snprintf(expr, sizeof(expr), "NULL");
        } else {
            snprintf(ref, sizeof(ref), "$%d", *next);
            subst(expr, sizeof(expr), fd->expr, ref);
            params[*next - 1] = a->vals[f];
            (*next)++;
        }
        if (assign) {
            if (q_buf_printf(exprs, "%s%s = %s", exprs->len ? ", " : "", fd->column, expr) !=
                Q_BUF_OK)
                return -1;
        } else if (q_buf_printf(cols, ", %s", fd->column) != Q_BUF_OK ||
                   q_buf_printf(exprs, ", %s", expr) != Q_BUF_OK) {
            return -1;
        }
    }
    return 0;
}

static int print_key(PGconn *conn, const char *cmd, const char *id)
{
    const char *params[1] = {id};
    PGresult *res = PQexecParams(conn, "SELECT " KEY_COLUMNS " FROM api_keys k WHERE k.id = $1::bigint",
                                 1, NULL, params, NULL, NULL, 0);
    int rc;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = cli_db_fail(cmd, "read the key back", res, conn);
    else
        rc = cli_print_result(cmd, res, Q_RF_FORMAT_TABLE);
    PQclear(res);
    return rc;
}

static int keys_create(int argc, char **argv)
{
    key_args a;
    char raw[Q_API_KEY_LEN + 1], hash[65], prefix[16];
    const char *params[3 + NFIELDS];
    q_buf cols, exprs, sql;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc, next = 3;

    q_buf_init(&cols, 4096);
    q_buf_init(&exprs, 4096);
    q_buf_init(&sql, 16384);
    if ((rc = parse_args(argc, argv, "create", 0, &a)) >= 0)
        goto out;
    rc = CLI_FAILED;
    if (!a.vals[F_NAME]) {
        fprintf(stderr, "quarry keys create: --name is required\n");
        rc = CLI_USAGE;
        goto out;
    }
    if (!(conn = cli_db_connect("keys create", a.url))) {
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    if ((rc = check_models(conn, "keys create", a.vals[F_MODELS])) != CLI_OK)
        goto out;
    rc = CLI_FAILED;
    if (q_api_key_generate(raw) != 0) {
        fprintf(stderr, "quarry keys create: the random generator failed\n");
        goto out;
    }
    q_api_key_hash_hex(raw, strlen(raw), hash);
    snprintf(prefix, sizeof(prefix), "%.10s", raw);
    params[0] = prefix;
    params[1] = hash;
    if (add_fields(&a, &cols, &exprs, params, &next, 0) ||
        q_buf_printf(&sql,
                     "INSERT INTO api_keys (key_prefix, key_sha256%s)"
                     " VALUES ($1, decode($2, 'hex')%s)"
                     " RETURNING id, to_char(created_at AT TIME ZONE 'UTC',"
                     " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                     q_buf_cstr(&cols), q_buf_cstr(&exprs)) != Q_BUF_OK) {
        fprintf(stderr, "quarry keys create: out of memory\n");
        goto out;
    }
    res = PQexecParams(conn, q_buf_cstr(&sql), next - 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cli_db_fail("keys create", "store the key", res, conn);
        goto out;
    }
    printf("id:      %s\nname:    %s\nprefix:  %s\ncreated: %s\n"
           "The key is shown once; store it now:\n%s\n",
           PQgetvalue(res, 0, 0), a.vals[F_NAME], prefix, PQgetvalue(res, 0, 1), raw);
    rc = CLI_OK;
out:
    PQclear(res);
    PQfinish(conn);
    q_buf_free(&cols);
    q_buf_free(&exprs);
    q_buf_free(&sql);
    return rc;
}

static int keys_update(int argc, char **argv)
{
    key_args a;
    char id[32];
    const char *params[1 + NFIELDS];
    q_buf sets, sql;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc, next = 2, given = 0;

    q_buf_init(&sets, 4096);
    q_buf_init(&sql, 8192);
    if ((rc = parse_args(argc, argv, "update", 1, &a)) >= 0)
        goto out;
    for (size_t f = 0; f < NFIELDS; f++)
        given |= a.vals[f] != NULL;
    if (!given) {
        fprintf(stderr, "quarry keys update: nothing to change; give at least one of the "
                        "options in `quarry keys --help`\n");
        rc = CLI_USAGE;
        goto out;
    }
    if (!(conn = cli_db_connect("keys update", a.url))) {
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    if ((rc = check_models(conn, "keys update", a.vals[F_MODELS])) != CLI_OK ||
        (rc = resolve_key(conn, "keys update", a.key, id)) != CLI_OK)
        goto out;
    params[0] = id;
    if (add_fields(&a, NULL, &sets, params, &next, 1) ||
        q_buf_printf(&sql, "UPDATE api_keys SET %s WHERE id = $1::bigint", q_buf_cstr(&sets)) !=
            Q_BUF_OK) {
        fprintf(stderr, "quarry keys update: out of memory\n");
        rc = CLI_FAILED;
        goto out;
    }
    res = PQexecParams(conn, q_buf_cstr(&sql), next - 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = cli_db_fail("keys update", "update the key", res, conn);
        goto out;
    }
    rc = print_key(conn, "keys update", id);
out:
    PQclear(res);
    PQfinish(conn);
    q_buf_free(&sets);
    q_buf_free(&sql);
    return rc;
}

/* disable / enable: sets or clears disabled_at. */
static int keys_set_disabled(int argc, char **argv, int disable)
{
    const char *cmd = disable ? "keys disable" : "keys enable";
    const char *url = q_env_str("QUARRY_DATABASE_URL", NULL), *key = NULL, *v;
    const char *params[1];
    char id[32];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int bad = 0, rc;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return keys_usage(stdout, CLI_OK);
        if ((v = cli_opt(argc, argv, &i, "--database-url", &bad)))
            url = v;
        else if (bad)
            return CLI_USAGE;
        else if (!key && argv[i][0] != '-')
            key = argv[i];
        else {
            fprintf(stderr, "quarry %s: unknown %s \"%s\"\n", cmd,
                    argv[i][0] == '-' ? "option" : "argument", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!key) {
        fprintf(stderr, "quarry %s: which key? give its id or prefix\n", cmd);
        return CLI_USAGE;
    }
    if (!url) {
        fprintf(stderr, "quarry %s: set QUARRY_DATABASE_URL or pass --database-url\n", cmd);
        return CLI_USAGE;
    }
    if (!(conn = cli_db_connect(cmd, url)))
        return CLI_UNAVAILABLE;
    if ((rc = resolve_key(conn, cmd, key, id)) != CLI_OK)
        goto out;
    params[0] = id;
    /* The trigger of 0003 tells every intake to drop the key from its cache. */
    res = PQexecParams(conn,
                       disable ? "UPDATE api_keys SET disabled_at = coalesce(disabled_at, now())"
                                 " WHERE id = $1::bigint"
                               : "UPDATE api_keys SET disabled_at = NULL WHERE id = $1::bigint",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = cli_db_fail(cmd, disable ? "disable the key" : "enable the key", res, conn);
        goto out;
    }
    rc = print_key(conn, cmd, id);
out:
    PQclear(res);
    PQfinish(conn);
    return rc;
}

static int keys_list(int argc, char **argv)
{
    const char *url = q_env_str("QUARRY_DATABASE_URL", NULL), *v;
    q_rf_format format = Q_RF_FORMAT_TABLE;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int bad = 0, active = 0, rc;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return keys_usage(stdout, CLI_OK);
        if (strcmp(argv[i], "--active") == 0)
            active = 1;
        else if ((v = cli_opt(argc, argv, &i, "--database-url", &bad)))
            url = v;
        else if ((v = cli_opt(argc, argv, &i, "--format", &bad))) {
            if (q_rf_parse_format(v, &format)) {
                fprintf(stderr, "quarry keys list: --format must be table, csv or json, not \"%s\"\n", v);
                return CLI_USAGE;
            }
        } else {
            if (!bad)
                fprintf(stderr, "quarry keys list: unknown %s \"%s\"\n",
                        argv[i][0] == '-' ? "option" : "argument", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!url) {
        fprintf(stderr, "quarry keys list: set QUARRY_DATABASE_URL or pass --database-url\n");
        return CLI_USAGE;
    }
    if (!(conn = cli_db_connect("keys list", url)))
        return CLI_UNAVAILABLE;
    res = PQexec(conn, active ? "SELECT " KEY_COLUMNS " FROM api_keys k"
                                " WHERE k.disabled_at IS NULL"
                                " AND (k.expires_at IS NULL OR k.expires_at > now()) ORDER BY k.id"
                              : "SELECT " KEY_COLUMNS " FROM api_keys k ORDER BY k.id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = cli_db_fail("keys list", "list the keys", res, conn);
    else
        rc = cli_print_result("keys list", res, format);
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int cli_keys(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return keys_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_USAGE : CLI_OK);
    if (strcmp(argv[1], "create") == 0)
        return keys_create(argc, argv);
    if (strcmp(argv[1], "list") == 0)
        return keys_list(argc, argv);
    if (strcmp(argv[1], "update") == 0)
        return keys_update(argc, argv);
    if (strcmp(argv[1], "disable") == 0)
        return keys_set_disabled(argc, argv, 1);
    if (strcmp(argv[1], "enable") == 0)
        return keys_set_disabled(argc, argv, 0);
    fprintf(stderr, "quarry keys: unknown subcommand \"%s\"\n", argv[1]);
    return keys_usage(stderr, CLI_USAGE);
}
