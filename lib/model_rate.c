/* model_rate.c - adaptive (CUBIC) and budgeted send rate per model (see model_rate.h).
 *
 * Constants are botocore's (botocore/retries/adaptive.py, bucket.py, throttling.py). */
#include "model_rate.h"

#include <math.h>
#include <string.h>

#define MIN_FILL_RATE 0.5
#define MIN_CAPACITY 1.0
#define CUBIC_SCALE 0.4
#define CUBIC_BETA 0.7
#define SMOOTHING 0.8
#define TIME_BUCKET 0.5
/* A bucket refilled by floating-point steps may sit a hair below a whole token; without
 * this, each paced send slips by one loop turn and a budget runs ~1% slow. */
#define EPSILON 1e-9

void q_model_rate_init(q_model_rate *r, double rpm, double tpm, double now)
{
    memset(r, 0, sizeof(*r));
    r->fill_rate = MIN_FILL_RATE;
    r->max_capacity = MIN_CAPACITY;
    r->current_capacity = MIN_CAPACITY;
    r->last_refill = now;
    r->last_fail = now;
    r->last_tx_bucket = floor(now / TIME_BUCKET) * TIME_BUCKET;
    r->rpm = rpm > 0 ? rpm : 0;
    r->tpm = tpm > 0 ? tpm : 0;
    r->req_tokens = 1;
    r->req_last = now;
    r->tok_tokens = r->tpm / 60.0;
    r->tok_last = now;
}

static void refill_adaptive(q_model_rate *r, double now)
{
    double fill = (now - r->last_refill) * r->fill_rate;

    if (fill > 0) {
        r->current_capacity = fmin(r->max_capacity, r->current_capacity + fill);
        r->last_refill = now;
    }
}

static void refill_budgets(q_model_rate *r, double now)
{
    if (r->rpm > 0) {
        /* capacity 1: sends are spaced evenly, so no 60 s window ever sees more than
         * the configured count (+1) */
        r->req_tokens = fmin(1.0, r->req_tokens + (now - r->req_last) * r->rpm / 60.0);
        r->req_last = now;
    }
    if (r->tpm > 0) {
        r->tok_tokens = fmin(r->tpm / 60.0, r->tok_tokens + (now - r->tok_last) * r->tpm / 60.0);
        r->tok_last = now;
    }
}

static long wait_ms(double missing, double rate)
{
    double ms = rate > 0 ? missing / rate * 1000.0 : 1000.0;

    return ms < 1 ? 1 : ms > 60000 ? 60000 : (long)ceil(ms);
}

long q_model_rate_acquire(q_model_rate *r, double now, long est_tokens)
{
    long wait = 0, w;

    refill_budgets(r, now);
    if (r->rpm > 0 && r->req_tokens < 1.0 - EPSILON) {
        w = wait_ms(1.0 - r->req_tokens, r->rpm / 60.0);
        wait = w > wait ? w : wait;
    }
    if (r->tpm > 0 && r->tok_tokens <= 0) {
        w = wait_ms(-r->tok_tokens + 1, r->tpm / 60.0);
        wait = w > wait ? w : wait;
    }
    if (r->enabled) {
        refill_adaptive(r, now);
        if (r->current_capacity < 1.0 - EPSILON) {
            w = wait_ms(1.0 - r->current_capacity, r->fill_rate);
            wait = w > wait ? w : wait;
        }
    }
    if (wait)
        return wait;
    if (r->rpm > 0)
        r->req_tokens -= 1.0;
    if (r->tpm > 0)
        r->tok_tokens -= (double)(est_tokens > 0 ? est_tokens : 1);
    if (r->enabled)
        r->current_capacity -= 1.0;
    return 0;
}

void q_model_rate_correct_tokens(q_model_rate *r, long delta)
{
    if (r->tpm > 0) {
        r->tok_tokens -= (double)delta;
        if (r->tok_tokens > r->tpm / 60.0)
            r->tok_tokens = r->tpm / 60.0;
    }
}

/* botocore RateClocker: exponentially smoothed send rate over half-second buckets. */
static void update_measured_rate(q_model_rate *r, double now)
{
    double bucket = floor(now / TIME_BUCKET) * TIME_BUCKET;

    r->request_count++;
    if (bucket > r->last_tx_bucket) {
        double current = r->request_count / (bucket - r->last_tx_bucket);
        r->measured_rate = current * SMOOTHING + r->measured_rate * (1 - SMOOTHING);
        r->request_count = 0;
        r->last_tx_bucket = bucket;
    }
}

static void set_fill_rate(q_model_rate *r, double now, double rate)
{
    refill_adaptive(r, now);
    r->fill_rate = fmax(rate, MIN_FILL_RATE);
    r->max_capacity = fmax(rate, MIN_CAPACITY);
    r->current_capacity = fmin(r->current_capacity, r->max_capacity);
}

void q_model_rate_on_response(q_model_rate *r, double now, int throttled)
{
    double rate;

    update_measured_rate(r, now);
    if (throttled) {
        double in_use = r->enabled ? fmin(r->measured_rate, r->fill_rate) : r->measured_rate;

        r->enabled = 1;
        r->w_max = in_use;
        r->k = cbrt(r->w_max * (1 - CUBIC_BETA) / CUBIC_SCALE);
        r->last_fail = now;
        rate = in_use * CUBIC_BETA;
    } else {
        double dt = now - r->last_fail;
        rate = CUBIC_SCALE * pow(dt - r->k, 3) + r->w_max;
    }
    if (r->enabled)
        set_fill_rate(r, now, fmin(rate, 2 * r->measured_rate));
}

double q_model_rate_adaptive_rps(const q_model_rate *r)
{
    return r->enabled ? r->fill_rate : 0;
}
