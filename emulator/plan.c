/* plan.c - fault rates, latency and quotas as data, their JSON form, and the shared
 * store (see plan.h). */
#include "plan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STALL_MS 90000u

/* Statuses and codes from the Bedrock Runtime service model; messages as Bedrock words
 * them (or, where no live message is known, its API reference's description). */
static const emu_fault_error fault_errors[EMU_FAULT_ERROR_COUNT] = {
    {429, "ThrottlingException", "Too many requests, please wait before trying again."},
    {429, "ModelNotReadyException",
     "The model specified in the request is not ready to serve inference requests. The AWS "
     "SDK will automatically retry the operation up to 5 times. For information about "
     "configuring automatic retries, see Retry behavior in the AWS SDKs and Tools reference "
     "guide."},
    {408, "ModelTimeoutException",
     "The request took too long to process. Processing time exceeded the model timeout "
     "length."},
    {424, "ModelErrorException", "The request failed due to an error while processing the model."},
    {400, "ServiceQuotaExceededException",
     "Your request exceeds the service quota for your account. You can view your quotas at "
     "Viewing service quotas. You can resubmit your request later."},
    {500, "InternalServerException",
     "The system encountered an unexpected error during processing. Try your request again."},
    {503, "ServiceUnavailableException", "Bedrock is unable to process your request."},
};

static const char *const malformed_kinds[] = {"mixed", "truncated", "non_json"};

