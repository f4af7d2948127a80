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
 *
 * Python's multiprocessing.Value and Array, line for line:
 *
 *     num = Value('d', 0.0)          weft_value *num;
 *                                    weft_value_new(&num, sizeof(double), &(double){0.0}, NULL);
 *     arr = Array('i', range(10))    int init[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
 *                                    weft_array *arr;
 *                                    weft_array_new(&arr, sizeof(int), 10, init, NULL);
 *     # in the child (fork)
 *     num.value = 3.14159            weft_value_set(num, &(double){3.14159});
 *     for i in range(len(a)):        for (size_t i = 0; i < weft_array_len(arr); i++)
 *         a[i] = -a[i]                   WEFT_ARRAY(arr, int)[i] = -WEFT_ARRAY(arr, int)[i];
 *     # the counter
 *     with counter.get_lock():       weft_value_acquire(counter, WEFT_FOREVER);
 *         counter.value += 1         WEFT_VALUE(counter, int64_t) += 1;
 *                                    weft_value_release(counter);
 *
 * Sharing is by fork(): a Value, Array or anonymous block is a MAP_SHARED
 * mapping, so a child created by fork() sees the same memory at the same address
 * through the same handle. Unrelated processes share a named block
 * (weft_shm_create / weft_shm_open), Python's shared_memory.SharedMemory.
 *
 * Fork and handles: a child inherits every handle with its mapping; using it
 * there is fine. Freeing an inherited handle in the child unmaps the child's
 * copy only (for a named block it does not count as a user leaving: the parent's
 * reference is the parent's). A child that wants a reference of its own to a
 * named block opens it by name.
 *
 * Memory: every object is its own mapping, a whole number of pages (a Value of
 * 8 bytes costs a page): for many small values use one Array or a struct in one
 * block. The data of every object is aligned to WEFT_SHM_ALIGN bytes, enough for
 * any C type (and a cache line).
 */
#define WEFT_SHM_ALIGN 64

/* ---------------------------------------------------------------------------
 * Shared blocks: raw bytes shared with fork children (anonymous) or with any
 * process of the same user that knows the name (named, in /dev/shm).
 *
 * Common returns: -EINVAL (a NULL argument, size 0), -ENOMEM (no memory or
 * address space for the mapping or the handle).
 * The handle's queries (ptr, size, name, users) are thread-safe; free must not
 * run concurrently with any other call on the same handle. The memory itself is
 * plain bytes: synchronise access to it yourself (atomics, a lock in it, ...).
 */
typedef struct weft_shm weft_shm;

/* A name longer than this many bytes (not counting one leading '/') is refused
 * with -ENAMETOOLONG. */
#define WEFT_SHM_NAME_MAX 250

/* A new anonymous block of `size` zeroed bytes (mmap MAP_SHARED|MAP_ANONYMOUS),
 * shared with every child forked after this call. Returns 0, -EINVAL, -ENOMEM.
 * Never blocks. */
WEFT_API int weft_shm_new(weft_shm **out, size_t size);

/*
 * Create a named block of `size` zeroed bytes: Python's
 * SharedMemory(name, create=True, size=size). The name is one path component,
 * with or without one leading '/' ("counter" and "/counter" are the same block,
 * /dev/shm/counter); no other '/', not "." or "..", not empty.
 * The object is made with O_CREAT|O_EXCL, mode 0600 (the umask can only narrow
 * it), never through a symbolic link. The creator holds the first reference.
 * Returns 0, -EINVAL (bad name, size 0, out NULL), -ENAMETOOLONG, -EEXIST (the
 * name exists - also briefly while a block whose last user left is being
 * removed), -ENOSPC/-ENOMEM, -EACCES and other -errno from shm_open/ftruncate/
 * mmap (on failure nothing is left behind). Never blocks.
 */
WEFT_API int weft_shm_create(weft_shm **out, const char *name, size_t size);

/*
 * Open an existing named block (SharedMemory(name)), adding one reference.
 * The object is checked before it is used, so a wrong object is refused with a
 * code instead of a SIGBUS later: it must be a regular file (no symbolic link is
 * followed), owned by the caller's effective user, with no group or other
 * permission bits, at least as large as its header says, and start with weft's
 * header. Returns 0;
 *   -EINVAL, -ENAMETOOLONG  as for create;
 *   -ENOENT    no such name, or its last user just left and it is being removed;
 *   -ELOOP     the name is a symbolic link;
 *   -EPERM     not a regular file, another owner, or group/other access bits;
 *   -EAGAIN    empty or header not yet written: a creator is still setting it up
 *              (retry), or it is an empty object that is not a weft block;
 *   -EBADMSG   not a weft block (wrong magic) or truncated below its size;
 *   -EOVERFLOW the reference count is full;
 *   other -errno from shm_open/fstat/mmap.
 * Never blocks. After a successful open the size cannot be checked again: a
 * process that truncates the object later makes accesses past the end SIGBUS.
 */
WEFT_API int weft_shm_open(weft_shm **out, const char *name);

/*
 * Remove a name now (Python's SharedMemory.unlink()), whoever uses it: mappings
 * stay valid, the memory goes when the last one is unmapped, and the name may be
 * created again at once. This is also the clean-up for a block whose user count
 * can no longer reach 0 (see weft_shm_free). Accepts the same names as create.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EACCES/-EPERM. Never blocks.
 */
WEFT_API int weft_shm_unlink(const char *name);

/* The first byte of the block (aligned to WEFT_SHM_ALIGN), NULL for NULL. */
WEFT_API void *weft_shm_ptr(const weft_shm *s);
/* The usable size in bytes as created (0 for NULL). */
WEFT_API size_t weft_shm_size(const weft_shm *s);
/* The name without its leading '/', or NULL (anonymous block, or NULL). */
WEFT_API const char *weft_shm_name(const weft_shm *s);
/* References to a named block held now, across processes (a snapshot): the
 * creator's plus one per open not yet freed. 0 for an anonymous block. */
WEFT_API unsigned weft_shm_users(const weft_shm *s);

/*
 * Unmap the block in this process and free the handle; NULL is ignored.
 * Named block, handle made in this process: drops its reference; the one that
 * drops the last (atomically, so exactly one) removes the name from /dev/shm,
 * if the name still refers to this block. A process that dies (or exits)
 * without freeing never drops its reference: the block then stays in /dev/shm,
 * using its memory, until weft_shm_unlink(name) or a reboot.
 * Handle inherited through fork(): only unmaps the child's copy.
 * Never blocks.
 */
WEFT_API void weft_shm_free(weft_shm *s);

/* ---------------------------------------------------------------------------
 * Value and Array: Python's multiprocessing.Value / Array (and RawValue /
 * RawArray with .raw = true). A typed block shared with fork children, with a
 * process-shared recursive lock of its own by default (Python's lock=True makes
 * an RLock): the thread holding it may take it again and must release it as
 * many times.
 *
 * The data is plain memory at weft_value_ptr / weft_array_ptr (WEFT_VALUE and
 * WEFT_ARRAY give it a type). Like Python's .value and a[i], the get and set
 * calls copy under the lock; direct access through the pointer does not lock:
 * take the lock around compound updates (counter.value += 1 is a race in Python
 * too without get_lock()).
 *
 * The lock is a weft_shared_rlock (part 1): robust against its owner's death.
 * When a process dies holding it, the next acquire gets -EOWNERDEAD and holds
 * the lock; call weft_value_consistent / weft_array_consistent once the data is
 * repaired, or the lock becomes not recoverable at release (-ENOTRECOVERABLE
 * for every later lock call, get and set) - part 1's rule. get and set, which
 * only copy, mark it consistent themselves and return -EOWNERDEAD after the
 * copy, to say the data may be half-written.
 *
 * Common returns: -EINVAL (a NULL object or argument, NaN timeout), -ENOLCK (a
 * lock call on a raw object, which has no lock: Python's AttributeError).
 * Every call is thread- and process-safe, except free, which must not run
 * concurrently with other calls on the same handle in the same process.
 */
typedef struct weft_value weft_value;
typedef struct weft_array weft_array;

typedef struct weft_value_opts {
    /* No lock: Python's RawValue / RawArray (and lock=False). Default false. */
    bool raw;
} weft_value_opts;
typedef weft_value_opts weft_array_opts;

/* The data as an lvalue of type T: WEFT_VALUE(num, double) = 3.14159. */
#define WEFT_VALUE(v, T) (*(T *)weft_value_ptr(v))
/* The elements as a T array: WEFT_ARRAY(arr, int)[i]. */
#define WEFT_ARRAY(a, T) ((T *)weft_array_ptr(a))

/* A new Value of `size` bytes, copied from init (NULL: zeros). opts may be
 * NULL. Returns 0, -EINVAL (out NULL, size 0), -ENOMEM. Never blocks. */
WEFT_API int weft_value_new(weft_value **out, size_t size, const void *init,
                            const weft_value_opts *opts);
/* The data (aligned to WEFT_SHM_ALIGN), NULL for NULL. Never blocks. */
WEFT_API void *weft_value_ptr(const weft_value *v);
/* Its size in bytes (0 for NULL). */
WEFT_API size_t weft_value_size(const weft_value *v);
/* Copy the value into out (size bytes) under the lock (raw: without).
 * Returns 0, -EINVAL, -EOVERFLOW (the calling thread already holds the lock
 * UINT32_MAX times), -EOWNERDEAD (copied, but the lock's previous owner died:
 * the data may be half-written; the lock is consistent again),
 * -ENOTRECOVERABLE. Blocks while another thread or process holds the lock. */
WEFT_API int weft_value_get(weft_value *v, void *out);
/* Copy size bytes from in into the value under the lock. Same returns. */
WEFT_API int weft_value_set(weft_value *v, const void *in);
/* Take the lock (Python's get_lock().acquire(timeout=...)), waiting up to
 * timeout seconds; the holder may take it again. Returns 0, -EOWNERDEAD (taken;
 * the previous owner died: see above), -ENOTRECOVERABLE, -EBUSY (timeout 0
 * and held by another thread), -ETIMEDOUT, -EOVERFLOW (depth), -EINVAL, -ENOLCK.
 * Blocks. */
WEFT_API int weft_value_acquire(weft_value *v, double timeout);
/* Undo one acquire. Returns 0, -EPERM (the calling thread does not hold it),
 * -EINVAL, -ENOLCK. Never blocks. */
WEFT_API int weft_value_release(weft_value *v);
/* After -EOWNERDEAD from acquire: the data is repaired, keep the lock usable.
 * Returns 0, -EPERM (not held by the caller), -EINVAL (not in the owner-died
 * state), -ENOLCK. Never blocks. */
WEFT_API int weft_value_consistent(weft_value *v);
/* Atomic operations on an 8-byte Value as an int64_t, without the lock (they
 * are atomic with respect to each other, not to unlocked plain writes).
 * add stores the new value in *now (may be NULL). Return 0, -EINVAL (v NULL,
 * size is not 8, out NULL). Never block. */
WEFT_API int weft_value_add_i64(weft_value *v, int64_t delta, int64_t *now);
WEFT_API int weft_value_load_i64(const weft_value *v, int64_t *out);
WEFT_API int weft_value_store_i64(weft_value *v, int64_t value);
/* Unmap it in this process; NULL is ignored. The memory goes when every process
 * that maps it (the creator and its fork children) has freed it or exited.
 * Freeing while holding its lock leaves the lock held for the other processes.
 * Never blocks. */
WEFT_API void weft_value_free(weft_value *v);

/* A new Array of len elements of elem_size bytes, copied from init (len
 * elements; NULL: zeros). len 0 is allowed (Python's Array('i', 0)). opts may be
 * NULL. Returns 0, -EINVAL (out NULL, elem_size 0), -EOVERFLOW (elem_size x len
 * overflows), -ENOMEM. Never blocks. */
WEFT_API int weft_array_new(weft_array **out, size_t elem_size, size_t len, const void *init,
                            const weft_array_opts *opts);
/* The first element (aligned to WEFT_SHM_ALIGN), NULL for NULL. */
WEFT_API void *weft_array_ptr(const weft_array *a);
/* Number of elements (Python's len(a)); 0 for NULL. */
WEFT_API size_t weft_array_len(const weft_array *a);
/* Size of one element; 0 for NULL. */
WEFT_API size_t weft_array_elem_size(const weft_array *a);
/* Copy element i into out (a[i]) / from in (a[i] = x) under the lock.
 * Return 0, -EINVAL, -ERANGE (i >= len: Python's IndexError), -EOVERFLOW.
 * Block while another thread or process holds the lock. */
WEFT_API int weft_array_get(weft_array *a, size_t i, void *out);
WEFT_API int weft_array_set(weft_array *a, size_t i, const void *in);
/* The Array's lock, as weft_value_acquire / weft_value_release. */
WEFT_API int weft_array_acquire(weft_array *a, double timeout);
WEFT_API int weft_array_release(weft_array *a);
WEFT_API int weft_array_consistent(weft_array *a);
/* As weft_value_free. */
WEFT_API void weft_array_free(weft_array *a);

/* ---------------------------------------------------------------------------
 * FileLock: the `filelock` package's FileLock for unrelated programs - an
 * exclusive, advisory lock on a lock file, taken with flock(2) exactly as
 * filelock does, so a C program and a Python program (or `flock(1)` in a shell
 * script) using the same file exclude each other. flock locks belong to the open
 * file description: two handles exclude each other even in one process (also
 * between threads), and the kernel releases the lock when the holder exits or is
 * killed. The lock file is created if missing (and never removed: removing a
 * lock file is what makes lock files racy); the file must be a regular file and
 * the last path component must not be a symbolic link.
 *
 *     weft_filelock *fl;
 *     weft_filelock_new(&fl, "tickets.txt.lock", NULL);
 *     if (weft_filelock_acquire(fl, 10.0) == 0) {    // with FileLock(...).acquire(timeout=10):
 *         ... read, update, write tickets.txt ...
 *         weft_filelock_release(fl);
 *     }
 *     weft_filelock_free(fl);
 *
 * Reentrant per handle, as filelock's lock counter: acquiring a held handle
 * only counts, and the file is unlocked when the count returns to 0.
 * Waiting: timeout 0 tries once; WEFT_FOREVER sleeps in flock(); a positive
 * timeout polls (the kernel has no timed flock) every 1 ms at first, doubling up
 * to 50 ms (Python's filelock polls every 50 ms), so the lock is noticed at most
 * about 50 ms after it is freed.
 *
 * Thread-safety: calls on one handle are serialised inside it, and any thread
 * may release what another acquired through the same handle (the count is the
 * handle's, not a thread's). A thread waiting in acquire delays the others'
 * calls on that handle; threads that must exclude each other use a handle each.
 * Fork: a child inherits the handle and the open lock file, which stays locked
 * while the child keeps it (the kernel frees a flock lock when its last
 * descriptor closes). In the child the inherited handle refuses acquire and
 * release with -ECHILD and reports locked() false; free it (that only closes the
 * child's descriptor) or exec (the descriptor is close-on-exec).
 */
typedef struct weft_filelock weft_filelock;

typedef struct weft_filelock_opts {
    /* Permission bits for a lock file this call creates, before the umask.
     * 0 (the default) means 0644, filelock's default. */
    unsigned mode;
} weft_filelock_opts;

/* A handle for the lock file at path (copied); the file is not touched until
 * acquire. opts may be NULL. Returns 0, -EINVAL (out or path NULL, path empty,
 * mode with bits outside 0777), -ENOMEM. Never blocks. */
WEFT_API int weft_filelock_new(weft_filelock **out, const char *path,
                               const weft_filelock_opts *opts);

/*
 * Acquire: if this handle holds the lock, count one more; else open (creating
 * it if missing; O_NOFOLLOW|O_CLOEXEC) the lock file and lock it, waiting up to
 * timeout seconds. Returns 0;
 *   -EBUSY      timeout 0 and another holder has it (or another thread is
 *               inside a call on this handle);
 *   -ETIMEDOUT  a positive timeout expired;
 *   -EINVAL     fl NULL or a NaN timeout;
 *   -EOVERFLOW  the count would pass UINT32_MAX;
 *   -ECHILD     a handle inherited through fork();
 *   -ELOOP      the path's last component is a symbolic link;
 *   -EPERM      the path is not a regular file;
 *   -ENOLCK and other -errno from open() or flock() (-EACCES, -ENOENT for a
 *               missing directory, -EROFS, ...).
 * Blocks.
 */
WEFT_API int weft_filelock_acquire(weft_filelock *fl, double timeout);

/* Undo one acquire; at count 0 unlock and close the file. Returns 0, -EPERM
 * (not held through this handle), -EINVAL, -ECHILD. Never blocks for long
 * (waits for a thread inside another call on the same handle). */
WEFT_API int weft_filelock_release(weft_filelock *fl);

/* True while this handle holds the lock (Python's is_locked); false for NULL
 * and in a fork child. Never blocks. */
WEFT_API bool weft_filelock_locked(const weft_filelock *fl);

/* The handle's count (Python's lock_counter); 0 when not held, for NULL and
 * in a fork child. Never blocks. */
WEFT_API unsigned weft_filelock_depth(const weft_filelock *fl);

/* The lock file's path as given. */
WEFT_API const char *weft_filelock_path(const weft_filelock *fl);

/* Release (whatever the count) and free the handle; NULL is ignored. In a fork
 * child: close the inherited descriptor without unlocking. Must not run
 * concurrently with other calls on fl. Never blocks for long. */
WEFT_API void weft_filelock_free(weft_filelock *fl);

/* --- end of part 2 --- */

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SHARED_H */
