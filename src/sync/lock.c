/*
 * Lock: Python's threading.Lock as a three-state futex mutex (the design of
 * Drepper's "Futexes Are Tricky", mutex #3, with a bounded spin in front).
 *
 * _state: 0 free, 1 held, 2 held and some thread may be asleep on the futex.
 *
 *   acquire: CAS 0 -> 1 (fast path: one atomic, no syscall). Otherwise spin a
 *            little re-trying CAS 0 -> 1, then exchange the state to 2 and sleep
 *            on the futex while it reads 2; every wake-up exchanges to 2 again,
 *            and finding 0 there means we own the lock (still marked 2, so our
 *            release wakes the next sleeper).
 *   release: exchange to 0; if the old value was 2, wake one sleeper.
 *
 * Why no wake-up is lost: a thread only sleeps while the word is 2, and the
 * word is only 2 when the holder will see it at release (it reads the old value
 * atomically with clearing it) and wake someone. A woken thread always sets 2
 * again before sleeping or owning, so with several sleepers the chain of
 * "release sees 2 -> wake one" is never broken. A spinner taking the lock with
 * CAS 0 -> 1 between a release and the woken thread's exchange is harmless: the
 * woken thread's exchange then returns 1, leaves 2 behind and sleeps again, and
 * the spinner's release sees that 2.
 *
 * Timeouts: the kernel returns ETIMEDOUT from FUTEX_WAIT only for a waiter that
 * was still queued (not woken), so a timing-out waiter never swallows a wake-up
 * meant for the lock. A waiter that was woken but lost the race (exchange gave
 * non-zero) and then finds its deadline passed leaves the word at 2, so the
 * current holder still wakes the next sleeper.
 */
#include "internal/futex.h"
#include "internal/lockdep.h"
#include "sync/sync_internal.h"

/* Spinning before sleeping: WEFT__LOCK_SPIN_ROUNDS looks at the word, each
 * after WEFT__LOCK_SPIN_PAUSES pause instructions (the budget Go's runtime uses
 * for sync.Mutex). Looking rarely matters more than looking often: every
 * look pulls the cache line away from the holder, whose next release/acquire
 * then misses. Measured on 2 cores (two threads doing lock; counter++; unlock):
 * one look per pause ran 50 ns/op, looks 30 pauses apart about 7 ns/op, and
 * pthread_mutex 10-28 ns/op. Bounded: after a few microseconds we sleep.
 * Like pthread's default mutex (and Python's Lock) this is not fair: a releasing
 * thread that re-acquires at once usually wins, which is what makes the
 * contended loop fast; a sleeper is woken at every release that finds it. */
#ifndef WEFT__LOCK_SPIN_ROUNDS
#define WEFT__LOCK_SPIN_ROUNDS 4
#endif
#ifndef WEFT__LOCK_SPIN_PAUSES
#define WEFT__LOCK_SPIN_PAUSES 30
#endif

/* CAS 0 -> 1. Acquire on success: the critical section's loads and stores may
 * not move above taking the lock, and we see everything the previous holder did
 * before its (release) exchange. Relaxed on failure: we learn nothing from the
 * value but its number. Strong CAS: a spurious failure would send us to the slow
 * path for nothing. */
static inline bool lock_try_fast(weft_lock *l)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&l->_state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/* Spin while the lock is held, trying to take it when it looks free.
 * Relaxed loads: only a hint of when to try the (acquire) CAS. */
static bool lock_spin(weft_lock *l)
{
    for (int i = 0; i < WEFT__LOCK_SPIN_ROUNDS; i++) {
        for (int k = 0; k < WEFT__LOCK_SPIN_PAUSES; k++)
            weft__cpu_relax();
        if (__atomic_load_n(&l->_state, __ATOMIC_RELAXED) == 0 && lock_try_fast(l))
            return true;
    }
    return false;
}

/* Sleep on the futex until the exchange to 2 finds the lock free, or the
 * deadline passes. Acquire on the exchange: finding 0 is taking the lock. */