/* Keys of the plan's JSON form that hold a plain rate. */
static const struct {
    const char *key;
    emu_fault fault;
} rate_keys[] = {
    {"throttle_rate", EMU_FAULT_THROTTLING},
    {"stall_rate", EMU_FAULT_STALL},
    {"reset_rate", EMU_FAULT_RESET},
    {"malformed_rate", EMU_FAULT_MALFORMED},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const emu_fault_error *emu_fault_error_of(emu_fault f)
{
    return f < EMU_FAULT_ERROR_COUNT ? &fault_errors[f] : NULL;
}

void emu_plan_init(emu_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->stall_ms = DEFAULT_STALL_MS;
    p->latency = emu_latency_fixed(0);
}

static int get_rate(const json_t *v, const char *what, double *out, char *err, size_t errlen)
{
    if (!json_is_number(v) || !(json_number_value(v) >= 0) || json_number_value(v) > 1) {
        snprintf(err, errlen, "%s must be a number from 0 to 1", what);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* A model id as in the path (plain, profile or ARN) -> its catalogue index, or -1. */
static int model_index(const char *id, const char *region)
{
    const emu_model *m = emu_catalogue_resolve(id, region);

    return m ? (int)emu_catalogue_index(m) : -1;
}

static int apply_error_rates(emu_plan *p, const json_t *v, char *err, size_t errlen)
{
    const char *key;
    json_t *rate;
    char what[96];

    if (!json_is_object(v)) {
        snprintf(err, errlen, "error_rates must be an object of error code -> rate");
        return -1;
    }
    /* The object replaces the previous one: {} turns every injected error off.
     * ThrottlingException is also throttle_rate, so it changes only when named. */
    for (int f = EMU_FAULT_THROTTLING + 1; f < EMU_FAULT_ERROR_COUNT; f++)
        p->rates[f] = 0;
    json_object_foreach((json_t *)v, key, rate) {
        size_t f = 0;

        while (f < EMU_FAULT_ERROR_COUNT && strcmp(key, fault_errors[f].code) != 0)
            f++;
        if (f == EMU_FAULT_ERROR_COUNT) {
            snprintf(err, errlen,
                     "error_rates: unknown error \"%.64s\": expected ThrottlingException, "
                     "ModelNotReadyException, ModelTimeoutException, ModelErrorException, "
                     "ServiceQuotaExceededException, InternalServerException or "
                     "ServiceUnavailableException",
                     key);
            return -1;
        }
        snprintf(what, sizeof(what), "error_rates.%s", key);
        if (get_rate(rate, what, &p->rates[f], err, errlen))
            return -1;
    }
    return 0;
}

static int apply_model_latency(emu_plan *p, const json_t *v, const char *region, char *err,
                               size_t errlen)
{
    const char *key;
    json_t *spec;
    char what[256];

    if (!json_is_object(v)) {
        snprintf(err, errlen, "model_latency must be an object of model id -> latency");
        return -1;
    }
    json_object_foreach((json_t *)v, key, spec) {
        int i = model_index(key, region);

        if (i < 0) {
            snprintf(err, errlen, "model_latency: unknown model \"%.200s\"", key);
            return -1;
        }
        snprintf(what, sizeof(what), "model_latency.%.200s", key);
        if (json_is_null(spec)) {
            p->has_model_latency[i] = 0;
        } else {
            if (emu_latency_parse(spec, what, &p->model_latency[i], err, errlen))
                return -1;
            p->has_model_latency[i] = 1;
        }
    }
    return 0;
}

static int get_count(const json_t *o, const char *name, const char *model, unsigned *out,
                     char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, name);

    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 1000000000) {
        snprintf(err, errlen, "quotas.%.200s.%s must be an integer from 0 (unlimited) to 1e9",
                 model, name);
        return -1;
    }
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int apply_quotas(emu_plan *p, const json_t *v, const char *region, char *err,
                        size_t errlen)
{
    const char *key;
    json_t *q;

    if (json_is_null(v)) {
        memset(p->quotas, 0, sizeof(p->quotas));
        return 0;
    }
    if (json_is_string(v) && strcmp(json_string_value(v), "aws_defaults") == 0) {
        for (size_t i = 0; i < emu_catalogue_count(); i++)
            p->quotas[i] = (emu_quota_limit){emu_catalogue_at(i)->default_rpm,
                                             emu_catalogue_at(i)->default_tpm};
        return 0;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen,
                 "quotas must be an object of model id -> {\"rpm\": N, \"tpm\": N}, "
                 "\"aws_defaults\" or null");
        return -1;
    }
    json_object_foreach((json_t *)v, key, q) {
        int i = model_index(key, region);
        const char *k;
        json_t *ignored;

        if (i < 0) {
            snprintf(err, errlen, "quotas: unknown model \"%.200s\"", key);
            return -1;
        }
        if (json_is_null(q)) {
            p->quotas[i] = (emu_quota_limit){0, 0};
            continue;
        }
        if (!json_is_object(q)) {
            snprintf(err, errlen, "quotas.%.200s must be {\"rpm\": N, \"tpm\": N} or null", key);
            return -1;
        }
        json_object_foreach(q, k, ignored) {
            if (strcmp(k, "rpm") != 0 && strcmp(k, "tpm") != 0) {
                snprintf(err, errlen, "quotas.%.200s: unknown key \"%.32s\": expected rpm or tpm",
                         key, k);
                return -1;
            }
        }
        if (get_count(q, "rpm", key, &p->quotas[i].rpm, err, errlen) ||
            get_count(q, "tpm", key, &p->quotas[i].tpm, err, errlen))
            return -1;
    }
    return 0;
}

static int apply_one(emu_plan *p, const char *key, const json_t *v, const char *region,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < COUNT(rate_keys); i++)
        if (strcmp(key, rate_keys[i].key) == 0)
            return get_rate(v, key, &p->rates[rate_keys[i].fault], err, errlen);
    if (strcmp(key, "error_rates") == 0)
        return apply_error_rates(p, v, err, errlen);
    if (strcmp(key, "stall_ms") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > EMU_LATENCY_MAX_MS) {
            snprintf(err, errlen, "stall_ms must be an integer from 0 to %u", EMU_LATENCY_MAX_MS);
            return -1;
        }
        p->stall_ms = (unsigned)json_integer_value(v);
        return 0;
    }
    if (strcmp(key, "malformed_kind") == 0) {
        for (size_t i = 0; json_is_string(v) && i < COUNT(malformed_kinds); i++) {
            if (strcmp(json_string_value(v), malformed_kinds[i]) == 0) {
                p->malformed_kind = (emu_malformed_kind)i;
                return 0;
            }
        }
        snprintf(err, errlen, "malformed_kind must be \"mixed\", \"truncated\" or \"non_json\"");
        return -1;
    }
    if (strcmp(key, "latency_ms") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > EMU_LATENCY_MAX_MS) {
            snprintf(err, errlen, "latency_ms must be an integer from 0 to %u",
                     EMU_LATENCY_MAX_MS);
            return -1;
        }
        p->latency = emu_latency_fixed((unsigned)json_integer_value(v));
        return 0;
    }
    if (strcmp(key, "latency") == 0)
        return emu_latency_parse(v, "latency", &p->latency, err, errlen);
    if (strcmp(key, "model_latency") == 0)
        return apply_model_latency(p, v, region, err, errlen);
    if (strcmp(key, "quotas") == 0)
        return apply_quotas(p, v, region, err, errlen);
    snprintf(err, errlen,
             "unknown config key \"%.64s\": expected throttle_rate, error_rates, stall_rate, "
             "stall_ms, reset_rate, malformed_rate, malformed_kind, latency_ms, latency, "
             "model_latency or quotas",
             key);
    return -1;
}

