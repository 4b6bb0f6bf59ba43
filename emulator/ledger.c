/* ledger.c - counters, totals and the ring of recent successes (see ledger.h). */
#include "ledger.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef _Atomic unsigned long long counter;

/* Error codes counted by name; anything else counts as "other". The first
 * ALWAYS_LISTED are the injectable ones, listed in the stats even when 0. */
#define ALWAYS_LISTED 7
static const char *const error_codes[] = {
    "ThrottlingException", "ModelNotReadyException", "ModelTimeoutException",
    "ModelErrorException", "ServiceQuotaExceededException", "InternalServerException",
    "ServiceUnavailableException", "ValidationException", "SerializationException",
    "AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException",
    "InvalidSignatureException", "IncompleteSignatureException",
    "MissingAuthenticationTokenException", "UnknownOperationException", "other",
};

#define N_CODES (sizeof(error_codes) / sizeof(error_codes[0]))

static const char *const outcome_names[EMU_OUTCOME_COUNT] = {
    "succeeded", "throttled", "validation_errors", "auth_errors", "other_errors",
    "injected_errors", "stalled", "resets", "malformed",
};
static const char *const cause_names[EMU_THROTTLE_COUNT] = {"rate", "rpm", "tpm"};
static const char *const operation_names[EMU_OP_COUNT] = {"invoke", "converse"};

typedef struct {
    counter outcomes[EMU_OUTCOME_COUNT];
    counter input_tokens;
    counter output_tokens;
} model_counters;

