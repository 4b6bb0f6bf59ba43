/* prices.h - the model price table (model_prices) held in memory.
 *
 * The intake uses it to know which models exist; the consumer prices each settled job
 * with the row in force when the job finished. Rows are reloaded periodically, so a
 * price added with a future effective_from takes over on time. Thread-safe: lookups
 * take a read lock, q_prices_load a write lock. */
#ifndef QUARRY_PRICES_H
#define QUARRY_PRICES_H

#include <libpq-fe.h>
#include <time.h>

#include "money.h"

typedef struct q_prices q_prices;

q_prices *q_prices_new(void);
/* Accepts NULL. */
void q_prices_free(q_prices *p);

/* Replaces the table with the rows in the database. Returns the number of rows, or -1
 * (logged; the old table stays in use) on a database error or an unparsable price. */
int q_prices_load(q_prices *p, PGconn *conn);

/* The price of `model` in force at `at`. Returns 0, or -1 when the model has no row
 * effective at that time. */
int q_prices_lookup(q_prices *p, const char *model, time_t at, q_price *out);

/* 1 when the model has any price row, i.e. Quarry can serve and bill it. */
int q_prices_known(q_prices *p, const char *model);

#endif
