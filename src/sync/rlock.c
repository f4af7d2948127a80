/*
 * RLock: Python's threading.RLock - a weft_lock plus an owner ident and a depth.
 *
 * _owner is written only by the thread holding the inner lock: set to its ident
 * right after taking it, cleared to 0 right before releasing it. Every thread
 * reads it, so every access is an __atomic one (no data race); relaxed is enough:
 *
 *   Why a relaxed read answers "do I own it?": the only value that can make a
 *   thread believe it owns the RLock is its own ident, and only that thread ever
 *   stores its own ident. A thread always sees its own latest store to a
 *   location (program order / coherence), so if it owns the RLock it reads its
 *   ident, and if it stored its ident and later 0, it reads 0 or another
 *   thread's later ident - never a stale copy of its own. Other threads' values
 *   can be stale, but any such value is different from the reader's ident, so
 *   the answer "not mine" is still right. (As in Python, an ident may be reused
 *   by a new thread after the old one exits; a thread that exits while holding
 *   an RLock leaves it held for ever anyway.)
 *
 * _depth is written only by the owner, read exactly only by the owner; others
 * (weft_rlock_depth) get a relaxed snapshot. Ordering between successive owners
 * comes from the inner lock's acquire/release.
 */
#include "internal/lockdep.h"
#include "sync/sync_internal.h"

static inline unsigned long rlock_owner(const weft_rlock *r)
{
    return __atomic_load_n(&r->_owner, __ATOMIC_RELAXED);
}

static inline void rlock_set(weft_rlock *r, unsigned long owner, uint32_t depth)
{
    /* Relaxed: see the top; only the holder of the inner lock writes these. */
    __atomic_store_n(&r->_owner, owner, __ATOMIC_RELAXED);
    __atomic_store_n(&r->_depth, depth, __ATOMIC_RELAXED);
}

/* The caller already owns r: one more level. */
static int rlock_reenter(weft_rlock *r)
{
    uint32_t depth = __atomic_load_n(&r->_depth, __ATOMIC_RELAXED);
    if (depth == UINT32_MAX)
        return -EOVERFLOW;
    __atomic_store_n(&r->_depth, depth + 1, __ATOMIC_RELAXED);
    return 0;
}

WEFT_API int weft_rlock_init(weft_rlock *r, const char *name)
{
    if (!r)
        return -EINVAL;
    weft_lock_init(&r->_lock, name);
    r->_owner = 0; /* plain stores: not shared yet */
    r->_depth = 0;
    return 0;
}

WEFT_API int weft_rlock_destroy(weft_rlock *r)
{
    if (!r)
        return -EINVAL;
    if (rlock_owner(r) != 0 || weft_lock_locked(&r->_lock))
        return -EBUSY;
    if (weft__lockdep_recorded()) /* also if checking is off by now */
        weft__lockdep_forget(r);
    return 0;
}

WEFT_API int weft_rlock_acquire_at(weft_rlock *r, double timeout, const char *file, int line)
{
    if (!r || weft__timeout_invalid(timeout))
        return -EINVAL;
    unsigned long me = weft__self_ident();
    if (rlock_owner(r) == me)
        return rlock_reenter(r); /* never blocks: no lockdep check needed */
    bool dep = weft__lockdep_active();
    if (dep && timeout != 0)
        weft__lockdep_before(r, r->_lock._name, file, line);
    if (!weft__lock_trylock(&r->_lock)) { /* free: no deadline to compute */
        weft__deadline d = weft__deadline_in(timeout);
        int rc = weft__lock_lock_until(&r->_lock, &d);
        if (rc != 0)
            return rc;
    }
    rlock_set(r, me, 1);
    if (dep)
        weft__lockdep_acquired(r, r->_lock._name, file, line);
    return 0;
}

WEFT_API int weft_rlock_try_at(weft_rlock *r, const char *file, int line)
{
    if (!r)
        return -EINVAL;
    unsigned long me = weft__self_ident();
    if (rlock_owner(r) == me)
        return rlock_reenter(r);
    if (!weft__lock_trylock(&r->_lock))
        return -EBUSY;
    rlock_set(r, me, 1);
    if (weft__lockdep_active())
        weft__lockdep_acquired(r, r->_lock._name, file, line);
    return 0;
}

WEFT_API int weft_rlock_release(weft_rlock *r)
{
    if (!r)
        return -EINVAL;
    if (rlock_owner(r) != weft__self_ident())
        return -EPERM;
    uint32_t depth = __atomic_load_n(&r->_depth, __ATOMIC_RELAXED);
    if (depth > 1) {
        __atomic_store_n(&r->_depth, depth - 1, __ATOMIC_RELAXED);
        return 0;
    }
    /* Clear before unlocking: once unlocked, the next owner writes them. */
    rlock_set(r, 0, 0);
    weft__lock_unlock(&r->_lock); /* cannot fail: we hold it */
    if (weft__lockdep_active())
        weft__lockdep_released(r);
    return 0;
}

WEFT_API bool weft_rlock_is_owned(const weft_rlock *r)
{
    return r && rlock_owner(r) == weft__self_ident();
}

WEFT_API unsigned long weft_rlock_owner(const weft_rlock *r)
{
    return r ? rlock_owner(r) : 0;
}

WEFT_API unsigned weft_rlock_depth(const weft_rlock *r)
{
    return r ? __atomic_load_n(&r->_depth, __ATOMIC_RELAXED) : 0;
}

uint32_t weft__rlock_release_all(weft_rlock *r)
{
    uint32_t depth = __atomic_load_n(&r->_depth, __ATOMIC_RELAXED);
    rlock_set(r, 0, 0);
    weft__lock_unlock(&r->_lock);
    return depth;
}

void weft__rlock_restore(weft_rlock *r, uint32_t depth)
{
    weft__deadline forever = weft__deadline_in(WEFT_FOREVER);
    weft__lock_lock_until(&r->_lock, &forever);
    rlock_set(r, weft__self_ident(), depth);
}
