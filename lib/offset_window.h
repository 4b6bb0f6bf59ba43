/* offset_window.h - the in-flight offsets of one Kafka partition.
 *
 * Jobs finish out of order, but a partition's committed offset may only move past a
 * message once every earlier message is done. The window holds the offsets handed out,
 * in arrival order (strictly increasing), with a done flag; the offset to store is the
 * lowest offset still in flight, or one past the last message when none is. */
#ifndef QUARRY_OFFSET_WINDOW_H
#define QUARRY_OFFSET_WINDOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t *offsets;   /* private: ring of offsets, oldest at head */
    uint8_t *done;      /* private */
    size_t head, len, cap;
    int64_t next_commit; /* read-only: offset to store (-1 until the first message) */
} q_offset_window;

void q_offset_window_init(q_offset_window *w);
void q_offset_window_free(q_offset_window *w);

/* Records a newly received offset. Offsets must increase; a repeated or older offset
 * (a redelivery after a seek) returns 1 and is ignored. Returns 0, 1, or -1 on OOM. */
int q_offset_window_add(q_offset_window *w, int64_t offset);

/* Marks an offset done. Returns 1 when the committable offset moved (read it from
 * next_commit), 0 when it did not, -1 when the offset is not in the window. */
int q_offset_window_done(q_offset_window *w, int64_t offset);

/* Offsets received and not yet done. */
size_t q_offset_window_in_flight(const q_offset_window *w);

#endif
