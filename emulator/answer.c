/* answer.c - deterministic answer text from word lists and token arithmetic (see answer.h). */
#include "answer.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "buf.h"
#include "rng.h"

#define MAX_KEYWORDS 8
#define KEYWORD_MIN 4
#define KEYWORD_MAX 24
#define ANSWER_CAP 16384

/* Templates: {K} and {L} are two of the question's words, {N} a noun, {A} an adjective,
 * {V} a verb in the third person and {O} a sentence opener. */
static const char *const intros[] = {
    "{K} is best understood through its {N}.",
    "The short answer about {K} is that it {V} the {A} {N}.",
    "When people ask about {K}, the {A} {N} usually matters most.",
    "{O} {K} {V} the {N} more than the {N}.",
    "Good question: {K} comes down to a {A} {N} and a {A} {N}.",
};
static const char *const middles[] = {
    "{O} a {A} {N} {V} how {K} behaves.",
    "It also helps to compare {K} with {L}, since each {V} the other's {N}.",
    "A {A} {N} is usually enough to start.",
    "In most cases the {A} option works, and {K} rarely needs more than a {A} {N}.",
    "Keep in mind that the {N} {V} the {N}, so check it first.",
    "{O} the {N} of {K} is {A} rather than {A}.",
    "Measuring the {N} before and after is the {A} way to confirm it.",
    "That is why a {A} {N} tends to outlast a clever one.",
    "{O} {L} {V} the {N} only when the {N} is {A}.",
};
static const char *const closings[] = {
    "Start small, measure, and adjust as you learn more about {K}.",
    "In short, {K} comes down to a {A} {N}.",
    "{O} the {A} choice is the one you can explain later.",
};
static const char *const nouns[] = {
    "system", "process", "context", "constraint", "trade-off", "budget", "pattern", "signal",
    "model", "measure", "detail", "limit", "structure", "approach", "outcome", "factor",
    "balance", "principle", "component", "method", "baseline", "interface", "workload",
};
static const char *const adjectives[] = {
    "simple", "careful", "practical", "reliable", "consistent", "clear", "robust",
    "gradual", "measured", "predictable", "modest", "direct", "steady", "deliberate",
};
static const char *const verbs[] = {
    "shapes", "reflects", "depends on", "improves", "limits", "supports", "explains",
    "affects", "drives", "follows", "balances", "constrains",
};
static const char *const openers[] = {
    "In practice,", "Broadly speaking,", "As a rule,", "Put simply,", "Usually,",
    "For most teams,", "In the end,",
};
/* Frequent words that make poor topics; compared case-insensitively. */
static const char *const stopwords[] = {
    "what", "which", "when", "where", "does", "that", "this", "with", "from", "have",
    "there", "their", "about", "would", "could", "should", "into", "your", "they", "them",
    "been", "were", "will", "than", "then", "some", "more", "most", "also", "just", "like",
    "make", "much", "many", "very", "only", "over", "such", "each", "other", "these",
    "those", "being", "because", "while", "after", "before", "explain", "please", "tell",
    "describe", "give", "know", "want", "need", "here", "how", "why", "who",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    uint64_t state;
    char words[MAX_KEYWORDS][KEYWORD_MAX + 1];
    size_t n_words;
} generator;

unsigned emu_tokens(size_t bytes)
{
    return (unsigned)((bytes + 3) / 4);
}

static uint64_t next(generator *g)
{
    g->state += 0x9e3779b97f4a7c15ULL;
    return emu_mix64(g->state);
}

static const char *pick(generator *g, const char *const *list, size_t n)
{
    return list[next(g) % n];
}

static int is_stopword(const char *w)
{
    for (size_t i = 0; i < COUNT(stopwords); i++)
        if (strcasecmp(w, stopwords[i]) == 0)
            return 1;
    return 0;
}

/* Collects up to MAX_KEYWORDS distinct ASCII words of 4..24 letters/digits, lowercased,
 * in order of first appearance. */
static void collect_keywords(generator *g, const char *q, size_t len)
{
    size_t i = 0;

    while (i < len && g->n_words < MAX_KEYWORDS) {
        size_t start, n;
        char w[KEYWORD_MAX + 1];
        int dup = 0;

        while (i < len && !isalnum((unsigned char)q[i]))
            i++;
        start = i;
        while (i < len && isalnum((unsigned char)q[i]))
            i++;
        n = i - start;
        /* A word glued to non-ASCII bytes is part of a longer non-ASCII word: skip it. */
        if (n < KEYWORD_MIN || n > KEYWORD_MAX || (i < len && (unsigned char)q[i] >= 0x80) ||
            (start > 0 && (unsigned char)q[start - 1] >= 0x80))
            continue;
        for (size_t k = 0; k < n; k++)
            w[k] = (char)tolower((unsigned char)q[start + k]);
        w[n] = '\0';
        if (is_stopword(w))
            continue;
        for (size_t k = 0; k < g->n_words; k++)
            dup |= strcmp(g->words[k], w) == 0;
        if (!dup)
            memcpy(g->words[g->n_words++], w, n + 1);
    }
}

