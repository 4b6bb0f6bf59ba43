/* injection_tables.h - data tables behind the prompt-injection screen (injection.c).
 *
 * Internal to lib/injection*.c: the Unicode folding used by the normaliser
 * (injection_fold.c) and the multilingual lexicon of word classes (injection_lexicon.c).
 * Everything here is read-only data and pure functions (the lexicon's hash index is
 * built once, thread-safely, on first use and never written again). */
#ifndef QUARRY_INJECTION_TABLES_H
#define QUARRY_INJECTION_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "injection.h"

/* ---- Unicode folding ---------------------------------------------------------------- */

typedef enum {
    Q_INJ__CH_DROP,        /* invisible: zero-width, soft hyphen, bidi controls, combining marks */
    Q_INJ__CH_SPACE,       /* any space, control character or symbol that only separates words */
    Q_INJ__CH_NEWLINE,     /* LF, CR, NEL, U+2028/2029 */
    Q_INJ__CH_ASCII,       /* folds to 1..3 ASCII characters in `ascii` (letters lowercased) */
    Q_INJ__CH_CONFUSABLE,  /* Cyrillic/Greek/Armenian letter that looks like `ascii[0]`; `cp` is
                              its lowercase form */
    Q_INJ__CH_FOREIGN      /* a letter of another script; `cp` is its (lowercase) form */
} q_inj__chkind;

typedef struct {
    q_inj__chkind kind;
    unsigned char n;       /* ASCII characters in `ascii` (kind ASCII) */
    unsigned char upper;   /* the original was an uppercase Latin letter */
    char ascii[3];
    uint32_t cp;
} q_inj__ch;

/* Classifies and folds one code point: NFKC-like compatibility folding (fullwidth,
 * mathematical alphanumerics, circled/squared/parenthesised letters, ligatures,
 * super/subscripts, small capitals, regional indicators, Unicode tag characters),
 * Latin diacritics removed (ü -> u, ß -> ss), ASCII letters lowercased. */
void q_inj__fold(uint32_t cp, q_inj__ch *out);

/* Decodes one UTF-8 sequence at s[0..len) into *cp; returns its length. An invalid byte
 * (overlong, surrogate, cut sequence) comes back as U+FFFD, one byte long. */
size_t q_inj__utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* ---- Lexicon -------------------------------------------------------------------------- */

