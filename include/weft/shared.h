/*
 * weft/shared.h - Python's multiprocessing.Lock, RLock, Semaphore,
 * BoundedSemaphore, Event, Condition and Barrier, Value and Array, shared memory
 * blocks and file locks, in C: synchronisation and memory that work across
 * processes.
 *
 * Synchronisation (part 1). Every object of part 1 is a plain struct that means
 * the same in every process: place it in memory shared by the processes that use
 * it (mmap(MAP_SHARED | MAP_ANONYMOUS) before fork(), or a named shared block),
 * set it up once with its init call or static initialiser, and use it from any
 * thread of any of those processes. The calls, return codes and timeouts are those
 * of weft/sync.h; in addition a Lock or RLock whose owner dies while holding it
 * (a process killed, a thread that exits) is handed to the next acquirer with
 * -EOWNERDEAD (see "Owner death" below), so the survivors never deadlock.
 *
 * (The module overview is written with the two sections below.)
 */
#ifndef WEFT_SHARED_H
#define WEFT_SHARED_H

#include <sys/types.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===========================================================================
 * Part 1: process-shared, owner-death-robust synchronisation.
 * (src/shared/ sync sources; tests/shared/test_sh*.c)
 */

#include "weft/sync.h" /* weft_barrier_opts */

/*
 * Placement. Put these objects in MAP_SHARED memory (anonymous before fork(), or
 * a named block) and initialise them once, before any other process uses them;
 * the memory must stay mapped in every process that may still use them. Fields
 * starting with '_' are private. The block may be mapped at different addresses
 * in different processes: the only pointers inside are a held lock's links in
 * its owner's robust list, used only by that owner, and a Barrier's action (a
 * function pointer: see there).
 *
 * Return codes: those of weft/sync.h (-EINVAL, -EBUSY, -ETIMEDOUT, -EPERM), plus
 *   -EOWNERDEAD       Lock, RLock (and a Condition on them): the previous owner
 *                     died holding it; the caller now holds it (see below);
 *   -ENOTRECOVERABLE  the lock was released after an owner death without being
 *                     marked consistent; it can never be taken again.
 * Every call is thread-safe and process-safe; none is async-signal-safe. Lock
 * order checking (lockdep) does not cover these objects.
 *
 * Owner death. A Lock and an RLock are owned by the thread that took them (unlike
 * threading.Lock, only the owner may release a shared Lock: -EPERM otherwise -
 * ownership is what lets the kernel tell us that the owner died). When the owning
 * thread ends while holding it - its process is killed (even by SIGKILL), exits
 * or calls exec(), or the thread itself exits - the Linux kernel marks the lock
 * "owner died" and wakes one waiter, at once (robust futexes; no polling). The
 * next acquire
 * (blocking, timed or try) then succeeds with -EOWNERDEAD instead of 0: the
 * caller holds the lock, but the data it protects may be half-updated. The
 * caller must then either
 *   1. repair the data and call weft_X_consistent(), then use and release the
 *      lock as usual - it is a normal lock again; or
 *   2. release it without calling consistent(): the lock becomes "not
 *      recoverable" and every acquire and try from then on, in every process,
 *      returns -ENOTRECOVERABLE at once (and waiters are woken to get it); only
 *      weft_X_init on memory nobody uses any more makes it usable again.
 * If the new owner dies too before calling consistent(), the next acquirer gets
 * -EOWNERDEAD again. This is POSIX's robust mutex protocol.
 *
 * fork(). A child process created by fork() inherits the memory, not ownership:
 * a lock held by the parent (or any thread of it) at fork() stays held by that
 * parent thread; the child's acquire waits for the parent's release (or death),
 * and the child's release returns -EPERM. Semaphores, Events, Conditions and
 * Barriers carry on across fork() as shared objects should: a child is one more
 * participant.
 *
 * Dying participants of the other objects (they have no owner; as in Python's
 * multiprocessing):
 *   Semaphore  a unit taken by a process that dies is lost (the count stays one
 *              lower); a BoundedSemaphore can then never be released to full.
 *   Event      nothing: the flag is state, not ownership.
 *   Condition  a waiter that dies while waiting may absorb one later notify
 *              (that notification is lost); the lock's death is reported to a
 *              waiter as -EOWNERDEAD from its re-acquire.
 *   Barrier    a party that dies before arriving (or never comes) stops the
 *              round from completing: the others wait until their timeout breaks
 *              the barrier (-ETIMEDOUT for the one that timed out, -WEFT_EBROKEN
 *              for the rest), so give barrier waits a timeout when a party may
 *              die. One that dies after arriving still counts for its round
 *              (the round completes without it; it is simply missing from the
 *              next one). A party dying inside the barrier's internal lock
 *              breaks it.
 *
 * Limits: the kernel walks at most 2048 held robust locks per thread at its
 * death; the processes must share a PID namespace (thread ids identify owners).
 * Robustness needs glibc's per-thread robust list (set up by glibc for every
 * thread on Linux); where it is missing, the locks still work but an owner's
 * death is not detected.
 */

