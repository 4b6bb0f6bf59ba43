/* client.c - `quarry ask|get|wait`: the intake API from the command line. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"

typedef struct {
    const char *url;      /* intake base URL */
    const char *key;      /* raw API key */
    int json;             /* print raw JSON instead of the summary */
} client;

/* One request. Returns the HTTP status (0 on a transport error, printed) and sets
 * *out to the parsed JSON body (NULL when none). */
static long request(const client *c, const char *method, const char *path, const char *body,
                    json_t **out)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    q_buf resp;
    char url[2048], header[512];
    long status = 0;
    CURLcode cc;

    *out = NULL;
    if (!curl)
        return 0;
    q_buf_init(&resp, 16 * 1024 * 1024);
    snprintf(url, sizeof(url), "%s%s", c->url, path);
    snprintf(header, sizeof(header), "x-api-key: %s", c->key);
    headers = curl_slist_append(headers, header);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, q_buf_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    cc = curl_easy_perform(curl);
    if (cc != CURLE_OK)
        fprintf(stderr, "quarry: could not reach %s: %s\n", c->url, curl_easy_strerror(cc));
    else
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (resp.len)
        *out = json_loadb(q_buf_cstr(&resp), resp.len, 0, NULL);
    q_buf_free(&resp);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

static int print_error(long status, const json_t *body)
{
    const char *code = json_string_value(json_object_get(json_object_get(body, "error"), "code"));
    const char *msg = json_string_value(json_object_get(json_object_get(body, "error"), "message"));

    if (!status)
        return CLI_UNAVAILABLE;
    fprintf(stderr, "quarry: HTTP %ld %s: %s\n", status, code ? code : "ERROR",
            msg ? msg : "no message");
    return status >= 500 ? CLI_UNAVAILABLE : CLI_FAILED;
}

static int is_terminal(const char *status)
{
    return status && (strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "cancelled") == 0 || strcmp(status, "expired") == 0);
}

static void print_job(const client *c, const json_t *job)
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
static int wait_job(const client *c, const char *id, long timeout_s)
{
    char path[128];
    time_t until = time(NULL) + timeout_s;
    long delay_ms = 100;

    snprintf(path, sizeof(path), "/v1/questions/%s", id);
    for (;;) {
        json_t *job;
        long status = request(c, "GET", path, NULL, &job);
        const char *st = json_string_value(json_object_get(job, "status"));

        if (status != 200) {
            int rc = print_error(status, job);
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

/* Parses the options every client command shares; returns -1 on a usage error. */
static int client_options(int argc, char **argv, int *i, client *c, long *timeout_s, int *bad)
{
    const char *v;

    if ((v = cli_opt(argc, argv, i, "--url", bad)))
        c->url = v;
    else if ((v = cli_opt(argc, argv, i, "--key", bad)))
        c->key = v;
    else if ((v = cli_opt(argc, argv, i, "--timeout", bad)))
        *timeout_s = atol(v);
    else if (strcmp(argv[*i], "--json") == 0)
        c->json = 1;
    else
        return *bad ? -1 : 0;
    return 1;
}

static int client_init(client *c)
{
    c->url = q_env_str("QUARRY_URL", "http://127.0.0.1:8080");
    c->key = q_env_str("QUARRY_API_KEY", NULL);
    c->json = 0;
    return 0;
}

static int need_key(const client *c)
{
    if (c->key)
        return 0;
    fprintf(stderr, "quarry: set QUARRY_API_KEY or pass --key\n");
    return -1;
}

int cli_ask(int argc, char **argv)
{
    client c;
    const char *question = NULL, *model = NULL, *v;
    long max_tokens = 0, timeout_s = 120;
    double temperature = -1;
    int wait = 0, bad = 0, rc;
    json_t *body, *resp = NULL;
    char *text;
    long status;

    client_init(&c);
    for (int i = 1; i < argc; i++) {
        int r = client_options(argc, argv, &i, &c, &timeout_s, &bad);

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
    if (need_key(&c))
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
    status = request(&c, "POST", "/v1/questions", text, &resp);
    free(text);
    if (status != 202) {
        rc = print_error(status, resp);
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
    client c;
    const char *id = NULL;
    long timeout_s = 120;
    int bad = 0, rc;

    client_init(&c);
    for (int i = 1; i < argc; i++) {
        int r = client_options(argc, argv, &i, &c, &timeout_s, &bad);

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
    if (need_key(&c))
        return CLI_USAGE;
    if (wait)
        return wait_job(&c, id, timeout_s);
    {
        char path[256];
        json_t *job;
        long status;

        snprintf(path, sizeof(path), "/v1/questions/%s", id);
        status = request(&c, "GET", path, NULL, &job);
        if (status == 200) {
            print_job(&c, job);
            rc = CLI_OK;
        } else {
            rc = print_error(status, job);
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
