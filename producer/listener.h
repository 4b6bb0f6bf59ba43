/* listener.h - the intake's ear on PostgreSQL: one thread and one connection that LISTEN for
 * changed API keys (dropped from the key cache at once, on every intake instance) and for
 * jobs reaching a terminal state (which wake the long-polls waiting for them).
 *
 * Why LISTEN/NOTIFY rather than polling: a trigger (migration 0003) notifies at commit, so a
 * waiting client is answered within milliseconds of its job ending, at no cost while nothing
 * happens, and however many clients wait, the intake holds one connection and one thread for
 * all of them; polling would trade latency against a query per interval per waiting job.
 * Notifications can be lost only with the connection: on reconnecting, the listener clears
 * the key cache and wakes every waiter, which then re-reads its job.
 *
 * A waiter is owned by its request (suspended meanwhile); the listener only links it. */
#ifndef QUARRY_INTAKE_LISTENER_H
#define QUARRY_INTAKE_LISTENER_H

#include <stdint.h>

#include "http.h"
#include "ids.h"
#include "keycache.h"

typedef struct intake_waiter {
    http_request *req;
    char job_id[Q_UUID_LEN + 1];
    int64_t deadline_ms;               /* CLOCK_REALTIME ms */
    int registered, suspended, fired;  /* private */
    struct intake_waiter *prev, *next; /* private */
} intake_waiter;

typedef struct intake_listener intake_listener;

/* Connects and starts the thread. NULL (logged) on failure. */
intake_listener *intake_listener_start(const char *db_url, q_keycache *keys);
/* Wakes every waiter and stops the thread; a waiter registered afterwards is woken at once.
 * Accepts NULL; a second call does nothing. */
void intake_listener_stop(intake_listener *l);
/* Stops (if needed) and frees, once no request can reach the listener (after
 * http_server_stop). Accepts NULL. */
void intake_listener_free(intake_listener *l);

/* Registers w (job_id, deadline_ms and req set) before the caller reads the job, so a
 * notification that arrives meanwhile is not lost. */
void intake_listener_register(intake_listener *l, intake_waiter *w);
/* Unregisters w if it still is (the caller answers at once). */
void intake_listener_unregister(intake_listener *l, intake_waiter *w);
/* Suspends w's request until its job ends or its deadline passes (the handler then runs
 * again). Returns 0, or -1 when the job already ended since register (nothing suspended: read
 * it again and answer). Only from inside the handler. */
int intake_listener_suspend(intake_listener *l, intake_waiter *w);

int64_t intake_now_ms(void);

#endif
