/*
 * Shared RLock: a shared Lock (sh_lock.c) plus a depth. The owner is the tid in
 * the lock's word, so "do I own it" is exact with a relaxed read (only the
 * owner stores its own tid; see weft__sh_lock_owned). _depth is written only
 * by the owner and ordered between successive owners by the lock itself.
 */
#include "shared/shared_internal_sync.h"

static uint32_t depth_of(const weft_shared_rlock *r)
{
    return __atomic_load_n(&r->_depth, __ATOMIC_RELAXED); /* see the top */
}

static void set_depth(weft_shared_rlock *r, uint32_t depth)
{
    __atomic_store_n(&r->_depth, depth, __ATOMIC_RELAXED); /* owner only */
}

WEFT_API int weft_shared_rlock_init(weft_shared_rlock *r)
{
    if (!r)
        return -EINVAL;
    *r = (weft_shared_rlock)WEFT_SHARED_RLOCK_INIT; /* plain: nobody uses it yet */
    return 0;
}

WEFT_API int weft_shared_rlock_destroy(weft_shared_rlock *r)
{
    return r ? weft_shared_lock_destroy(&r->_lock) : -EINVAL;
}

/* Take the lock (not re-entering) with d; depth 1 when it is ours. */
static int rlock_take(weft_shared_rlock *r, const weft__deadline *d)
{
    int rc = weft__sh_lock_until(&r->_lock, d);
    if (rc == 0 || rc == -EOWNERDEAD)
        set_depth(r, 1); /* a dead owner's depth is forgotten */
    return rc;
}

static int rlock_reenter(weft_shared_rlock *r)
{
    uint32_t depth = depth_of(r);
    if (depth == UINT32_MAX)
        return -EOVERFLOW;
    set_depth(r, depth + 1);
    return 0;
}

WEFT_API int weft_shared_rlock_acquire(weft_shared_rlock *r, double timeout)
{
    if (!r || weft__timeout_invalid(timeout))
        return -EINVAL;
    if (weft__sh_lock_owned(&r->_lock))
        return rlock_reenter(r);
    weft__deadline d = weft__deadline_in(timeout);
    return rlock_take(r, &d);
}

WEFT_API int weft_shared_rlock_try(weft_shared_rlock *r)
{
    if (!r)
        return -EINVAL;
    if (weft__sh_lock_owned(&r->_lock))
        return rlock_reenter(r);
    weft__deadline d = {.nonblock = true};
    return rlock_take(r, &d);
}

WEFT_API int weft_shared_rlock_release(weft_shared_rlock *r)
{
    if (!r)
        return -EINVAL;
    if (!weft__sh_lock_owned(&r->_lock))
        return -EPERM;
    uint32_t depth = depth_of(r);
    if (depth > 1) {
        set_depth(r, depth - 1);
        return 0;
    }
    set_depth(r, 0); /* before unlocking: the next owner writes it after */
    return weft__sh_unlock(&r->_lock);
}

WEFT_API int weft_shared_rlock_consistent(weft_shared_rlock *r)
{
    return r ? weft__sh_lock_consistent(&r->_lock) : -EINVAL;
}

WEFT_API bool weft_shared_rlock_is_owned(const weft_shared_rlock *r)
{
    return r && weft__sh_lock_owned(&r->_lock);
}

WEFT_API pid_t weft_shared_rlock_owner(const weft_shared_rlock *r)
{
    if (!r)
        return 0;
    uint32_t tid = __atomic_load_n(&r->_lock._word, __ATOMIC_RELAXED) & SH_TID_MASK;
    return tid == SH_NOTREC ? 0 : (pid_t)tid; /* relaxed: a snapshot */
}

WEFT_API unsigned weft_shared_rlock_depth(const weft_shared_rlock *r)
{
    if (!r || !weft_shared_lock_locked(&r->_lock))
        return 0;
    return depth_of(r);
}

uint32_t weft__sh_rlock_release_all(weft_shared_rlock *r)
{
    uint32_t depth = depth_of(r);
    set_depth(r, 0);
    weft__sh_unlock(&r->_lock);
    return depth;
}

int weft__sh_rlock_restore(weft_shared_rlock *r, uint32_t depth)
{
    weft__deadline forever = weft__deadline_in(WEFT_FOREVER);
    int rc = weft__sh_lock_until(&r->_lock, &forever);
    /* After an owner death too: the depth is the waiter's own nesting, which
     * its code will unwind with as many releases. */
    if (rc == 0 || rc == -EOWNERDEAD)
        set_depth(r, depth);
    return rc;
}