/* ---------------------------------------------------------------------------
 * Lock: multiprocessing.Lock with owner-death detection. Owned (see above).
 */
typedef struct weft_shared_lock {
    /* Futex word in the kernel's robust-futex format: bits 0-29 the owner's
     * thread id (0 free), bit 30 owner died, bit 31 waiters may sleep. */
    uint32_t _word;
    uint32_t _reserved[5];
    /* Link in the owner thread's robust list (glibc's layout: the kernel finds
     * _word 32 bytes before _next). Written only by the owner. */
    void *_prev;
    void *_next;
} weft_shared_lock;

#define WEFT_SHARED_LOCK_INIT {0, {0, 0, 0, 0, 0}, NULL, NULL}

/* Set up a free lock (also the only way out of "not recoverable"). Not
 * process-safe: no one may be using it. Returns 0 or -EINVAL. */
WEFT_API int weft_shared_lock_init(weft_shared_lock *l);
/* Returns 0, -EINVAL, -EBUSY (held). Nothing to free. */
WEFT_API int weft_shared_lock_destroy(weft_shared_lock *l);
/* Acquire, waiting up to timeout seconds. Returns 0, -EOWNERDEAD (acquired; the
 * previous owner died: see above), -ENOTRECOVERABLE (not acquired), -EBUSY
 * (timeout 0 and held), -ETIMEDOUT, -EINVAL (NULL, NaN). Blocks. Taking a lock
 * the calling thread already holds waits until the timeout (for ever with
 * WEFT_FOREVER), as in Python. */
WEFT_API int weft_shared_lock_acquire(weft_shared_lock *l, double timeout);
/* Acquire only if free. Returns 0, -EOWNERDEAD, -ENOTRECOVERABLE, -EBUSY,
 * -EINVAL. Never blocks. */
WEFT_API int weft_shared_lock_try(weft_shared_lock *l);
/* Release. Returns 0, -EPERM (the calling thread does not hold it), -EINVAL.
 * Releasing after -EOWNERDEAD without consistent() makes the lock not
 * recoverable (and still returns 0). Never blocks. */
WEFT_API int weft_shared_lock_release(weft_shared_lock *l);
/* After -EOWNERDEAD: declare the protected data repaired, so release leaves a
 * normal lock. Returns 0, -EPERM (caller does not hold it), -EINVAL (the lock is
 * not in the owner-died state, or NULL). Never blocks. */
WEFT_API int weft_shared_lock_consistent(weft_shared_lock *l);
/* True while held by any thread of any process. A lock whose owner died is
 * free (the kernel marks it at the death), so false. Never blocks. */
WEFT_API bool weft_shared_lock_locked(const weft_shared_lock *l);

/* ---------------------------------------------------------------------------
 * RLock: multiprocessing.RLock. The owning thread may take it again and must
 * release it as many times. Owner death as for Lock; after -EOWNERDEAD the
 * caller holds it once (depth 1).
 */
typedef struct weft_shared_rlock {
    weft_shared_lock _lock;
    uint32_t _depth; /* times the owner took it; written only by the owner */
} weft_shared_rlock;

#define WEFT_SHARED_RLOCK_INIT {WEFT_SHARED_LOCK_INIT, 0}

WEFT_API int weft_shared_rlock_init(weft_shared_rlock *r);
/* Returns 0, -EINVAL, -EBUSY (held). */
WEFT_API int weft_shared_rlock_destroy(weft_shared_rlock *r);
/* Returns 0, -EOWNERDEAD, -ENOTRECOVERABLE, -EBUSY (timeout 0, held by another
 * thread), -ETIMEDOUT, -EINVAL, -EOVERFLOW (depth would pass UINT32_MAX). Blocks.
 * Re-entering never blocks. */
