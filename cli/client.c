/* client.c - `quarry ask|get|wait`: the intake API from the command line. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"

static int is_terminal(const char *status)
{
    return status && (strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "cancelled") == 0 || strcmp(status, "expired") == 0);
}

static void print_job(const cli_client *c, const json_t *job)
{
    const json_t *usage = json_object_get(job, "usage"), *err = json_object_get(job, "error");
    const char *answer = json_string_value(json_object_get(job, "answer"));
    const char *cost = json_string_value(json_object_get(job, "cost_usd"));

    if (c->json) {
        char *s = json_dumps(job, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
        return;
    }
    printf("id:      %s\n", json_string_value(json_object_get(job, "id")));
    printf("status:  %s\n", json_string_value(json_object_get(job, "status")));
    printf("model:   %s\n", json_string_value(json_object_get(job, "model")));
    if (answer)
        printf("answer:  %s\n", answer);
    if (json_is_object(usage))
        printf("tokens:  %lld in, %lld out\n",
               (long long)json_integer_value(json_object_get(usage, "input_tokens")),
               (long long)json_integer_value(json_object_get(usage, "output_tokens")));
    if (cost)
        printf("cost:    %s USD\n", cost);
    if (json_is_object(err))
        printf("error:   %s: %s\n", json_string_value(json_object_get(err, "code")),
               json_string_value(json_object_get(err, "message")));
}

/* Polls until the job is terminal or timeout_s passes. */
static int wait_job(const cli_client *c, const char *id, long timeout_s)
{
    char path[128];
    time_t until = time(NULL) + timeout_s;
    long delay_ms = 100;

    snprintf(path, sizeof(path), "/v1/questions/%s", id);
    for (;;) {
        json_t *job;
        long status = cli_api_request(c, "GET", path, NULL, &job);
        const char *st = json_string_value(json_object_get(job, "status"));

        if (status != 200) {
            int rc = cli_api_error(status, job);
            json_decref(job);
            return rc;
        }
        if (is_terminal(st)) {
            int rc = strcmp(st, "succeeded") == 0 ? CLI_OK : CLI_FAILED;
            print_job(c, job);
            json_decref(job);
            return rc;
        }
        json_decref(job);
        if (time(NULL) >= until) {
            fprintf(stderr, "quarry: job %s is still %s after %ld s\n", id, st ? st : "unknown",
                    timeout_s);
            return CLI_TIMEOUT;
        }
        usleep((useconds_t)delay_ms * 1000);
        if (delay_ms < 1000)
            delay_ms += delay_ms / 2;
    }
}

int cli_ask(int argc, char **argv)
{
    cli_client c;
    const char *question = NULL, *model = NULL, *v;
    long max_tokens = 0, timeout_s = 120;
    double temperature = -1;
    int wait = 0, bad = 0, rc;
    json_t *body, *resp = NULL;
    char *text;
    long status;

    cli_client_init(&c);
    for (int i = 1; i < argc; i++) {
        int r = cli_client_option(argc, argv, &i, &c, &timeout_s);

        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: quarry ask QUESTION [--model ID] [--max-tokens N] [--temperature T]\n"
                 "                  [--wait] [--timeout SECONDS] [--json] [--url URL] [--key KEY]\n\n"
                 "Submits a question and prints its job id; with --wait, waits for the answer\n"
                 "and prints it with its tokens and cost.");
            return CLI_OK;
        } else if (strcmp(argv[i], "--wait") == 0) {
            wait = 1;
        } else if ((v = cli_opt(argc, argv, &i, "--model", &bad))) {
            model = v;
        } else if ((v = cli_opt(argc, argv, &i, "--max-tokens", &bad))) {
            max_tokens = atol(v);
        } else if ((v = cli_opt(argc, argv, &i, "--temperature", &bad))) {
            temperature = atof(v);
        } else if (argv[i][0] == '-' || bad || question) {
            fprintf(stderr, "quarry ask: unexpected argument %s\n", argv[i]);
            return CLI_USAGE;
        } else {
            question = argv[i];
        }
    }
    if (!question) {
        fprintf(stderr, "quarry ask: the question is required\n");
        return CLI_USAGE;
    }
    if (cli_need_key(&c))
        return CLI_USAGE;
    body = json_pack("{s:s}", "question", question);
    if (model)
        json_object_set_new(body, "model", json_string(model));
    if (max_tokens)
        json_object_set_new(body, "max_tokens", json_integer(max_tokens));
    if (temperature >= 0)
        json_object_set_new(body, "temperature", json_real(temperature));
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    status = cli_api_request(&c, "POST", "/v1/questions", text, &resp);
    free(text);
    if (status != 202) {
        rc = cli_api_error(status, resp);
    } else if (wait) {
        rc = wait_job(&c, json_string_value(json_object_get(resp, "id")), timeout_s);
    } else {
        if (c.json)
            print_job(&c, resp);
        else
            printf("%s\n", json_string_value(json_object_get(resp, "id")));
        rc = CLI_OK;
    }
    json_decref(resp);
    return rc;
}

static int get_or_wait(int argc, char **argv, int wait)
{
    cli_client c;
    const char *id = NULL;
    long timeout_s = 120;
    int rc;

    cli_client_init(&c);
    for (int i = 1; i < argc; i++) {
        int r = cli_client_option(argc, argv, &i, &c, &timeout_s);

        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: quarry %s ID [--json] [--url URL] [--key KEY]%s\n", wait ? "wait" : "get",
                   wait ? " [--timeout SECONDS]" : "");
            return CLI_OK;
        }
        if (argv[i][0] == '-' || id) {
            fprintf(stderr, "quarry: unexpected argument %s\n", argv[i]);
            return CLI_USAGE;
        }
        id = argv[i];
    }
    if (!id) {
        fprintf(stderr, "quarry: the job id is required\n");
        return CLI_USAGE;
    }
    if (cli_need_key(&c))
        return CLI_USAGE;
    if (wait)
        return wait_job(&c, id, timeout_s);
    {
        char path[256];
        json_t *job;
        long status;

        snprintf(path, sizeof(path), "/v1/questions/%s", id);
        status = cli_api_request(&c, "GET", path, NULL, &job);
        if (status == 200) {
            print_job(&c, job);
            rc = CLI_OK;
        } else {
            rc = cli_api_error(status, job);
        }
        json_decref(job);
    }
    return rc;
}

int cli_get(int argc, char **argv)
{
    return get_or_wait(argc, argv, 0);
}

int cli_wait(int argc, char **argv)
{
    return get_or_wait(argc, argv, 1);
}