struct emu_ledger {
    counter outcomes[EMU_OUTCOME_COUNT];
    counter codes[N_CODES];
    counter causes[EMU_THROTTLE_COUNT];
    counter operations[EMU_OP_COUNT];
    counter input_tokens;
    counter output_tokens;
    model_counters models[EMU_CATALOGUE_MAX];
    _Atomic uint64_t since_ns;   /* CLOCK_MONOTONIC of the start or the last reset */
    pthread_mutex_t lock;        /* guards everything below */
    emu_record *ring;
    uint64_t *fingerprints;      /* 0 marks an empty slot */
    size_t capacity;
    size_t next;                 /* slot the next success goes to */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* FNV-1a, never 0 so that 0 can mean "empty". */
static uint64_t fingerprint(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ? h : 1;
}

static void bump(counter *c, unsigned long long n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static unsigned long long get(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

emu_ledger *emu_ledger_new(size_t capacity)
{
    emu_ledger *l = calloc(1, sizeof(*l));

    if (!l || capacity == 0)
        goto fail;
    /* calloc leaves the ring's pages untouched until they are first written; the
     * counters start at 0 the same way (all-zero bytes are a valid zero atomic here). */
    l->ring = calloc(capacity, sizeof(*l->ring));
    l->fingerprints = calloc(capacity, sizeof(*l->fingerprints));
    if (!l->ring || !l->fingerprints)
        goto fail;
    if (pthread_mutex_init(&l->lock, NULL) != 0)
        goto fail;
    l->capacity = capacity;
    atomic_store(&l->since_ns, now_ns());
    return l;

fail:
    if (l) {
        free(l->ring);
        free(l->fingerprints);
        free(l);
    }
    return NULL;
}

void emu_ledger_free(emu_ledger *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l->ring);
    free(l->fingerprints);
    free(l);
}

void emu_ledger_add(emu_ledger *l, const emu_ledger_entry *e)
{
    emu_outcome outcome = e->outcome;
    model_counters *m = NULL;

    if (outcome < 0 || outcome >= EMU_OUTCOME_COUNT)
        outcome = EMU_OUTCOME_OTHER_ERROR;
    if (e->model >= 0 && e->model < EMU_CATALOGUE_MAX)
        m = &l->models[e->model];
    if (outcome == EMU_OUTCOME_SUCCEEDED && e->rec) {
        bump(&l->input_tokens, e->rec->input_tokens);
        bump(&l->output_tokens, e->rec->output_tokens);
        if (m) {
            bump(&m->input_tokens, e->rec->input_tokens);
            bump(&m->output_tokens, e->rec->output_tokens);
        }
        pthread_mutex_lock(&l->lock);
        l->ring[l->next] = *e->rec;
        l->fingerprints[l->next] = fingerprint(e->rec->request_id);
        l->next = (l->next + 1) % l->capacity;
        pthread_mutex_unlock(&l->lock);
    }
    if (e->error_code) {
        size_t i = 0;

        while (i + 1 < N_CODES && strcmp(e->error_code, error_codes[i]) != 0)
            i++;
        bump(&l->codes[i], 1);
    }
    if (outcome == EMU_OUTCOME_THROTTLED && e->cause >= 0 && e->cause < EMU_THROTTLE_COUNT)
        bump(&l->causes[e->cause], 1);
    if (e->operation >= 0 && e->operation < EMU_OP_COUNT)
        bump(&l->operations[e->operation], 1);
    if (m)
        bump(&m->outcomes[outcome], 1);
    bump(&l->outcomes[outcome], 1);
}

int emu_ledger_find(emu_ledger *l, const char *request_id, emu_record *out)
{
    uint64_t fp = fingerprint(request_id);
    int rc = -1;

    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->capacity; i++) {
        if (l->fingerprints[i] == fp && strcmp(l->ring[i].request_id, request_id) == 0) {
            *out = l->ring[i];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* {"invocations": total, <outcome>: n, ..., "input_tokens", "output_tokens"} into o. */
static int outcome_fields(json_t *o, counter *outcomes, counter *in, counter *out)
{
    unsigned long long n[EMU_OUTCOME_COUNT], total = 0;
    int failed = 0;

    for (int i = 0; i < EMU_OUTCOME_COUNT; i++) {
        n[i] = get(&outcomes[i]);
        total += n[i];
    }
    failed = json_object_set_new(o, "invocations", json_integer((json_int_t)total));
    for (int i = 0; i < EMU_OUTCOME_COUNT && !failed; i++)
        failed = json_object_set_new(o, outcome_names[i], json_integer((json_int_t)n[i]));
    return failed ||
           json_object_set_new(o, "input_tokens", json_integer((json_int_t)get(in))) ||
           json_object_set_new(o, "output_tokens", json_integer((json_int_t)get(out)));
}

json_t *emu_ledger_stats(emu_ledger *l)
{
    json_t *o = json_object(), *codes = json_object(), *causes = json_object(),
           *ops = json_object(), *models = json_object();
    int failed = !o || !codes || !causes || !ops || !models;

    failed = failed || outcome_fields(o, l->outcomes, &l->input_tokens, &l->output_tokens);
    for (size_t i = 0; i < N_CODES && !failed; i++) {
        unsigned long long n = get(&l->codes[i]);

        if (n || i < ALWAYS_LISTED)
            failed = json_object_set_new(codes, error_codes[i], json_integer((json_int_t)n));
    }
    for (int i = 0; i < EMU_THROTTLE_COUNT && !failed; i++)
        failed = json_object_set_new(causes, cause_names[i],
                                     json_integer((json_int_t)get(&l->causes[i])));
    for (int i = 0; i < EMU_OP_COUNT && !failed; i++)
        failed = json_object_set_new(ops, operation_names[i],
                                     json_integer((json_int_t)get(&l->operations[i])));
    for (size_t i = 0; i < emu_catalogue_count() && !failed; i++) {
        model_counters *m = &l->models[i];
        unsigned long long any = 0;
        json_t *mo;

        for (int k = 0; k < EMU_OUTCOME_COUNT; k++)
            any += get(&m->outcomes[k]);
        if (!any)
            continue;
        mo = json_object();
        failed = !mo || outcome_fields(mo, m->outcomes, &m->input_tokens, &m->output_tokens);
        failed = json_object_set_new(models, emu_catalogue_at(i)->id, mo) || failed;
    }
    failed = failed || json_object_set(o, "errors", codes) ||
             json_object_set(o, "throttled_by", causes) ||
             json_object_set(o, "operations", ops) || json_object_set(o, "models", models) ||
             json_object_set_new(o, "recent_capacity", json_integer((json_int_t)l->capacity)) ||
             json_object_set_new(
                 o, "seconds",
                 json_real((double)(now_ns() - atomic_load(&l->since_ns)) / 1e9));
    json_decref(codes);
    json_decref(causes);
    json_decref(ops);
    json_decref(models);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void zero(counter *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&c[i], 0, memory_order_relaxed);
}

void emu_ledger_reset(emu_ledger *l)
{
    zero(l->outcomes, EMU_OUTCOME_COUNT);
    zero(l->codes, N_CODES);
    zero(l->causes, EMU_THROTTLE_COUNT);
    zero(l->operations, EMU_OP_COUNT);
    zero(&l->input_tokens, 1);
    zero(&l->output_tokens, 1);
    for (size_t i = 0; i < EMU_CATALOGUE_MAX; i++) {
        zero(l->models[i].outcomes, EMU_OUTCOME_COUNT);
        zero(&l->models[i].input_tokens, 1);
        zero(&l->models[i].output_tokens, 1);
    }
    atomic_store(&l->since_ns, now_ns());
}
