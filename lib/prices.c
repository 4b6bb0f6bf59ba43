/* prices.c - the model price table held in memory (see prices.h). */
#include "prices.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

typedef struct {
    char *model;
    time_t effective_from;
    q_price price;
} price_row;

struct q_prices {
    pthread_rwlock_t lock;
    price_row *rows;    /* sorted by model, then effective_from ascending */
    size_t n;
};

q_prices *q_prices_new(void)
{
    q_prices *p = calloc(1, sizeof(*p));

    if (p && pthread_rwlock_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void free_rows(price_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].model);
    free(rows);
}

void q_prices_free(q_prices *p)
{
    if (!p)
        return;
    free_rows(p->rows, p->n);
    pthread_rwlock_destroy(&p->lock);
    free(p);
}

int q_prices_load(q_prices *p, PGconn *conn)
{
    PGresult *res;
    price_row *rows = NULL, *old;
    size_t n = 0, old_n;
    int rc = -1;

    res = PQexec(conn, "SELECT model, extract(epoch FROM effective_from)::bigint, "
                       "input_usd_per_mtok, output_usd_per_mtok, cache_read_usd_per_mtok, "
                       "cache_write_usd_per_mtok FROM model_prices ORDER BY model, effective_from");
    if (!q_db_check(res, PGRES_TUPLES_OK, "load model prices"))
        goto out;
    n = (size_t)PQntuples(res);
    rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int r = (int)i;

        rows[i].model = strdup(PQgetvalue(res, r, 0));
        rows[i].effective_from = (time_t)strtoll(PQgetvalue(res, r, 1), NULL, 10);
        if (!rows[i].model || q_money_parse_micro(PQgetvalue(res, r, 2), &rows[i].price.input) ||
            q_money_parse_micro(PQgetvalue(res, r, 3), &rows[i].price.output) ||
            q_money_parse_micro(PQgetvalue(res, r, 4), &rows[i].price.cache_read) ||
            q_money_parse_micro(PQgetvalue(res, r, 5), &rows[i].price.cache_write)) {
            q_log(Q_LOG_ERROR, "prices.unparsable",
                  json_pack("{s:s}", "model", PQgetvalue(res, r, 0)));
            free_rows(rows, n);
            goto out;
        }
    }
    pthread_rwlock_wrlock(&p->lock);
    old = p->rows;
    old_n = p->n;
    p->rows = rows;
    p->n = n;
    pthread_rwlock_unlock(&p->lock);
    free_rows(old, old_n);
    rc = (int)n;
out:
    PQclear(res);
    return rc;
}

int q_prices_lookup(q_prices *p, const char *model, time_t at, q_price *out)
{
    int rc = -1;

    pthread_rwlock_rdlock(&p->lock);
    for (size_t i = 0; i < p->n; i++) {
        /* rows for one model are ascending by time: the last one not in the future wins */
        if (strcmp(p->rows[i].model, model) == 0 && p->rows[i].effective_from <= at) {
            *out = p->rows[i].price;
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&p->lock);
    return rc;
}

int q_prices_known(q_prices *p, const char *model)
{
    int known = 0;

    pthread_rwlock_rdlock(&p->lock);
    for (size_t i = 0; i < p->n && !known; i++)
        known = strcmp(p->rows[i].model, model) == 0;
    pthread_rwlock_unlock(&p->lock);
    return known;
}
