/*
 * Shared Lock: a robust futex mutex (the word format the kernel's robust-futex
 * code understands: owner tid | FUTEX_OWNER_DIED | FUTEX_WAITERS), with the
 * protocol of Drepper's "Futexes Are Tricky" mutex #3 for the waiters bit and
 * POSIX's robust-mutex protocol for owner death. See shared_internal_sync.h for
 * the robust list, and weft/shared.h for what callers see.
 *
 * Word states (tid: the owner's thread id, bits 0-29):
 *   0                     free
 *   tid [| W]             held; W: some thread may sleep on the word
 *   D [| W]               free, previous owner died (set by the kernel)
 *   tid | D [| W]         held after an owner death, not yet consistent
 *   NOTREC [| W]          released while inconsistent: dead for good
 *
 * Acquire: CAS 0 -> tid (fast path). Otherwise loop: a free word (tid bits 0)
 * is taken with CAS w -> tid | (w & (D|W)) | (W if we slept); a held word
 * gets W with a CAS and we sleep on it while it still reads that value; after
 * every wake-up we look again before looking at the deadline.
 * Release: exchange the word to 0 (NOTREC if D is set: not made consistent)
 * and, if the old value had W, wake one sleeper (all, for NOTREC).
 *
 * Why no wake-up is lost (as mutex #3): a thread sleeps only on a word with W
 * set, and W is set only on a held word, whose holder will see W when it
 * exchanges the word at release (or the kernel sees it at the holder's death)
 * and wakes one sleeper. The release clears W; the thread it woke sets W again
 * when it takes the lock or sleeps again (a woken thread always re-reads the
 * word and either takes it - with W, since it slept - or puts W back before it
 * may time out), so with several sleepers the chain "release sees W -> wake
 * one" is never broken. A newcomer taking the freed word 0 -> tid is harmless:
 * the woken thread then finds it held, sets W and sleeps. FUTEX_WAIT reports
 * ETIMEDOUT only to a sleeper that was not woken, so a timing-out sleeper never
 * swallows a wake-up.
 *
 * Owner death (the kernel, at the owner thread's end): if the word's tid is the
 * dead thread's, the word becomes D | (old W) and one sleeper is woken if W was
 * set. The D bit then travels with the lock until consistent() clears it
 * (only the owner writes D; W is set by others, hence the RMWs).
 *
 * Why not a pthread_mutex_t (PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST),
 * which does the same with the same kernel mechanism: glibc takes its generic
 * slow path for robust mutexes on every lock and unlock. Measured on the
 * 2-core development machine (Release -O2, one run, uncontended lock+unlock):
 * weft_lock 11.9 ns, this lock 15.2 ns, robust pthread mutex 17.3 ns; two
 * processes incrementing a shared counter: this lock ~27 ns per increment, the
 * pthread mutex 24-30 ns (weft_lock with two threads: ~21 ns). What this lock
 * pays over weft_lock is the robust list (about 1 ns) and the owner's tid
 * (thread-local cache, owner check at release; about 2.5 ns).
 *
 * Memory order: taking the word (successful CAS) is acquire, the release
 * exchange is release, so each holder sees everything the previous one did
 * under the lock. Reads of the word that only decide what to try are relaxed.
 * The owner's own fields (list links) are ordered by those same operations.
 */
#include "internal/futex.h"
#include "shared/shared_internal_sync.h"

/* Bounded spin before sleeping, as weft_lock (src/sync/lock.c): looks at the
 * word every SPIN_PAUSES pauses, SPIN_ROUNDS times. */
#define SPIN_ROUNDS 4
#define SPIN_PAUSES 30

/* CAS the word from `expect` to `take` (take holds our tid), with the robust
 * list kept right around it: pending before the CAS, linked after, pending
 * cleared last, so a death at any instruction leaves the kernel able to see
 * the lock through the list or the pending slot. */
