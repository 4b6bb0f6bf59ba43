/* claude.h - the Anthropic Claude Messages body on Bedrock: validation and the response.
 *
 * Validation follows Bedrock's schema checks and wording ("Malformed input request: #/...:
 * ..., please reformat your input and try again.") for the fields the emulator supports:
 * anthropic_version, max_tokens, messages, system, temperature, top_p, top_k and
 * stop_sequences. Content blocks other than text are refused as not emulated yet. */
#ifndef QUARRY_EMU_CLAUDE_H
#define QUARRY_EMU_CLAUDE_H

#include <stddef.h>

#include <jansson.h>

#include "answer.h"
#include "catalogue.h"
#include "prompt.h"
#include "wire.h"

/* Parses and validates `body` for model `m`. Returns 0 with `out` filled, or -1 with `err`
 * set (400 ValidationException, or 500 when out of memory) and `out` zeroed. Free `out`
 * with emu_prompt_free() either way. */
int emu_claude_parse(const char *body, size_t body_len, const emu_model *m,
                     emu_prompt *out, emu_error *err);

/* Builds the Messages response object (a new reference, NULL when out of memory). */
json_t *emu_claude_response(const emu_model *m, const char *message_id, const emu_answer *a,
                            unsigned input_tokens);

#endif