/* Appends `s`, upper-casing its first letter when *capital is set (then clearing it). */
static int add_text(q_buf *out, const char *s, size_t len, int *capital)
{
    int rc = Q_BUF_OK;

    if (len > 0 && *capital) {
        rc = q_buf_addc(out, (char)toupper((unsigned char)s[0]));
        s++;
        len--;
        *capital = 0;
    }
    return rc == Q_BUF_OK ? q_buf_add(out, s, len) : rc;
}

/* Expands one template as a new sentence of `out`. */
static int expand(generator *g, q_buf *out, const char *tpl, size_t k_index)
{
    int rc = out->len > 0 ? q_buf_addc(out, ' ') : Q_BUF_OK, capital = 1;

    for (const char *p = tpl; *p && rc == Q_BUF_OK; p++) {
        const char *word;

        if (p[0] != '{' || !p[1] || p[2] != '}') {
            rc = add_text(out, p, 1, &capital);
            continue;
        }
        switch (p[1]) {
        case 'K':
            word = g->n_words ? g->words[k_index % g->n_words] : "this topic";
            break;
        case 'L':
            word = g->n_words > 1 ? g->words[(k_index + 1) % g->n_words] : "the context";
            break;
        case 'N':
            word = pick(g, nouns, COUNT(nouns));
            break;
        case 'A':
            word = pick(g, adjectives, COUNT(adjectives));
            break;
        case 'V':
            word = pick(g, verbs, COUNT(verbs));
            break;
        default:
            word = pick(g, openers, COUNT(openers));
            break;
        }
        rc = add_text(out, word, strlen(word), &capital);
        p += 2;
    }
    return rc;
}

static void seed(generator *g, const char *model_id, const char *question, size_t len)
{
    unsigned char digest[32] = {0};
    unsigned int dlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    g->state = 0;
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
        EVP_DigestUpdate(ctx, model_id, strlen(model_id) + 1) &&
        EVP_DigestUpdate(ctx, question, len) && EVP_DigestFinal_ex(ctx, digest, &dlen)) {
        for (int i = 0; i < 8; i++)
            g->state = (g->state << 8) | digest[i];
    }
    EVP_MD_CTX_free(ctx);
}

/* Ends text[*len] just before the earliest stop sequence; returns the one matched or NULL. */
static const char *apply_stops(char *text, size_t *len, const char *const *stops,
                               size_t n_stops)
{
    const char *best = NULL;
    size_t best_at = *len;

    for (size_t i = 0; i < n_stops; i++) {
        const char *hit = stops[i] && *stops[i] ? strstr(text, stops[i]) : NULL;

        if (hit && (size_t)(hit - text) < best_at) {
            best_at = (size_t)(hit - text);
            best = stops[i];
        }
    }
    *len = best_at;
    text[best_at] = '\0';
    return best;
}

int emu_answer_generate(const char *model_id, const char *question, size_t question_len,
                        unsigned max_tokens, const char *const *stops, size_t n_stops,
                        emu_answer *out)
{
    generator g = {0};
    q_buf text;
    size_t k, n_middle, len;
    int rc;

    memset(out, 0, sizeof(*out));
    q_buf_init(&text, ANSWER_CAP);
    seed(&g, model_id, question, question_len);
    collect_keywords(&g, question, question_len);

    k = (size_t)next(&g);
    rc = expand(&g, &text, pick(&g, intros, COUNT(intros)), k);
    n_middle = 1 + next(&g) % 4;
    for (size_t i = 0; i < n_middle && rc == Q_BUF_OK; i++)
        rc = expand(&g, &text, pick(&g, middles, COUNT(middles)), k + 1 + i);
    if (rc == Q_BUF_OK && next(&g) % 2)
        rc = expand(&g, &text, pick(&g, closings, COUNT(closings)), k);
    len = text.len;
    if (rc != Q_BUF_OK || !(out->text = q_buf_take(&text)))
        goto fail;

    /* The whole answer is generated first and then cut, as a model stops mid-stream. */
    out->stop_sequence = apply_stops(out->text, &len, stops, n_stops);
    out->stop_reason = out->stop_sequence ? "stop_sequence" : "end_turn";
    if (emu_tokens(len) > max_tokens) {
        /* Cut at the token boundary; dropping one trailing space keeps the count. */
        len = (size_t)max_tokens * 4;
        if (len > 0 && out->text[len - 1] == ' ')
            len--;
        out->text[len] = '\0';
        out->stop_reason = "max_tokens";
        out->stop_sequence = NULL;
    }
    out->len = len;
    out->output_tokens = emu_tokens(len);
    return 0;

fail:
    q_buf_free(&text);
    memset(out, 0, sizeof(*out));
    return -1;
}

void emu_answer_free(emu_answer *a)
{
    if (!a)
        return;
    free(a->text);
    memset(a, 0, sizeof(*a));
}
