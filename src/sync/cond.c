/*
 * Condition: Python's threading.Condition with FIFO wake-ups, exact notify(n) and
 * no spurious wake-ups.
 *
 * Each waiter links a node living on its own stack into the doubly linked FIFO
 * _head/_tail. The list is guarded by the condition's lock: only threads that
 * hold it link, unlink or read nodes (wait links before releasing the lock and
 * unlinks after taking it back; notify runs under it). Each node carries its own
 * futex word `notified`, 0 while queued, set to 1 by the notifier that unlinked
 * it. A waiter returns 0 exactly when its word is 1, so there are no spurious
 * wake-ups, and notify(n) pops at most n nodes, so it wakes exactly that many.
 *
 * Lifetime of a node (it is on the waiter's stack): the notifier unlinks the node
 * and reads everything it needs from it (its successor) *before* storing 1 in
 * `notified`. From that store on, the waiter may see the 1 (even without ever
 * sleeping), return and reuse its stack, so the notifier touches nothing in the
 * node afterwards except handing the word's address to FUTEX_WAKE. That call
 * does not dereference the address for a process-private futex: the kernel only
 * hashes (mm, address) and wakes threads sleeping on exactly that address. If
 * the waiter has already left, nobody sleeps there, or some later futex wait on
 * recycled stack memory gets a spurious futex wake-up - and every futex wait in
 * weft re-checks its own condition in a loop, so that is harmless.
 *
 * A timed-out waiter takes the lock back first, then looks at its word (under
 * the lock, so no notifier is running): 1 means a notify picked it meanwhile -
 * the wait returns 0 and the notification is not lost; 0 means it is still
 * queued - it unlinks itself and returns -ETIMEDOUT.
 *
 * Lockdep: wait reports the lock released when it lets it go, and acquired again
 * (file:line of this file) when it has it back. The re-acquire skips the "before"
 * order check: it restores a hold whose order was checked when the caller first
 * took the lock, it is no new nesting the caller asked for, and a report blaming
 * the condition's internals would point at the wrong line.
 *
 * Misuse: with a plain Lock, "held" only means "held by some thread" (a Lock has
 * no owner); notify from a thread that does not really hold it races with the
 * holder on the list. Python has the same check and the same hole.
 */
#include "internal/futex.h"
#include "internal/lockdep.h"
#include "sync/sync_internal.h"

struct weft__cond_waiter {
    struct weft__cond_waiter *next; /* towards the tail; guarded by the lock */
    struct weft__cond_waiter *prev; /* towards the head; guarded by the lock */
    uint32_t notified;              /* futex word: 0 queued, 1 notified */
};

enum { COND_LOCK = 0, COND_RLOCK = 1 };

WEFT_API int weft_cond_init(weft_cond *c, weft_lock *lock)
{
    if (!c || !lock)
        return -EINVAL;
    *c = (weft_cond)WEFT_COND_INIT(lock);
    return 0;
}

WEFT_API int weft_cond_init_rlock(weft_cond *c, weft_rlock *rlock)
{
    if (!c || !rlock)
        return -EINVAL;
    *c = (weft_cond)WEFT_COND_INIT_RLOCK(rlock);
    return 0;
}

/* 0 when the caller may use c (holds its lock), else -EINVAL / -EPERM. */
static int cond_check(const weft_cond *c)
{
    if (!c || !c->_lock)
        return -EINVAL;
    if (c->_kind == COND_RLOCK)
        return weft_rlock_is_owned(c->_lock) ? 0 : -EPERM;
    if (c->_kind == COND_LOCK)
        return weft_lock_locked(c->_lock) ? 0 : -EPERM;
    return -EINVAL;
}

static void cond_push(weft_cond *c, struct weft__cond_waiter *w)
{
    w->next = NULL;
    w->prev = c->_tail;
    w->notified = 0; /* plain: nobody else sees the node before it is linked */
    if (c->_tail)
        c->_tail->next = w;
    else
        c->_head = w;
    c->_tail = w;
}

static void cond_unlink(weft_cond *c, struct weft__cond_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        c->_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        c->_tail = w->prev;
}

