/*
 * Waiting on futures: one (weft_future_result), several (weft_wait), one at a
 * time as they complete (as_completed).
 *
 * Three ways to wait, chosen per call:
 *   helping  the caller is a task of the pool every awaited future belongs to:
 *            it runs queued tasks of that pool (its own deque first) while it
 *            waits, and sleeps on the pool's eventcount only when there is
 *            nothing to run, with F_HELPER set on the awaited futures so that
 *            their completion wakes it (new work wakes it too). Without this a
 *            recursive task waiting on its children could hold every worker
 *            and deadlock the pool.
 *   one      a single future: F_SLEEP on its state word and a futex wait there.
 *   several  F_MULTI on each awaited future and a sleep on the global eventcount
 *            weft__wait_ec, which every completion of a future marked F_MULTI
 *            notifies.
 * Each sleep follows the eventcount protocol: prepare (or, for one, the CAS that
 * sets F_SLEEP), set the bits with seq_cst RMWs, re-check, sleep; completion's
 * seq_cst exchange reads the bits (executor_internal.h).
 *
 * How deep helping nests. A task run inside a wait runs on the waiter's stack,
 * above the waiting frame, and may itself wait and help: without a rule, a
 * thread whose waits keep finding work that splits and waits again (a
 * parallel_for with a small grain, whose halves get stolen back and forth)
 * stacks frames without end. The rule, with d the number of task frames on the
 * calling thread (weft__frame.depth, the waiting one included):
 *   1. if an awaited future is still pending, run it here (run_inline: a CAS
 *      from pending claims it wherever its queue node is). That is the nesting
 *      the program itself asks for - a task waiting on a child it could run as a
 *      plain call - one frame per level of the program's recursion;
 *   2. else run any queued task of the pool;
 *   3. but run nothing at all when d >= WEFT_EXECUTOR_NEST_MAX: then only sleep
 *      until an awaited future completes (a worker with room may steal it).
 * Helping pushes a task frame only by rules 1-2, at d < NEST_MAX; the other
 * frames are a worker loop's (d = 1) and those of the program's own calls
 * (parallel_for and its ranges run inside a task). So helping never takes a
 * thread past WEFT_EXECUTOR_NEST_MAX task frames: the stack it needs is bounded
 * by that many (task frame + about 1 KiB of ours), whatever the pool does. Rule 3 is the one inherent limit: a chain of nested
 * waits (each task waiting on the next) longer than all the pool's stacks can
 * hold, about max_workers x NEST_MAX, ends with every worker at the limit and
 * waits forever - as any such chain longer than max_workers does in Python's
 * pool, whose workers never help. Rule 1 before rule 2 keeps the common case
 * shallow: a fork-join task usually finds its own newest child still pending
 * and runs it as a call (fib(30) nests about 30 deep).
 */
#include <stdlib.h>
#include <string.h>

#include "executor/executor_internal.h"
#include "internal/cpu.h"
#include "internal/futex.h"

/* Rounds of checking (with a short pause) before a non-helping waiter sleeps. */
#ifndef WAIT_SPINS
#define WAIT_SPINS 100
#endif

weft__ec weft__wait_ec;

struct tally {
    size_t done, failed;
};

static struct tally count(weft_future *const *fs, size_t n)
{
    struct tally t = {0, 0};
    for (size_t i = 0; i < n; i++) {
        /* Acquire: a done state makes the outcome visible to the caller. */
        uint32_t s = __atomic_load_n(&fs[i]->state, __ATOMIC_ACQUIRE) & F_STATE_MASK;
        if (s >= F_FINISHED) {
            t.done++;
            if (s == F_FAILED)
                t.failed++;
        }
    }
    return t;
}

static bool satisfied(weft_wait_mode mode, size_t n, struct tally t)
{
    switch (mode) {
    case WEFT_FIRST_COMPLETED:
        return t.done > 0;
    case WEFT_FIRST_EXCEPTION:
        return t.failed > 0 || t.done == n;
    default:
        return t.done == n;
    }
}

/* The pool to help, or NULL: the caller runs a task of ex (or is inside one of
 * its map/parallel_for calls) and every future not yet done belongs to ex. */
static weft_executor *pool_to_help(weft_future *const *fs, size_t n)
{
    struct weft__frame *fr = weft__frame_current();
    if (!fr || !fr->ex)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!f_is_done(__atomic_load_n(&fs[i]->state, __ATOMIC_ACQUIRE)) && fs[i]->ex != fr->ex)
            return NULL;
    return fr->ex;
}

/* Set bit on every awaited future not yet done. seq_cst RMWs: see the file
 * comment. Returns false if one turned out done (re-check instead of sleeping). */
static bool mark(weft_future *const *fs, size_t n, uint32_t bit)
{
    bool all_pending = true;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = __atomic_load_n(&fs[i]->state, __ATOMIC_RELAXED);
        if (f_is_done(s))
            continue;
        if (!(s & bit))
            s = __atomic_fetch_or(&fs[i]->state, bit, __ATOMIC_SEQ_CST);
        if (f_is_done(s))
            all_pending = false;
    }
    return all_pending;
}

/* Rule 1 of the file comment: run one still-pending awaited future here,
 * newest (last in fs) first - the one most likely still at our deque's bottom.
 * Returns whether one was taken out of pending. */
static bool run_awaited(weft_future *const *fs, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        /* Relaxed: a hint; run_inline's CAS decides. */
        uint32_t s = __atomic_load_n(&fs[i]->state, __ATOMIC_RELAXED);
        if ((s & F_STATE_MASK) == F_PENDING && weft__future_run_inline(fs[i]))
            return true;
    }
    return false;
}

