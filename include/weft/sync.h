/*
 * weft/sync.h - Python's threading.Lock, RLock, Condition, Semaphore,
 * BoundedSemaphore, Event, Barrier, a once-initialiser, and lock-order checking.
 *
 * All objects here are small structs that may be embedded by value and set up with
 * a static initialiser (WEFT_LOCK_INIT, ...) or an init call; none needs freeing
 * unless it says so. Fields starting with '_' are private.
 *
 * Return codes follow weft/common.h. Across this header:
 *   -EINVAL     a NULL object or a bad argument;
 *   -EBUSY      a non-blocking attempt (timeout 0) found the object taken;
 *   -ETIMEDOUT  a positive timeout expired;
 *   -EPERM      releasing what the caller does not hold.
 * Every call is thread-safe unless it says otherwise; none is async-signal-safe.
 * These objects are for threads of one process; weft/shared.h has the
 * process-shared ones.
 *
 * Lock-order checking. With WEFT_LOCKDEP=1 in the environment (or after
 * weft_lockdep_enable(true)), weft records, for every Lock and RLock, which locks
 * each thread already held when it took it. The first time two locks are taken in
 * opposite orders (or any cycle closes) by any threads, one report is printed to
 * stderr naming both locks, both threads and the file:line of each acquisition -
 * on a run that happens not to deadlock, before any run that does. Names given at
 * init appear in reports; unnamed locks are shown by address.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Lock: Python's threading.Lock. Not owned: any thread may release it.
 */
typedef struct weft_lock {
    uint32_t _state;   /* 0 free, 1 held, 2 held and maybe waited on */
    const char *_name; /* for lockdep reports; may be NULL */
} weft_lock;

#define WEFT_LOCK_INIT {0, NULL}
#define WEFT_LOCK_INIT_NAMED(name) {0, (name)}

/* Set up a free lock; name (kept by pointer, may be NULL) shows in lockdep
 * reports. Returns 0 or -EINVAL. */
WEFT_API int weft_lock_init(weft_lock *l, const char *name);

/* Forget the lock (lockdep drops it). Returns 0, -EINVAL, -EBUSY (held). */
WEFT_API int weft_lock_destroy(weft_lock *l);

/* Acquire, waiting up to timeout seconds. Returns 0, -EBUSY (timeout 0 and held),
 * -ETIMEDOUT, -EINVAL. Blocks. Taking a Lock the caller already holds waits for
 * ever (as in Python); lockdep reports it. */
WEFT_API int weft_lock_acquire_at(weft_lock *l, double timeout, const char *file, int line);
#define weft_lock_acquire(l, timeout) weft_lock_acquire_at((l), (timeout), __FILE__, __LINE__)

/* Acquire only if free. Returns 0, -EBUSY, -EINVAL. Never blocks. */
WEFT_API int weft_lock_try_at(weft_lock *l, const char *file, int line);
#define weft_lock_try(l) weft_lock_try_at((l), __FILE__, __LINE__)

/* Release. Returns 0, -EPERM (not held), -EINVAL. Never blocks. */
WEFT_API int weft_lock_release(weft_lock *l);

/* True while held. Never blocks. */
WEFT_API bool weft_lock_locked(const weft_lock *l);

/* ---------------------------------------------------------------------------
 * RLock: Python's threading.RLock. Owned by the thread that took it; that thread
 * may take it again and must release it as many times.
 */
typedef struct weft_rlock {
    weft_lock _lock;
    unsigned long _owner; /* ident (pthread_self) of the owner, 0 when free */
    uint32_t _depth;      /* times the owner has taken it; written only by it */
} weft_rlock;

#define WEFT_RLOCK_INIT {WEFT_LOCK_INIT, 0, 0}
#define WEFT_RLOCK_INIT_NAMED(name) {WEFT_LOCK_INIT_NAMED(name), 0, 0}

WEFT_API int weft_rlock_init(weft_rlock *r, const char *name);
/* Returns 0, -EINVAL, -EBUSY (held). */
WEFT_API int weft_rlock_destroy(weft_rlock *r);
/* Returns 0, -EBUSY (timeout 0, held by another thread), -ETIMEDOUT, -EINVAL,
 * -EOVERFLOW (depth would pass UINT32_MAX). Blocks. */
