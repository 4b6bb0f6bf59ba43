/* injection_model.c - the learned component of the prompt-injection screen.
 *
 * A linear model (logistic regression) over signed, hashed features of a lightly
 * normalised text: character 3-, 4- and 5-grams of the normalised bytes, word unigrams
 * and word bigrams. The weights live in injection_model_data.c, which
 * tools/train_injection_model.py generates; this file is the feature extraction, and the
 * script implements the same features and hash on the normalised text that
 * q_inj__model_normalise() returns (the normaliser exists only here, in C: the script
 * reads it through `injection_eval --dump`).
 *
 * Normalisation: UTF-8 decoded (an invalid byte reads as a space), every code point
 * folded with q_inj__fold() (case, fullwidth and mathematical letters, diacritics, tag
 * characters; invisible characters dropped; a look-alike Cyrillic/Greek letter reads as
 * its Latin letter; other letters stay as lowercase UTF-8), whitespace runs collapsed to
 * one space, one space before and after the text. No leetspeak, no segmentation.
 *
 * Features, each hashed with 32-bit FNV-1a (a type byte first): 'c' + the last n bytes
 * (n = 3, 4, 5) at every byte; 'w' + a word's bytes (a word is a run of ASCII letters and
 * digits and bytes >= 0x80); 'b' + the two word hashes, little-endian. The bucket is the
 * hash's low bits, the sign its top bit. With c[b] the signed count of bucket b (the
 * sum of the signs of the features that fall into it) and integer weights w,
 *     logit = bias + (sum over b of c[b] * w[b]) / (scale * sqrt(sum over b of c[b]^2))
 * i.e. the counts are L2-normalised, as in tf-idf classifiers: a text repeated k times
 * scores the same, and the text's length is not a feature. (Dividing by the square root
 * of the feature count instead, the first version, let the logit grow with the length.)
 *
 * q_injection_screen() (lib/injection.c) combines it with the rules: see docs/injection.md,
 * "Learned component".
 *
 * The bucket counts: only the buckets a text touches matter, and a short text touches a
 * few hundred of the 65,536, so they are kept in a small open-addressing table on the
 * stack (SMALL_SLOTS, 32 KiB, as much as the whole table of the earlier 8,192-bucket
 * model). A text that fills half of it (2,048 buckets: about 700 bytes of prose) moves
 * to a table indexed by bucket on the heap (256 KiB, zeroed by calloc); should that
 * allocation fail, the text is scored again in passes over 2,048 buckets at a time,
 * exactly, without memory.
 * Pure (no state kept between calls), O(n), or O(n * passes) without memory. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "injection_tables.h"

#define FNV_OFFSET UINT32_C(2166136261)
#define FNV_PRIME UINT32_C(16777619)

typedef struct {
    char *buf;             /* normalise mode: output (NULL when scoring) */
    size_t cap, len;
    unsigned char last[5]; /* the last normalised bytes, newest last */
    int nlast;
    int prev_space;
    int inword, haveprev;
    uint32_t wh, prevw;
    /* scoring: the signed count per bucket, in one of three layouts (see the top) */
    int layout;
    uint32_t (*small)[2];  /* LAYOUT_SMALL: {bucket + 1 or 0 when free, count} slots */
    uint32_t used;         /* LAYOUT_SMALL: slots in use */
    int32_t *direct;       /* LAYOUT_DIRECT: count per bucket (heap) */
    int32_t *window;       /* LAYOUT_PASS: counts of buckets [base, base + PASS_BUCKETS) */
    uint32_t base;
    int64_t sum;           /* signed integer weights */
    uint64_t sumsq;        /* sum of the squared bucket counts */
    uint32_t nfeat;
} mstate;

static uint32_t fnv(uint32_t h, unsigned char b)
{
    return (h ^ b) * FNV_PRIME;
}

