/* invoke.h - the InvokeModel operation: authenticate, resolve the model, validate the
 * body, draw for throttling, answer, and account for it in the ledger. */
#ifndef QUARRY_EMU_INVOKE_H
#define QUARRY_EMU_INVOKE_H

#include <stdint.h>

#include "auth.h"
#include "ledger.h"
#include "rng.h"
#include "wire.h"

typedef struct {
    const emu_auth_config *auth;
    emu_ledger *ledger;
    emu_rng *throttle_rng;     /* the seeded stream the throttle draw comes from */
    emu_rng *id_rng;           /* message ids */
    double throttle_rate;      /* 0..1, read once per request */
    unsigned latency_ms;       /* added latency, read once per request */
    long long now;             /* unix seconds, for the signature clock */
    uint64_t started_ns;       /* CLOCK_MONOTONIC when the request arrived */
} emu_invoke_env;

/* Handles POST /model/{model_id_raw}/invoke, where model_id_raw is the path segment as it
 * came on the wire (percent-encoded). Fills `out` (whose request_id the caller has set)
 * with the success or the Bedrock error, sets out->delay_ms for successes, and counts the
 * outcome in env->ledger. Never fails: out of memory becomes a 500 reply (or a reply
 * without a body, which the caller answers with a fixed 500). */
void emu_invoke(const emu_invoke_env *env, const emu_wire_request *req,
                const char *model_id_raw, emu_reply *out);

/* Monotonic clock in nanoseconds, as used for started_ns. */
uint64_t emu_monotonic_ns(void);

#endif
