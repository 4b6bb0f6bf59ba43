/* money.h - exact USD arithmetic for token pricing (no floating point anywhere).
 *
 * Prices are "USD per million tokens" with at most 6 decimals (numeric(12,6) in the
 * database), held as integer micro-USD per million tokens. A token count times such a
 * price is then an exact integer number of pico-USD (1e-12 USD), which is what cost
 * columns (numeric(20,12)) store. */
#ifndef QUARRY_MONEY_H
#define QUARRY_MONEY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t input;        /* micro-USD per million input tokens */
    int64_t output;
    int64_t cache_read;
    int64_t cache_write;
} q_price;

typedef struct {
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cache_read_tokens;
    int64_t cache_write_tokens;
} q_usage;

/* Parses a non-negative decimal such as "0.25", "3", "0.035000" (at most 6 decimals,
 * no sign, no exponent) into micro-units. Returns 0, or -1 when malformed or too big. */
int q_money_parse_micro(const char *s, int64_t *out);

/* Exact cost of `usage` at `price` in pico-USD. Returns 0, or -1 on negative input or
 * overflow (a cost beyond ~9.2 million USD for one job). */
int q_money_cost_pico(const q_price *price, const q_usage *usage, int64_t *out_pico);

/* Formats pico-USD as a decimal with exactly 12 fractional digits ("0.000001250000"),
 * which PostgreSQL reads back as the same numeric. out must hold 32 bytes. */
void q_money_format_pico(int64_t pico, char out[32]);

#endif
