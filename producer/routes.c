/* routes.c - which handler answers which request (see routes.h). */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "batches.h"
#include "ids.h"
#include "questions.h"

typedef enum {
    R_NONE,
    R_HEALTH,
    R_USAGE,
    R_SUBMIT,
    R_JOB,
    R_CANCEL,
    R_BATCHES,        /* POST: upload; GET: list */
    R_BATCH,
    R_BATCH_RESULTS,
    R_BATCH_CANCEL
} route;

/* The resource a path names: its route, allowed methods in *allow ("GET", "POST" or
 * "GET, POST") and the id in it (up to the next '/'), if any. */
static route route_of(const char *path, const char **allow, const char **id)
{
    static const struct {
        const char *prefix;
        route collection, item, cancel, results;
        const char *collection_allow;
    } families[] = {
        {"/v1/questions", R_SUBMIT, R_JOB, R_CANCEL, R_NONE, "POST"},
        {"/v1/batches", R_BATCHES, R_BATCH, R_BATCH_CANCEL, R_BATCH_RESULTS, "GET, POST"},
    };

    *id = NULL;
    if (strcmp(path, "/healthz") == 0)
        return *allow = "GET", R_HEALTH;
    if (strcmp(path, "/v1/usage") == 0)
        return *allow = "GET", R_USAGE;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        size_t n = strlen(families[i].prefix);
        const char *rest = path + n, *slash;

        if (strncmp(path, families[i].prefix, n) != 0 || (*rest != '\0' && *rest != '/'))
            continue;
        if (*rest == '\0')
            return *allow = families[i].collection_allow, families[i].collection;
        *id = rest + 1;
        if (**id == '\0' || **id == '/')
            return R_NONE; /* "/v1/questions/" and "/v1/questions//cancel" name nothing */
        slash = strchr(rest + 1, '/');
        if (!slash)
            return *allow = "GET", families[i].item;
        if (strcmp(slash, "/cancel") == 0)
            return *allow = "POST", families[i].cancel;
        if (strcmp(slash, "/results") == 0 && families[i].results != R_NONE)
            return *allow = "GET", families[i].results;
        return R_NONE;
    }
    return R_NONE;
}

static int method_allowed(const char *method, const char *allow)
{
    size_t n = strlen(method);

    if (strcmp(method, "HEAD") == 0)
        method = "GET", n = 3;
    for (const char *p = allow; (p = strstr(p, method)); p += n)
        if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

void intake_begin(http_request *req, void *ctx)
{
    const char *allow, *id;

    /* Only a batch upload streams its body; every other body is buffered (and capped). */
    if (strcmp(req->method, "POST") == 0 && route_of(req->path, &allow, &id) == R_BATCHES)
        intake_batch_begin(req, ctx);
}

void intake_handle(http_request *req, void *ctx)
{
    intake_api *api = ctx;
    const char *allow = NULL, *id = NULL;
    route r = route_of(req->path, &allow, &id);
    char res_id[Q_UUID_LEN + 1] = "";

    if (r == R_NONE) {
        intake_reply_error(req, 404, "NOT_FOUND", "no such endpoint");
        return;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        /* CORS preflight: answered without a key, as browsers send none. */
        http_add_header(req, "Allow", "%s, OPTIONS", allow);
        http_add_header(req, "Access-Control-Allow-Methods", "%s, OPTIONS", allow);
        http_add_header(req, "Access-Control-Allow-Headers",
                        "Content-Type, Authorization, x-api-key, Idempotency-Key, X-Request-ID");
        http_add_header(req, "Access-Control-Max-Age", "600");
        http_reply_json(req, 204, NULL, NULL);
        return;
    }
    if (!method_allowed(req->method, allow)) {
        char msg[64];

        http_add_header(req, "Allow", "%s, OPTIONS", allow);
        snprintf(msg, sizeof(msg), "use %s", allow);
        intake_reply_error(req, 405, "METHOD_NOT_ALLOWED", msg);
        return;
    }
    if (id) {
        size_t len = strcspn(id, "/");
        if (len <= Q_UUID_LEN) {
            memcpy(res_id, id, len);
            res_id[len] = '\0';
        } else {
            snprintf(res_id, sizeof(res_id), "-");
        }
    }
    switch (r) {
    case R_HEALTH:
        http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
        break;
    case R_USAGE:
        intake_usage_get(req, api);
        break;
    case R_SUBMIT:
        intake_question_submit(req, api);
        break;
    case R_JOB:
        intake_question_get(req, api, res_id);
        break;
    case R_CANCEL:
        intake_question_cancel(req, api, res_id);
        break;
    case R_BATCHES:
        if (strcmp(req->method, "POST") == 0)
            intake_batch_submit(req, api);
        else
            intake_batch_list(req, api);
        break;
    case R_BATCH:
        intake_batch_get(req, api, res_id);
        break;
    case R_BATCH_RESULTS:
        intake_batch_results(req, api, res_id);
        break;
    case R_BATCH_CANCEL:
        intake_batch_cancel(req, api, res_id);
        break;
    default:
        intake_reply_error(req, 404, "NOT_FOUND", "no such endpoint");
    }
}