/* Word classes, first mask (c1). A word may be in several classes. */
enum {
    QI_IGN,        /* ignore, forget, disregard, override, vergiss, oubliez, olvida, ... */
    QI_IGNW,       /* weaker erasers: drop, abandon, remove, leave, streichen, ... */
    QI_OBEY,       /* follow, listen, obey (negated: "do not follow") */
    QI_REMEMBER,   /* remember, erinnern (negated: "do not remember") */
    QI_NEG,        /* not, don't, never, nicht, pas, no, ... */
    QI_INSTR,      /* instructions, rules, guidelines, prompt, Anweisungen, consignes, ... */
    QI_INSTRW,     /* orders, tasks, context, documents, information, Aufgaben, ... */
    QI_PRIOR,      /* previous, prior, above, earlier, before, vorherigen, précédentes, ... */
    QI_ABOVE,      /* above, oben, obigen, dessus, arriba, sopra, ... */
    QI_QUANT,      /* all, every, any, alle, toutes, todas, sve, ... */
    QI_EVERY,      /* everything, alles, tout, todo, tutto, ... */
    QI_YOUR,       /* your, deine, votre, tus, tuo, seu, ... */
    QI_YOU,        /* you, du, Sie, vous, tu, usted, ... */
    QI_ISUBJ,      /* first-person subject: I, we, ich, wir, ... */
    QI_ARE,        /* are, bist, êtes, eres, sei, ... */
    QI_NOW,        /* now, jetzt, nun, maintenant, ahora, ... */
    QI_NEW,        /* new, additional, neue, nouvelles, ... */
    QI_ACT,        /* act, behave, fungieren, agis, actúa, ... */
    QI_PRETEND,    /* pretend, roleplay, impersonate, simulate, ... */
    QI_AS,         /* as, als, comme, como, come, like */
    QI_JBNAME,     /* DAN, jailbreak, devmode */
    QI_JBPROP,     /* unfiltered, uncensored, amoral, evil, böse, ... */
    QI_RESTRICT,   /* restrictions, filters, ethics, policies, moderation, ... */
    QI_NEGNO,      /* no, without, zero, free, ohne, sans, sin, ... */
    QI_MODE,       /* mode, Modus, modo */
    QI_DEVLIKE,    /* developer, god, debug, admin, sudo, ... (before "mode") */
    QI_ENABLE,     /* enable(d), activate(d), enter, unlock, ... */
    QI_AI,         /* ChatGPT, AI, KI, assistant, model, LLM, ... */
    QI_REVEAL,     /* reveal, print, show, repeat, output, zeige, montre, ... */
    QI_PROMPT,     /* prompt, prompt text, Eingabeaufforderung, ... */
    QI_SYSTEM,     /* system, sistema, ... */
    QI_HIDDEN,     /* hidden, secret, initial, original, verbatim, ... */
    QI_CRED,       /* password, credentials, embeddings, configuration, ... */
    QI_TEXTOBJ,    /* text, words, sentences, message, ... */
    QI_WH,         /* what, which, was, welche, quelles, ... */
    QI_BE,         /* is, are, was, were, ist, lauten, ... */
    QI_WRITTEN,    /* written, geschrieben, écrit, ... */
    QI_BEGIN,      /* beginning, start, top, Anfang, ... */
    QI_HOWQ,       /* how, why, when, where, ways, tips, wie, comment, ... */
    QI_MODALQ,     /* can, could, should, do, does, ... */
    QI_DISC,       /* discourse fillers before an imperative: now, ok, please, but, bitte, ... */
    QI_SPEECH,     /* said, told, discussed, know, gesagt, dicho, ... */
    QI_CONTRA,     /* despite, regardless, contrary to, abweichend, malgré, ... */
    QI_IRREL,      /* irrelevant, void, invalid, obsolete, ... */
    QI_RECEIVED,   /* received, erhalten, reçu, ... */
    QI_CHANGE,     /* change, update, replace, modify, ... */
    QI_STAY,       /* stay, remain, bleiben, verharren, ... (in character) */
    QI_BREAK,      /* break, fall, brechen, fallen, ... (out of character) */
    QI_ROLE,       /* role, character, persona, Rolle, Figur, ... */
    QI_ACTOR,      /* actor, film, scene, Schauspieler, ... */
    QI_WANT,       /* want, wish, möchte, quiero, veux, ... */
    QI_THE,        /* the */
    QI_MIND,       /* thoughts, memory, mind, head, Kopf, ... */
    QI_PWNED,      /* pwned: the classic injection payload marker */
    QI_SYSISH,     /* terminal, interpreter, console, shell, database, ... */
    QI_CTXDOC,     /* context, documents, articles, sources, ... */
    QI_ROLELABEL,  /* system, assistant, human, user, input, output, ... (as "label:") */
    QI_ENDW,       /* end, ende, fin, stop, begin, new */
    QI_DEVICE,     /* android, iphone, browser, settings, ... (benign "developer mode") */
    QI_META,       /* injection, attack, protect, detect, ... (talking about attacks) */
    QI_SAY,        /* say, answer, reply, respond, sag, antworte, ... */
    QI_QUESTION,   /* question, Frage, pregunta, ... */
    QI_MY,         /* my, our, mein, mon, mi, ... */
    QI_IMAGINE     /* imagine, imaginez, imagina, "stell dir vor" */
};

