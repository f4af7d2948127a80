/*
 * Shared Semaphore and BoundedSemaphore: multiprocessing.Semaphore /
 * BoundedSemaphore. The algorithm of the thread version (src/sync/sem.c, where
 * its no-lost-wake-up argument is) on the same words, placed in shared memory
 * and slept on with process-shared futexes. A process that dies while asleep
 * here leaves _waiters one too high: later releases then make a futex call that
 * wakes nobody, which costs time, never correctness; a unit it had taken is
 * lost, as in Python.
 */
#include "shared/shared_internal_sync.h"
#include "sync/sync_internal.h"

static int sem_setup(weft_shared_sem *s, int value, uint32_t bound)
{
    if (!s || value < 0)
        return -EINVAL;
    s->_value = (uint32_t)value; /* plain: nobody uses it yet */
    s->_waiters = 0;
    s->_bound = bound;
    return 0;
}

WEFT_API int weft_shared_sem_init(weft_shared_sem *s, int value)
{
    return sem_setup(s, value, UINT32_MAX);
}

WEFT_API int weft_shared_sem_init_bounded(weft_shared_sem *s, int value)
{
    return sem_setup(s, value, value < 0 ? 0 : (uint32_t)value);
}

WEFT_API int weft_shared_sem_acquire(weft_shared_sem *s, double timeout)
{
    return s ? weft__sem_acquire_words(&s->_value, &s->_waiters, timeout, true) : -EINVAL;
}

WEFT_API int weft_shared_sem_release(weft_shared_sem *s, unsigned n)
{
    return s ? weft__sem_release_words(&s->_value, &s->_waiters, s->_bound, n, true) : -EINVAL;
}

WEFT_API int weft_shared_sem_value(const weft_shared_sem *s)
{
    /* Relaxed: a snapshot. */
    return s ? (int)__atomic_load_n(&s->_value, __ATOMIC_RELAXED) : 0;
}
