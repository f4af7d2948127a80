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
 *   0. if this thread is a worker of the pool and its own deque holds a push of
 *      its own (above any batch of injected tasks), pop the newest and run it:
 *      in fork-join code that is the awaited child or a younger sibling, taken
 *      off the deque for good (rule 1 would leave a finished entry behind for
 *      someone to pop and drop: fib(25) ran 5x slower that way);
 *   1. if an awaited future is still pending, run it here (run_inline: a CAS
 *      from pending claims it wherever its queue node is). That is the nesting
 *      the program itself asks for - a task waiting on a child it could run as a
 *      plain call - one frame per level of the program's recursion;
 *   2. else run any queued task of the pool;
 *   3. but run nothing at all when d >= WEFT_EXECUTOR_NEST_MAX: then only sleep
 *      until an awaited future completes (a worker with room may steal it).
 * Helping pushes a task frame only by rules 0-2, at d < NEST_MAX; the other
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
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "executor/executor_internal.h"
#include "internal/cpu.h"
#include "internal/futex.h"

/* Rounds of checking (with a short pause) before a non-helping waiter sleeps. */
#ifndef WAIT_SPINS
#define WAIT_SPINS 100
#endif
/* A one-future waiter's rounds of pauses, each twice as long as the last up
 * to 64 (about 190 pauses in all): each look at a future a worker is about to
 * complete pulls its line away from that worker, so fewer looks let it finish
 * sooner; few rounds, as on a shared core the worker cannot run meanwhile. */
#ifndef WAIT_ONE_SPINS
#define WAIT_ONE_SPINS 8
#endif
/* Then rounds of yielding the CPU (with a check each) before a one-future
 * waiter sleeps; see wait_one. */
#ifndef WAIT_YIELDS
#define WAIT_YIELDS 128
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
    /* First our own newest push: in divide and conquer that is the child we
     * wait for (or a younger sibling of it), taken off the deque for good, so
     * nobody later pops a finished entry; it nests no deeper than rule 1. */
    weft_future *f = weft__pop_own_newest(ex);
    if (f) {
        weft__future_run(f);
        return true;
    }
    if (run_awaited(fs, n))
        return true;
    f = weft__find_work(ex, strict, maybe);
    if (!f)
        return false;
    weft__future_run(f);
    return true;
}

/* Whether a future not done yet belongs to a pool inherited through fork()
 * (executor_internal.h): waiting for it in this process would never end. */
static bool any_orphaned(weft_future *const *fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* Relaxed: a done future is never orphaned; the field read is immutable. */
        if (!f_is_done(__atomic_load_n(&fs[i]->state, __ATOMIC_RELAXED)) &&
            weft__future_orphaned(fs[i]))
            return true;
    }
    return false;
}

/* One future, not helping: spin, then yield, then sleep on its state word.
 * The yields are for a machine with fewer free cores than busy threads (other
 * processes, or the pool's workers plus its submitters): the worker that will
 * complete f may be waiting for this very CPU, and going to sleep instead
 * would cost a futex wake per completion - with wake-up preemption a context
 * switch pair per task while the submitter takes results in order (1.2 M
 * tasks/s instead of 10 M in threadpool_empty_tasks_2workers next to another
 * busy 2-thread process on 2 cores). On an idle core a yield is a short
 * system call, so the rounds are a poll of some tens of microseconds. */
