/* ledger.c - outcome counters, token totals and the ring of recent successes (see ledger.h). */
#include "ledger.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct emu_ledger {
    _Atomic unsigned long long outcomes[EMU_OUTCOME_COUNT];
    _Atomic unsigned long long input_tokens;
    _Atomic unsigned long long output_tokens;
    pthread_mutex_t lock;        /* guards everything below */
    emu_record *ring;
    uint64_t *fingerprints;      /* 0 marks an empty slot */
    size_t capacity;
    size_t next;                 /* slot the next success goes to */
};

static const char *const outcome_names[EMU_OUTCOME_COUNT] = {
    "succeeded", "throttled", "validation_errors", "auth_errors", "other_errors",
};

/* FNV-1a, never 0 so that 0 can mean "empty". */
static uint64_t fingerprint(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ? h : 1;
}

emu_ledger *emu_ledger_new(size_t capacity)
{
    emu_ledger *l = calloc(1, sizeof(*l));

    if (!l || capacity == 0)
        goto fail;
    /* calloc leaves the ring's pages untouched until they are first written. */
    l->ring = calloc(capacity, sizeof(*l->ring));
    l->fingerprints = calloc(capacity, sizeof(*l->fingerprints));
    if (!l->ring || !l->fingerprints)
        goto fail;
    if (pthread_mutex_init(&l->lock, NULL) != 0)
        goto fail;
    l->capacity = capacity;
    for (int i = 0; i < EMU_OUTCOME_COUNT; i++)
        atomic_init(&l->outcomes[i], 0);
    atomic_init(&l->input_tokens, 0);
    atomic_init(&l->output_tokens, 0);
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

void emu_ledger_add(emu_ledger *l, emu_outcome outcome, const emu_record *rec)
{
    if (outcome < 0 || outcome >= EMU_OUTCOME_COUNT)
        outcome = EMU_OUTCOME_OTHER_ERROR;
    if (outcome == EMU_OUTCOME_SUCCEEDED && rec) {
        atomic_fetch_add_explicit(&l->input_tokens, rec->input_tokens, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->output_tokens, rec->output_tokens, memory_order_relaxed);
        pthread_mutex_lock(&l->lock);
        l->ring[l->next] = *rec;
        l->fingerprints[l->next] = fingerprint(rec->request_id);
        l->next = (l->next + 1) % l->capacity;
        pthread_mutex_unlock(&l->lock);
    }
    atomic_fetch_add_explicit(&l->outcomes[outcome], 1, memory_order_relaxed);
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

json_t *emu_ledger_stats(emu_ledger *l)
{
    unsigned long long n[EMU_OUTCOME_COUNT], total = 0;
    json_t *o = json_object();
    int failed = !o;

    for (int i = 0; i < EMU_OUTCOME_COUNT; i++) {
        n[i] = atomic_load_explicit(&l->outcomes[i], memory_order_relaxed);
        total += n[i];
    }
    failed = failed || json_object_set_new(o, "invocations", json_integer((json_int_t)total));
    for (int i = 0; i < EMU_OUTCOME_COUNT && !failed; i++)
        failed = json_object_set_new(o, outcome_names[i], json_integer((json_int_t)n[i]));
    failed = failed ||
             json_object_set_new(o, "input_tokens",
                                 json_integer((json_int_t)atomic_load(&l->input_tokens))) ||
             json_object_set_new(o, "output_tokens",
                                 json_integer((json_int_t)atomic_load(&l->output_tokens))) ||
             json_object_set_new(o, "recent_capacity", json_integer((json_int_t)l->capacity));
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}
