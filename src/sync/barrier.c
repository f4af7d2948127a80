/*
 * Barrier: Python's threading.Barrier, with its state machine, on a weft_lock
 * and a weft_cond. Every field is guarded by _lock (the weft_barrier_parties
 * query reads _parties, which never changes after init).
 *
 *   filling (0)    threads arrive, each takes index = _count++ and waits;
 *                  the one that makes _count == _parties runs the action and
 *                  switches to draining.
 *   draining (1)   the round's threads leave one by one (_count--); new
 *                  arrivals wait in enter until the last leaver sets filling.
 *   resetting (-1) reset() came while threads were waiting: they leave with
 *                  -WEFT_EBROKEN; the last leaver sets filling.
 *   broken (-2)    a timeout, abort() or a failing action: every waiter, present
 *                  and later, gets -WEFT_EBROKEN until reset().
 *
 * Differences from Python, as sync.h says: the thread whose wait timed out gets
 * -ETIMEDOUT (Python raises BrokenBarrierError there too), and a failing action's
 * code goes to the thread that ran it (a positive code is negated, so the result
 * is still a negative errno).
 */
#include "sync/sync_internal.h"

enum { FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2 };

WEFT_API int weft_barrier_init(weft_barrier *b, unsigned parties, const weft_barrier_opts *opts)
{
    if (!b || parties == 0)
        return -EINVAL;
    if (opts && weft__timeout_invalid(opts->timeout))
        return -EINVAL;
    weft_lock_init(&b->_lock, "weft_barrier");
    weft_cond_init(&b->_cond, &b->_lock);
    b->_parties = parties;
    b->_count = 0;
    b->_state = FILLING;
    b->_opts = opts ? *opts : (weft_barrier_opts){0};
    return 0;
}

/* Mark broken and release everyone waiting. Under the lock. */
static void barrier_break(weft_barrier *b)
{
    b->_state = BROKEN;
    weft_cond_notify_all(&b->_cond);
}

/* Wait until no round is draining or resetting. Under the lock. */
static int barrier_enter(weft_barrier *b)
{
    while (b->_state == DRAINING || b->_state == RESETTING)
        weft_cond_wait(&b->_cond, WEFT_FOREVER);
    return b->_state == BROKEN ? -WEFT_EBROKEN : 0;
}

/* The last arrival: run the action and release the round. Under the lock. */
static int barrier_release(weft_barrier *b)
{
    if (b->_opts.action) {
        int rc = b->_opts.action(b->_opts.action_arg);
        if (rc != 0) {
            barrier_break(b);
            return rc < 0 ? rc : -rc;
        }
    }
    b->_state = DRAINING;
    weft_cond_notify_all(&b->_cond);
    return 0;
}

static bool barrier_not_filling(void *arg)
{
    return ((weft_barrier *)arg)->_state != FILLING;
}

/* Wait for the round to complete. Under the lock. */
static int barrier_await(weft_barrier *b, double timeout)
{
    if (weft_cond_wait_for(&b->_cond, barrier_not_filling, b, timeout) != 0) {
        barrier_break(b);
        return -ETIMEDOUT;
    }
    return b->_state == DRAINING ? 0 : -WEFT_EBROKEN;
}

/* Leave the round; the last one out opens the next. Under the lock. */
static void barrier_exit(weft_barrier *b)
{
    b->_count--;
    if (b->_count == 0 && (b->_state == DRAINING || b->_state == RESETTING)) {
        b->_state = FILLING;
        weft_cond_notify_all(&b->_cond);
    }
}

WEFT_API int weft_barrier_wait_timeout(weft_barrier *b, double timeout, unsigned *index)
{
    if (!b || weft__timeout_invalid(timeout))
        return -EINVAL;
    weft_lock_acquire(&b->_lock, WEFT_FOREVER);
    int rc = barrier_enter(b);
    if (rc == 0) {
        unsigned i = b->_count++;
        rc = i + 1 == b->_parties ? barrier_release(b) : barrier_await(b, timeout);
        barrier_exit(b);
        if (rc == 0 && index)
            *index = i;
    }
    weft_lock_release(&b->_lock);
    return rc;
}

WEFT_API int weft_barrier_wait(weft_barrier *b, unsigned *index)
{
    if (!b)
        return -EINVAL;
    /* _opts is set at init and never written again: no lock needed. */
    double t = b->_opts.timeout > 0 ? b->_opts.timeout : WEFT_FOREVER;
    return weft_barrier_wait_timeout(b, t, index);
}

WEFT_API int weft_barrier_reset(weft_barrier *b)
{
    if (!b)
        return -EINVAL;
    weft_lock_acquire(&b->_lock, WEFT_FOREVER);
    if (b->_count > 0) {
        if (b->_state == FILLING || b->_state == BROKEN)
            b->_state = RESETTING; /* waiters leave broken, last one refills */
        /* DRAINING / RESETTING: the last leaver refills anyway */
    } else {
        b->_state = FILLING;
    }
    weft_cond_notify_all(&b->_cond);
    weft_lock_release(&b->_lock);
    return 0;
}

WEFT_API int weft_barrier_abort(weft_barrier *b)
{
    if (!b)
        return -EINVAL;
    weft_lock_acquire(&b->_lock, WEFT_FOREVER);
    barrier_break(b);
    weft_lock_release(&b->_lock);
    return 0;
}

WEFT_API unsigned weft_barrier_parties(const weft_barrier *b)
{
    return b ? b->_parties : 0;
}

WEFT_API unsigned weft_barrier_n_waiting(weft_barrier *b)
{
    if (!b)
        return 0;
    weft_lock_acquire(&b->_lock, WEFT_FOREVER);
    unsigned n = b->_state == FILLING ? b->_count : 0;
    weft_lock_release(&b->_lock);
    return n;
}

WEFT_API bool weft_barrier_broken(weft_barrier *b)
{
    if (!b)
        return false;
    weft_lock_acquire(&b->_lock, WEFT_FOREVER);
    bool broken = b->_state == BROKEN;
    weft_lock_release(&b->_lock);
    return broken;
}
