/* delay.h - holds finished replies back for a while without a thread per request.
 *
 * A held connection is suspended in libmicrohttpd (MHD_suspend_connection) and parked in
 * a deadline heap; one timer thread resumes each connection when its deadline passes, and
 * libmicrohttpd then calls the access handler again, which sends the reply it prepared.
 * The daemon must be started with MHD_ALLOW_SUSPEND_RESUME. */
#ifndef QUARRY_EMU_DELAY_H
#define QUARRY_EMU_DELAY_H

#include <microhttpd.h>

typedef struct emu_delay emu_delay;

/* Starts the timer thread. Returns NULL when out of memory or threads. */
emu_delay *emu_delay_new(void);

/* Suspends `conn` and resumes it `ms` milliseconds from now. Call only from the access
 * handler of `conn`. Returns 0, or -1 (and `conn` is left running: send the reply now)
 * when the delayer is shutting down or out of memory. */
int emu_delay_hold(emu_delay *d, struct MHD_Connection *conn, unsigned ms);

/* Resumes every held connection at once and stops the timer thread; from then on
 * emu_delay_hold() refuses. Call before MHD_stop_daemon, which must not find suspended
 * connections. Idempotent; accepts NULL. */
void emu_delay_stop(emu_delay *d);

/* Stops (if still needed) and frees. Call after MHD_stop_daemon, when no handler can run
 * any more. Accepts NULL. */
void emu_delay_free(emu_delay *d);

#endif
