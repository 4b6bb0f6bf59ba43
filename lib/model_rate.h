/* model_rate.h - how fast the consumer may send requests to one model.
 *
 * Two independent limits, both must allow a send:
 *  - adaptive: botocore's "adaptive" retry mode, reimplemented. It is off until the
 *    first throttle; then a token bucket's fill rate follows CUBIC congestion control:
 *    on a throttle the rate drops to beta (0.7) times the rate in use, on success it
 *    grows back along a cubic curve towards (and then past) the rate at the last throttle,
 *    never above twice the measured send rate.
 *  - budget: optional configured requests-per-minute and tokens-per-minute, paced so the
 *    consumer runs at a quota instead of hitting it. Token use is estimated at send time
 *    and corrected when the real usage is known (the bucket may go into debt).
 * Times are seconds on a monotonic clock, passed in so tests can drive the clock. */
#ifndef QUARRY_MODEL_RATE_H
#define QUARRY_MODEL_RATE_H

typedef struct {
    /* adaptive (botocore ClientRateLimiter + CubicCalculator + RateClocker) */
    int enabled;
    double fill_rate, max_capacity, current_capacity, last_refill;
    double w_max, k, last_fail;
    double measured_rate, last_tx_bucket;
    long request_count;
    /* configured budgets: 0 = none */
    double rpm, tpm;
    double req_tokens, req_last;       /* request bucket */
    double tok_tokens, tok_last;       /* token bucket (may be negative: debt) */
} q_model_rate;

void q_model_rate_init(q_model_rate *r, double rpm, double tpm, double now);

/* Tries to take one send for a request estimated at est_tokens. Returns 0 when the
 * send may go now (the budgets are charged), or the milliseconds to wait (>= 1). */
long q_model_rate_acquire(q_model_rate *r, double now, long est_tokens);

/* Feeds the outcome of a finished request: throttled != 0 for throttling errors. */
void q_model_rate_on_response(q_model_rate *r, double now, int throttled);

/* Corrects the token budget once real usage is known: actual - estimate (may be < 0). */
void q_model_rate_correct_tokens(q_model_rate *r, long delta);

/* The adaptive fill rate in requests/s, or 0 while adaptive limiting is off. */
double q_model_rate_adaptive_rps(const q_model_rate *r);

#endif
