/*
 * Semaphore and BoundedSemaphore: Python's threading.Semaphore /
 * BoundedSemaphore as a counter, a count of (possible) sleepers and a futex on
 * the counter.
 *
 *   acquire: CAS value -> value - 1 while value > 0. Otherwise waiters += 1,
 *            then sleep on the futex while value == 0, retrying the CAS after
 *            each wake-up; waiters -= 1 on the way out.
 *   release: CAS value -> value + n (refused past the bound), then, if waiters
 *            is non-zero, wake up to min(n, waiters) sleepers.
 *
 * The Dekker pattern that keeps a wake-up from being lost: the sleeper does
 * "store waiters, then load value" (the load is repeated by the kernel inside
 * FUTEX_WAIT, atomically with queueing), the releaser does "store value, then
 * load waiters". All four are seq_cst, so they fall into one total order: if the
 * releaser's load of waiters comes before the sleeper's increment, then its
 * value update came before it too, and the sleeper's later load of value (ours
 * or the kernel's) sees the new count and does not sleep; otherwise the releaser
 * sees waiters > 0 and calls FUTEX_WAKE. Release/acquire would not do: it allows
 * both loads to miss both stores (store-load reordering).
 *
 * Woken threads race with new arrivals for the units; a woken thread that loses
 * sleeps again, but the unit went to the winner, so none is lost. A waiter times
 * out only after FUTEX_WAIT says ETIMEDOUT, which the kernel reports only for a
 * waiter that was not woken, or after a woken one retried the CAS and lost - so
 * a timing-out waiter never swallows a wake-up while a unit is left.
 */
#include "internal/futex.h"
#include "sync/sync_internal.h"

#include <limits.h>

/* ---- the algorithm, on the words (shared: process-shared futexes, for
 * weft_shared_sem in src/shared/sh_sem.c) ---- */

/* Take one unit if there is one. seq_cst load and CAS: they are the "load value"
 * half of the Dekker pair above (and acquire, pairing with the releaser). */
static bool sem_try(uint32_t *value)
{
    uint32_t v = __atomic_load_n(value, __ATOMIC_SEQ_CST);
    while (v > 0) {
        if (__atomic_compare_exchange_n(value, &v, v - 1, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return true;
    }
    return false;
}

static int sem_sleep(uint32_t *value, uint32_t *waiters, const weft__deadline *d, bool shared)
{
    /* seq_cst: the "store waiters" half of the Dekker pair. */
    __atomic_fetch_add(waiters, 1, __ATOMIC_SEQ_CST);
    int rc = 0;
    while (!sem_try(value)) {
        if (!d->forever && weft__deadline_passed(d)) {
            rc = -ETIMEDOUT;
            break;
        }
        if (weft__futex_wait(value, 0, weft__deadline_ts(d), shared) == -ETIMEDOUT) {
            rc = sem_try(value) ? 0 : -ETIMEDOUT; /* a last look costs nothing */
            break;
        }
    }
    /* Relaxed: only a hint for releasers; an over-count costs a useless wake. */
    __atomic_fetch_sub(waiters, 1, __ATOMIC_RELAXED);
    return rc;
}

int weft__sem_acquire_words(uint32_t *value, uint32_t *waiters, double timeout, bool shared)
{
    if (weft__timeout_invalid(timeout))
        return -EINVAL;
    if (sem_try(value))
        return 0;
    weft__deadline d = weft__deadline_in(timeout);
    if (d.nonblock)
        return -EBUSY;
    return sem_sleep(value, waiters, &d, shared);
}

int weft__sem_release_words(uint32_t *value, uint32_t *waiters, uint32_t bound, unsigned n,
                            bool shared)
{
    if (n == 0)
        return -EINVAL;
    uint32_t limit = bound < (uint32_t)INT32_MAX ? bound : (uint32_t)INT32_MAX;
    uint32_t v = __atomic_load_n(value, __ATOMIC_RELAXED);
    do {
        if (n > limit || v > limit - n)
            return -EOVERFLOW; /* nothing released */
        /* seq_cst: the "store value" half of the Dekker pair (and release, so an
         * acquirer sees what we did before releasing). */
    } while (!__atomic_compare_exchange_n(value, &v, v + n, true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    /* seq_cst: the "load waiters" half. */
    uint32_t w = __atomic_load_n(waiters, __ATOMIC_SEQ_CST);
    if (w > 0)
        weft__futex_wake(value, (int)(n < w ? n : w), shared);
    return 0;
}

/* ---- threading.Semaphore and BoundedSemaphore ---- */

static int sem_setup(weft_sem *s, int value, uint32_t bound)
{
    if (!s || value < 0)
        return -EINVAL;
    s->_value = (uint32_t)value; /* plain: not shared yet */
    s->_waiters = 0;
    s->_bound = bound;
    return 0;
}

WEFT_API int weft_sem_init(weft_sem *s, int value)
{
    return sem_setup(s, value, UINT32_MAX);
}

WEFT_API int weft_sem_init_bounded(weft_sem *s, int value)
{
    return sem_setup(s, value, value < 0 ? 0 : (uint32_t)value);
}

WEFT_API int weft_sem_acquire(weft_sem *s, double timeout)
{
    return s ? weft__sem_acquire_words(&s->_value, &s->_waiters, timeout, false) : -EINVAL;
}

WEFT_API int weft_sem_release(weft_sem *s, unsigned n)
{
    return s ? weft__sem_release_words(&s->_value, &s->_waiters, s->_bound, n, false) : -EINVAL;
}

WEFT_API int weft_sem_value(const weft_sem *s)
{
    /* Relaxed: a snapshot. */
    return s ? (int)__atomic_load_n(&s->_value, __ATOMIC_RELAXED) : 0;
}