enum { LAYOUT_SMALL, LAYOUT_DIRECT, LAYOUT_PASS };
#define SMALL_SLOTS 4096  /* a power of two; at most half of them used */
#define PASS_BUCKETS 2048 /* buckets per pass without memory (<= SMALL_SLOTS * 2) */
_Static_assert(Q_INJ__MODEL_BUCKETS % PASS_BUCKETS == 0, "passes cover the buckets");

void *(*q_inj__model_calloc)(size_t, size_t) = calloc;

/* The count slot of bucket b, or NULL when b is not counted in this pass (LAYOUT_PASS) or
 * the small table is half full and no memory is left for the large one: then
 * s->layout is LAYOUT_PASS and the caller scores the text again. */
static int32_t *count_slot(mstate *s, uint32_t b)
{
    if (s->layout == LAYOUT_DIRECT)
        return &s->direct[b];
    if (s->layout == LAYOUT_PASS) /* no window: the first run, which failed, goes on */
        return s->window && b - s->base < PASS_BUCKETS ? &s->window[b - s->base] : NULL;
    /* buckets are the low bits of FNV hashes: spread well enough for linear probing */
    for (uint32_t i = b & (SMALL_SLOTS - 1);; i = (i + 1) & (SMALL_SLOTS - 1)) {
        if (s->small[i][0] == b + 1)
            return (int32_t *)&s->small[i][1];
        if (s->small[i][0] == 0) {
            if (s->used < SMALL_SLOTS / 2) {
                s->used++;
                s->small[i][0] = b + 1;
                return (int32_t *)&s->small[i][1];
            }
            break;
        }
    }
    /* half full: move to the table indexed by bucket */
    int32_t *direct = q_inj__model_calloc(Q_INJ__MODEL_BUCKETS, sizeof(*direct));
    if (!direct) {
        s->layout = LAYOUT_PASS;
        return NULL;
    }
    for (uint32_t i = 0; i < SMALL_SLOTS; i++)
        if (s->small[i][0])
            direct[s->small[i][0] - 1] = (int32_t)s->small[i][1];
    s->direct = direct;
    s->layout = LAYOUT_DIRECT;
    return &direct[b];
}

static void feature(mstate *s, uint32_t h)
{
    s->nfeat++;
    if (s->buf)
        return;
    uint32_t b = h & (Q_INJ__MODEL_BUCKETS - 1);
    int32_t *c = count_slot(s, b);
    if (!c)
        return;
    int32_t old = *c;
    if (h & UINT32_C(0x80000000)) {
        s->sum -= q_inj__model_w[b];
        *c = old - 1;
        s->sumsq += (uint64_t)(1 - 2 * (int64_t)old);
    } else {
        s->sum += q_inj__model_w[b];
        *c = old + 1;
        s->sumsq += (uint64_t)(1 + 2 * (int64_t)old);
    }
}

static void end_word(mstate *s)
{
    feature(s, s->wh);
    if (s->haveprev) {
        uint32_t h = fnv(FNV_OFFSET, 'b');
        for (int k = 0; k < 4; k++)
            h = fnv(h, (unsigned char)(s->prevw >> (8 * k)));
        for (int k = 0; k < 4; k++)
            h = fnv(h, (unsigned char)(s->wh >> (8 * k)));
        feature(s, h);
    }
    s->prevw = s->wh;
    s->haveprev = 1;
    s->inword = 0;
}

static int word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

static void emit(mstate *s, unsigned char c)
{
    if (c == ' ') {
        if (s->prev_space)
            return;
        s->prev_space = 1;
    } else {
        s->prev_space = 0;
    }
    if (s->buf && s->len + 1 < s->cap)
        s->buf[s->len++] = (char)c;
    if (s->nlast == 5)
        memmove(s->last, s->last + 1, 4);
    else
        s->nlast++;
    s->last[s->nlast - 1] = c;
    for (int n = 3; n <= 5 && n <= s->nlast; n++) {
        uint32_t h = fnv(FNV_OFFSET, 'c');
        for (int k = s->nlast - n; k < s->nlast; k++)
            h = fnv(h, s->last[k]);
        feature(s, h);
    }
    if (word_byte(c)) {
        if (!s->inword) {
            s->wh = fnv(FNV_OFFSET, 'w');
            s->inword = 1;
        }
        s->wh = fnv(s->wh, c);
    } else if (s->inword) {
        end_word(s);
    }
}

