/*
 * Deadlines: a relative timeout in seconds (Python's convention) is turned once,
 * at the start of a call, into an absolute CLOCK_MONOTONIC instant, so that a
 * wait woken early and sleeping again never stretches the total.
 */
#ifndef WEFT_INTERNAL_CLOCK_H
#define WEFT_INTERNAL_CLOCK_H

#include <stdbool.h>
#include <time.h>

typedef struct weft__deadline {
    struct timespec at; /* absolute CLOCK_MONOTONIC; meaningful when !forever */
    bool forever;       /* timeout was negative (WEFT_FOREVER) */
    bool nonblock;      /* timeout was 0: never sleep */
} weft__deadline;

/* A timeout no call accepts: NaN (Python raises ValueError for it). */
static inline bool weft__timeout_invalid(double timeout)
{
    return timeout != timeout;
}

/* Deadline for a timeout in seconds; NaN is treated as 0 (callers that must
 * reject NaN check it first). Huge values saturate instead of overflowing. */
weft__deadline weft__deadline_in(double timeout);

/* True when the deadline has passed (never for forever, always for nonblock). */
bool weft__deadline_passed(const weft__deadline *d);

/* Time left until the deadline, for relative waits (ppoll, nanosleep): stores
 * it in *left and returns true, or stores 0 and returns false when the deadline
 * has passed or is nonblock. Not for forever deadlines. */
bool weft__deadline_left(const weft__deadline *d, struct timespec *left);

/* The absolute instant to hand to a futex or clock_nanosleep, or NULL for
 * forever. */
static inline const struct timespec *weft__deadline_ts(const weft__deadline *d)
{
    return d->forever ? NULL : &d->at;
}

#endif