/* Let go of the lock (an RLock completely); returns what restoring needs. */
static uint32_t cond_release(weft_cond *c)
{
    uint32_t depth = 0;
    if (c->_kind == COND_RLOCK)
        depth = weft__rlock_release_all(c->_lock);
    else
        weft__lock_unlock(c->_lock);
    if (weft__lockdep_active())
        weft__lockdep_released(c->_lock);
    return depth;
}

static void cond_reacquire(weft_cond *c, uint32_t depth)
{
    if (c->_kind == COND_RLOCK) {
        weft__rlock_restore(c->_lock, depth);
    } else {
        weft__deadline forever = weft__deadline_in(WEFT_FOREVER);
        weft__lock_lock_until(c->_lock, &forever);
    }
    if (weft__lockdep_active()) {
        const char *name = c->_kind == COND_RLOCK ? ((weft_rlock *)c->_lock)->_lock._name
                                                  : ((weft_lock *)c->_lock)->_name;
        weft__lockdep_acquired(c->_lock, name, __FILE__, __LINE__);
    }
}

/* Acquire load: pairs with the notifier's release store, so a woken waiter sees
 * what the notifier did before notifying (it takes the lock next anyway). */
static inline bool cond_notified(struct weft__cond_waiter *w)
{
    return __atomic_load_n(&w->notified, __ATOMIC_ACQUIRE) != 0;
}

/* Sleep (without the lock) until notified or the deadline. */
static void cond_sleep(struct weft__cond_waiter *w, const weft__deadline *d)
{
    while (!cond_notified(w)) {
        if (d->nonblock || (!d->forever && weft__deadline_passed(d)))
            return;
        if (weft__futex_wait(&w->notified, 0, weft__deadline_ts(d), false) == -ETIMEDOUT)
            return;
    }
}

/* The wait itself; the caller has checked c. */
static int cond_wait_until(weft_cond *c, const weft__deadline *d)
{
    struct weft__cond_waiter w;
    cond_push(c, &w);
    uint32_t depth = cond_release(c);
    cond_sleep(&w, d);
    cond_reacquire(c, depth);
    /* Under the lock again: `notified` can no longer change (see the top). */
    if (cond_notified(&w))
        return 0;
    cond_unlink(c, &w);
    return -ETIMEDOUT;
}

WEFT_API int weft_cond_wait(weft_cond *c, double timeout)
{
    int rc = cond_check(c);
    if (rc != 0)
        return rc;
    if (weft__timeout_invalid(timeout))
        return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    return cond_wait_until(c, &d);
}

WEFT_API int weft_cond_wait_for(weft_cond *c, bool (*pred)(void *arg), void *arg,
                                double timeout)
{
    int rc = cond_check(c);
    if (rc != 0)
        return rc;
    if (!pred || weft__timeout_invalid(timeout))
        return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    /* As Python: check, then wait and check again until the one deadline;
     * a non-blocking call still waits (without sleeping) once. */
    bool first = true;
    while (!pred(arg)) {
        if (!first && (d.nonblock || weft__deadline_passed(&d)))
            return -ETIMEDOUT;
        first = false;
        cond_wait_until(c, &d);
    }
    return 0;
}

/* Pop up to n waiters from the head, waking each. */
static void cond_wake(weft_cond *c, unsigned n)
{
    while (n-- > 0 && c->_head) {
        struct weft__cond_waiter *w = c->_head;
        c->_head = w->next; /* read the node before publishing the flag */
        if (c->_head)
            c->_head->prev = NULL;
        else
            c->_tail = NULL;
        uint32_t *word = &w->notified;
        /* Release store: the waiter's acquire load of 1 sees our writes. After
         * it, w may be gone: only its address is used below (see the top). */
        __atomic_store_n(word, 1, __ATOMIC_RELEASE);
        weft__futex_wake(word, 1, false);
    }
}

WEFT_API int weft_cond_notify(weft_cond *c, unsigned n)
{
    int rc = cond_check(c);
    if (rc != 0)
        return rc;
    cond_wake(c, n);
    return 0;
}

WEFT_API int weft_cond_notify_all(weft_cond *c)
{
    int rc = cond_check(c);
    if (rc != 0)
        return rc;
    cond_wake(c, UINT32_MAX);
    return 0;
}
