/* ratelimit.c - per-key token buckets (see ratelimit.h). */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define SHARDS 32
#define BUCKETS_PER_SHARD 256

typedef struct bucket {
    long long key_id;
    double tokens;
    int64_t updated_us;
    struct bucket *next;
} bucket;

typedef struct {
    pthread_mutex_t mu;
    bucket *heads[BUCKETS_PER_SHARD];
} shard;

struct q_ratelimit {
    shard shards[SHARDS];
};

q_ratelimit *q_ratelimit_new(void)
{
    q_ratelimit *rl = calloc(1, sizeof(*rl));

    if (!rl)
        return NULL;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].mu, NULL);
    return rl;
}

void q_ratelimit_free(q_ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < SHARDS; i++) {
        for (int j = 0; j < BUCKETS_PER_SHARD; j++) {
            bucket *b = rl->shards[i].heads[j];
            while (b) {
                bucket *next = b->next;
                free(b);
                b = next;
            }
        }
        pthread_mutex_destroy(&rl->shards[i].mu);
    }
    free(rl);
}

static int ceil_seconds(double s)
{
    double c = ceil(s - 1e-9);

    return c < 0 ? 0 : c > 86400 ? 86400 : (int)c;
}

int q_ratelimit_take(q_ratelimit *rl, long long key_id, double rate, int burst, int64_t now_us,
                     q_ratelimit_info *info)
{
    uint64_t h = (uint64_t)key_id * 0x9e3779b97f4a7c15ULL;
    shard *s = &rl->shards[(h >> 59) % SHARDS];
    bucket **head = &s->heads[(h >> 32) % BUCKETS_PER_SHARD], *b;
    int allowed, rc;

    if (burst < 1)
        burst = 1;
    if (!(rate > 0))
        rate = 1e-9;
    pthread_mutex_lock(&s->mu);
    for (b = *head; b && b->key_id != key_id; b = b->next)
        ;
    if (!b) {
        b = malloc(sizeof(*b));
        if (!b) {
            pthread_mutex_unlock(&s->mu);
            *info = (q_ratelimit_info){.limit = burst, .remaining = burst};
            return -1;
        }
        *b = (bucket){.key_id = key_id, .tokens = burst, .updated_us = now_us, .next = *head};
        *head = b;
    }
    if (now_us > b->updated_us) {
        b->tokens += rate * (double)(now_us - b->updated_us) / 1e6;
        b->updated_us = now_us;
    }
    if (b->tokens > burst)
        b->tokens = burst;
    allowed = b->tokens >= 1.0;
    if (allowed)
        b->tokens -= 1.0;
    info->limit = burst;
    info->remaining = (int)floor(b->tokens);
    info->reset_seconds = ceil_seconds((burst - b->tokens) / rate);
    info->retry_after = allowed ? 0 : ceil_seconds((1.0 - b->tokens) / rate);
    if (!allowed && info->retry_after < 1)
        info->retry_after = 1;
    rc = allowed;
    pthread_mutex_unlock(&s->mu);
    return rc;
}