static inline bool sh_take(weft_shared_lock *l, uint32_t expect, uint32_t take,
                           struct weft__sh_self *s)
{
    struct weft__robust_head *h = s->head;
    if (h) {
        h->list_op_pending = (void *)&l->_next;
        SH_BARRIER();
    }
    /* Acquire on success: the critical section stays after it and sees the
     * previous holder's work. Relaxed on failure: the caller re-reads. */
    bool ok = __atomic_compare_exchange_n(&l->_word, &expect, take, false, __ATOMIC_ACQUIRE,
                                          __ATOMIC_RELAXED);
    if (h) {
        if (ok)
            weft__sh_list_add(h, l);
        SH_BARRIER();
        h->list_op_pending = NULL;
    }
    return ok;
}

/* A free word (tid bits 0, maybe D/W) taken: 0 or -EOWNERDEAD. */
static inline int sh_taken_rc(uint32_t w)
{
    return (w & SH_OWNER_DIED) ? -EOWNERDEAD : 0;
}

/* One look at the word: 1 taken (rc in *rc), 0 held, -1 retry now. */
static int sh_try_once(weft_shared_lock *l, struct weft__sh_self *s, bool slept, int *rc)
{
    uint32_t w = __atomic_load_n(&l->_word, __ATOMIC_RELAXED);
    if ((w & SH_TID_MASK) == SH_NOTREC) {
        *rc = -ENOTRECOVERABLE;
        return 1;
    }
    if (w & SH_TID_MASK)
        return 0;
    uint32_t take = s->tid | (w & (SH_OWNER_DIED | SH_WAITERS)) | (slept ? SH_WAITERS : 0);
    if (!sh_take(l, w, take, s))
        return -1;
    *rc = sh_taken_rc(w);
    return 1;
}

static bool sh_spin(weft_shared_lock *l, struct weft__sh_self *s, int *rc)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        for (int k = 0; k < SPIN_PAUSES; k++)
            weft__cpu_relax();
        int r;
        while ((r = sh_try_once(l, s, false, rc)) < 0)
            ;
        if (r > 0)
            return true;
    }
    return false;
}

/* Mark the held word as waited on and sleep while it stays so. 0: look
 * again; -ETIMEDOUT: give up. */
