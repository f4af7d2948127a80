/*
 * Internals shared by the in-process synchronisation primitives (src/sync/).
 *
 * The Lock's raw acquire/release (without lockdep hooks) are used by RLock,
 * Condition and their re-acquire paths, which call the lockdep hooks themselves
 * with the identity of the outer object.
 */
#ifndef WEFT_SYNC_INTERNAL_H
#define WEFT_SYNC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal/clock.h"
#include "internal/cpu.h" /* weft__cpu_relax for the spin loops */
#include "weft/sync.h"

/* The calling thread's ident, as stored in RLock and Once owner fields. */
static inline unsigned long weft__self_ident(void)
{
    return (unsigned long)pthread_self();
}

/* Take l if it is free (one CAS). No lockdep. */
bool weft__lock_trylock(weft_lock *l);

/* Take l, waiting until the deadline (forever / non-blocking as d says).
 * Returns 0, -EBUSY (d non-blocking and l taken) or -ETIMEDOUT. No lockdep. */
int weft__lock_lock_until(weft_lock *l, const weft__deadline *d);

/* Release l. Returns 0 or -EPERM (l was free). No lockdep. */
int weft__lock_unlock(weft_lock *l);

/* For Condition.wait on an RLock the caller owns: release it completely and
 * return the depth it had; weft__rlock_restore takes it back (waiting forever)
 * with that depth. No lockdep (the Condition reports on the RLock itself). */
uint32_t weft__rlock_release_all(weft_rlock *r);
void weft__rlock_restore(weft_rlock *r, uint32_t depth);

/* Event and Semaphore on their bare words, for the thread versions (event.c,
 * sem.c) and the process-shared ones (src/shared/sh_event.c, sh_sem.c): one
 * algorithm, `shared` choosing process-shared futexes. Codes as the public
 * calls; the object pointers are checked by the callers. */
int weft__event_set_words(uint32_t *flag, uint32_t *waiters, bool shared);
void weft__event_clear_word(uint32_t *flag);
bool weft__event_is_set_word(const uint32_t *flag);
int weft__event_wait_words(uint32_t *flag, uint32_t *waiters, double timeout, bool shared);
int weft__sem_acquire_words(uint32_t *value, uint32_t *waiters, double timeout, bool shared);
int weft__sem_release_words(uint32_t *value, uint32_t *waiters, uint32_t bound, unsigned n,
                            bool shared);

#endif
