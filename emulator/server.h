/* server.h - the emulator's HTTP server: libmicrohttpd wiring, routing and admin endpoints.
 *
 * Requests run on libmicrohttpd's internal epoll thread pool (one thread per CPU). Replies
 * that must wait (added latency) are parked with the delay module instead of blocking a
 * thread, so a thread never sleeps on behalf of a request. */
#ifndef QUARRY_EMU_SERVER_H
#define QUARRY_EMU_SERVER_H

#include "plan.h"
#include "settings.h"

typedef struct emu_server emu_server;

/* Binds and starts serving with `plan` as the start-up behaviour (copied; it is also what
 * POST /_emulator/config/reset returns to). `cfg` must outlive the server. Returns NULL
 * after logging why (address in use, out of memory, ...). */
emu_server *emu_server_start(const emu_settings *cfg, const emu_plan *plan);

/* The TCP port actually bound (useful when the configured port was 0). */
unsigned emu_server_port(const emu_server *s);

/* Sends every held reply, stops serving, waits for the worker threads and frees
 * everything. Accepts NULL. */
void emu_server_stop(emu_server *s);

#endif
