/*
 * Event: Python's threading.Event as a futex word and a count of sleepers.
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
#include "sync/sync_internal.h"

#define EVENT_SET 1u

/* Spins (a pause and a look each; ~2-3 us in all) before sleeping: a setter on
 * another core usually comes sooner than a futex sleep and wake-up would take,
 * which is what makes an event ping-pong fast. Bounded, so a long wait costs
 * little CPU. */
#define EVENT_SPINS 100

/* ---- the algorithm, on the two words (shared: process-shared futexes, for
 * weft_shared_event in src/shared/sh_event.c) ---- */

int weft__event_set_words(uint32_t *flag, uint32_t *waiters, bool shared)
{
    uint32_t w = __atomic_load_n(flag, __ATOMIC_RELAXED);
    do {
        if (w & EVENT_SET)
            return 0; /* already set: nothing changes, nobody to wake */
        /* seq_cst: "store the word" of the Dekker pair; also release, so a
         * waiter that sees the flag sees what we did before set(). */
    } while (!__atomic_compare_exchange_n(flag, &w, (w + 2) | EVENT_SET, true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    /* seq_cst: "load waiters" of the Dekker pair. */
    if (__atomic_load_n(waiters, __ATOMIC_SEQ_CST) > 0)
        weft__futex_wake(flag, INT32_MAX, shared);
    return 0;
}

void weft__event_clear_word(uint32_t *flag)
{
    /* Release: a thread that sees the flag clear (acquire load in is_set/wait)
     * also sees what we did before clear(), for events used as handshakes. */
    __atomic_fetch_and(flag, ~EVENT_SET, __ATOMIC_RELEASE);
}

bool weft__event_is_set_word(const uint32_t *flag)
{
    /* Acquire: a caller that sees the flag sees what the setter did before. */
    return __atomic_load_n(flag, __ATOMIC_ACQUIRE) & EVENT_SET;
}

/* Sleep while the word still reads `seen` (a clear word). 0 once it changed. */
static int event_sleep(uint32_t *flag, uint32_t *waiters, uint32_t seen,
                       const weft__deadline *d, bool shared)
{
    /* seq_cst: "waiters += 1" of the Dekker pair. */
    __atomic_fetch_add(waiters, 1, __ATOMIC_SEQ_CST);
    int rc = 0;
    /* seq_cst (and acquire): "load the word" of the pair. */
    while (__atomic_load_n(flag, __ATOMIC_SEQ_CST) == seen) {
        if (!d->forever && weft__deadline_passed(d)) {
            rc = -ETIMEDOUT;
            break;
        }
        if (weft__futex_wait(flag, seen, weft__deadline_ts(d), shared) == -ETIMEDOUT) {
            rc = __atomic_load_n(flag, __ATOMIC_SEQ_CST) == seen ? -ETIMEDOUT : 0;
            break;
        }
    }
    /* Relaxed: only a hint for set(); an over-count costs one useless wake. */
    __atomic_fetch_sub(waiters, 1, __ATOMIC_RELAXED);
    return rc;
}

int weft__event_wait_words(uint32_t *flag, uint32_t *waiters, double timeout, bool shared)
{
    if (weft__timeout_invalid(timeout))
        return -EINVAL;
    /* Acquire: pairs with set(), see weft__event_is_set_word. */
    uint32_t w = __atomic_load_n(flag, __ATOMIC_ACQUIRE);
    if (w & EVENT_SET)
        return 0;
    if (timeout == 0)
        return -ETIMEDOUT;
    /* Any change of a clear word is a set() (see the top), so a change seen
     * while spinning means the flag was set during the call. Acquire: as above. */
    for (int i = 0; i < EVENT_SPINS; i++) {
        weft__cpu_relax();
        if (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != w)
            return 0;
    }
    weft__deadline d = weft__deadline_in(timeout);
    if (d.nonblock)
        return -ETIMEDOUT;
    return event_sleep(flag, waiters, w, &d, shared);
}

/* ---- threading.Event ---- */

WEFT_API int weft_event_init(weft_event *e)
{
    if (!e)
        return -EINVAL;
    e->_flag = 0; /* plain: not shared yet */
    e->_waiters = 0;
    return 0;
}

WEFT_API int weft_event_set(weft_event *e)
{
    return e ? weft__event_set_words(&e->_flag, &e->_waiters, false) : -EINVAL;
}

WEFT_API int weft_event_clear(weft_event *e)
{
    if (!e)
        return -EINVAL;
    weft__event_clear_word(&e->_flag);
    return 0;
}

WEFT_API bool weft_event_is_set(const weft_event *e)
{
    return e && weft__event_is_set_word(&e->_flag);
}

WEFT_API int weft_event_wait(weft_event *e, double timeout)
{
    return e ? weft__event_wait_words(&e->_flag, &e->_waiters, timeout, false) : -EINVAL;
}
