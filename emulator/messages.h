/* messages.h - the conversation every body format carries ("messages" and an optional
 * "system" prompt): Bedrock's rules for it, the question (the text of the last user
 * message) and the input token count.
 *
 * The Anthropic Messages, Nova messages-v1 and Converse bodies share the rules (each
 * message a user or assistant turn, the first one from the user) but word their errors
 * and shape their content differently. Each parser describes its own with an
 * emu_messages_syntax; emu_messages_read() applies the rules in the same order for all. */
#ifndef QUARRY_EMU_MESSAGES_H
#define QUARRY_EMU_MESSAGES_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "prompt.h"
#include "wire.h"

/* Checks the content (or system prompt) at `path`, adds its text's byte count to *bytes
 * and, when `text` is not NULL, appends the text (blocks joined by \n) to it. Returns 0,
 * or -1 with `err` set (500 when out of memory). */
typedef int (*emu_content_reader)(const json_t *content, const char *path, q_buf *text,
                                  size_t *bytes, emu_error *err);

/* How a body format words and bounds the conversation's checks. */
typedef struct {
    /* Checks the array and each message's shape before any content is read. Returns 0
     * when `messages` is an array of objects that each have a "content" and a "role" of
     * "user" or "assistant" (an empty array may pass), or -1 with `err` set. `messages`
     * is NULL when the body has no "messages". */
    int (*check)(const json_t *messages, emu_error *err);
    /* Message i's content is at content_path[0], i, content_path[1]: "#/messages/0/content". */
    const char *content_path[2];
    const char *system_path;       /* "#/system" */
    /* Whether every message needs some text, except a final assistant message (a prefill). */
    int require_text;
} emu_messages_syntax;

/* The InvokeModel bodies' syntax (Anthropic Messages, Nova messages-v1): Bedrock's schema
 * validator's wording (see schema.h), "#/messages" a JSONArray of at least one {"role",
 * "content"} object, and text required in every message but a final assistant one. */
extern const emu_messages_syntax emu_messages_schema;

/* Validates the conversation of the body object `root` under `syntax`: its "messages"
 * (syntax->check, then a first message from the user, then each message's content
 * through `reader`), then its "system" prompt, when present, through `reader`.
 * out->question must be NULL on entry. Returns 0 with out->question (owned by `out`) and
 * out->question_len set to the last user message's text and out->input_tokens counted
 * from every message and the system prompt (see prompt.h), or -1 with `err` set (500
 * when out of memory) and out->question still NULL. */
int emu_messages_read(const json_t *root, const emu_messages_syntax *syntax,
                      emu_content_reader reader, emu_prompt *out, emu_error *err);

#endif