/* One helping step (rules 1 and 2 of the file comment): ran something (true),
 * or nothing to run; *maybe as weft__find_work. */
static bool help_once(weft_executor *ex, weft_future *const *fs, size_t n, bool strict,
                      bool *maybe)
{
    if (weft__frame_current()->depth >= WEFT_EXECUTOR_NEST_MAX)
        return false;
    if (run_awaited(fs, n))
        return true;
    weft_future *f = weft__find_work(ex, strict, maybe);
    if (!f)
        return false;
    weft__future_run(f);
    return true;
}

/* One future, not helping: spin, then sleep on its state word. */
static int wait_one(weft_future *f, const weft__deadline *d)
{
    for (int spin = 0;; spin++) {
        /* Acquire: a done state publishes the outcome. */
        uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
        if (f_is_done(s))
            return 0;
        if (d->nonblock)
            return -ETIMEDOUT;
        if (spin < WAIT_SPINS) {
            weft__cpu_relax();
            continue;
        }
        if (weft__deadline_passed(d))
            return -ETIMEDOUT;
        /* seq_cst CAS sets F_SLEEP: ordered with completion's exchange, which
         * then wakes the futex; a failed CAS means the word changed: look again. */
        if (!(s & F_SLEEP) && !__atomic_compare_exchange_n(&f->state, &s, s | F_SLEEP, false,
                                                           __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            continue;
        weft__futex_wait(&f->state, s | F_SLEEP, weft__deadline_ts(d), false);
    }
}

int weft__wait_many(weft_future *const *fs, size_t n, weft_wait_mode mode,
                    const weft__deadline *d, size_t *n_done)
{
    struct tally t = count(fs, n);
    int rc = 0;
    if (satisfied(mode, n, t))
        goto out;
    if (d->nonblock) {
        rc = -ETIMEDOUT;
        goto out;
    }
    weft_executor *ex = pool_to_help(fs, n);
    if (!ex && n == 1) {
        rc = wait_one(fs[0], d);
        t = count(fs, n);
        goto out;
    }
    for (int spin = 0;; spin++) {
        t = count(fs, n);
        if (satisfied(mode, n, t))
            break;
        if (ex) {
            bool maybe = false;
            if (help_once(ex, fs, n, false, &maybe)) {
                spin = 0;
                /* A helper may run task after task: keep the deadline. */
                if (!d->forever && weft__deadline_passed(d)) {
                    t = count(fs, n);
                    rc = satisfied(mode, n, t) ? 0 : -ETIMEDOUT;
                    break;
                }
                continue;
            }
            if (maybe)
                continue;
        }
        if (spin < WAIT_SPINS) {
            weft__cpu_relax();
            continue;
        }
        if (weft__deadline_passed(d)) {
            rc = -ETIMEDOUT;
            break;
        }
        weft__ec *ec = ex ? &ex->ec : &weft__wait_ec;
        uint32_t key = weft__ec_prepare(ec);
        if (!mark(fs, n, ex ? F_HELPER : F_MULTI))
            continue;
        t = count(fs, n);
        if (satisfied(mode, n, t))
            break;
        if (ex) {
            bool maybe = false;
            if (help_once(ex, fs, n, true, &maybe)) {
                spin = 0;
                continue;
            }
            if (maybe)
                continue;
        }
        weft__ec_wait(ec, key, d, false);
    }
out:
    if (n_done)
        *n_done = t.done;
    return rc;
}

WEFT_API int weft_wait(weft_future *const *fs, size_t n, weft_wait_mode mode, double timeout,
                       size_t *n_done)
{
    if ((!fs && n) || mode < WEFT_ALL_COMPLETED || mode > WEFT_FIRST_EXCEPTION)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    return weft__wait_many(fs, n, mode, &d, n_done);
}

/* ---- as_completed ---- */

struct weft_as_completed {
    weft__deadline deadline;
    size_t n;           /* futures not yet yielded: fs[0..n) */
    weft_future *fs[];  /* distinct futures, borrowed */
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(weft_future *const *)a, y = (uintptr_t)*(weft_future *const *)b;
    return x < y ? -1 : x > y;
}

WEFT_API int weft_as_completed_new(weft_as_completed **out, weft_future *const *fs, size_t n,
                                   double timeout)
{
    if (!out || (!fs && n))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return -EINVAL;
    weft_as_completed *it = malloc(sizeof *it + n * sizeof(weft_future *));
    if (!it)
        return -ENOMEM;
    it->deadline = weft__deadline_in(timeout);
    if (n)
        memcpy(it->fs, fs, n * sizeof(weft_future *));
    /* As Python's set(fs): each future is yielded once. */
    qsort(it->fs, n, sizeof(weft_future *), by_address);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || it->fs[m - 1] != it->fs[i])
            it->fs[m++] = it->fs[i];
    it->n = m;
    *out = it;
    return 0;
}

WEFT_API int weft_as_completed_next(weft_as_completed *it, weft_future **f)
{
    if (!it || !f)
        return -EINVAL;
    for (;;) {
        if (it->n == 0)
            return -ENOENT;
        for (size_t i = 0; i < it->n; i++) {
            if (weft_future_done(it->fs[i])) {
                *f = it->fs[i];
                it->fs[i] = it->fs[--it->n];
                return 0;
            }
        }
        int rc = weft__wait_many(it->fs, it->n, WEFT_FIRST_COMPLETED, &it->deadline, NULL);
        if (rc)
            return rc;
    }
}

WEFT_API void weft_as_completed_free(weft_as_completed *it)
{
    free(it);
}
