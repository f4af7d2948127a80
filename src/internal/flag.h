/*
 * A one-shot flag: starts clear, is set once, and any number of threads may wait
 * for it with a deadline. Used for "thread finished", "thread started" and the
 * like, where the setter must not pay a system call unless someone sleeps.
 *
 * The word holds 0 (clear), 2 (clear, and some waiter may be asleep on it) or
 * 1 (set). A waiter turns 0 into 2 before sleeping on the value 2; the setter
 * exchanges in 1 and calls futex_wake only if it took out a 2. A waiter that
 * moved 0 to 2 after the exchange fails its CAS (the word is 1) and returns
 * without sleeping; one that sleeps on 2 has either been woken or sees 1 and
 * gets -EAGAIN from the kernel. So no wake-up is lost, and the common case
 * (nobody waiting) costs the setter one atomic exchange.
 */
#ifndef WEFT_INTERNAL_FLAG_H
#define WEFT_INTERNAL_FLAG_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal/clock.h"
#include "internal/futex.h"

#define WEFT__FLAG_CLEAR 0u
#define WEFT__FLAG_SET 1u
#define WEFT__FLAG_SLEEPERS 2u

/* True once set. Acquire: what the setter wrote before setting is visible. */
static inline bool weft__flag_is_set(const uint32_t *w)
{
    return __atomic_load_n(w, __ATOMIC_ACQUIRE) == WEFT__FLAG_SET;
}

/* Set the flag, waking every waiter. Release: publishes the setter's earlier
 * writes (a thread's result, its tid) to whoever observes the flag set. */
static inline void weft__flag_set(uint32_t *w)
{
    if (__atomic_exchange_n(w, WEFT__FLAG_SET, __ATOMIC_ACQ_REL) == WEFT__FLAG_SLEEPERS)
        weft__futex_wake(w, INT_MAX, false);
}

/* Wait until set or the deadline passes. Returns 0 or -ETIMEDOUT. */
static inline int weft__flag_wait(uint32_t *w, const weft__deadline *d)
{
    for (;;) {
        uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        if (v == WEFT__FLAG_SET)
            return 0;
        if (d->nonblock)
            return -ETIMEDOUT;
        /* Announce a sleeper; relaxed is enough, the futex re-checks the word. */
        if (v == WEFT__FLAG_CLEAR &&
            !__atomic_compare_exchange_n(w, &v, WEFT__FLAG_SLEEPERS, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            continue; /* changed under us: look again */
        if (weft__futex_wait(w, WEFT__FLAG_SLEEPERS, weft__deadline_ts(d), false) == -ETIMEDOUT)
            return weft__flag_is_set(w) ? 0 : -ETIMEDOUT;
    }
}

#endif