WEFT_API int weft_rlock_acquire_at(weft_rlock *r, double timeout, const char *file, int line);
#define weft_rlock_acquire(r, timeout) weft_rlock_acquire_at((r), (timeout), __FILE__, __LINE__)
/* Returns 0, -EBUSY, -EINVAL. Never blocks. */
WEFT_API int weft_rlock_try_at(weft_rlock *r, const char *file, int line);
#define weft_rlock_try(r) weft_rlock_try_at((r), __FILE__, __LINE__)
/* Undo one acquire. Returns 0, -EPERM (caller is not the owner), -EINVAL. */
WEFT_API int weft_rlock_release(weft_rlock *r);
/* True when the calling thread owns r. */
WEFT_API bool weft_rlock_is_owned(const weft_rlock *r);
/* The owner's weft_thread_ident(), 0 when free. */
WEFT_API unsigned long weft_rlock_owner(const weft_rlock *r);
/* The owner's depth (0 when free). Exact only when read by the owner. */
WEFT_API unsigned weft_rlock_depth(const weft_rlock *r);

/* ---------------------------------------------------------------------------
 * Condition: Python's threading.Condition, bound to one Lock or RLock. Calls
 * other than init require the caller to hold that lock. Waiters are woken in the
 * order they started waiting; there are no spurious wake-ups.
 */
struct weft__cond_waiter;
typedef struct weft_cond {
    void *_lock;                      /* the weft_lock or weft_rlock */
    int _kind;                        /* 0: weft_lock, 1: weft_rlock */
    struct weft__cond_waiter *_head;  /* FIFO of waiters; guarded by *_lock */
    struct weft__cond_waiter *_tail;
} weft_cond;

#define WEFT_COND_INIT(lockp) {(lockp), 0, NULL, NULL}
#define WEFT_COND_INIT_RLOCK(rlockp) {(rlockp), 1, NULL, NULL}

/* Bind c to lock / rlock. Returns 0 or -EINVAL. */
WEFT_API int weft_cond_init(weft_cond *c, weft_lock *lock);
WEFT_API int weft_cond_init_rlock(weft_cond *c, weft_rlock *rlock);

/*
 * Release the lock (an RLock fully, whatever its depth), wait until notified or
 * timeout, take the lock back (restoring an RLock's depth) and return.
 * Returns 0 (notified), -ETIMEDOUT (the lock is held again all the same), -EPERM
 * (lock not held by the caller; nothing released), -EINVAL. Blocks.
 */
WEFT_API int weft_cond_wait(weft_cond *c, double timeout);

/* Wait until pred(arg) is true, checking first and after every wake-up, within one
 * overall timeout. Returns 0 (pred true), -ETIMEDOUT (pred still false), -EPERM,
 * -EINVAL. Blocks. */
WEFT_API int weft_cond_wait_for(weft_cond *c, bool (*pred)(void *arg), void *arg,
                                double timeout);

/* Wake up to n waiters (oldest first). Returns 0, -EPERM (lock not held), -EINVAL.
 * Never blocks. */
WEFT_API int weft_cond_notify(weft_cond *c, unsigned n);
/* Wake every waiter. Returns 0, -EPERM, -EINVAL. Never blocks. */
WEFT_API int weft_cond_notify_all(weft_cond *c);

/* ---------------------------------------------------------------------------
 * Semaphore and BoundedSemaphore.
 */
typedef struct weft_sem {
    uint32_t _value;   /* current count */
    uint32_t _waiters; /* threads that may be asleep on _value */
    uint32_t _bound;   /* UINT32_MAX: unbounded; else the initial value */
} weft_sem;

#define WEFT_SEM_INIT(value) {(value), 0, UINT32_MAX}
#define WEFT_BOUNDED_SEM_INIT(value) {(value), 0, (value)}

/* Returns 0, -EINVAL (s NULL, value negative or above INT32_MAX). */
WEFT_API int weft_sem_init(weft_sem *s, int value);
/* Bounded: releasing past `value` fails (Python's ValueError). Same returns. */
WEFT_API int weft_sem_init_bounded(weft_sem *s, int value);
/* Take one unit. Returns 0, -EBUSY (timeout 0, none free), -ETIMEDOUT, -EINVAL.
 * Blocks. */
WEFT_API int weft_sem_acquire(weft_sem *s, double timeout);
/* Give back n units (n >= 1), waking up to n waiters. Returns 0, -EINVAL (n 0),
 * -EOVERFLOW (bounded and the count would pass its bound, or past INT32_MAX;
 * nothing released). Never blocks. */
WEFT_API int weft_sem_release(weft_sem *s, unsigned n);
/* The current count (a snapshot). */
WEFT_API int weft_sem_value(const weft_sem *s);

/* ---------------------------------------------------------------------------
 * Event: Python's threading.Event.
 */
typedef struct weft_event {
    uint32_t _flag;    /* bit 0: set; bits 1-31: count of set() calls, so that a
                        * set()+clear() pulse still releases every waiter */
    uint32_t _waiters; /* threads that may be asleep on _flag */
} weft_event;

#define WEFT_EVENT_INIT {0, 0}

