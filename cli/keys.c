/* keys.c - `quarry keys`: API key administration, straight against PostgreSQL.
 * The raw key is printed once, alone on the last line; only its SHA-256 is stored. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "ids.h"

static int keys_usage(FILE *out, int rc)
{
    fputs("usage: quarry keys create --name NAME [--max-question-chars N]\n"
          "                          [--allowed-models M1,M2] [--expires-in-days D]\n"
          "                          [--database-url URL]\n\n"
          "Creates an API key and prints it once, alone on the last line.\n"
          "Store it now: only its SHA-256 is kept.\n",
          out);
    return rc;
}

int cli_keys(int argc, char **argv)
{
    const char *name = NULL, *max_chars = NULL, *models = NULL, *expires = NULL, *v;
    const char *url = q_env_str("QUARRY_DATABASE_URL", NULL);
    char raw[Q_API_KEY_LEN + 1], hash[65], prefix[16];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int bad = 0, rc = CLI_FAILED;

    if (argc < 2 || strcmp(argv[1], "--help") == 0)
        return keys_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_USAGE : CLI_OK);
    if (strcmp(argv[1], "create") != 0) {
        fprintf(stderr, "quarry keys: unknown subcommand \"%s\"\n", argv[1]);
        return keys_usage(stderr, CLI_USAGE);
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return keys_usage(stdout, CLI_OK);
        else if ((v = cli_opt(argc, argv, &i, "--name", &bad)))
            name = v;
        else if ((v = cli_opt(argc, argv, &i, "--max-question-chars", &bad)))
            max_chars = v;
        else if ((v = cli_opt(argc, argv, &i, "--allowed-models", &bad)))
            models = v;
        else if ((v = cli_opt(argc, argv, &i, "--expires-in-days", &bad)))
            expires = v;
        else if ((v = cli_opt(argc, argv, &i, "--database-url", &bad)))
            url = v;
        else {
            if (!bad)
                fprintf(stderr, "quarry keys create: unknown option %s\n", argv[i]);
            return keys_usage(stderr, CLI_USAGE);
        }
    }
    if (!name || !*name) {
        fprintf(stderr, "quarry keys create: --name is required\n");
        return CLI_USAGE;
    }
    if (!url) {
        fprintf(stderr, "quarry keys create: set QUARRY_DATABASE_URL or pass --database-url\n");
        return CLI_USAGE;
    }
    if (q_api_key_generate(raw) != 0) {
        fprintf(stderr, "quarry keys create: the random generator failed\n");
        return CLI_FAILED;
    }
    q_api_key_hash_hex(raw, strlen(raw), hash);
    snprintf(prefix, sizeof(prefix), "%.10s", raw);
    conn = q_db_connect(url, 0);
    if (!conn)
        return CLI_UNAVAILABLE;
    {
        /* Limits are checked by the table's constraints; casts reject malformed input. */
        const char *params[6] = {name, prefix, hash, max_chars, models, expires};
        res = PQexecParams(
            conn,
            "INSERT INTO api_keys (name, key_prefix, key_sha256, max_question_chars,"
            " allowed_models, expires_at)"
            " VALUES ($1, $2, decode($3, 'hex'), coalesce($4::int, 32000),"
            " string_to_array($5, ','), now() + make_interval(days => $6::int))"
            " RETURNING id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            6, NULL, params, NULL, NULL, 0);
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "quarry keys create: could not store the key: %s",
                PQresultErrorMessage(res));
        goto out;
    }
    printf("id:      %s\nname:    %s\nprefix:  %s\ncreated: %s\n"
           "The key is shown once; store it now:\n%s\n",
           PQgetvalue(res, 0, 0), name, prefix, PQgetvalue(res, 0, 1), raw);
    rc = CLI_OK;
out:
    PQclear(res);
    PQfinish(conn);
    return rc;
}
