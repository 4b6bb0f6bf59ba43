/* injection.h - prompt-injection screening of question texts (issue 3).
 *
 * The screen normalises the text first (case, Unicode compatibility forms and common
 * look-alike letters, zero-width characters, spacing and punctuation tricks, simple
 * leetspeak, base64-wrapped text), then looks for instruction override, persona/role
 * switch, system-prompt or secret extraction, "developer/DAN mode" and fake delimiters
 * or role tags, in English, German, French, Spanish, Italian, Portuguese and Dutch (core
 * words also in Russian, Polish, Croatian, Chinese, Japanese, Korean, Turkish, Indonesian
 * and Swedish; scripts without spaces are segmented with the lexicon), then scores what
 * the rules let through with a small learned model (hashed character n-grams, logistic
 * regression, lib/injection_model.c): it flags alone above a high logit, or above a lower
 * one when the rules found some signal. It never looks at length alone.
 * docs/injection.md explains the design, the measured recall and false-positive rates,
 * and the known weaknesses.
 *
 * Pure and thread-safe: no I/O, no heap allocation, no global mutable state (the
 * lexicon's read-only hash index is built once on first use, under pthread_once). One
 * or two passes of the rules (the second, without the quoted words, only for a question
 * about a quotation) and one of the model, O(n) in the input, with at most about 18 KiB of
 * stack for the rules and then 32 KiB for the model's bucket counts. */
#ifndef QUARRY_INJECTION_H
#define QUARRY_INJECTION_H

#include <stddef.h>

typedef enum {
    Q_INJECTION_NONE = 0,
    Q_INJECTION_INSTRUCTION_OVERRIDE,   /* "ignore all previous instructions" */
    Q_INJECTION_PERSONA_SWITCH,         /* "you are now DAN", "developer mode", role-play jailbreaks */
    Q_INJECTION_PROMPT_EXTRACTION,      /* "print your system prompt", secrets, API keys */
    Q_INJECTION_FAKE_DELIMITER          /* "</system>", "### Instruction:", "[INST]", role tags */
} q_injection_kind;

typedef struct {
    q_injection_kind kind;   /* Q_INJECTION_NONE when the text looks like an ordinary question */
    const char *reason;      /* static stable code: "none", "instruction_override",
                                "persona_switch", "prompt_extraction", "fake_delimiter" */
    int score;               /* 0..100, for logs and reports; flagged (kind != NONE) exactly
                                when score >= 50 (a flag of the learned model alone: 50..99,
                                with the category of the rules' strongest event, or
                                instruction_override when they found none) */
} q_injection_result;

/* Screens `len` bytes of UTF-8 `text`. Always fills *out; never fails. Any bytes are
 * accepted (invalid UTF-8 and NUL included); text == NULL is read as the empty text.
 * `reason` points to static storage. */
void q_injection_screen(const char *text, size_t len, q_injection_result *out);

#endif
