/* quota.h - per-model requests-per-minute and tokens-per-minute quotas, as sliding
 * windows over the last 60 seconds.
 *
 * The window is kept in 100 ms slots, so a request counts against the quota for 60 s
 * (to within 100 ms) after it was admitted. Like Bedrock, a call is admitted only if its
 * request and its token reservation (input tokens + max_tokens) fit in what is left of the
 * minute; it is then charged the tokens it really used (input + output), and a call that
 * is refused is not counted at all. Thread-safe: one mutex per model, taken only when
 * that model has a quota. */
#ifndef QUARRY_EMU_QUOTA_H
#define QUARRY_EMU_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

typedef enum { EMU_QUOTA_OK, EMU_QUOTA_RPM, EMU_QUOTA_TPM } emu_quota_verdict;

typedef struct emu_quota emu_quota;

/* Windows for `n_models` models (catalogue indexes). NULL when out of memory. */
emu_quota *emu_quota_new(size_t n_models);
void emu_quota_free(emu_quota *q);

/* Admits one call to model `model` at CLOCK_MONOTONIC time now_ns under `limit`: needs
 * one request and `reserve` tokens of headroom, then charges `charge` tokens. A limit of
 * 0 is unlimited (and such calls are not tracked). */
emu_quota_verdict emu_quota_admit(emu_quota *q, size_t model, emu_quota_limit limit,
                                  unsigned reserve, unsigned charge, uint64_t now_ns);

/* Empties every model's window. */
void emu_quota_clear(emu_quota *q);

/* Requests and tokens in model `model`'s current window (for the stats). */
void emu_quota_usage(emu_quota *q, size_t model, uint64_t now_ns, unsigned long long *requests,
                     unsigned long long *tokens);

#endif