/* Word classes, second mask (c2): function words and derived (phrase) classes. */
enum {
    QI2_USE, QI2_OWN, QI2_KNOWLEDGE, QI2_STATEADJ, QI2_FROM, QI2_ON, QI2_GAME, QI2_PLAY,
    QI2_STELL, QI2_DIR, QI2_VOR, QI2_WILL, QI2_CAN, QI2_TO, QI2_AND, QI2_INSTEAD, QI2_ONLY,
    QI2_AFTER, QI2_ME, QI2_BUT, QI2_NAMED, QI2_DO, QI2_ANYTHING, QI2_THIS, QI2_OF, QI2_FIRST,
    QI2_CMDWORD, QI2_TEAM, QI2_REPLY, QI2_EXPLAIN,
    QI2_DEVMODE,   /* "developer mode", "god mode", Entwicklermodus, ... (also derived) */
    QI2_SYSPROMPT, /* "system prompt", "system message", Systemanweisung (also derived) */
    QI2_TYPE, QI2_FAR, QI2_UNTIL, QI2_SO, QI2_ALWAYS, QI2_REFUSE, QI2_STANDS, QI2_FOR,
    QI2_FROMNOW,   /* derived: "from now on", "ab sofort", "désormais", "de ahora en adelante" */
    QI2_ABOVEREF,  /* derived: "above" used as a reference to earlier text, not a preposition */
    QI2_KEY,       /* key, token (as in "API key") */
    QI2_BOUND,     /* bound, restricted, censored (as in "not bound by") */
    QI2_ABOUT,     /* about, über, sur, sobre (a topic follows) */
    QI2_PRON,      /* it, them, those, that, es, les, lo, ... (object pronouns) */
    QI2_ASIDE,     /* aside (as in "set aside") */
    QI2_REVEALW,   /* write, summarize, paraphrase, translate, ... (reveal only a prompt) */
    QI2_MEMCTX,    /* context, memory (as in "print your context window") */
    QI2_INDEF,     /* a, an, ein, un, una, um, een */
    QI2_APPLY,     /* apply, valid, matter, gelten (as in "no longer apply") */
    QI2_LONGER,    /* longer, mehr, plus (as in "no longer") */
    QI2_STEM,      /* also matches as the prefix of a longer unknown word (inflection) */
    QI2_OFF,       /* removed, disabled, off, lifted (as in "filters removed") */
    QI2_NONE,      /* none, nothing, keine, aucune, ninguna, nessuna, geen, никакие: a
                      negated quantifier ("none of your instructions apply") */
    QI2_THEY,      /* he, she, they, er, il, elle, ella, hij, ele: a third-person subject
                      ("she can skip the style rules" reports someone else's action) */
    QI2_BECOME,    /* become, turn into, incarnate, werde, deviens, conviertete, diventa, torne,
                      word, стань: a persona cue for the sentence bag (round e) */
    QI2_REAL,      /* real, true, actual, wahre, eigentliche, verdadero, vero: "your real job is" */
    QI2_KIN,       /* grandmother, grandpa, uncle, nonna, abuela, Oma, бабушка, 奶奶 ... */
    QI2_DECEASED,  /* late, deceased, dead, verstorben, décédé, fallecida, покойный, 已故 ... */
    QI2_FORBID,    /* allowed, permitted, forbidden, darfst, erlaubt, interdit, 禁止: a limit
                      put on the model ("what are you not allowed to discuss") */
    QI2_PHRASE     /* no meaning alone: a word only known so that stage 1 can read a phrase
                      it ends ("non tenere conto", "lascia perdere") or so that
                      segmentation leaves it whole ("understand" is not "under stand") */
};

#define QI_C1(x) (UINT64_C(1) << QI_##x)
#define QI_C2(x) (UINT64_C(1) << QI2_##x)

typedef struct {
    const char *word;      /* normalised: lowercase, ASCII without diacritics (or lowercase UTF-8
                              for Cyrillic), apostrophes removed */
    uint64_t c1, c2;
} q_inj__lex_entry;

