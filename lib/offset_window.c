/* offset_window.c - in-flight offsets of one Kafka partition (see offset_window.h). */
#include "offset_window.h"

#include <stdlib.h>
#include <string.h>

void q_offset_window_init(q_offset_window *w)
{
    memset(w, 0, sizeof(*w));
    w->next_commit = -1;
}

void q_offset_window_free(q_offset_window *w)
{
    if (!w)
        return;
    free(w->offsets);
    free(w->done);
    q_offset_window_init(w);
}

static size_t slot(const q_offset_window *w, size_t i)
{
    return (w->head + i) % w->cap;
}

static int grow(q_offset_window *w)
{
    size_t ncap = w->cap ? w->cap * 2 : 64;
    int64_t *no = malloc(ncap * sizeof(*no));
    uint8_t *nd = malloc(ncap);

    if (!no || !nd) {
        free(no);
        free(nd);
        return -1;
    }
    for (size_t i = 0; i < w->len; i++) {
        no[i] = w->offsets[slot(w, i)];
        nd[i] = w->done[slot(w, i)];
    }
    free(w->offsets);
    free(w->done);
    w->offsets = no;
    w->done = nd;
    w->cap = ncap;
    w->head = 0;
    return 0;
}

int q_offset_window_add(q_offset_window *w, int64_t offset)
{
    if (w->len && offset <= w->offsets[slot(w, w->len - 1)])
        return 1;
    if (!w->len && w->next_commit >= 0 && offset < w->next_commit)
        return 1;
    if (w->len == w->cap && grow(w) != 0)
        return -1;
    w->offsets[slot(w, w->len)] = offset;
    w->done[slot(w, w->len)] = 0;
    w->len++;
    if (w->len == 1)
        w->next_commit = offset;
    return 0;
}

int q_offset_window_done(q_offset_window *w, int64_t offset)
{
    size_t lo = 0, hi = w->len;
    int64_t before = w->next_commit;

    while (lo < hi) { /* offsets are increasing: binary search */
        size_t mid = (lo + hi) / 2;
        if (w->offsets[slot(w, mid)] < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == w->len || w->offsets[slot(w, lo)] != offset)
        return -1;
    w->done[slot(w, lo)] = 1;
    while (w->len && w->done[w->head]) {
        w->next_commit = w->offsets[w->head] + 1;
        w->head = (w->head + 1) % w->cap;
        w->len--;
    }
    if (w->len)
        w->next_commit = w->offsets[w->head];
    return w->next_commit != before;
}

size_t q_offset_window_in_flight(const q_offset_window *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->len; i++)
        n += !w->done[slot(w, i)];
    return n;
}
