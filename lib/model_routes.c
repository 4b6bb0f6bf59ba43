/* model_routes.c - fallback routes and price names (see model_routes.h). */
#include "model_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *model;
    char *alts[Q_MAX_FALLBACKS];
    size_t n_alts;
} route;

struct q_model_routes {
    route *routes;
    size_t n;
};

void q_model_routes_free(q_model_routes *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->routes[i].model);
        for (size_t j = 0; j < r->routes[i].n_alts; j++)
            free(r->routes[i].alts[j]);
    }
    free(r->routes);
    free(r);
}

/* Trimmed copy of [s, s+len); NULL when empty or out of memory. */
static char *trimmed(const char *s, size_t len)
{
    char *out;

    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len || !(out = malloc(len + 1)))
        return NULL;
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

q_model_routes *q_model_routes_parse(const char *text, char *err, size_t err_size)
{
    q_model_routes *r = calloc(1, sizeof(*r));
    const char *p = text ? text : "";

    if (!r)
        return NULL;
    while (*p) {
        size_t entry_len = strcspn(p, ";");
        const char *eq = memchr(p, '=', entry_len), *alt;
        route *grown, *rt;

        if (entry_len == 0 || (entry_len == strspn(p, " \t") && entry_len)) {
            p += entry_len + (p[entry_len] == ';');
            continue;
        }
        if (!eq) {
            snprintf(err, err_size, "entry \"%.*s\" has no '='", (int)entry_len, p);
            goto fail;
        }
        grown = realloc(r->routes, (r->n + 1) * sizeof(*r->routes));
        if (!grown)
            goto fail;
        r->routes = grown;
        rt = &r->routes[r->n++];
        memset(rt, 0, sizeof(*rt));
        rt->model = trimmed(p, (size_t)(eq - p));
        if (!rt->model) {
            snprintf(err, err_size, "entry \"%.*s\" has no model before '='", (int)entry_len, p);
            goto fail;
        }
        alt = eq + 1;
        while (alt < p + entry_len) {
            size_t alen = strcspn(alt, ",;");
            char *id = trimmed(alt, alen);

            if (alt + alen > p + entry_len)
                alen = (size_t)(p + entry_len - alt);
            if (!id) {
                snprintf(err, err_size, "empty fallback for model %s", rt->model);
                goto fail;
            }
            if (rt->n_alts == Q_MAX_FALLBACKS) {
                free(id);
                snprintf(err, err_size, "more than %d fallbacks for model %s", Q_MAX_FALLBACKS,
                         rt->model);
                goto fail;
            }
            rt->alts[rt->n_alts++] = id;
            alt += alen + 1;
        }
        if (!rt->n_alts) {
            snprintf(err, err_size, "no fallbacks listed for model %s", rt->model);
            goto fail;
        }
        p += entry_len + (p[entry_len] == ';');
    }
    return r;
fail:
    q_model_routes_free(r);
    return NULL;
}

size_t q_model_routes_for(const q_model_routes *r, const char *model,
                          const char *ids[Q_MAX_FALLBACKS + 1])
{
    size_t n = 0;

    ids[n++] = model;
    for (size_t i = 0; r && i < r->n; i++) {
        if (strcmp(r->routes[i].model, model) != 0)
            continue;
        for (size_t j = 0; j < r->routes[i].n_alts; j++)
            ids[n++] = r->routes[i].alts[j];
        break;
    }
    return n;
}

char *q_model_price_name(const char *model_id, char *out, size_t out_size)
{
    static const char *const prefixes[] = {"us.", "eu.", "apac.", "us-gov.", "global.", "jp.",
                                           "ca.", NULL};
    const char *slash = strrchr(model_id, '/'), *id = model_id;

    if (strncmp(model_id, "arn:", 4) == 0 && slash)
        id = slash + 1;
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(id, prefixes[i], strlen(prefixes[i])) == 0) {
            id += strlen(prefixes[i]);
            break;
        }
    snprintf(out, out_size, "%s", id);
    return out;
}
