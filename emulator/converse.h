/* converse.h - the Converse operation's body (any catalogue model): validation and the
 * response.
 *
 * Converse is a Coral REST-JSON operation, so its validation errors are worded the Coral
 * way ("1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to
 * satisfy constraint: ..."), a body that is not JSON of the right shape is a
 * SerializationException, and Bedrock's own checks (first message from the user, blank
 * text, maxTokens above the model's limit) use Bedrock's sentences. Only text content
 * blocks are emulated; cachePoint blocks are accepted and ignored. */
#ifndef QUARRY_EMU_CONVERSE_H
#define QUARRY_EMU_CONVERSE_H

#include <stddef.h>

#include <jansson.h>

#include "answer.h"
#include "catalogue.h"
#include "prompt.h"
#include "wire.h"

/* Parses and validates `body` for model `m`. Returns 0 with `out` filled, or -1 with
 * `err` set. Free `out` with emu_prompt_free() either way. */
int emu_converse_parse(const char *body, size_t body_len, const emu_model *m, emu_prompt *out,
                       emu_error *err);

/* The Converse response for the request in `p` (a new reference, NULL when out of
 * memory); metrics.latencyMs is `latency_ms`. */
json_t *emu_converse_response(const emu_model *m, const emu_prompt *p, const emu_answer *a,
                              unsigned latency_ms);

#endif
