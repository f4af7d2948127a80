/*
 * Shared Barrier: multiprocessing.Barrier with the state machine of the thread
 * version (src/sync/barrier.c) on a shared Lock and Condition. Every field is
 * guarded by _lock (_parties and _opts never change after init).
 *
 *   filling (0)    parties arrive, each takes index = _count++ and waits; the
 *                  one that makes _count == _parties runs the action and
 *                  switches to draining.
 *   draining (1)   the round's parties leave one by one (_count--); new
 *                  arrivals wait until the last leaver sets filling.
 *   resetting (-1) reset() came while parties were waiting: they leave with
 *                  -WEFT_EBROKEN; the last leaver sets filling.
 *   broken (-2)    a timeout, abort(), a failing action or a party dying while
 *                  it held _lock: every waiter gets -WEFT_EBROKEN until reset.
 *
 * Differences from the thread version, for dying parties: a party that dies
 * holding _lock (-EOWNERDEAD for the next one) breaks the barrier, and the
 * state is then marked consistent (the fields are each written in one store,
 * so breaking is a safe repair); waiting for a draining or resetting round to
 * end also obeys the caller's timeout, so a party that died inside a round can
 * never make the others wait for ever.
 */
#include "shared/shared_internal_sync.h"

enum { FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2 };

WEFT_API int weft_shared_barrier_init(weft_shared_barrier *b, unsigned parties,
                                      const weft_barrier_opts *opts)
{
    if (!b || parties == 0)
        return -EINVAL;
    if (opts && weft__timeout_invalid(opts->timeout))
        return -EINVAL;
    weft_shared_lock_init(&b->_lock);
    weft_shared_cond_init(&b->_cond, &b->_lock);
    b->_parties = parties;
    b->_count = 0;
    b->_state = FILLING;
    b->_opts = opts ? *opts : (weft_barrier_opts){0};
    return 0;
}

static void barrier_break(weft_shared_barrier *b)
{
    b->_state = BROKEN;
    weft_shared_cond_notify_all(&b->_cond);
}

/* After -EOWNERDEAD on _lock: a party died inside; break and repair. */
static void barrier_owner_died(weft_shared_barrier *b)
{
    barrier_break(b);
    weft__sh_lock_consistent(&b->_lock);
}

static void barrier_lock(weft_shared_barrier *b)
{
    weft__deadline forever = weft__deadline_in(WEFT_FOREVER);
    if (weft__sh_lock_until(&b->_lock, &forever) == -EOWNERDEAD)
        barrier_owner_died(b);
}

/* A condition wait on the barrier's lock; the lock's death breaks it. */
static int barrier_cond_wait(weft_shared_barrier *b, const weft__deadline *d)
{
    double left = WEFT_FOREVER;
    if (!d->forever) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = (double)(d->at.tv_sec - now.tv_sec) + (double)(d->at.tv_nsec - now.tv_nsec) * 1e-9;
        if (left <= 0)
            return -ETIMEDOUT;
    }
    int rc = weft_shared_cond_wait(&b->_cond, left);
    if (rc == -EOWNERDEAD) {
        barrier_owner_died(b);
        rc = 0;
    }
    return rc;
}

/* Wait until no round is draining or resetting. Under the lock. */
static int barrier_enter(weft_shared_barrier *b, const weft__deadline *d)
{
    while (b->_state == DRAINING || b->_state == RESETTING) {
        if (barrier_cond_wait(b, d) == -ETIMEDOUT) {
            barrier_break(b);
            return -ETIMEDOUT;
        }
    }
    return b->_state == BROKEN ? -WEFT_EBROKEN : 0;
}

/* The last arrival: run the action and release the round. Under the lock. */
static int barrier_release(weft_shared_barrier *b)
{
    if (b->_opts.action) {
        int rc = b->_opts.action(b->_opts.action_arg);
        if (rc != 0) {
            barrier_break(b);
            return rc < 0 ? rc : -rc;
        }
    }
    b->_state = DRAINING;
    weft_shared_cond_notify_all(&b->_cond);
    return 0;
}

/* Wait for the round to complete. Under the lock. */
static int barrier_await(weft_shared_barrier *b, const weft__deadline *d)
{
    while (b->_state == FILLING) {
        if (barrier_cond_wait(b, d) == -ETIMEDOUT && b->_state == FILLING) {
            barrier_break(b);
            return -ETIMEDOUT;
        }
    }
    return b->_state == DRAINING ? 0 : -WEFT_EBROKEN;
}

/* Leave the round; the last one out opens the next. Under the lock. */
static void barrier_exit(weft_shared_barrier *b)
{
    b->_count--;
    if (b->_count == 0 && (b->_state == DRAINING || b->_state == RESETTING)) {
        b->_state = FILLING;
        weft_shared_cond_notify_all(&b->_cond);
    }
}

WEFT_API int weft_shared_barrier_wait_timeout(weft_shared_barrier *b, double timeout,
                                              unsigned *index)
{
    if (!b || weft__timeout_invalid(timeout))
        return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    barrier_lock(b);
    int rc = barrier_enter(b, &d);
    if (rc == 0) {
        unsigned i = b->_count++;
        rc = i + 1 == b->_parties ? barrier_release(b) : barrier_await(b, &d);
        barrier_exit(b);
        if (rc == 0 && index)
            *index = i;
    }
    weft__sh_unlock(&b->_lock);
    return rc;
}

WEFT_API int weft_shared_barrier_wait(weft_shared_barrier *b, unsigned *index)
{
    if (!b)
        return -EINVAL;
    double t = b->_opts.timeout > 0 ? b->_opts.timeout : WEFT_FOREVER; /* set at init */
    return weft_shared_barrier_wait_timeout(b, t, index);
}

WEFT_API int weft_shared_barrier_reset(weft_shared_barrier *b)
{
    if (!b)
        return -EINVAL;
    barrier_lock(b);
    if (b->_count > 0) {
        if (b->_state == FILLING || b->_state == BROKEN)
            b->_state = RESETTING;
    } else {
        b->_state = FILLING;
    }
    weft_shared_cond_notify_all(&b->_cond);
    weft__sh_unlock(&b->_lock);
    return 0;
}

WEFT_API int weft_shared_barrier_abort(weft_shared_barrier *b)
{
    if (!b)
        return -EINVAL;
    barrier_lock(b);
    barrier_break(b);
    weft__sh_unlock(&b->_lock);
    return 0;
}

WEFT_API unsigned weft_shared_barrier_parties(const weft_shared_barrier *b)
{
    return b ? b->_parties : 0;
}

WEFT_API unsigned weft_shared_barrier_n_waiting(weft_shared_barrier *b)
{
    if (!b)
        return 0;
    barrier_lock(b);
    unsigned n = b->_state == FILLING ? b->_count : 0;
    weft__sh_unlock(&b->_lock);
    return n;
}

WEFT_API bool weft_shared_barrier_broken(weft_shared_barrier *b)
{
    if (!b)
        return false;
    barrier_lock(b);
    bool broken = b->_state == BROKEN;
    weft__sh_unlock(&b->_lock);
    return broken;
}