static void emit_cp(mstate *s, uint32_t cp)
{
    if (cp < 0x80) {
        emit(s, (unsigned char)cp);
    } else if (cp < 0x800) {
        emit(s, (unsigned char)(0xC0 | (cp >> 6)));
        emit(s, (unsigned char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        emit(s, (unsigned char)(0xE0 | (cp >> 12)));
        emit(s, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        emit(s, (unsigned char)(0x80 | (cp & 0x3F)));
    } else {
        emit(s, (unsigned char)(0xF0 | (cp >> 18)));
        emit(s, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
        emit(s, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        emit(s, (unsigned char)(0x80 | (cp & 0x3F)));
    }
}

static void run(mstate *s, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    if (!text)
        len = 0;
    emit(s, ' ');
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t step = q_inj__utf8_next(p + i, len - i, &cp);

        if (cp == 0xFFFD && step == 1)
            cp = ' '; /* an invalid byte separates, as in the training script */
        i += step;
        q_inj__ch ch;
        q_inj__fold(cp, &ch);
        switch (ch.kind) {
        case Q_INJ__CH_DROP:
            break;
        case Q_INJ__CH_SPACE:
        case Q_INJ__CH_NEWLINE:
            emit(s, ' ');
            break;
        case Q_INJ__CH_ASCII:
            for (int k = 0; k < ch.n; k++)
                emit(s, (unsigned char)ch.ascii[k]);
            break;
        case Q_INJ__CH_CONFUSABLE:
            emit(s, (unsigned char)ch.ascii[0]);
            break;
        case Q_INJ__CH_FOREIGN:
            emit_cp(s, ch.cp);
            break;
        }
    }
    emit(s, ' ');
}

double q_inj__model_logit(const char *text, size_t len)
{
    uint32_t small[SMALL_SLOTS][2];
    mstate s;
    memset(&s, 0, sizeof(s));
    memset(small, 0, sizeof(small));
    s.small = small;
    s.layout = LAYOUT_SMALL;
    run(&s, text, len);
    free(s.direct);
    if (s.layout == LAYOUT_PASS) {
        /* no memory for the large table: every bucket range in turn, in the same stack */
        int32_t *window = (int32_t *)small;
        int64_t sum = 0;
        uint64_t sumsq = 0;
        for (uint32_t base = 0; base < Q_INJ__MODEL_BUCKETS; base += PASS_BUCKETS) {
            memset(&s, 0, sizeof(s));
            memset(window, 0, PASS_BUCKETS * sizeof(*window));
            s.layout = LAYOUT_PASS;
            s.window = window;
            s.base = base;
            run(&s, text, len);
            sum += s.sum;
            sumsq += s.sumsq;
        }
        s.sum = sum;
        s.sumsq = sumsq;
    }
    if (s.sumsq == 0)
        return q_inj__model_bias;
    return q_inj__model_bias +
           (double)s.sum / ((double)q_inj__model_scale * sqrt((double)s.sumsq));
}

size_t q_inj__model_normalise(const char *text, size_t len, char *buf, size_t cap)
{
    mstate s;
    if (cap == 0)
        return 0;
    memset(&s, 0, sizeof(s));
    s.buf = buf;
    s.cap = cap;
    run(&s, text, len);
    buf[s.len] = '\0';
    return s.len;
}

void q_inj__model_combine(const char *text, size_t len, q_injection_result *out)
{
    q_injection_screen(text, len, out);
}
