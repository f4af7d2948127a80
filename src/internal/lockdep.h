/*
 * Hooks from the lock implementations into the lock-order checker
 * (src/sync/lockdep.c). Every hook is cheap to skip: callers test
 * weft__lockdep_active() first, a relaxed load of one flag.
 *
 * A lock is identified by its address; `name` may be NULL.
 */
#ifndef WEFT_INTERNAL_LOCKDEP_H
#define WEFT_INTERNAL_LOCKDEP_H

#include <stdbool.h>

/* Non-zero while checking is on. Written by weft_lockdep_enable() and the
 * start-up constructor; read relaxed: a thread that sees a stale value merely
 * checks, or skips, one acquisition more. */
extern int weft__lockdep_on;

static inline bool weft__lockdep_active(void)
{
    return __atomic_load_n(&weft__lockdep_on, __ATOMIC_RELAXED) != 0;
}

/* Non-zero once checking has ever been on: the graph may then hold nodes, and a
 * lock's init and destroy must forget its address (even with checking off now),
 * or a new lock at that address - a stack lock, a reused allocation - would
 * inherit the old one's orders. Relaxed, like the switch. */
extern int weft__lockdep_used;

static inline bool weft__lockdep_recorded(void)
{
    return __atomic_load_n(&weft__lockdep_used, __ATOMIC_RELAXED) != 0;
}

/* Before a blocking acquire of `lock` at file:line: compare with the locks the
 * calling thread holds, record the new orders and report any inversion. Must be
 * called before the caller may sleep, so the report comes before a deadlock.
 * Not called for non-blocking attempts (they cannot deadlock). */
void weft__lockdep_before(const void *lock, const char *name, const char *file, int line);

/* After any successful acquire (blocking or not): push onto the held set. For an
 * RLock only the first level is reported. */
void weft__lockdep_acquired(const void *lock, const char *name, const char *file, int line);

/* After a release: drop from the held set of whichever thread holds it. */
void weft__lockdep_released(const void *lock);

/* The lock is being destroyed: forget it and every order it appears in. */
void weft__lockdep_forget(const void *lock);

#endif