static int sh_sleep(weft_shared_lock *l, const weft__deadline *d)
{
    uint32_t w = __atomic_load_n(&l->_word, __ATOMIC_RELAXED);
    if (!(w & SH_TID_MASK) || (w & SH_TID_MASK) == SH_NOTREC)
        return 0; /* free or dead: look again */
    if (!(w & SH_WAITERS)) {
        /* Relaxed: W orders nothing, it only makes the holder wake us. */
        if (!__atomic_compare_exchange_n(&l->_word, &w, w | SH_WAITERS, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            return 0;
        w |= SH_WAITERS;
    }
    /* W is set now: a timeout here swallows nothing (see the top). */
    if (!d->forever && weft__deadline_passed(d))
        return -ETIMEDOUT;
    int rc = weft__futex_wait(&l->_word, w, weft__deadline_ts(d), true);
    return rc == -ETIMEDOUT ? -ETIMEDOUT : 0; /* 0, -EAGAIN, -EINTR: look again */
}

int weft__sh_lock_until(weft_shared_lock *l, const weft__deadline *d)
{
    struct weft__sh_self *s = weft__sh_self();
    int rc = 0;
    int r;
    while ((r = sh_try_once(l, s, false, &rc)) < 0)
        ;
    if (r > 0)
        return rc;
    if (d->nonblock)
        return -EBUSY;
    if (sh_spin(l, s, &rc))
        return rc;
    for (;;) {
        if (sh_sleep(l, d) == -ETIMEDOUT)
            return -ETIMEDOUT;
        while ((r = sh_try_once(l, s, true, &rc)) < 0)
            ;
        if (r > 0)
            return rc;
    }
}

bool weft__sh_lock_owned(const weft_shared_lock *l)
{
    /* Relaxed: only this thread ever stores its own tid in the word (see
     * src/sync/rlock.c for the same argument), so "is it mine" is exact. */
    uint32_t w = __atomic_load_n(&l->_word, __ATOMIC_RELAXED);
    return (w & SH_TID_MASK) == weft__sh_self()->tid;
}

int weft__sh_unlock(weft_shared_lock *l)
{
    struct weft__sh_self *s = weft__sh_self();
    uint32_t w = __atomic_load_n(&l->_word, __ATOMIC_RELAXED);
    if ((w & SH_TID_MASK) != s->tid)
        return -EPERM;
    /* D is ours to read: only the owner clears it, the kernel sets it only at
     * our death. Released without consistent(): not recoverable. */
    uint32_t to = (w & SH_OWNER_DIED) ? SH_NOTREC : 0;
    struct weft__robust_head *h = s->head;
    if (h) {
        h->list_op_pending = (void *)&l->_next;
        SH_BARRIER();
        weft__sh_list_del(l);
        SH_BARRIER();
    }
    /* Release: the next owner (its acquire CAS reads this) sees our work. */
    uint32_t old = __atomic_exchange_n(&l->_word, to, __ATOMIC_RELEASE);
    if (h) {
        SH_BARRIER();
        h->list_op_pending = NULL;
    }
    if (to == SH_NOTREC)
        weft__futex_wake(&l->_word, INT32_MAX, true); /* all: none can have it */
    else if (old & SH_WAITERS)
        weft__futex_wake(&l->_word, 1, true);
    return 0;
}

int weft__sh_lock_consistent(weft_shared_lock *l)
{
    uint32_t w = __atomic_load_n(&l->_word, __ATOMIC_RELAXED);
    if ((w & SH_TID_MASK) != weft__sh_self()->tid)
        return -EPERM;
    if (!(w & SH_OWNER_DIED))
        return -EINVAL;
    /* RMW: waiters may set W meanwhile. Relaxed: the owner's release orders. */
    __atomic_fetch_and(&l->_word, ~SH_OWNER_DIED, __ATOMIC_RELAXED);
    return 0;
}

WEFT_API int weft_shared_lock_init(weft_shared_lock *l)
{
    if (!l)
        return -EINVAL;
    /* Plain stores: nobody may use the lock during init (see shared.h). */
    *l = (weft_shared_lock)WEFT_SHARED_LOCK_INIT;
    return 0;
}

static bool sh_held(uint32_t w)
{
    return (w & SH_TID_MASK) != 0 && (w & SH_TID_MASK) != SH_NOTREC;
}

WEFT_API int weft_shared_lock_destroy(weft_shared_lock *l)
{
    if (!l)
        return -EINVAL;
    /* Relaxed: a snapshot, as weft_lock_destroy. */
    return sh_held(__atomic_load_n(&l->_word, __ATOMIC_RELAXED)) ? -EBUSY : 0;
}

WEFT_API int weft_shared_lock_acquire(weft_shared_lock *l, double timeout)
{
    if (!l || weft__timeout_invalid(timeout))
        return -EINVAL;
    struct weft__sh_self *s = weft__sh_self();
    if (sh_take(l, 0, s->tid, s)) /* fast path: no deadline computed */
        return 0;
    weft__deadline d = weft__deadline_in(timeout);
    return weft__sh_lock_until(l, &d);
}

WEFT_API int weft_shared_lock_try(weft_shared_lock *l)
{
    if (!l)
        return -EINVAL;
    weft__deadline d = {.nonblock = true};
    return weft__sh_lock_until(l, &d);
}

WEFT_API int weft_shared_lock_release(weft_shared_lock *l)
{
    return l ? weft__sh_unlock(l) : -EINVAL;
}

WEFT_API int weft_shared_lock_consistent(weft_shared_lock *l)
{
    return l ? weft__sh_lock_consistent(l) : -EINVAL;
}

WEFT_API bool weft_shared_lock_locked(const weft_shared_lock *l)
{
    /* Relaxed: a snapshot, ordering nothing. */
    return l && sh_held(__atomic_load_n(&l->_word, __ATOMIC_RELAXED));
}
