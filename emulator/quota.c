/* quota.c - sliding-window request and token quotas per model (see quota.h). */
#include "quota.h"

#include <pthread.h>
#include <stdlib.h>

#define SLOT_NS 100000000ULL       /* 100 ms */
#define N_SLOTS 600                /* 60 s */

typedef struct {
    pthread_mutex_t lock;          /* guards everything below */
    uint64_t head;                 /* newest slot number seen (now_ns / SLOT_NS) */
    unsigned long long requests, tokens;        /* sums over the window */
    unsigned requests_in[N_SLOTS];
    unsigned long long tokens_in[N_SLOTS];
} window;

struct emu_quota {
    size_t n;
    window *w;
};

emu_quota *emu_quota_new(size_t n_models)
{
    emu_quota *q = calloc(1, sizeof(*q));
    size_t i = 0;

    if (!q || !(q->w = calloc(n_models ? n_models : 1, sizeof(*q->w))))
        goto fail;
    for (; i < n_models; i++)
        if (pthread_mutex_init(&q->w[i].lock, NULL) != 0)
            goto fail;
    q->n = n_models;
    return q;

fail:
    while (q && q->w && i-- > 0)
        pthread_mutex_destroy(&q->w[i].lock);
    if (q)
        free(q->w);
    free(q);
    return NULL;
}

void emu_quota_free(emu_quota *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        pthread_mutex_destroy(&q->w[i].lock);
    free(q->w);
    free(q);
}

/* Drops the slots that fell out of the window by `now_ns`. Caller holds w->lock. */
static void slide(window *w, uint64_t now_ns)
{
    uint64_t slot = now_ns / SLOT_NS;

    if (slot <= w->head)
        return;
    if (slot - w->head >= N_SLOTS) {
        for (size_t i = 0; i < N_SLOTS; i++) {
            w->requests_in[i] = 0;
            w->tokens_in[i] = 0;
        }
        w->requests = w->tokens = 0;
    } else {
        for (uint64_t s = w->head + 1; s <= slot; s++) {
            size_t i = (size_t)(s % N_SLOTS);

            w->requests -= w->requests_in[i];
            w->tokens -= w->tokens_in[i];
            w->requests_in[i] = 0;
            w->tokens_in[i] = 0;
        }
    }
    w->head = slot;
}

emu_quota_verdict emu_quota_admit(emu_quota *q, size_t model, emu_quota_limit limit,
                                  unsigned reserve, unsigned charge, uint64_t now_ns)
{
    emu_quota_verdict v = EMU_QUOTA_OK;
    window *w;
    size_t i;

    if ((!limit.rpm && !limit.tpm) || model >= q->n)
        return EMU_QUOTA_OK;
    w = &q->w[model];
    i = (size_t)((now_ns / SLOT_NS) % N_SLOTS);
    pthread_mutex_lock(&w->lock);
    slide(w, now_ns);
    if (limit.rpm && w->requests + 1 > limit.rpm)
        v = EMU_QUOTA_RPM;
    else if (limit.tpm && w->tokens + reserve > limit.tpm)
        v = EMU_QUOTA_TPM;
    if (v == EMU_QUOTA_OK) {
        w->requests++;
        w->requests_in[i]++;
        w->tokens += charge;
        w->tokens_in[i] += charge;
    }
    pthread_mutex_unlock(&w->lock);
    return v;
}

void emu_quota_clear(emu_quota *q)
{
    for (size_t m = 0; m < q->n; m++) {
        window *w = &q->w[m];

        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < N_SLOTS; i++) {
            w->requests_in[i] = 0;
            w->tokens_in[i] = 0;
        }
        w->requests = w->tokens = 0;
        pthread_mutex_unlock(&w->lock);
    }
}

void emu_quota_usage(emu_quota *q, size_t model, uint64_t now_ns, unsigned long long *requests,
                     unsigned long long *tokens)
{
    window *w;

    *requests = *tokens = 0;
    if (model >= q->n)
        return;
    w = &q->w[model];
    pthread_mutex_lock(&w->lock);
    slide(w, now_ns);
    *requests = w->requests;
    *tokens = w->tokens;
    pthread_mutex_unlock(&w->lock);
}
