/*
 * The process-shared recursive lock of Values and Arrays (see mem_internal.h).
 * To be replaced by weft_shared_lock at merge: callers only use
 * weft__shm_lock / weft__shm_unlock.
 *
 * The state word works as weft_lock's (src/sync/lock.c): CAS 0 -> 1 to take a
 * free lock; otherwise exchange 2 in and sleep on the futex while it reads 2;
 * release exchanges 0 in and wakes one sleeper if it found 2. A thread sleeps
 * only while the word is 2, and a holder that releases a 2 always wakes someone,
 * who sets 2 again before sleeping or owning, so no wake-up is lost. The futex
 * is a shared one (keyed on the page, not the address space), so threads of
 * different processes mapping the same page sleep and wake on the same word.
 *
 * Recursion: owner holds the holder's tid. A thread that reads its own tid
 * there holds the lock (only it writes its tid, and it clears it before
 * releasing; a thread always sees its own writes), so it may bump depth, a
 * field only the holder touches. Any other value, even a stale one, means
 * "not mine" and sends it to the state word.
 */
#include <errno.h>
#include <unistd.h>

#include "internal/clock.h"
#include "internal/futex.h"
#include "shared/mem_internal.h"

/* The calling thread's tid, cached per thread. A fork child's only thread
 * inherits its parent thread's cache but has a new tid: the fork generation,
 * bumped in every child, tells the cache is stale. */
static __thread int32_t tid_cache;
static __thread uint32_t tid_cache_gen;

static int32_t self_tid(void)
{
    uint32_t gen = weft__fork_generation();
    if (tid_cache == 0 || tid_cache_gen != gen) {
        tid_cache = (int32_t)gettid();
        tid_cache_gen = gen;
    }
    return tid_cache;
}

/* CAS 0 -> 1; acquire on success: the critical section stays after it and sees
 * what the previous holder wrote before its releasing exchange. */
static bool state_try(weft__shm_mutex *m)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&m->state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/* Sleep until the exchange to 2 finds the lock free (acquire: that is taking
 * it), or the deadline passes. -ETIMEDOUT from the futex comes only to a waiter
 * still queued, so a timing-out waiter never swallows a wake-up. */
static int state_sleep(weft__shm_mutex *m, const weft__deadline *d)
{
    while (__atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE) != 0) {
        if (weft__deadline_passed(d))
            return -ETIMEDOUT;
        int rc = weft__futex_wait(&m->state, 2, weft__deadline_ts(d), true);
        if (rc == -ETIMEDOUT)
            return -ETIMEDOUT;
        /* 0 (woken, maybe spuriously), -EAGAIN (not 2 any more), -EINTR: retry */
    }
    return 0;
}

int weft__shm_lock(weft__shm_mutex *m, double timeout)
{
    if (weft__timeout_invalid(timeout))
        return -EINVAL;
    int32_t me = self_tid();
    /* Relaxed: only equality with our own tid matters (see top). */
    if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == me) {
        if (m->depth == UINT32_MAX)
            return -EOVERFLOW;
        m->depth++;
        return 0;
    }
    if (!state_try(m)) {
        weft__deadline d = weft__deadline_in(timeout);
        if (d.nonblock)
            return -EBUSY;
        int rc = state_sleep(m, &d);
        if (rc != 0)
            return rc;
    }
    m->depth = 1; /* ordered after the previous owner's writes by the acquire */
    /* Relaxed: read for equality only (see top). */
    __atomic_store_n(&m->owner, me, __ATOMIC_RELAXED);
    return 0;
}

int weft__shm_unlock(weft__shm_mutex *m)
{
    if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != self_tid())
        return -EPERM;
    if (--m->depth > 0)
        return 0;
    __atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
    /* Release: the critical section's writes reach the next owner, whose
     * acquiring CAS/exchange reads this store. */
    uint32_t old = __atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE);
    if (old == 2)
        weft__futex_wake(&m->state, 1, true);
    return 0;
}
