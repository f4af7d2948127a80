/*
 * Shared Event: multiprocessing.Event. The algorithm of the thread version
 * (src/sync/event.c) on process-shared futexes: a futex word and a count of
 * sleepers (a sleeper that dies leaves the count one too high: set() then makes
 * a futex call for nobody, harmless).
 *
 * _flag: bit 0 is the flag; bits 1-31 count the set() calls that found it clear
 * (modulo 2^31). set() turns a clear word w into (w + 2) | 1, clear() turns off
 * bit 0. A waiter reads the word w (clear) and sleeps while the word is still
 * exactly w. Any change to a clear word is a set(), so a set() followed at once
 * by a clear() - a "pulse" - still releases every thread that was waiting, as in
 * Python, where wait() returns True if the flag was set at any time during the
 * call. (Missing a pulse would need exactly 2^31 set/clear pairs between a
 * waiter's read and its sleep.)
 *
 * Lost wake-ups are excluded by the same Dekker pattern as the semaphore
 * (sem.c): the waiter does "waiters += 1, then load the word" (the kernel loads
 * it again inside FUTEX_WAIT), set() does "store the word, then load waiters",
 * all seq_cst, so either set() sees the waiter and wakes it, or the waiter sees
 * the new word and does not sleep.
 */
#include "internal/futex.h"
#include "shared/shared_internal_sync.h"

#define EVENT_SET 1u

/* Spins (a pause and a look each; ~2-3 us in all) before sleeping: a setter on
 * another core usually comes sooner than a futex sleep and wake-up would take,
 * which is what makes an event ping-pong fast. Bounded, so a long wait costs
 * little CPU. */
#define EVENT_SPINS 100

WEFT_API int weft_shared_event_init(weft_shared_event *e)
{
    if (!e)
        return -EINVAL;
    e->_flag = 0; /* plain: not shared yet */
    e->_waiters = 0;
    return 0;
}

WEFT_API int weft_shared_event_set(weft_shared_event *e)
{
    if (!e)
        return -EINVAL;
    uint32_t w = __atomic_load_n(&e->_flag, __ATOMIC_RELAXED);
    do {
        if (w & EVENT_SET)
            return 0; /* already set: nothing changes, nobody to wake */
        /* seq_cst: "store the word" of the Dekker pair; also release, so a
         * waiter that sees the flag sees what we did before set(). */
    } while (!__atomic_compare_exchange_n(&e->_flag, &w, (w + 2) | EVENT_SET, true,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    /* seq_cst: "load waiters" of the Dekker pair. */
    if (__atomic_load_n(&e->_waiters, __ATOMIC_SEQ_CST) > 0)
        weft__futex_wake(&e->_flag, INT32_MAX, true);
    return 0;
}

WEFT_API int weft_shared_event_clear(weft_shared_event *e)
{
    if (!e)
        return -EINVAL;
    /* Release: a thread that sees the flag clear (acquire load in is_set/wait)
     * also sees what we did before clear(), for events used as handshakes. */
    __atomic_fetch_and(&e->_flag, ~EVENT_SET, __ATOMIC_RELEASE);
    return 0;
}

WEFT_API bool weft_shared_event_is_set(const weft_shared_event *e)
{
    /* Acquire: a caller that sees the flag sees what the setter did before. */
    return e && (__atomic_load_n(&e->_flag, __ATOMIC_ACQUIRE) & EVENT_SET);
}

/* Sleep while the word still reads `seen` (a clear word). 0 once it changed. */
static int event_sleep(weft_shared_event *e, uint32_t seen, const weft__deadline *d)
{
    /* seq_cst: "waiters += 1" of the Dekker pair. */
    __atomic_fetch_add(&e->_waiters, 1, __ATOMIC_SEQ_CST);
    int rc = 0;
    /* seq_cst (and acquire): "load the word" of the pair. */
    while (__atomic_load_n(&e->_flag, __ATOMIC_SEQ_CST) == seen) {
        if (!d->forever && weft__deadline_passed(d)) {
            rc = -ETIMEDOUT;
            break;
        }
        if (weft__futex_wait(&e->_flag, seen, weft__deadline_ts(d), true) == -ETIMEDOUT) {
            rc = __atomic_load_n(&e->_flag, __ATOMIC_SEQ_CST) == seen ? -ETIMEDOUT : 0;
            break;
        }
    }
    /* Relaxed: only a hint for set(); an over-count costs one useless wake. */
    __atomic_fetch_sub(&e->_waiters, 1, __ATOMIC_RELAXED);
    return rc;
}

WEFT_API int weft_shared_event_wait(weft_shared_event *e, double timeout)
{
    if (!e || weft__timeout_invalid(timeout))
        return -EINVAL;
    /* Acquire: pairs with set(), see weft_shared_event_is_set. */
    uint32_t w = __atomic_load_n(&e->_flag, __ATOMIC_ACQUIRE);
    if (w & EVENT_SET)
        return 0;
    if (timeout == 0)
        return -ETIMEDOUT;
    /* Any change of a clear word is a set() (see the top), so a change seen
     * while spinning means the flag was set during the call. Acquire: as above. */
    for (int i = 0; i < EVENT_SPINS; i++) {
        weft__cpu_relax();
        if (__atomic_load_n(&e->_flag, __ATOMIC_ACQUIRE) != w)
            return 0;
    }
    weft__deadline d = weft__deadline_in(timeout);
    if (d.nonblock)
        return -ETIMEDOUT;
    return event_sleep(e, w, &d);
}