WEFT_API int weft_shared_rlock_acquire(weft_shared_rlock *r, double timeout);
/* Returns 0, -EOWNERDEAD, -ENOTRECOVERABLE, -EBUSY, -EOVERFLOW, -EINVAL. */
WEFT_API int weft_shared_rlock_try(weft_shared_rlock *r);
/* Undo one acquire. Returns 0, -EPERM (caller is not the owner), -EINVAL. The
 * last release after -EOWNERDEAD without consistent() makes it not recoverable. */
WEFT_API int weft_shared_rlock_release(weft_shared_rlock *r);
/* As weft_shared_lock_consistent. Returns 0, -EPERM, -EINVAL. */
WEFT_API int weft_shared_rlock_consistent(weft_shared_rlock *r);
/* True when the calling thread owns r. */
WEFT_API bool weft_shared_rlock_is_owned(const weft_shared_rlock *r);
/* The owner's thread id (gettid(); valid in the owner's PID namespace), 0 when
 * free. A snapshot. */
WEFT_API pid_t weft_shared_rlock_owner(const weft_shared_rlock *r);
/* The owner's depth (0 when free). Exact only when read by the owner. */
WEFT_API unsigned weft_shared_rlock_depth(const weft_shared_rlock *r);

/* ---------------------------------------------------------------------------
 * Condition: multiprocessing.Condition on a shared Lock or RLock (which must be
 * shared with it). Calls other than init require the calling thread to own the
 * lock. notify(n) makes exactly min(n, waiting) waits return 0; which waiters
 * they are is up to the kernel's futex queue (roughly, not strictly, oldest
 * first). No spurious wake-ups: wait returns 0 only for a notify.
 */
typedef struct weft_shared_cond {
    uint32_t _seq;       /* futex word: bumped by every notify */
    uint32_t _waiters;   /* threads inside wait; guarded by the lock */
    uint32_t _tokens;    /* notifications not yet taken; guarded by the lock */
    uint32_t _kind;      /* 0: the lock is a weft_shared_lock, 1: an RLock */
    ptrdiff_t _lock_off; /* the lock's address minus this object's */
} weft_shared_cond;

/* Bind c to lock / rlock; both must be in the same shared mapping (they are
 * found relative to each other). Returns 0 or -EINVAL. */
WEFT_API int weft_shared_cond_init(weft_shared_cond *c, weft_shared_lock *lock);
WEFT_API int weft_shared_cond_init_rlock(weft_shared_cond *c, weft_shared_rlock *rlock);
/* Release the lock (an RLock fully), wait until notified or timeout, take the
 * lock back (an RLock with its depth, also after -EOWNERDEAD) and return.
 * Returns 0 (notified),
 * -ETIMEDOUT (the lock is held again all the same), -EOWNERDEAD (the lock is
 * held again, its previous owner died: repair as for Lock; the caller may or
 * may not have been notified - re-check its predicate), -ENOTRECOVERABLE (the
 * lock is NOT held: it is dead), -EPERM (lock not owned by the caller; nothing
 * released), -EINVAL. Blocks. */
WEFT_API int weft_shared_cond_wait(weft_shared_cond *c, double timeout);
/* Wait until pred(arg) is true (checked first and after each wake-up) within one
 * overall timeout. Returns 0, -ETIMEDOUT, -EOWNERDEAD (pred not checked again:
 * the caller repairs, then checks), -ENOTRECOVERABLE, -EPERM, -EINVAL. */
WEFT_API int weft_shared_cond_wait_for(weft_shared_cond *c, bool (*pred)(void *arg), void *arg,
                                       double timeout);
/* Wake up to n waiters. Returns 0, -EPERM (lock not owned), -EINVAL. */
WEFT_API int weft_shared_cond_notify(weft_shared_cond *c, unsigned n);
/* Wake every waiter. Returns 0, -EPERM, -EINVAL. */
WEFT_API int weft_shared_cond_notify_all(weft_shared_cond *c);

/* ---------------------------------------------------------------------------
 * Semaphore and BoundedSemaphore: multiprocessing.Semaphore / BoundedSemaphore.
 * Calls and codes as weft_sem (a unit taken by a process that dies is lost).
 */
typedef struct weft_shared_sem {
    uint32_t _value;   /* current count; futex word */
    uint32_t _waiters; /* threads that may sleep on _value (a dead one stays) */
    uint32_t _bound;   /* UINT32_MAX: unbounded; else the initial value */
} weft_shared_sem;

