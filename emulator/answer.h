/* answer.h - deterministic answer text and the emulator's token arithmetic.
 *
 * The answer is a pure function of (model id, question): the text is built from word lists
 * with a generator seeded by SHA-256(model id, NUL, question), and mentions some of the
 * question's own words, so tests can ask twice and compare. max_tokens and stop sequences
 * only cut that text, the way a real model stops early: a shorter answer is always a
 * prefix of the longer one. Tokens are counted as ceil(bytes / 4) everywhere. */
#ifndef QUARRY_EMU_ANSWER_H
#define QUARRY_EMU_ANSWER_H

#include <stddef.h>

/* The emulator's token count for `bytes` bytes of text: ceil(bytes / 4). */
unsigned emu_tokens(size_t bytes);

typedef struct {
    char *text;                /* owned, NUL-terminated ASCII */
    size_t len;
    unsigned output_tokens;    /* emu_tokens(len), never more than max_tokens */
    const char *stop_reason;   /* "end_turn", "max_tokens" or "stop_sequence" (static) */
    const char *stop_sequence; /* borrowed from `stops` when stop_reason is "stop_sequence" */
} emu_answer;

/* Generates the answer for `question` (question_len bytes, need not be NUL-terminated).
 * If one of the `n_stops` stop sequences occurs in the text, the text ends just before
 * the earliest occurrence; if it is then longer than max_tokens tokens, it is cut to
 * max_tokens tokens. Empty stop sequences are ignored. Returns 0, or -1 when out of
 * memory, leaving `out` zeroed. Free with emu_answer_free() (accepts a zeroed answer). */
int emu_answer_generate(const char *model_id, const char *question, size_t question_len,
                        unsigned max_tokens, const char *const *stops, size_t n_stops,
                        emu_answer *out);

void emu_answer_free(emu_answer *a);

#endif
