/* api.c - the intake HTTP API for the CLI's client commands (see api.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "cli.h"
#include "config.h"

void cli_client_init(cli_client *c)
{
    c->url = q_env_str("QUARRY_URL", "http://127.0.0.1:8080");
    c->key = q_env_str("QUARRY_API_KEY", NULL);
    c->json = 0;
}

int cli_client_option(int argc, char **argv, int *i, cli_client *c, long *timeout_s)
{
    const char *v;
    int bad = 0;

    if ((v = cli_opt(argc, argv, i, "--url", &bad)))
        c->url = v;
    else if ((v = cli_opt(argc, argv, i, "--key", &bad)))
        c->key = v;
    else if (timeout_s && (v = cli_opt(argc, argv, i, "--timeout", &bad)))
        *timeout_s = atol(v);
    else if (strcmp(argv[*i], "--json") == 0)
        c->json = 1;
    else
        return bad ? -1 : 0;
    return 1;
}

int cli_need_key(const cli_client *c)
{
    if (c->key)
        return 0;
    fprintf(stderr, "quarry: set QUARRY_API_KEY or pass --key\n");
    return -1;
}

CURL *cli_api_handle(const cli_client *c, const char *method, const char *path,
                     const char *content_type, const char *accept,
                     struct curl_slist **headers)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL, *next;
    char url[2048], header[512];

    *headers = NULL;
    if (!curl) {
        fprintf(stderr, "quarry: out of memory\n");
        return NULL;
    }
    snprintf(url, sizeof(url), "%s%s", c->url, path);
    snprintf(header, sizeof(header), "x-api-key: %s", c->key ? c->key : "");
    /* curl_slist_append returns NULL and keeps the list when out of memory */
    if (!(next = curl_slist_append(h, header)))
        goto fail;
    h = next;
    if (content_type) {
        snprintf(header, sizeof(header), "Content-Type: %s", content_type);
        if (!(next = curl_slist_append(h, header)))
            goto fail;
        h = next;
    }
    snprintf(header, sizeof(header), "Accept: %s", accept);
    if (!(next = curl_slist_append(h, header)))
        goto fail;
    h = next;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    *headers = h;
    return curl;
fail:
    fprintf(stderr, "quarry: out of memory\n");
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return NULL;
}

long cli_api_perform(const cli_client *c, CURL *curl, CURLcode *result)
{
    long status = 0;
    CURLcode cc = curl_easy_perform(curl);

    if (result)
        *result = cc;
    if (cc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else if (cc != CURLE_ABORTED_BY_CALLBACK && cc != CURLE_WRITE_ERROR &&
             cc != CURLE_READ_ERROR)
        fprintf(stderr, "quarry: could not reach %s: %s\n", c->url, curl_easy_strerror(cc));
    return status;
}

long cli_api_request(const cli_client *c, const char *method, const char *path,
                     const char *body, json_t **out)
{
    struct curl_slist *headers;
    CURL *curl = cli_api_handle(c, method, path, "application/json", "application/json",
                                &headers);
    q_buf resp;
    CURLcode cc;
    long status;

    *out = NULL;
    if (!curl)
        return 0;
    q_buf_init(&resp, 16 * 1024 * 1024);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, q_buf_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    status = cli_api_perform(c, curl, &cc);
    if (cc == CURLE_WRITE_ERROR)
        fprintf(stderr, "quarry: the answer from %s is larger than %zu bytes\n", c->url,
                resp.cap);
    if (resp.len)
        *out = json_loadb(q_buf_cstr(&resp), resp.len, 0, NULL);
    q_buf_free(&resp);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

int cli_api_error(long status, const json_t *body)
{
    const json_t *err = json_object_get(body, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));

    if (!status)
        return CLI_UNAVAILABLE;
    fprintf(stderr, "quarry: HTTP %ld %s: %s\n", status, code ? code : "ERROR",
            msg ? msg : "no message");
    return status >= 500 ? CLI_UNAVAILABLE : CLI_FAILED;
}

int cli_api_escape(const char *id, char *out, size_t size)
{
    char *e = curl_easy_escape(NULL, id, 0);
    int rc = -1;

    if (e && strlen(e) < size) {
        memcpy(out, e, strlen(e) + 1);
        rc = 0;
    }
    curl_free(e);
    return rc;
}