/* Sorted by strcmp (byte order), no duplicates; test_injection.c checks it. */
extern const q_inj__lex_entry q_inj__lex[];
extern const size_t q_inj__lex_count;

/* Exact lookup of the `n` bytes at `w`. Returns NULL when the word is not in the lexicon. */
const q_inj__lex_entry *q_inj__lex_find(const char *w, size_t n);

/* 1 when the `n` bytes at `s` may begin a lexicon word (a Bloom-style set of prefixes:
 * false positives possible, false negatives not). Always 1 below 3 bytes. */
int q_inj__lex_is_prefix(const char *s, size_t n);

/* Longest lexicon word of at least `min` bytes that is a prefix of the `n` bytes at `s`.
 * Returns its length (0 when none) and stores the entry in *out. */
size_t q_inj__lex_longest_prefix(const char *s, size_t n, size_t min, const q_inj__lex_entry **out);

/* ---- Learned component (injection_model.c, weights in injection_model_data.c) ---------- */

/* Generated by tools/train_injection_model.py: signed hashed-feature weights (integers,
 * divided by q_inj__model_scale), the intercept, the bucket count (a power of two) and
 * the logit threshold chosen on the training sets. */
#define Q_INJ__MODEL_BUCKETS 65536
extern const int16_t q_inj__model_w[Q_INJ__MODEL_BUCKETS];
extern const uint32_t q_inj__model_buckets;
extern const int q_inj__model_scale;
extern const double q_inj__model_bias;
extern const double q_inj__model_threshold;     /* the model flags alone above it */
extern const double q_inj__model_threshold_low; /* ... or above it when rule score >= floor */
extern const int q_inj__model_floor;

/* The model's logit for the text (probability = 1 / (1 + exp(-logit))). Pure, O(n). */
double q_inj__model_logit(const char *text, size_t len);

/* q_injection_screen() drops a rule flag of at most this score on a text the model scores
 * below Q_INJ__VETO_LOGIT (tools/train_injection_model.py mirrors both). */
#define Q_INJ__VETO_MAX_SCORE 60
#define Q_INJ__VETO_LOGIT (-3.5)

/* The allocator of the bucket table of a long text (calloc; unit tests make it fail to
 * reach the scoring without memory, which must give the same logit). What it returns is
 * released with free(). */
extern void *(*q_inj__model_calloc)(size_t, size_t);

/* The rules alone (what q_injection_screen() returned before the learned model was wired
 * in): for injection_eval --rules-only, the training script and the tests. */
void q_inj__rules_screen(const char *text, size_t len, q_injection_result *out);

/* The same, returning 1 when the rules read what they found as quoted material asked about,
 * or would have, had they found an attack in a question about a quotation in which they
 * found too little to look (RULES_MAY_ASK in injection.c): q_injection_screen() then
 * flags nothing by the model. The training script's emulation of the screen needs to know
 * (injection_eval --dump, "asked"). */
int q_inj__rules_asked(const char *text, size_t len, q_injection_result *out);

/* Same as q_injection_screen() (rules, then the model); kept for the tools and tests. */
void q_inj__model_combine(const char *text, size_t len, q_injection_result *out);

/* The model's normalised text (what the features are taken from), NUL-terminated, at most
 * cap - 1 bytes. For tools/train_injection_model.py (through injection_eval --dump). */
size_t q_inj__model_normalise(const char *text, size_t len, char *buf, size_t cap);

/* ---- Diagnostics ---------------------------------------------------------------------- */


/* Writes the events the screen found in the text ("OVR_VERB=80 EXT_REVEAL=70") into
 * `buf` (NUL-terminated, at most `cap` bytes). Returns the length written. For the
 * evaluation tool and tests; the service only needs q_injection_screen(). */
size_t q_inj__explain(const char *text, size_t len, char *buf, size_t cap);

#endif
