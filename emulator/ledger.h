/* ledger.h - what the emulator has answered: counters per outcome, per error code, per
 * model and per operation, token totals, and a bounded ring of recent successful
 * invocations that tests look up by request id.
 *
 * All functions are thread-safe. Counters are relaxed atomics (a stats read while calls
 * are running is a consistent-enough snapshot, not an atomic one); the ring is guarded by
 * a mutex and searched through 64-bit fingerprints of the request ids, so a lookup scans
 * 8 bytes per slot and only compares the full id on a fingerprint hit. */
#ifndef QUARRY_EMU_LEDGER_H
#define QUARRY_EMU_LEDGER_H

#include <stddef.h>

#include <jansson.h>

#include "catalogue.h"

typedef enum {
    EMU_OUTCOME_SUCCEEDED,
    EMU_OUTCOME_THROTTLED,         /* ThrottlingException: injected or a quota */
    EMU_OUTCOME_VALIDATION_ERROR,  /* 400s: bad body, bad model id, body too large */
    EMU_OUTCOME_AUTH_ERROR,        /* 403s from authentication */
    EMU_OUTCOME_OTHER_ERROR,       /* everything else, e.g. 500 when out of memory */
    EMU_OUTCOME_INJECTED_ERROR,    /* an injected error other than ThrottlingException */
    EMU_OUTCOME_STALLED,           /* a success held for stall_ms */
    EMU_OUTCOME_RESET,             /* connection reset instead of a reply */
    EMU_OUTCOME_MALFORMED,         /* 200 with a malformed body */
    EMU_OUTCOME_COUNT
} emu_outcome;

typedef enum { EMU_THROTTLE_RATE, EMU_THROTTLE_RPM, EMU_THROTTLE_TPM, EMU_THROTTLE_COUNT } emu_throttle_cause;

typedef enum { EMU_OP_INVOKE, EMU_OP_CONVERSE, EMU_OP_COUNT } emu_operation;

typedef struct {
    char request_id[37];
    char model_id[EMU_MODEL_ID_MAX + 1];  /* as the client asked for it, decoded */
    unsigned input_tokens;
    unsigned output_tokens;
    unsigned latency_ms;
    const char *stop_reason;              /* static string */
} emu_record;

/* One answered call. */
typedef struct {
    emu_outcome outcome;
    emu_operation operation;
    int model;                    /* catalogue index; -1 when the id did not resolve */
    const char *error_code;       /* the x-amzn-ErrorType code sent; NULL for no error */
    emu_throttle_cause cause;     /* why, for EMU_OUTCOME_THROTTLED */
    const emu_record *rec;        /* successes: copied into the ring; else NULL */
} emu_ledger_entry;

typedef struct emu_ledger emu_ledger;

/* A ledger remembering the last `capacity` successes; NULL when out of memory. */
emu_ledger *emu_ledger_new(size_t capacity);
void emu_ledger_free(emu_ledger *l);

/* Counts one call. Tokens are added to the totals for successes only. */
void emu_ledger_add(emu_ledger *l, const emu_ledger_entry *e);

/* Copies the remembered record for `request_id` into *out. Returns 0, or -1 when the id
 * is unknown or has been pushed out of the ring. */
int emu_ledger_find(emu_ledger *l, const char *request_id, emu_record *out);

/* Counters and totals as a new JSON object; NULL when out of memory. */
json_t *emu_ledger_stats(emu_ledger *l);

/* Zeroes every counter and total (the ring of records is kept). */
void emu_ledger_reset(emu_ledger *l);

#endif
