/*
 * Shared Condition: multiprocessing.Condition on a shared Lock or RLock.
 *
 * The thread version links waiter nodes on the waiters' stacks; other processes
 * cannot see those, so this one counts instead. Every field but _seq is guarded
 * by the condition's lock:
 *   _waiters  threads inside wait (registered before they release the lock);
 *   _tokens   notifications given and not yet taken;
 *   _seq      a futex word bumped (under the lock) by every notify that gives
 *             tokens; waiters sleep on it.
 * wait: _waiters += 1; then loop: read _seq, release the lock, sleep while _seq
 * still reads that value (or until the deadline), take the lock back; if a
 * token is left, take it and return 0; if the deadline has passed return
 * -ETIMEDOUT; else go round again (woken for another thread's token).
 * notify(n): k = min(n, waiters that hold no token yet); tokens += k; bump
 * _seq; wake k sleepers.
 *
 * Exactness: a wait returns 0 only by taking a token, and notify gives k
 * tokens, so exactly min(n, waiting) waits return 0 per notify(n) - no
 * spurious wake-up, no lost notification. Which waiters take them is not
 * strictly FIFO: any waiter that is awake when it holds the lock again may take
 * one (one woken by the futex, one whose sleep failed because _seq had already
 * moved, one that timed out - a notify that came before the timeout was noticed
 * wins over the timeout, as in the thread version). No token is stranded: every
 * waiter registered before the notify either sleeps on the old _seq value
 * (and FUTEX_WAKE reaches up to k of them) or finds _seq changed before
 * sleeping; each of the k woken re-checks under the lock, and one that finds
 * the tokens taken by others goes back to sleep - the tokens were used all the
 * same. Only a waiter that dies may leave its count and a token behind (see
 * weft/shared.h).
 *
 * Memory order: the fields are guarded by the lock (its acquire/release order
 * them). _seq is read by the kernel outside the lock, so it is accessed
 * atomically; relaxed is enough: the lock orders the data, _seq only decides
 * whether to sleep, and the futex syscall compares it atomically with queueing.
 */
#include "internal/futex.h"
#include "shared/shared_internal_sync.h"

enum { COND_LOCK = 0, COND_RLOCK = 1 };

static void *cond_lock(const weft_shared_cond *c)
{
    return (char *)c + c->_lock_off;
}

static weft_shared_lock *cond_raw_lock(const weft_shared_cond *c)
{
    void *p = cond_lock(c);
    return c->_kind == COND_RLOCK ? &((weft_shared_rlock *)p)->_lock : p;
}

static int cond_bind(weft_shared_cond *c, void *lock, uint32_t kind)
{
    if (!c || !lock)
        return -EINVAL;
    /* Plain stores: the caller makes c before anyone uses it. */
    *c = (weft_shared_cond){0, 0, 0, kind, (char *)lock - (char *)c};
    return 0;
}

WEFT_API int weft_shared_cond_init(weft_shared_cond *c, weft_shared_lock *lock)
{
    return cond_bind(c, lock, COND_LOCK);
}

WEFT_API int weft_shared_cond_init_rlock(weft_shared_cond *c, weft_shared_rlock *rlock)
{
    return cond_bind(c, rlock, COND_RLOCK);
}

/* 0 when the calling thread owns c's lock. */
static int cond_check(const weft_shared_cond *c)
{
    if (!c || c->_kind > COND_RLOCK)
        return -EINVAL;
    return weft__sh_lock_owned(cond_raw_lock(c)) ? 0 : -EPERM;
}

static uint32_t cond_release(weft_shared_cond *c)
{
    if (c->_kind == COND_RLOCK)
        return weft__sh_rlock_release_all(cond_lock(c));
    weft__sh_unlock(cond_lock(c));
    return 0;
}

static int cond_reacquire(weft_shared_cond *c, uint32_t depth)
{
    if (c->_kind == COND_RLOCK)
        return weft__sh_rlock_restore(cond_lock(c), depth);
    weft__deadline forever = weft__deadline_in(WEFT_FOREVER);
    return weft__sh_lock_until(cond_lock(c), &forever);
}

/* Without the lock: sleep while _seq reads seen, or until the deadline. */
static void cond_sleep(weft_shared_cond *c, uint32_t seen, const weft__deadline *d)
{
    while (__atomic_load_n(&c->_seq, __ATOMIC_RELAXED) == seen) {
        if (d->nonblock || (!d->forever && weft__deadline_passed(d)))
            return;
        if (weft__futex_wait(&c->_seq, seen, weft__deadline_ts(d), true) == -ETIMEDOUT)
            return;
    }
}

static int cond_wait_until(weft_shared_cond *c, const weft__deadline *d)
{
    c->_waiters++;
    for (;;) {
        uint32_t seen = __atomic_load_n(&c->_seq, __ATOMIC_RELAXED);
        uint32_t depth = cond_release(c);
        cond_sleep(c, seen, d);
        int rc = cond_reacquire(c, depth);
        if (rc == -ENOTRECOVERABLE)
            return rc; /* not held: the fields are not ours to touch */
        if (c->_tokens > 0) {
            c->_tokens--;
            c->_waiters--;
            return rc; /* 0, or -EOWNERDEAD (notified, but the lock needs repair) */
        }
        if (rc != 0 || d->nonblock || weft__deadline_passed(d)) {
            c->_waiters--;
            return rc != 0 ? rc : -ETIMEDOUT;
        }
    }
}

WEFT_API int weft_shared_cond_wait(weft_shared_cond *c, double timeout)
{
    int rc = cond_check(c);
    if (rc != 0)
        return rc;
    if (weft__timeout_invalid(timeout))
        return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    return cond_wait_until(c, &d);
}

WEFT_API int weft_shared_cond_wait_for(weft_shared_cond *c, bool (*pred)(void *arg), void *arg,
                                       double timeout)
{
    int rc = cond_check(c);
    if (rc != 0)
        return rc;
    if (!pred || weft__timeout_invalid(timeout))
        return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    bool first = true; /* as the thread version: a timeout of 0 still waits once */
    while (!pred(arg)) {
        if (!first && (d.nonblock || weft__deadline_passed(&d)))
            return -ETIMEDOUT;
        first = false;
        rc = cond_wait_until(c, &d);
        if (rc == -EOWNERDEAD || rc == -ENOTRECOVERABLE)
            return rc;
    }
    return 0;
}

static void cond_wake(weft_shared_cond *c, unsigned n)
{
    uint32_t idle = c->_waiters - c->_tokens; /* waiters without a token */
    uint32_t k = n < idle ? n : idle;
    if (k == 0)
        return;
    c->_tokens += k;
    /* RMW: the kernel and sleepers read _seq without the lock. */
    __atomic_fetch_add(&c->_seq, 1, __ATOMIC_RELAXED);
    weft__futex_wake(&c->_seq, k > INT32_MAX ? INT32_MAX : (int)k, true);
}

WEFT_API int weft_shared_cond_notify(weft_shared_cond *c, unsigned n)
{
    int rc = cond_check(c);
    if (rc == 0)
        cond_wake(c, n);
    return rc;
}

WEFT_API int weft_shared_cond_notify_all(weft_shared_cond *c)
{
    return weft_shared_cond_notify(c, UINT32_MAX);
}
