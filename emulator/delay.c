/* delay.c - deadline heap of suspended connections and the thread that resumes them. */
#include "delay.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define HEAP_MAX ((size_t)1 << 20)

typedef struct {
    uint64_t deadline_ns;        /* CLOCK_MONOTONIC */
    struct MHD_Connection *conn;
} held;

struct emu_delay {
    pthread_t thread;
    pthread_mutex_t lock;        /* guards everything below */
    pthread_cond_t wake;         /* signalled on a new earliest deadline and on stop */
    held *heap;                  /* min-heap on deadline_ns */
    size_t len, alloc;
    int stopping;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void heap_up(held *h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2].deadline_ns > h[i].deadline_ns) {
        held t = h[i];

        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static held heap_pop(emu_delay *d)
{
    held top = d->heap[0], *h = d->heap;
    size_t i = 0;

    h[0] = h[--d->len];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        held t;

        if (l < d->len && h[l].deadline_ns < h[m].deadline_ns)
            m = l;
        if (r < d->len && h[r].deadline_ns < h[m].deadline_ns)
            m = r;
        if (m == i)
            break;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

static void *timer_main(void *arg)
{
    emu_delay *d = arg;

    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        uint64_t now = now_ns();

        if (d->len == 0) {
            pthread_cond_wait(&d->wake, &d->lock);
        } else if (d->heap[0].deadline_ns <= now) {
            held due = heap_pop(d);

            /* Resume outside the lock: MHD takes its own locks, the handler takes ours. */
            pthread_mutex_unlock(&d->lock);
            MHD_resume_connection(due.conn);
            pthread_mutex_lock(&d->lock);
        } else {
            uint64_t at = d->heap[0].deadline_ns;
            struct timespec ts = {(time_t)(at / 1000000000ULL), (long)(at % 1000000000ULL)};

            pthread_cond_timedwait(&d->wake, &d->lock, &ts);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

emu_delay *emu_delay_new(void)
{
    emu_delay *d = calloc(1, sizeof(*d));
    pthread_condattr_t attr;
    int have_lock = 0, have_cond = 0;

    if (!d || pthread_mutex_init(&d->lock, NULL) != 0)
        goto fail;
    have_lock = 1;
    if (pthread_condattr_init(&attr) != 0)
        goto fail;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    have_cond = pthread_cond_init(&d->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!have_cond || pthread_create(&d->thread, NULL, timer_main, d) != 0)
        goto fail;
    return d;

fail:
    if (have_cond)
        pthread_cond_destroy(&d->wake);
    if (have_lock)
        pthread_mutex_destroy(&d->lock);
    free(d);
    return NULL;
}

int emu_delay_hold(emu_delay *d, struct MHD_Connection *conn, unsigned ms)
{
    int rc = -1;

    pthread_mutex_lock(&d->lock);
    if (d->stopping)
        goto out;
    if (d->len == d->alloc) {
        size_t n = d->alloc ? d->alloc * 2 : 64;
        held *h;

        if (n > HEAP_MAX)
            goto out;
        h = realloc(d->heap, n * sizeof(*h));
        if (!h)
            goto out;
        d->heap = h;
        d->alloc = n;
    }
    /* Suspend before the timer can see the entry, so it never resumes a running one. */
    MHD_suspend_connection(conn);
    d->heap[d->len] = (held){now_ns() + (uint64_t)ms * 1000000ULL, conn};
    heap_up(d->heap, d->len++);
    if (d->heap[0].conn == conn)
        pthread_cond_signal(&d->wake);
    rc = 0;
out:
    pthread_mutex_unlock(&d->lock);
    return rc;
}

void emu_delay_stop(emu_delay *d)
{
    held *rest;
    size_t n;

    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    if (d->stopping) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    d->stopping = 1;
    pthread_cond_signal(&d->wake);
    rest = d->heap;
    n = d->len;
    d->heap = NULL;
    d->len = d->alloc = 0;
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    /* Nothing can be added any more: hand every held connection back to MHD now. */
    for (size_t i = 0; i < n; i++)
        MHD_resume_connection(rest[i].conn);
    free(rest);
}

void emu_delay_free(emu_delay *d)
{
    if (!d)
        return;
    emu_delay_stop(d);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d->heap);
    free(d);
}
