/* invoke.h - the model operations (InvokeModel and Converse) from the wire request to
 * the reply: authenticate, resolve the model, validate the body for its format, apply
 * the quota and the fault plan, answer, and account for it in the ledger. */
#ifndef QUARRY_EMU_INVOKE_H
#define QUARRY_EMU_INVOKE_H

#include <stdint.h>

#include "auth.h"
#include "ledger.h"
#include "plan.h"
#include "quota.h"
#include "rng.h"
#include "wire.h"

typedef struct {
    const emu_auth_config *auth;
    emu_ledger *ledger;
    emu_plan_store *plan;
    emu_quota *quota;
    emu_rng *fault_rng;        /* the seeded stream for fault and latency draws */
    emu_rng *id_rng;           /* message ids */
    long long now;             /* unix seconds, for the signature clock */
    uint64_t started_ns;       /* CLOCK_MONOTONIC when the request arrived */
} emu_invoke_env;

/* Handles POST /model/{model_id_raw}/invoke (op EMU_OP_INVOKE) or .../converse
 * (EMU_OP_CONVERSE), where model_id_raw is the path segment as it came on the wire
 * (percent-encoded). Fills `out` (whose request_id the caller has set) with the success,
 * the Bedrock error, or a fault (out->action, out->delay_ms), and counts the outcome in
 * env->ledger. Never fails: out of memory becomes a 500 reply (or a reply without a body,
 * which the caller answers with a fixed 500). */
void emu_invoke(const emu_invoke_env *env, emu_operation op, const emu_wire_request *req,
                const char *model_id_raw, emu_reply *out);

/* Monotonic clock in nanoseconds, as used for started_ns. */
uint64_t emu_monotonic_ns(void);

#endif
