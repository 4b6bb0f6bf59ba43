/* prompt.h - what the emulator needs from any request body once it is validated.
 *
 * Each body format (Anthropic Messages, Amazon Nova messages-v1, Converse) has its own
 * parser; all of them reduce a valid body to an emu_prompt, from which the answer, the
 * token counts and the quota charge are computed the same way. */
#ifndef QUARRY_EMU_PROMPT_H
#define QUARRY_EMU_PROMPT_H

#include <stddef.h>

#include <jansson.h>

/* Every text counts ceil(bytes / 4) tokens; each message adds this many, each request
 * REQUEST_OVERHEAD_TOKENS more. */
#define EMU_MESSAGE_OVERHEAD_TOKENS 4
#define EMU_REQUEST_OVERHEAD_TOKENS 7

typedef struct {
    json_t *root;              /* owned: the parsed body */
    unsigned max_tokens;
    char *question;            /* owned: text of the last user message, blocks joined by \n */
    size_t question_len;
    const char **stops;        /* owned array of strings borrowed from root */
    size_t n_stops;
    unsigned input_tokens;     /* ceil(text bytes / 4) + 4 per message + 7 */
} emu_prompt;

/* Releases what `p` owns and zeroes it. Accepts NULL and a zeroed prompt. */
void emu_prompt_free(emu_prompt *p);

#endif