static int lock_sleep(weft_lock *l, const weft__deadline *d)
{
    while (__atomic_exchange_n(&l->_state, 2, __ATOMIC_ACQUIRE) != 0) {
        if (!d->forever && weft__deadline_passed(d))
            return -ETIMEDOUT;
        int rc = weft__futex_wait(&l->_state, 2, weft__deadline_ts(d), false);
        if (rc == -ETIMEDOUT)
            return -ETIMEDOUT; /* still queued: no wake-up swallowed (see top) */
        /* 0 (woken, maybe spuriously), -EAGAIN (word no longer 2), -EINTR: retry */
    }
    return 0;
}

bool weft__lock_trylock(weft_lock *l)
{
    return lock_try_fast(l);
}

int weft__lock_lock_until(weft_lock *l, const weft__deadline *d)
{
    if (lock_try_fast(l))
        return 0;
    if (d->nonblock)
        return -EBUSY;
    if (lock_spin(l))
        return 0;
    return lock_sleep(l, d);
}

int weft__lock_unlock(weft_lock *l)
{
    /* Release: everything done under the lock is visible to the next owner,
     * whose acquiring CAS/exchange reads this store. */
    uint32_t old = __atomic_exchange_n(&l->_state, 0, __ATOMIC_RELEASE);
    if (old == 0)
        return -EPERM; /* it was free: we wrote 0 over 0, nothing changed */
    if (old == 2)
        weft__futex_wake(&l->_state, 1, false);
    return 0;
}

WEFT_API int weft_lock_init(weft_lock *l, const char *name)
{
    if (!l)
        return -EINVAL;
    /* Plain stores: the object is not shared yet (publishing it to other threads
     * is the caller's business, e.g. through thread creation or a lock). */
    l->_state = 0;
    l->_name = name;
    if (weft__lockdep_recorded()) /* a new lock, perhaps at an old one's address */
        weft__lockdep_forget(l);
    return 0;
}

WEFT_API int weft_lock_destroy(weft_lock *l)
{
    if (!l)
        return -EINVAL;
    /* Relaxed: a snapshot. Destroying a lock other threads may still take is
     * the caller's error; -EBUSY only catches a lock visibly held. */
    if (__atomic_load_n(&l->_state, __ATOMIC_RELAXED) != 0)
        return -EBUSY;
    /* Also with checking off now: it may have been recorded while it was on. */
    if (weft__lockdep_recorded())
        weft__lockdep_forget(l);
    return 0;
}

static int lock_acquire_slow(weft_lock *l, double timeout)
{
    weft__deadline d = weft__deadline_in(timeout);
    if (d.nonblock)
        return -EBUSY; /* fast path already failed */
    if (lock_spin(l))
        return 0;
    return lock_sleep(l, &d);
}

WEFT_API int weft_lock_acquire_at(weft_lock *l, double timeout, const char *file, int line)
{
    if (!l || weft__timeout_invalid(timeout))
        return -EINVAL;
    bool dep = weft__lockdep_active();
    if (dep && timeout != 0)
        weft__lockdep_before(l, l->_name, file, line);
    int rc = 0;
    /* Fast path first: an uncontended acquire computes no deadline. */
    if (!lock_try_fast(l))
        rc = lock_acquire_slow(l, timeout);
    if (rc == 0 && dep)
        weft__lockdep_acquired(l, l->_name, file, line);
    return rc;
}

WEFT_API int weft_lock_try_at(weft_lock *l, const char *file, int line)
{
    if (!l)
        return -EINVAL;
    if (!lock_try_fast(l))
        return -EBUSY;
    if (weft__lockdep_active())
        weft__lockdep_acquired(l, l->_name, file, line);
    return 0;
}

WEFT_API int weft_lock_release(weft_lock *l)
{
    if (!l)
        return -EINVAL;
    int rc = weft__lock_unlock(l);
    if (rc == 0 && weft__lockdep_active())
        weft__lockdep_released(l);
    return rc;
}

WEFT_API bool weft_lock_locked(const weft_lock *l)
{
    /* Relaxed: a snapshot, ordering nothing. */
    return l && __atomic_load_n(&l->_state, __ATOMIC_RELAXED) != 0;
}
