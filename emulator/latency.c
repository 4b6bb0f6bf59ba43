/* latency.c - latency distributions and their JSON form (see latency.h). */
#include "latency.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* z such that P(Z <= z) = 0.99 for a standard normal Z. */
#define Z99 2.3263478740408408

emu_latency emu_latency_fixed(unsigned ms)
{
    return (emu_latency){EMU_LATENCY_FIXED, ms, 0, 0, 0};
}

/* Reads member `name` of `j` as milliseconds into *out. Returns 0 (absent is fine when
 * `optional`), or -1 with err set. */
static int get_ms(const json_t *j, const char *name, int optional, const char *what,
                  unsigned *out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(j, name);

    if (!v && optional)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > EMU_LATENCY_MAX_MS) {
        snprintf(err, errlen, "%s: %s must be an integer from 0 to %u", what, name,
                 EMU_LATENCY_MAX_MS);
        return -1;
    }
    *out = (unsigned)json_integer_value(v);
    return 0;
}

int emu_latency_parse(const json_t *j, const char *what, emu_latency *out, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"distribution", "ms", "min_ms", "max_ms",
                                       "median_ms", "p99_ms", "per_output_token_ms"};
    emu_latency l = {0};
    const char *dist, *key;
    const json_t *v, *per_token;
    json_t *value;

    if (json_is_integer(j)) {
        if (json_integer_value(j) < 0 || json_integer_value(j) > EMU_LATENCY_MAX_MS) {
            snprintf(err, errlen, "%s must be from 0 to %u ms", what, EMU_LATENCY_MAX_MS);
            return -1;
        }
        *out = emu_latency_fixed((unsigned)json_integer_value(j));
        return 0;
    }
    if (!json_is_object(j) || !json_is_string(v = json_object_get(j, "distribution"))) {
        snprintf(err, errlen,
                 "%s must be a number of ms or an object with \"distribution\": \"fixed\", "
                 "\"uniform\", \"lognormal\" or \"profile\"",
                 what);
        return -1;
    }
    json_object_foreach((json_t *)j, key, value) {
        size_t i = 0;

        while (i < sizeof(keys) / sizeof(keys[0]) && strcmp(key, keys[i]) != 0)
            i++;
        if (i == sizeof(keys) / sizeof(keys[0])) {
            snprintf(err, errlen, "%s: unknown key \"%.64s\"", what, key);
            return -1;
        }
    }
    dist = json_string_value(v);
    if (strcmp(dist, "fixed") == 0) {
        l.kind = EMU_LATENCY_FIXED;
        if (get_ms(j, "ms", 0, what, &l.a_ms, err, errlen))
            return -1;
    } else if (strcmp(dist, "uniform") == 0) {
        l.kind = EMU_LATENCY_UNIFORM;
        if (get_ms(j, "min_ms", 0, what, &l.a_ms, err, errlen) ||
            get_ms(j, "max_ms", 0, what, &l.b_ms, err, errlen))
            return -1;
        if (l.b_ms < l.a_ms) {
            snprintf(err, errlen, "%s: max_ms must not be below min_ms", what);
            return -1;
        }
    } else if (strcmp(dist, "lognormal") == 0) {
        l.kind = EMU_LATENCY_LOGNORMAL;
        if (get_ms(j, "median_ms", 0, what, &l.a_ms, err, errlen) ||
            get_ms(j, "p99_ms", 0, what, &l.b_ms, err, errlen))
            return -1;
        if (l.a_ms == 0 || l.b_ms < l.a_ms) {
            snprintf(err, errlen, "%s: need 0 < median_ms <= p99_ms", what);
            return -1;
        }
        l.cap_ms = l.b_ms > EMU_LATENCY_MAX_MS / 10 ? EMU_LATENCY_MAX_MS : l.b_ms * 10;
        if (get_ms(j, "max_ms", 1, what, &l.cap_ms, err, errlen))
            return -1;
        if (l.cap_ms < l.a_ms) {
            snprintf(err, errlen, "%s: max_ms must not be below median_ms", what);
            return -1;
        }
    } else if (strcmp(dist, "profile") == 0) {
        l.kind = EMU_LATENCY_PROFILE;
    } else {
        snprintf(err, errlen,
                 "%s: distribution \"%.32s\" is not one of fixed, uniform, lognormal, profile",
                 what, dist);
        return -1;
    }
    per_token = json_object_get(j, "per_output_token_ms");
    if (per_token) {
        if (!json_is_number(per_token) || !(json_number_value(per_token) >= 0) ||
            json_number_value(per_token) > 1000) {
            snprintf(err, errlen, "%s: per_output_token_ms must be a number from 0 to 1000",
                     what);
            return -1;
        }
        l.per_token_ms = json_number_value(per_token);
    }
    *out = l;
    return 0;
}

json_t *emu_latency_json(const emu_latency *l)
{
    json_t *o = NULL;

    switch (l->kind) {
    case EMU_LATENCY_FIXED:
        o = json_pack("{s:s,s:I}", "distribution", "fixed", "ms", (json_int_t)l->a_ms);
        break;
    case EMU_LATENCY_UNIFORM:
        o = json_pack("{s:s,s:I,s:I}", "distribution", "uniform", "min_ms",
                      (json_int_t)l->a_ms, "max_ms", (json_int_t)l->b_ms);
        break;
    case EMU_LATENCY_LOGNORMAL:
        o = json_pack("{s:s,s:I,s:I,s:I}", "distribution", "lognormal", "median_ms",
                      (json_int_t)l->a_ms, "p99_ms", (json_int_t)l->b_ms, "max_ms",
                      (json_int_t)l->cap_ms);
        break;
    case EMU_LATENCY_PROFILE:
        o = json_pack("{s:s}", "distribution", "profile");
        break;
    }
    if (o && l->per_token_ms > 0 &&
        json_object_set_new(o, "per_output_token_ms", json_real(l->per_token_ms)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

emu_latency emu_latency_resolve(const emu_latency *l, const emu_model *m)
{
    emu_latency r = *l;

    if (l->kind == EMU_LATENCY_PROFILE) {
        r.kind = EMU_LATENCY_LOGNORMAL;
        r.a_ms = m->profile_median_ms;
        r.b_ms = m->profile_p99_ms;
        r.cap_ms = m->profile_p99_ms * 10;
    }
    return r;
}

unsigned emu_latency_draw(const emu_latency *l, emu_rng *rng, unsigned output_tokens)
{
    double ms = 0;

    switch (l->kind) {
    case EMU_LATENCY_FIXED:
        ms = l->a_ms;
        break;
    case EMU_LATENCY_UNIFORM:
        ms = l->a_ms + emu_rng_unit(rng) * (double)(l->b_ms - l->a_ms + 1);
        if (ms > l->b_ms)
            ms = l->b_ms;
        break;
    case EMU_LATENCY_LOGNORMAL:
    case EMU_LATENCY_PROFILE: {
        /* Box-Muller; 1 - u keeps the log's argument in (0, 1]. */
        double u1 = 1.0 - emu_rng_unit(rng), u2 = emu_rng_unit(rng);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        double sigma = log((double)l->b_ms / (double)l->a_ms) / Z99;

        ms = (double)l->a_ms * exp(sigma * z);
        if (ms > l->cap_ms)
            ms = l->cap_ms;
        break;
    }
    }
    ms += l->per_token_ms * output_tokens;
    return ms >= EMU_LATENCY_MAX_MS ? EMU_LATENCY_MAX_MS : (unsigned)ms;
}
