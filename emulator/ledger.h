/* ledger.h - what the emulator has answered: outcome counters, token totals and a bounded
 * ring of recent successful invocations that tests look up by request id.
 *
 * All functions are thread-safe. Counters are atomics; the ring is guarded by a mutex and
 * searched through 64-bit fingerprints of the request ids, so a lookup scans 8 bytes per
 * slot and only compares the full id on a fingerprint hit. */
#ifndef QUARRY_EMU_LEDGER_H
#define QUARRY_EMU_LEDGER_H

#include <stddef.h>

#include <jansson.h>

#include "catalogue.h"

typedef enum {
    EMU_OUTCOME_SUCCEEDED,
    EMU_OUTCOME_THROTTLED,
    EMU_OUTCOME_VALIDATION_ERROR,  /* 400s: bad body, bad model id, body too large */
    EMU_OUTCOME_AUTH_ERROR,        /* 403s from authentication */
    EMU_OUTCOME_OTHER_ERROR,       /* everything else, e.g. 500 when out of memory */
    EMU_OUTCOME_COUNT
} emu_outcome;

typedef struct {
    char request_id[37];
    char model_id[EMU_MODEL_ID_MAX + 1];  /* as the client asked for it, decoded */
    unsigned input_tokens;
    unsigned output_tokens;
    unsigned latency_ms;
    const char *stop_reason;              /* static string */
} emu_record;

typedef struct emu_ledger emu_ledger;

/* A ledger remembering the last `capacity` successes; NULL when out of memory. */
emu_ledger *emu_ledger_new(size_t capacity);
void emu_ledger_free(emu_ledger *l);

/* Counts one invocation with `outcome`. For EMU_OUTCOME_SUCCEEDED pass the record
 * (copied into the ring, tokens added to the totals); otherwise `rec` is ignored. */
void emu_ledger_add(emu_ledger *l, emu_outcome outcome, const emu_record *rec);

/* Copies the remembered record for `request_id` into *out. Returns 0, or -1 when the id
 * is unknown or has been pushed out of the ring. */
int emu_ledger_find(emu_ledger *l, const char *request_id, emu_record *out);

/* Counters and totals as a new JSON object; NULL when out of memory. */
json_t *emu_ledger_stats(emu_ledger *l);

#endif
