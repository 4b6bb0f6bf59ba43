/* clock.h - the consumer's one monotonic clock, in seconds (timers, rate control, call
 * latency). Never the wall clock: deadlines stored in PostgreSQL use time(). */
#ifndef QUARRY_CONSUMER_CLOCK_H
#define QUARRY_CONSUMER_CLOCK_H

#include <time.h>

static inline double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
