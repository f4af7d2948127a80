/*
 * An eventcount: lets a thread sleep until "something may have changed" in a
 * lock-free structure without the structure's fast paths paying for it.
 *
 * A waiter:                           A notifier (after changing the structure):
 *   key = weft__ec_prepare(ec);         weft__ec_notify_all(ec);
 *   if (try_again()) { done }
 *   weft__ec_wait(ec, key, deadline);
 *   try again ...
 *
 * The word holds a counter in its upper 31 bits and, in bit 0, "someone may be
 * asleep". prepare sets the bit and returns the word; wait sleeps while the word
 * still equals that key. notify reads the word and does nothing when the bit is
 * clear - the cost of a notify with nobody waiting is one locked RMW of a line
 * that stays in the notifier's cache while the same side keeps notifying. When the bit is set it advances the
 * counter, clears the bit and wakes every sleeper (a futex system call).
 *
 * Why no wake-up is lost. Both sides reach the word with a read-modify-write
 * (seq_cst, hence acquire and release): the waiter's prepare sets the bit, the
 * notifier's RMW reads the word after its change to the structure. All RMWs of
 * one word are totally ordered. If the notifier's comes first, the waiter's RMW
 * reads from it, so the notifier's change happens-before the waiter's re-check,
 * which sees it. If the waiter's comes first, the notifier reads the bit and
 * advances the counter, so the waiter's futex_wait on the old key either fails
 * at once (-EAGAIN) or is woken. (RMWs rather than fences: ThreadSanitizer
 * understands them, and on x86 a locked RMW costs what a fence would.)
 *
 * Waking everyone rather than one: clearing the bit hides the other sleepers from
 * later notifies, so a notify must wake all of them; those that find nothing to do
 * set the bit again and go back to sleep. With the handful of threads a queue
 * serves, that is cheaper than counting sleepers on every fast path.
 */
#ifndef WEFT_INTERNAL_EVENTCOUNT_H
#define WEFT_INTERNAL_EVENTCOUNT_H

#include <limits.h>
#include <stdint.h>

#include "internal/clock.h"
#include "internal/futex.h"

typedef struct weft__ec {
    uint32_t word; /* counter << 1 | sleepers bit; futex word */
} weft__ec;

/* Announce a sleeper; returns the key for weft__ec_wait. The caller re-checks its
 * condition after this and before waiting. */
static inline uint32_t weft__ec_prepare(weft__ec *ec)
{
    /* seq_cst RMW: orders the bit against the notifier's RMW (see above). */
    return __atomic_or_fetch(&ec->word, 1u, __ATOMIC_SEQ_CST);
}

/* Sleep while nothing was notified since prepare returned key, or until the
 * deadline. Returns 0 (woken or changed: re-check) or -ETIMEDOUT. */
static inline int weft__ec_wait(weft__ec *ec, uint32_t key, const weft__deadline *d,
                                bool shared)
{
    /* Checked here too: a word that keeps changing returns the futex at once
     * (-EAGAIN), and the caller's loop would otherwise never see the deadline. */
    if (d->nonblock || (!d->forever && weft__deadline_passed(d)))
        return -ETIMEDOUT;
    int rc = weft__futex_wait(&ec->word, key, weft__deadline_ts(d), shared);
    return rc == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* Wake every waiter that prepared before the caller's change. */
static inline void weft__ec_notify_all(weft__ec *ec, bool shared)
{
    /* An RMW that changes nothing, to read the word in its total order after the
     * caller's change (see above); a plain load could see an older value. */
    uint32_t w = __atomic_fetch_add(&ec->word, 0u, __ATOMIC_SEQ_CST); /* lock xadd */
    if (!(w & 1u))
        return;
    /* Advance the counter and clear the bit; only the notifier whose CAS wins
     * pays for the system call - a loser's CAS failing means another notifier (or
     * a new sleeper) changed the word, and the winner's wake covers everyone who
     * slept on the old value. A new sleeper's bit is honoured by a later notify. */
    if (__atomic_compare_exchange_n(&ec->word, &w, (w + 2u) & ~1u, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_RELAXED))
        weft__futex_wake(&ec->word, INT_MAX, shared);
}

#endif