int emu_plan_apply(emu_plan *p, const json_t *patch, const char *region, char *err,
                   size_t errlen)
{
    emu_plan next = *p;
    const char *key;
    json_t *v;
    double sum = 0;

    if (!json_is_object(patch)) {
        snprintf(err, errlen, "the config must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)patch, key, v) {
        if (apply_one(&next, key, v, region, err, errlen))
            return -1;
    }
    for (int f = 0; f < EMU_FAULT_COUNT; f++)
        sum += next.rates[f];
    if (sum > 1 + 1e-9) {
        snprintf(err, errlen,
                 "the fault rates add up to %.4g: throttle_rate, error_rates, stall_rate, "
                 "reset_rate and malformed_rate together must not exceed 1",
                 sum);
        return -1;
    }
    *p = next;
    return 0;
}

json_t *emu_plan_json(const emu_plan *p)
{
    json_t *o = json_object(), *errors = json_object(), *ml = json_object(),
           *quotas = json_object();
    int failed = !o || !errors || !ml || !quotas;

    for (size_t i = 0; !failed && i < COUNT(rate_keys); i++)
        failed = json_object_set_new(o, rate_keys[i].key,
                                     json_real(p->rates[rate_keys[i].fault]));
    for (int f = 0; !failed && f < EMU_FAULT_ERROR_COUNT; f++)
        failed = json_object_set_new(errors, fault_errors[f].code, json_real(p->rates[f]));
    for (size_t i = 0; !failed && i < emu_catalogue_count(); i++) {
        const char *id = emu_catalogue_at(i)->id;

        if (p->has_model_latency[i])
            failed = json_object_set_new(ml, id, emu_latency_json(&p->model_latency[i]));
        if (!failed && (p->quotas[i].rpm || p->quotas[i].tpm))
            failed = json_object_set_new(quotas, id,
                                         json_pack("{s:I,s:I}", "rpm",
                                                   (json_int_t)p->quotas[i].rpm, "tpm",
                                                   (json_int_t)p->quotas[i].tpm));
    }
    /* latency_ms stays for callers of the first version: the fixed latency, else null. */
    failed = failed ||
             json_object_set_new(o, "latency_ms",
                                 p->latency.kind == EMU_LATENCY_FIXED && !p->latency.per_token_ms
                                     ? json_integer(p->latency.a_ms)
                                     : json_null()) ||
             json_object_set_new(o, "latency", emu_latency_json(&p->latency)) ||
             json_object_set(o, "error_rates", errors) ||
             json_object_set_new(o, "stall_ms", json_integer(p->stall_ms)) ||
             json_object_set_new(o, "malformed_kind",
                                 json_string(malformed_kinds[p->malformed_kind])) ||
             json_object_set(o, "model_latency", ml) || json_object_set(o, "quotas", quotas);
    json_decref(errors);
    json_decref(ml);
    json_decref(quotas);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

emu_fault emu_plan_draw(const emu_plan_view *view, emu_rng *rng)
{
    double sum = 0, u;

    for (int f = 0; f < EMU_FAULT_COUNT; f++)
        sum += view->rates[f];
    if (sum <= 0)
        return EMU_FAULT_NONE;
    u = emu_rng_unit(rng);
    for (int f = 0; f < EMU_FAULT_COUNT; f++) {
        if (view->rates[f] > 0 && u < view->rates[f])
            return (emu_fault)f;
        u -= view->rates[f];
    }
    return EMU_FAULT_NONE;
}

struct emu_plan_store {
    pthread_mutex_t lock;          /* guards current */
    emu_plan current;
    emu_plan initial;              /* read-only after creation */
    const char *region;
};

emu_plan_store *emu_plan_store_new(const emu_plan *initial, const char *region)
{
    emu_plan_store *s = calloc(1, sizeof(*s));

    if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->current = s->initial = *initial;
    s->region = region;
    return s;
}

void emu_plan_store_free(emu_plan_store *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int emu_plan_store_apply(emu_plan_store *s, const json_t *patch, json_t **now, char *err,
                         size_t errlen)
{
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = emu_plan_apply(&s->current, patch, s->region, err, errlen);
    if (rc == 0 && now)
        *now = emu_plan_json(&s->current);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void emu_plan_store_reset(emu_plan_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->current = s->initial;
    pthread_mutex_unlock(&s->lock);
}

json_t *emu_plan_store_json(emu_plan_store *s)
{
    json_t *o;

    pthread_mutex_lock(&s->lock);
    o = emu_plan_json(&s->current);
    pthread_mutex_unlock(&s->lock);
    return o;
}

void emu_plan_store_view(emu_plan_store *s, const emu_model *m, emu_plan_view *view)
{
    size_t i = emu_catalogue_index(m);

    pthread_mutex_lock(&s->lock);
    memcpy(view->rates, s->current.rates, sizeof(view->rates));
    view->stall_ms = s->current.stall_ms;
    view->malformed_kind = s->current.malformed_kind;
    view->latency = s->current.has_model_latency[i] ? s->current.model_latency[i]
                                                    : s->current.latency;
    view->quota = s->current.quotas[i];
    pthread_mutex_unlock(&s->lock);
    view->latency = emu_latency_resolve(&view->latency, m);
}
