/* api.h - the intake HTTP API as the CLI's client commands see it (ask, get, wait, batch):
 * where the intake is, which key to send, one JSON request, and the pieces a command needs
 * to stream a body up or down itself.
 *
 * Errors are printed here, once, as "quarry: ..."; callers turn them into exit codes with
 * cli_api_exit(). */
#ifndef QUARRY_CLI_API_H
#define QUARRY_CLI_API_H

#include <curl/curl.h>
#include <jansson.h>

typedef struct {
    const char *url;      /* intake base URL (QUARRY_URL, --url) */
    const char *key;      /* raw API key (QUARRY_API_KEY, --key); NULL when unset */
    int json;             /* --json: print raw JSON instead of the summary */
} cli_client;

/* Fills c from the environment. */
void cli_client_init(cli_client *c);

/* Takes an option every client command shares (--url, --key, --json; --timeout too when
 * timeout_s is not NULL) at argv[*i]. Returns 1 when taken (*i advanced past a value), 0
 * when argv[*i] is not one of them, -1 on a usage error (printed). */
int cli_client_option(int argc, char **argv, int *i, cli_client *c, long *timeout_s);

/* Returns 0 when a key is set, else prints how to set one and returns -1. */
int cli_need_key(const cli_client *c);

/* One JSON request (body NULL for none). Returns the HTTP status, or 0 after printing a
 * transport error; *out is the parsed JSON body (NULL when none or not JSON), the
 * caller's to json_decref(). */
long cli_api_request(const cli_client *c, const char *method, const char *path,
                     const char *body, json_t **out);

/* A handle for `method` on c->url + path, with the key, `Accept: accept` and, when
 * content_type is not NULL, `Content-Type: content_type`; the header list goes to
 * *headers (curl_slist_free_all() it after the transfer). Body, write callback and
 * timeouts are the caller's to set. Returns NULL when out of memory (printed). */
CURL *cli_api_handle(const cli_client *c, const char *method, const char *path,
                     const char *content_type, const char *accept,
                     struct curl_slist **headers);

/* Performs the transfer and sets *result (when not NULL) to libcurl's code. Returns the
 * HTTP status, or 0 after printing the transport error; nothing is printed when one of
 * the caller's callbacks stopped it (CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR,
 * CURLE_READ_ERROR): the caller knows why. */
long cli_api_perform(const cli_client *c, CURL *curl, CURLcode *result);

/* Prints "quarry: HTTP STATUS CODE: message" for an error answer (nothing for status 0,
 * already printed) and returns its exit code: CLI_UNAVAILABLE for 0 and 5xx, CLI_FAILED
 * for anything else. */
int cli_api_error(long status, const json_t *body);

/* `id` escaped for a URL path (so an id cannot reach another endpoint), into out.
 * Returns 0, or -1 when it does not fit (or out of memory). */
int cli_api_escape(const char *id, char *out, size_t size);

#endif