static int wait_one(weft_future *f, const weft__deadline *d)
{
    for (int spin = 0;; spin++) {
        /* Acquire: a done state publishes the outcome. */
        uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
        if (f_is_done(s))
            return 0;
        if (d->nonblock)
            return -ETIMEDOUT;
        if (spin < WAIT_ONE_SPINS) {
            /* 1, 2, 4 ... up to 64 pauses between looks (see above). */
            for (int k = 0; k < (1 << (spin < 6 ? spin : 6)); k++)
                weft__cpu_relax();
            continue;
        }
        if (weft__deadline_passed(d))
            return -ETIMEDOUT;
        if (weft__future_orphaned(f))
            return -ECHILD; /* its pool's workers are in the parent */
        if (spin < WAIT_ONE_SPINS + WAIT_YIELDS) {
            sched_yield();
            continue;
        }
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
        if (any_orphaned(fs, n)) {
            rc = -ECHILD;
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
                       size_t *n_done, bool *done)
{
    if ((!fs && n) || mode < WEFT_ALL_COMPLETED || mode > WEFT_FIRST_EXCEPTION)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    int rc = weft__wait_many(fs, n, mode, &d, n_done);
    if (done) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += done[i] = weft_future_done(fs[i]);
        /* One snapshot for both outputs: more may have completed since the
         * count, never fewer. */
        if (n_done && k > *n_done)
            *n_done = k;
    }
    return rc;
}

/* ---- as_completed ----
 *
 * Each distinct future gets a done-callback that appends its node number to
 * `ready` (a slot claimed by a fetch_add on `tail`, then written) and notifies
 * the iterator's eventcount; next() reads the slots in order. Setting up is
 * O(n) (duplicates found by a hash table of addresses), each next() O(1) when
 * the caller sleeps. A caller that is one of the pool's tasks must help the
 * pool instead of sleeping (or a one-worker pool could never run what it
 * waits for): it waits through weft__wait_many on the futures not yet
 * yielded, kept in a compact array with O(1) removal.
 *
 * Lifetime: the callbacks may run after the caller freed the iterator (a
 * future still running then), so the block is reference-counted: one
 * reference for the caller, one per callback not yet run.
 */

struct as_node {
    weft_as_completed *it;
    size_t index; /* first position of this future in the caller's array */
};

struct weft_as_completed {
    uint32_t refs;              /* caller + callbacks not yet run; last frees */
    weft__ec ec;                /* next() sleeps here; callbacks notify */
    weft__deadline deadline;
    weft_future *const *fs;     /* the caller's array, borrowed */
    size_t m;                   /* distinct futures */
    size_t head;                /* next ready slot to read (caller only) */
    size_t tail;                /* next ready slot to claim (fetch_add) */
    size_t *ready;              /* m slots: node + 1 once written, else 0 */
    struct as_node *nodes;      /* m */
    weft_future **left;         /* futures not yet yielded: left[0..nleft) */
    size_t *left_node;          /* node of left[i] */
    size_t *where;              /* position in left of each node */
    size_t nleft;
};

static void as_unref(weft_as_completed *it)
{
    /* Acq_rel: every callback's writes happen before the free. */
    if (__atomic_fetch_sub(&it->refs, 1, __ATOMIC_ACQ_REL) == 1)
        free(it);
}

static void as_done(weft_future *f, void *arg)
{
    (void)f;
    struct as_node *nd = arg;
    weft_as_completed *it = nd->it;
    /* Relaxed: only hands out distinct slots; the slot's store publishes. */
    size_t slot = __atomic_fetch_add(&it->tail, 1, __ATOMIC_RELAXED);
    /* seq_cst (hence release): publishes the node to next()'s acquire load,
     * and orders before the notify's RMW for the eventcount argument. */
    __atomic_store_n(&it->ready[slot], (size_t)(nd - it->nodes) + 1, __ATOMIC_SEQ_CST);
    weft__ec_notify_all(&it->ec, false);
    as_unref(it);
}

static size_t hash_ptr(const void *p, size_t mask)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & mask;
}

