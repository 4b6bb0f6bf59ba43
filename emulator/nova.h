/* nova.h - the Amazon Nova "messages-v1" InvokeModel body: validation and the response.
 *
 * Body: {"schemaVersion": "messages-v1", "system": [{"text": ...}], "messages": [{"role":
 * "user"|"assistant", "content": [{"text": ...}]}], "inferenceConfig": {"max_new_tokens",
 * "temperature", "top_p", "top_k", "stopSequences"}}. Only text blocks are emulated;
 * validation messages use Bedrock's schema wording (see schema.h). */
#ifndef QUARRY_EMU_NOVA_H
#define QUARRY_EMU_NOVA_H

#include <stddef.h>

#include <jansson.h>

#include "answer.h"
#include "catalogue.h"
#include "prompt.h"
#include "wire.h"

/* Parses and validates `body` for Nova model `m`. Returns 0 with `out` filled, or -1 with
 * `err` set (400 ValidationException, or 500 when out of memory). Free `out` with
 * emu_prompt_free() either way. */
int emu_nova_parse(const char *body, size_t body_len, const emu_model *m, emu_prompt *out,
                   emu_error *err);

/* The Nova response object (a new reference, NULL when out of memory). */
json_t *emu_nova_response(const emu_answer *a, unsigned input_tokens);

#endif
