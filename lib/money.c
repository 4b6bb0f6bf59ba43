/* money.c - exact USD arithmetic for token pricing (see money.h). */
#include "money.h"

#include <stdio.h>

#define MICRO_DIGITS 6

int q_money_parse_micro(const char *s, int64_t *out)
{
    int64_t whole = 0, frac = 0;
    int frac_digits = 0, whole_digits = 0;
    const char *p = s;

    if (!s || !*s)
        return -1;
    for (; *p >= '0' && *p <= '9'; p++, whole_digits++) {
        if (whole > (INT64_MAX / 1000000 - 9) / 10)
            return -1;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (frac_digits == MICRO_DIGITS) {
                if (*p != '0') /* more precision than the column holds */
                    return -1;
                continue;
            }
            frac = frac * 10 + (*p - '0');
            frac_digits++;
        }
        if (frac_digits == 0 && whole_digits == 0)
            return -1;
    }
    if (*p != '\0' || whole_digits + frac_digits == 0)
        return -1;
    for (; frac_digits < MICRO_DIGITS; frac_digits++)
        frac *= 10;
    *out = whole * 1000000 + frac;
    return 0;
}

static int add_term(int64_t tokens, int64_t micro_per_mtok, int64_t *acc)
{
    int64_t term;

    if (tokens < 0 || micro_per_mtok < 0)
        return -1;
    /* tokens * (micro-USD / 1e6 tokens) = tokens * micro * 1e-12 USD = pico-USD */
    if (__builtin_mul_overflow(tokens, micro_per_mtok, &term))
        return -1;
    if (__builtin_add_overflow(*acc, term, acc))
        return -1;
    return 0;
}

int q_money_cost_pico(const q_price *price, const q_usage *usage, int64_t *out_pico)
{
    int64_t acc = 0;

    if (add_term(usage->input_tokens, price->input, &acc) ||
        add_term(usage->output_tokens, price->output, &acc) ||
        add_term(usage->cache_read_tokens, price->cache_read, &acc) ||
        add_term(usage->cache_write_tokens, price->cache_write, &acc))
        return -1;
    *out_pico = acc;
    return 0;
}

void q_money_format_pico(int64_t pico, char out[32])
{
    const char *sign = "";
    uint64_t v;

    if (pico < 0) {
        sign = "-";
        v = (uint64_t)0 - (uint64_t)pico;
    } else {
        v = (uint64_t)pico;
    }
    snprintf(out, 32, "%s%llu.%012llu", sign, (unsigned long long)(v / 1000000000000ULL),
             (unsigned long long)(v % 1000000000000ULL));
}
