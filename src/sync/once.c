/*
 * Once: run an initialiser exactly once; late callers sleep on the futex until it
 * has run.
 *
 * _state: 0 not run, 1 running, 2 running and someone may sleep, 3 done.
 *   - The first caller wins the CAS 0 -> 1, records itself in _runner, runs fn,
 *     exchanges the state to 3 and, if it was 2, wakes everyone.
 *   - A later caller returns at once on 3; otherwise it marks 1 -> 2 (so the
 *     runner knows to wake) and sleeps while the word is 2.
 * No wake-up is lost: a caller sleeps only while the word is 2, and the runner's
 * exchange to 3 reads that 2 atomically and then wakes all sleepers.
 *
 * _runner is written only by the runner (its ident, before fn; 0 after). A
 * caller compares it with its own ident to detect a recursive call: as for
 * RLock's owner (rlock.c), a relaxed read is enough, because only the runner
 * ever stores the runner's ident and a thread always sees its own stores.
 */
#include "internal/futex.h"
#include "sync/sync_internal.h"

enum { ONCE_NEW = 0, ONCE_RUNNING = 1, ONCE_WAITED = 2, ONCE_DONE = 3 };

static void once_run(weft_once *o, void (*fn)(void *), void *arg)
{
    __atomic_store_n(&o->_runner, weft__self_ident(), __ATOMIC_RELAXED);
    fn(arg);
    __atomic_store_n(&o->_runner, 0UL, __ATOMIC_RELAXED);
    /* Release: whoever reads 3 (acquire) sees everything fn did. */
    if (__atomic_exchange_n(&o->_state, ONCE_DONE, __ATOMIC_RELEASE) == ONCE_WAITED)
        weft__futex_wake(&o->_state, INT32_MAX, false);
}

/* Another thread (or this one, recursively) is running fn. */
static int once_wait(weft_once *o, uint32_t s)
{
    if (__atomic_load_n(&o->_runner, __ATOMIC_RELAXED) == weft__self_ident())
        return -EDEADLK;
    while (s != ONCE_DONE) {
        /* Relaxed CAS 1 -> 2: only tells the runner to wake us; the ordering we
         * need comes from the acquire load of 3 below. */
        if (s == ONCE_RUNNING &&
            !__atomic_compare_exchange_n(&o->_state, &s, ONCE_WAITED, false,
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue; /* s now holds the new state */
        weft__futex_wait(&o->_state, ONCE_WAITED, NULL, false);
        /* Acquire: pairs with the runner's release exchange to 3. */
        s = __atomic_load_n(&o->_state, __ATOMIC_ACQUIRE);
    }
    return 0;
}

WEFT_API int weft_once_call(weft_once *o, void (*fn)(void *arg), void *arg)
{
    if (!o || !fn)
        return -EINVAL;
    /* Acquire: on 3, fn's effects are visible to us (pairs with once_run). */
    uint32_t s = __atomic_load_n(&o->_state, __ATOMIC_ACQUIRE);
    if (s == ONCE_DONE)
        return 0;
    /* Acquire on success is not needed for fn's data (nobody ran it yet) but
     * costs nothing; on failure, acquire in case we read 3. */
    if (s == ONCE_NEW && __atomic_compare_exchange_n(&o->_state, &s, ONCE_RUNNING, false,
                                                     __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        once_run(o, fn, arg);
        return 0;
    }
    return once_wait(o, s);
}

WEFT_API bool weft_once_done(const weft_once *o)
{
    /* Acquire: a caller that sees "done" sees what fn did. */
    return o && __atomic_load_n(&o->_state, __ATOMIC_ACQUIRE) == ONCE_DONE;
}