WEFT_API int weft_as_completed_new(weft_as_completed **out, weft_future *const *fs, size_t n,
                                   double timeout)
{
    if (!out || (!fs && n))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return -EINVAL;
    if (n > SIZE_MAX / 64 || n >= UINT32_MAX)
        return -ENOMEM;
    /* As Python's set(fs): each future is yielded once, under its first index. */
    size_t cap = 2;
    while (cap < 2 * n)
        cap *= 2;
    weft_future **table = calloc(cap, sizeof *table);
    size_t *first = malloc((n ? n : 1) * sizeof *first);
    if (!table || !first) {
        free(table);
        free(first);
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t h = hash_ptr(fs[i], cap - 1);
        while (table[h] && table[h] != fs[i])
            h = (h + 1) & (cap - 1);
        if (!table[h]) {
            table[h] = fs[i];
            first[m++] = i;
        }
    }
    free(table);
    size_t k = m ? m : 1;
    weft_as_completed *it = malloc(sizeof *it + k * (3 * sizeof(size_t) + sizeof(struct as_node) +
                                                     sizeof(weft_future *)));
    if (!it) {
        free(first);
        return -ENOMEM;
    }
    it->nodes = (struct as_node *)(it + 1);
    it->left = (weft_future **)(it->nodes + k);
    it->ready = (size_t *)(it->left + k);
    it->left_node = it->ready + k;
    it->where = it->left_node + k;
    /* One reference for the caller, one per callback to come. Plain: nothing
     * is shared yet (add_done_callback publishes the block to completers). */
    it->refs = (uint32_t)(1 + m);
    it->ec.word = 0;
    it->deadline = weft__deadline_in(timeout);
    it->fs = fs;
    it->m = m;
    it->head = 0;
    it->tail = 0;
    it->nleft = m;
    for (size_t j = 0; j < m; j++) {
        it->nodes[j] = (struct as_node){it, first[j]};
        it->ready[j] = 0;
        it->left[j] = fs[first[j]];
        it->left_node[j] = j;
        it->where[j] = j;
    }
    free(first);
    for (size_t j = 0; j < m; j++) {
        int rc = weft_future_add_done_callback(it->left[j], as_done, &it->nodes[j]);
        if (rc) {
            /* Callbacks registered so far stay (they cannot be removed) and
             * keep the block alive; drop the references of the others, then
             * the caller's. Relaxed: only the count; as_unref's acq_rel
             * orders the free. */
            __atomic_fetch_sub(&it->refs, (uint32_t)(m - j), __ATOMIC_RELAXED);
            as_unref(it);
            return rc;
        }
    }
    *out = it;
    return 0;
}

WEFT_API int weft_as_completed_next(weft_as_completed *it, weft_future **f, size_t *index)
{
    if (!it || !f)
        return -EINVAL;
    for (;;) {
        if (it->head == it->m)
            return -ENOENT;
        /* Acquire: pairs with as_done's store; the future is done. */
        size_t v = __atomic_load_n(&it->ready[it->head], __ATOMIC_ACQUIRE);
        if (v) {
            size_t node = v - 1, pos = it->where[node], last = --it->nleft;
            it->left[pos] = it->left[last];
            it->left_node[pos] = it->left_node[last];
            it->where[it->left_node[pos]] = pos;
            it->head++;
            *f = it->fs[it->nodes[node].index];
            if (index)
                *index = it->nodes[node].index;
            return 0;
        }
        if (weft__frame_current()) {
            /* Maybe a task: wait (helping if so) for one of the rest. A
             * future done but whose callback has not written its slot yet
             * makes this return at once: the loop spins that short while. */
            int rc = weft__wait_many(it->left, it->nleft, WEFT_FIRST_COMPLETED, &it->deadline,
                                     NULL);
            if (rc)
                return rc;
            continue;
        }
        if (it->deadline.nonblock)
            return -ETIMEDOUT;
        if (any_orphaned(it->left, it->nleft))
            return -ECHILD;
        uint32_t key = weft__ec_prepare(&it->ec);
        /* seq_cst: the waiter's re-check after prepare (eventcount.h). */
        if (__atomic_load_n(&it->ready[it->head], __ATOMIC_SEQ_CST))
            continue;
        if (weft__ec_wait(&it->ec, key, &it->deadline, false) == -ETIMEDOUT &&
            !__atomic_load_n(&it->ready[it->head], __ATOMIC_ACQUIRE)) /* as above */
            return -ETIMEDOUT;
    }
}

WEFT_API void weft_as_completed_free(weft_as_completed *it)
{
    if (it)
        as_unref(it);
}