WEFT_API int weft_event_init(weft_event *e);
/* Set the flag and wake every waiter. Returns 0 or -EINVAL. Never blocks. */
WEFT_API int weft_event_set(weft_event *e);
/* Clear the flag. Returns 0 or -EINVAL. Never blocks. */
WEFT_API int weft_event_clear(weft_event *e);
/* The flag. Never blocks. */
WEFT_API bool weft_event_is_set(const weft_event *e);
/* Wait until set. Returns 0 (set), -ETIMEDOUT (still clear at the deadline,
 * including timeout 0), -EINVAL. Blocks. */
WEFT_API int weft_event_wait(weft_event *e, double timeout);

/* ---------------------------------------------------------------------------
 * Barrier: Python's threading.Barrier. `parties` threads call wait; when the last
 * arrives, the optional action runs in that one thread, then all are released.
 * The barrier then resets itself for the next round. A timeout, an abort() or a
 * failing action breaks it: every waiter, present and later, gets -WEFT_EBROKEN
 * until reset().
 */
typedef struct weft_barrier_opts {
    /* Run by exactly one thread per round, before the others are released.
     * Non-zero (a negative errno) breaks the barrier; that thread gets the value. */
    int (*action)(void *arg);
    void *action_arg;
    /* Timeout used by weft_barrier_wait(); 0 (the default) means none. */
    double timeout;
} weft_barrier_opts;

typedef struct weft_barrier {
    weft_lock _lock;          /* guards every field below */
    weft_cond _cond;
    unsigned _parties;
    unsigned _count;          /* threads waiting in this round */
    int _state;               /* 0 filling, 1 draining, -1 resetting, -2 broken */
    weft_barrier_opts _opts;
} weft_barrier;

/* Returns 0, -EINVAL (b NULL, parties 0). opts may be NULL. */
WEFT_API int weft_barrier_init(weft_barrier *b, unsigned parties, const weft_barrier_opts *opts);
/* Wait for the others, with the barrier's default timeout. On success stores in
 * *index (if not NULL) a number in [0, parties), unique within the round, as
 * Python's wait() returns. Returns 0, -ETIMEDOUT (this caller timed out and broke
 * the barrier), -WEFT_EBROKEN, the action's code, -EINVAL. Blocks. */
WEFT_API int weft_barrier_wait(weft_barrier *b, unsigned *index);
/* The same with an explicit timeout (WEFT_FOREVER for none). */
WEFT_API int weft_barrier_wait_timeout(weft_barrier *b, double timeout, unsigned *index);
/* Return to the empty state; threads waiting now get -WEFT_EBROKEN.
 * Returns 0 or -EINVAL. Blocks briefly while a round drains. */
WEFT_API int weft_barrier_reset(weft_barrier *b);
/* Break the barrier: current and later waiters get -WEFT_EBROKEN until reset.
 * Returns 0 or -EINVAL. */
WEFT_API int weft_barrier_abort(weft_barrier *b);
WEFT_API unsigned weft_barrier_parties(const weft_barrier *b);
/* Threads waiting now (a snapshot). */
WEFT_API unsigned weft_barrier_n_waiting(weft_barrier *b);
WEFT_API bool weft_barrier_broken(weft_barrier *b);

/* ---------------------------------------------------------------------------
 * Once: run an initialiser exactly once (the thread-safe singleton).
 */
typedef struct weft_once {
    uint32_t _state;       /* 0 not run, 1 running, 2 running with waiters, 3 done */
    unsigned long _runner; /* ident of the thread running fn, for -EDEADLK */
} weft_once;

#define WEFT_ONCE_INIT {0, 0}

/* Call fn(arg) if no call on o has completed; concurrent callers wait until it
 * has. Returns 0 once fn has run (by this or another caller), -EINVAL, -EDEADLK
 * (called again from inside fn). Blocks while another thread runs fn. */
WEFT_API int weft_once_call(weft_once *o, void (*fn)(void *arg), void *arg);
/* True once fn has returned. Never blocks. */
WEFT_API bool weft_once_done(const weft_once *o);

/* ---------------------------------------------------------------------------
 * Lock-order checking (see the top of this header).
 */

/* Turn checking on or off for acquisitions from now on; returns the previous
 * setting. WEFT_LOCKDEP=1 in the environment turns it on at start-up. */
WEFT_API bool weft_lockdep_enable(bool on);
WEFT_API bool weft_lockdep_enabled(void);
/* How many order reports have been made since start-up. */
WEFT_API size_t weft_lockdep_reports(void);
/* Send reports to fn(text, arg) instead of stderr (NULL restores stderr). text is
 * the whole multi-line report, valid during the call. */
WEFT_API void weft_lockdep_set_reporter(void (*fn)(const char *text, void *arg), void *arg);
/* Forget every recorded order and report (for tests). */
WEFT_API void weft_lockdep_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SYNC_H */
