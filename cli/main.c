/* main.c - `quarry`, the admin and client tool: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "log.h"

static void usage(FILE *out)
{
    fputs("usage: quarry COMMAND [OPTIONS]\n\n"
          "Commands:\n"
          "  migrate [--dir DIR]            apply pending database migrations\n"
          "  keys create|list|update|disable|enable\n"
          "                                 administer API keys and their limits\n"
          "  report REPORT [...]            spend, errors, latency, top, rejections, injections\n"
          "  prune --older-than 30d         delete old finished jobs, keeping report figures\n"
          "  ask QUESTION [--wait] [...]    submit a question\n"
          "  get ID                         show a job\n"
          "  wait ID [--timeout SECONDS]    wait until a job ends and show it\n"
          "  batch submit|wait|status|results|cancel|list\n"
          "                                 many questions at once from a JSONL file\n\n"
          "Every command takes --help. Settings: QUARRY_DATABASE_URL (migrate, keys,\n"
          "report, prune), QUARRY_URL and QUARRY_API_KEY (ask, get, wait, batch);\n"
          "`source .run/env` sets them for the local stack.\n\n"
          "Exit codes: 0 ok, 1 rejected or job failed (a batch: some line invalid or some\n"
          "request not succeeded), 2 usage, 3 wait timed out, 4 service or database\n"
          "unavailable; Ctrl-C while `batch` waits ends by SIGINT, the batch goes on.\n",
          out);
}

int main(int argc, char **argv)
{
    int rc;

    q_log_init("cli");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[1], "migrate") == 0)
        rc = cli_migrate(argc - 1, argv + 1);
    else if (strcmp(argv[1], "keys") == 0)
        rc = cli_keys(argc - 1, argv + 1);
    else if (strcmp(argv[1], "report") == 0)
        rc = cli_report(argc - 1, argv + 1);
    else if (strcmp(argv[1], "prune") == 0)
        rc = cli_prune(argc - 1, argv + 1);
    else if (strcmp(argv[1], "ask") == 0)
        rc = cli_ask(argc - 1, argv + 1);
    else if (strcmp(argv[1], "get") == 0)
        rc = cli_get(argc - 1, argv + 1);
    else if (strcmp(argv[1], "wait") == 0)
        rc = cli_wait(argc - 1, argv + 1);
    else if (strcmp(argv[1], "batch") == 0)
        rc = cli_batch(argc - 1, argv + 1);
    else {
        fprintf(stderr, "quarry: unknown command \"%s\"\n\n", argv[1]);
        usage(stderr);
        rc = CLI_USAGE;
    }
    curl_global_cleanup();
    return rc;
}

const char *cli_opt(int argc, char **argv, int *i, const char *name, int *bad)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];

    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "quarry: option %s needs a value\n", name);
        *bad = 1;
        return NULL;
    }
    return argv[++*i];
}