#define WEFT_SHARED_SEM_INIT(value) {(value), 0, UINT32_MAX}
#define WEFT_SHARED_BOUNDED_SEM_INIT(value) {(value), 0, (value)}

/* Returns 0, -EINVAL (NULL, value negative or above INT32_MAX). */
WEFT_API int weft_shared_sem_init(weft_shared_sem *s, int value);
WEFT_API int weft_shared_sem_init_bounded(weft_shared_sem *s, int value);
/* Returns 0, -EBUSY (timeout 0, none free), -ETIMEDOUT, -EINVAL. Blocks. */
WEFT_API int weft_shared_sem_acquire(weft_shared_sem *s, double timeout);
/* Give back n >= 1 units. Returns 0, -EINVAL (n 0), -EOVERFLOW (past the bound
 * or INT32_MAX; nothing released). Never blocks. */
WEFT_API int weft_shared_sem_release(weft_shared_sem *s, unsigned n);
/* The current count (a snapshot). */
WEFT_API int weft_shared_sem_value(const weft_shared_sem *s);

/* ---------------------------------------------------------------------------
 * Event: multiprocessing.Event. Calls and codes as weft_event; a set() and
 * clear() in quick succession still releases every waiter of the moment.
 */
typedef struct weft_shared_event {
    uint32_t _flag;    /* bit 0 set; bits 1-31 count set() calls; futex word */
    uint32_t _waiters; /* threads that may sleep on _flag */
} weft_shared_event;

#define WEFT_SHARED_EVENT_INIT {0, 0}

WEFT_API int weft_shared_event_init(weft_shared_event *e);
/* Returns 0 or -EINVAL. Never blocks. */
WEFT_API int weft_shared_event_set(weft_shared_event *e);
WEFT_API int weft_shared_event_clear(weft_shared_event *e);
WEFT_API bool weft_shared_event_is_set(const weft_shared_event *e);
/* Returns 0 (set), -ETIMEDOUT (still clear at the deadline, including timeout 0),
 * -EINVAL. Blocks. */
WEFT_API int weft_shared_event_wait(weft_shared_event *e, double timeout);

/* ---------------------------------------------------------------------------
 * Barrier: multiprocessing.Barrier; the state machine, calls and codes of
 * weft_barrier (weft/sync.h). The action runs in the process whose arrival
 * completes the round; as a function pointer it is valid only in processes that
 * share the program image at the same address (fork() children, not exec()).
 * See "Dying participants" above.
 */
typedef struct weft_shared_barrier {
    weft_shared_lock _lock; /* guards every field below */
    weft_shared_cond _cond;
    unsigned _parties;
    unsigned _count; /* parties waiting in this round */
    int _state;      /* 0 filling, 1 draining, -1 resetting, -2 broken */
    weft_barrier_opts _opts;
} weft_shared_barrier;

/* Returns 0, -EINVAL (b NULL, parties 0, NaN timeout). opts may be NULL. */
WEFT_API int weft_shared_barrier_init(weft_shared_barrier *b, unsigned parties,
                                      const weft_barrier_opts *opts);
/* Returns 0 (and the index in [0, parties) in *index if not NULL),
 * -ETIMEDOUT, -WEFT_EBROKEN, the action's code, -EINVAL. Blocks. */
WEFT_API int weft_shared_barrier_wait(weft_shared_barrier *b, unsigned *index);
WEFT_API int weft_shared_barrier_wait_timeout(weft_shared_barrier *b, double timeout,
                                              unsigned *index);
/* Returns 0 or -EINVAL. */
WEFT_API int weft_shared_barrier_reset(weft_shared_barrier *b);
WEFT_API int weft_shared_barrier_abort(weft_shared_barrier *b);
WEFT_API unsigned weft_shared_barrier_parties(const weft_shared_barrier *b);
WEFT_API unsigned weft_shared_barrier_n_waiting(weft_shared_barrier *b);
WEFT_API bool weft_shared_barrier_broken(weft_shared_barrier *b);

/* --- end of part 1 --- */

/* ===========================================================================
 * Part 2: shared memory (Value, Array, anonymous and named blocks) and file
 * locks. (src/shared/ memory and file-lock sources; tests/shared/test_mem*.c,
 * test_filelock*.c)
 */

/* --- end of part 2 --- */

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SHARED_H */
