/* plan.h - the emulator's run-time behaviour: fault rates, latency, stalls and quotas.
 *
 * A plan is plain data (no pointers), set at start from flags, a file and the environment,
 * and changed while running through POST /_emulator/config. Every change goes through
 * emu_plan_apply(), which takes a JSON object with any subset of these keys and either
 * applies all of it or none (see docs/emulator.md for the full reference):
 *
 *   throttle_rate     0..1 of valid calls answered ThrottlingException (429)
 *   error_rates       {"ModelNotReadyException": 0.1, ...}: one rate per Bedrock error;
 *                     replaces the previous object (errors not named go to 0), except
 *                     ThrottlingException, the same setting as throttle_rate, which
 *                     changes only when named
 *   stall_rate, stall_ms      hold the reply stall_ms (longer than the client waits)
 *   reset_rate        close the connection with a TCP reset instead of answering
 *   malformed_rate, malformed_kind   200 with a "truncated", "non_json" or "mixed" body
 *   latency_ms        fixed latency (shorthand for latency: N)
 *   latency           a distribution for every model (see latency.h)
 *   model_latency     {"model id": distribution | null}: per-model overrides
 *   quotas            {"model id": {"rpm": N, "tpm": N} | null}, "aws_defaults" or null
 *
 * The sum of all fault rates must not exceed 1: one uniform draw per call picks at most
 * one fault. An emu_plan_store guards a plan shared by threads. */
#ifndef QUARRY_EMU_PLAN_H
#define QUARRY_EMU_PLAN_H

#include <stddef.h>

#include <jansson.h>

#include "catalogue.h"
#include "latency.h"
#include "rng.h"

typedef enum {
    EMU_FAULT_THROTTLING,          /* 429 ThrottlingException */
    EMU_FAULT_MODEL_NOT_READY,     /* 429 ModelNotReadyException */
    EMU_FAULT_MODEL_TIMEOUT,       /* 408 ModelTimeoutException */
    EMU_FAULT_MODEL_ERROR,         /* 424 ModelErrorException */
    EMU_FAULT_SERVICE_QUOTA,       /* 400 ServiceQuotaExceededException */
    EMU_FAULT_INTERNAL,            /* 500 InternalServerException */
    EMU_FAULT_UNAVAILABLE,         /* 503 ServiceUnavailableException */
    EMU_FAULT_ERROR_COUNT,         /* the faults above are error replies */
    EMU_FAULT_STALL = EMU_FAULT_ERROR_COUNT, /* a success held for stall_ms */
    EMU_FAULT_RESET,               /* connection reset, no reply */
    EMU_FAULT_MALFORMED,           /* 200 with a body that is not the JSON it should be */
    EMU_FAULT_COUNT,
    EMU_FAULT_NONE = EMU_FAULT_COUNT
} emu_fault;

typedef enum { EMU_MALFORMED_MIXED, EMU_MALFORMED_TRUNCATED, EMU_MALFORMED_NON_JSON } emu_malformed_kind;

/* An error fault's wire form: status, x-amzn-ErrorType code and AWS's message. */
typedef struct {
    unsigned status;
    const char *code;
    const char *message;
} emu_fault_error;

/* For f < EMU_FAULT_ERROR_COUNT. */
const emu_fault_error *emu_fault_error_of(emu_fault f);

typedef struct {
    unsigned rpm;                  /* requests per minute, 0: unlimited */
    unsigned tpm;                  /* tokens per minute, 0: unlimited */
} emu_quota_limit;

typedef struct {
    double rates[EMU_FAULT_COUNT];
    unsigned stall_ms;
    emu_malformed_kind malformed_kind;
    emu_latency latency;                          /* every model without an override */
    int has_model_latency[EMU_CATALOGUE_MAX];
    emu_latency model_latency[EMU_CATALOGUE_MAX];
    emu_quota_limit quotas[EMU_CATALOGUE_MAX];
} emu_plan;

/* What one call needs from the plan for its model: copied, so no lock is held after. */
typedef struct {
    double rates[EMU_FAULT_COUNT];
    unsigned stall_ms;
    emu_malformed_kind malformed_kind;
    emu_latency latency;           /* resolved for the model */
    emu_quota_limit quota;
} emu_plan_view;

/* The default plan: no faults, no latency, no quotas, stall_ms 90000. */
void emu_plan_init(emu_plan *p);

/* Applies the JSON object `patch` to `p`; model ids in it resolve as in the path, for
 * `region`. Returns 0, or -1 with a lowercase reason in err[errlen] and `p` unchanged. */
int emu_plan_apply(emu_plan *p, const json_t *patch, const char *region, char *err,
                   size_t errlen);

/* The whole plan in the JSON form emu_plan_apply() takes (NULL when out of memory). */
json_t *emu_plan_json(const emu_plan *p);

/* Draws the fault for one call from `view` (EMU_FAULT_NONE for most calls). */
emu_fault emu_plan_draw(const emu_plan_view *view, emu_rng *rng);

/* A thread-safe holder of the current plan and the one it started with. */
typedef struct emu_plan_store emu_plan_store;

/* A store holding `initial` (copied). NULL when out of memory. */
emu_plan_store *emu_plan_store_new(const emu_plan *initial, const char *region);
void emu_plan_store_free(emu_plan_store *s);

/* emu_plan_apply on the current plan; on success *now (if not NULL) gets its JSON. */
int emu_plan_store_apply(emu_plan_store *s, const json_t *patch, json_t **now, char *err,
                         size_t errlen);

/* Puts the plan back to the one given at start. */
void emu_plan_store_reset(emu_plan_store *s);

/* The current plan as JSON (NULL when out of memory). */
json_t *emu_plan_store_json(emu_plan_store *s);

/* Fills *view with what a call to model `m` needs. */
void emu_plan_store_view(emu_plan_store *s, const emu_model *m, emu_plan_view *view);

#endif
