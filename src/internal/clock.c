#include "internal/clock.h"

#include <math.h>
#include <stdint.h>

weft__deadline weft__deadline_in(double timeout)
{
    weft__deadline d = {.forever = false, .nonblock = false};
    if (timeout < 0) {
        d.forever = true;
        return d;
    }
    if (!(timeout > 0)) { /* 0 or NaN */
        d.nonblock = true;
        clock_gettime(CLOCK_MONOTONIC, &d.at);
        return d;
    }
    clock_gettime(CLOCK_MONOTONIC, &d.at);
    /* About 30 years is as good as forever and keeps tv_sec far from overflow. */
    if (timeout > 1e9) {
        d.forever = true;
        return d;
    }
    double whole = floor(timeout);
    long nsec = (long)((timeout - whole) * 1e9);
    d.at.tv_sec += (time_t)whole;
    d.at.tv_nsec += nsec;
    if (d.at.tv_nsec >= 1000000000L) {
        d.at.tv_sec += 1;
        d.at.tv_nsec -= 1000000000L;
    }
    return d;
}

bool weft__deadline_passed(const weft__deadline *d)
{
    if (d->forever)
        return false;
    if (d->nonblock)
        return true;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->at.tv_sec ||
           (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec);
}

bool weft__deadline_left(const weft__deadline *d, struct timespec *left)
{
    left->tv_sec = 0;
    left->tv_nsec = 0;
    if (d->nonblock)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > d->at.tv_sec || (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec))
        return false;
    left->tv_sec = d->at.tv_sec - now.tv_sec;
    left->tv_nsec = d->at.tv_nsec - now.tv_nsec;
    if (left->tv_nsec < 0) {
        left->tv_sec -= 1;
        left->tv_nsec += 1000000000L;
    }
    return true;
}
