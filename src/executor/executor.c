/*
 * The pool: creation, lazy workers, submission, the worker loop, the search for
 * work, shutdown.
 *
 * Where tasks go. A task submitted by one of the pool's workers goes on that
 * worker's deque (LIFO for the owner, stolen oldest-first); any other submission
 * goes through the injection queue (inject.c). A worker whose deque is empty
 * takes up to EXECUTOR_BATCH injected tasks at a time (so the lines submitters
 * write are visited once per batch, not once per task) and pushes all but the
 * first on its deque in order; deque positions below `batch_end` hold such
 * tasks, and the owner takes those from the top, oldest first, as thieves do,
 * while it still pops its own submissions (above batch_end) newest first.
 * Python starts tasks in submission order; so that the batches keep that
 * order, a worker looks in its own deque, then steals from the others
 * (starting at a random victim; injected tasks sitting in deques are older
 * than anything still in the injection queue), then looks in the injection
 * queue. A searcher reads the injection queue's batch count before it looks
 * in the deques, and takes from the injection queue only if no batch moved to
 * a deque since (checked under the injection lock; otherwise it reports
 * "busy" and searches again): so it never starts a newer injected task while
 * an older one sits in a deque it has not looked at. One search in 61 leaves
 * the worker's own submissions for last when the injection queue looks
 * non-empty, so that outside work is not starved by recursive work.
 *
 * Sleeping without losing wake-ups. An idle worker searches, yields a while,
 * then prepares the pool's eventcount, searches again strictly (taking the
 * injection lock, every deque) and only then sleeps. Every producer of work
 * makes its item visible with a seq_cst write (the deque's bottom store, the
 * injection queue's head exchange) and then calls weft__pool_wake, which loads
 * the eventcount word with seq_cst and calls notify only when the sleeper bit is
 * set. The sleeper's prepare is a seq_cst RMW and its strict search uses seq_cst
 * loads of the same words (deque.c and inject.c give the details).
 * In the single order S of seq_cst operations, either the producer's load comes
 * after the prepare (it sees the bit - or a later counter - and wakes the
 * sleeper) or before it, and then the producer's store precedes the sleeper's
 * load, which finds the item. A worker that is busy costs a producer one plain
 * load of a line nobody writes.
 *
 * Shutdown without a lock on the submit path. An outside submitter first pushes
 * (the head exchange, seq_cst) and then reads `closed` (seq_cst load). Shutdown
 * sets `closed` (seq_cst RMW); a worker exits only after reading `closed` set
 * (seq_cst) and then finding nothing in a strict search (whose head load is
 * seq_cst). If the submitter read `closed` clear, its read precedes the close in
 * the single order S, so its push precedes every exiting worker's search, which
 * finds it: the task runs. If it read `closed` set, the task may have landed
 * after the last worker left: the submitter cancels its own future (if no
 * worker started it meanwhile) and reports -WEFT_ESHUTDOWN; a cancelled node
 * left in the queue is released by whoever dequeues it, at the latest
 * weft_executor_free. A worker's own deque only receives its own pushes, so
 * tasks submitted from inside tasks are still run by their submitter.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor/executor_internal.h"
#include "internal/forkgen.h"

/* Idle search rounds (each a search and a yield of the CPU) before sleeping;
 * see worker_main. */
#ifndef EXECUTOR_SPINS
#define EXECUTOR_SPINS 64
#endif
/* How many injected tasks a worker takes per visit of the injection queue. */
#ifndef EXECUTOR_BATCH
#define EXECUTOR_BATCH 32
#endif
/* Which future of its batch a worker prefetches when it takes one: this many
 * places on (0: none). */
#ifndef EXECUTOR_PREFETCH
#define EXECUTOR_PREFETCH 2
#endif
#define EXECUTOR_MAX_WORKERS 65536

static __thread struct weft__worker *tls_worker; /* the calling worker, if any */
static __thread uint32_t tls_rng;                /* victim choice for non-workers */
static unsigned pool_counter;                    /* default name prefixes */

static uint32_t next_rand(uint32_t *s)
{
    /* xorshift32; never 0 once seeded non-zero. */
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static unsigned cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* ---- waking ---- */

void weft__pool_wake(weft_executor *ex)
{
    /* seq_cst load: the producer's half of the argument in the file comment
     * (eventcount.h's notify does an RMW instead; the load is what keeps a busy
     * pool free of shared writes). Reads the eventcount's word directly. */
    if (__atomic_load_n(&ex->ec.word, __ATOMIC_SEQ_CST) & 1u)
        weft__ec_notify_all(&ex->ec, false);
}

/* ---- searching ---- */

/* From the injection queue, if no batch moved to a deque since the caller
 * read gen (before it looked in the deques: see the file comment). A worker
 * whose deque is empty takes up to EXECUTOR_BATCH of the oldest tasks: it runs
 * the first, and the others are pushed on its deque in order, under the
 * injection lock (the oldest at the top, taken first by everyone), and marked
 * with batch_end. A searcher that took the lock after that sees a new batch
 * count and searches the deques again; one asleep since before is woken by the
 * eventcount check after the pushes (seq_cst stores), as for any producer. */
static weft_future *inject_take(weft_executor *ex, struct weft__worker *w, uint32_t gen,
                                bool strict, bool *maybe)
{
    if (!w || weft__deque_size_any(&w->deque) != 0)
        return weft__inject_take(&ex->inject, strict, maybe, &gen, NULL, 1);
    /* Relaxed: only the owner writes bottom. */
    int64_t b0 = __atomic_load_n(&w->deque.bottom, __ATOMIC_RELAXED);
    weft_future *f =
        weft__inject_take(&ex->inject, strict, maybe, &gen, &w->deque, EXECUTOR_BATCH);
    int64_t b1 = __atomic_load_n(&w->deque.bottom, __ATOMIC_RELAXED);
    if (b1 != b0) {
        w->batch_end = b1;
        weft__pool_wake(ex);
    }
    return f;
}

/* The oldest task of the worker's own deque (an injected one while any is
 * left), or NULL. A lost race means another thread took one: try again. */
static weft_future *take_oldest_own(struct weft__worker *w)
{
    for (;;) {
        bool contended = false;
        weft_future *f = weft__deque_steal_any(&w->deque, &contended);
        if (f || !contended) {
            /* The next ones were written by their submitter: fetch them owned
             * now (the start CAS writes them), so their transfers overlap
             * this task instead of stalling the next (a hint only). */
            weft_future *g;
            if (f && EXECUTOR_PREFETCH > 0 &&
                (g = weft__deque_peek_any(&w->deque, EXECUTOR_PREFETCH - 1)))
                weft__prefetch_write(g);
            return f;
        }
    }
}

weft_future *weft__pop_own_newest(weft_executor *ex)
{
    struct weft__worker *w = tls_worker;
    if (!w || w->ex != ex)
        return NULL;
    /* Relaxed: only the owner writes bottom. Above batch_end are the worker's
     * own pushes (never a batch of injected tasks, taken oldest first). */
    if (__atomic_load_n(&w->deque.bottom, __ATOMIC_RELAXED) > w->batch_end)
        return weft__deque_pop_owner(&w->deque);
    return NULL;
}

weft_future *weft__find_work(weft_executor *ex, bool strict, bool *maybe)
{
    struct weft__worker *w = tls_worker;
    if (w && w->ex != ex)
        w = NULL;
    weft_future *f;
    uint32_t *rng = &tls_rng;
    /* Acquire: pairs with the release that counted the last batch; its pushes
     * are visible to the deque loads below. */
    uint32_t gen = __atomic_load_n(&ex->inject.batches, __ATOMIC_ACQUIRE);
    bool outside_first = false;
    if (w) {
        rng = &w->rng;
        /* Relaxed: only the owner writes bottom. */
        int64_t bottom = __atomic_load_n(&w->deque.bottom, __ATOMIC_RELAXED);
        /* One search in 61 leaves the worker's own submissions for last when
         * outside work is queued. */
        outside_first = ++w->ticks % 61 == 0 && weft__inject_nonempty(&ex->inject);
        if (!outside_first && bottom > w->batch_end && (f = weft__deque_pop_owner(&w->deque)))
            return f;
        /* Relaxed: a snapshot; the take settles it. */
        if ((bottom <= w->batch_end ||
             __atomic_load_n(&w->deque.top, __ATOMIC_RELAXED) < w->batch_end) &&
            (f = take_oldest_own(w)))
            return f;
    }
    /* Acquire: pairs with the spawner's release; those deques are initialised.
     * A worker counts at least itself and the workers started before it: the
     * spawner publishes n_started only after the thread starts, and a worker
     * that missed its predecessors' deques would take a newer task from the
     * injection queue while an older one waits in a batch there. Their deques
     * were initialised before this thread was created (under spawn_lock). */
    unsigned n = __atomic_load_n(&ex->n_started, __ATOMIC_ACQUIRE);
    if (w && n <= w->index)
        n = w->index + 1;
    if (n > 1 || (n == 1 && !w)) {
        unsigned start = next_rand(rng) % n;
        for (unsigned i = 0; i < n; i++) {
            unsigned v = start + i < n ? start + i : start + i - n;
            if (w && v == w->index)
                continue;
            if ((f = weft__deque_steal_any(&ex->workers[v].deque, maybe)))
                return f;
        }
    }
    if ((f = inject_take(ex, w, gen, strict, maybe)))
        return f;
    if (outside_first && (f = weft__deque_pop_owner(&w->deque)))
        return f;
    return NULL;
}

/* ---- workers ---- */

/* Take one idle token if there is one. Relaxed CAS: a count, nothing published. */
static bool take_idle_token(weft_executor *ex)
{
    uint32_t n = __atomic_load_n(&ex->idle_tokens, __ATOMIC_RELAXED);
    while (n > 0)
        if (__atomic_compare_exchange_n(&ex->idle_tokens, &n, n - 1, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return true;
    return false;
}

static void break_pool(weft_executor *ex, int code)
{
    int zero = 0;
    /* Relaxed CAS: the first code wins; readers only need the value itself
     * (the futures they fail carry it, published by their own state CAS). */
    __atomic_compare_exchange_n(&ex->broken, &zero, code, false, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
    struct weft__worker *w = arg;
    weft_executor *ex = w->ex;
    tls_worker = w;
    if (ex->initializer) {
        int rc = ex->initializer(ex->initarg);
        /* A failed worker stays in the loop below: it runs no task, but fails
         * every one it dequeues (weft__future_run sees the pool broken), so no
         * future submitted in the race with breaking stays pending. */
        if (rc)
            break_pool(ex, rc < 0 ? rc : -EIO);
    }
    unsigned idle = 0;
    for (;;) {
        bool maybe = false;
        weft_future *f = weft__find_work(ex, false, &maybe);
        if (f) {
            weft__future_run(f);
            idle = 0;
            continue;
        }
        /* Idle: yield between searches rather than spin. When the pool's
         * threads and their submitters outnumber the free cores, the CPU goes
         * to a thread with work - often the submitter this worker waits for -
         * instead of being burnt here (threadpool_empty_tasks_2workers on 2
         * busy cores: 10.8 -> 19.6 M tasks/s); on an idle core a yield is a
         * short system call, which also spaces the worker's looks at the
         * injection queue's ends so a few submissions gather between them. */
        if (maybe || idle < EXECUTOR_SPINS) {
            idle++;
            sched_yield();
            continue;
        }
        uint32_t key = weft__ec_prepare(&ex->ec);
        /* seq_cst: read before the strict search; see the file comment. */
        uint32_t closed = __atomic_load_n(&ex->closed, __ATOMIC_SEQ_CST);
        maybe = false;
        f = weft__find_work(ex, true, &maybe);
        if (!f && !maybe && closed)
            break;
        if (!f && !maybe) {
            /* Idle now - nothing queued at the strict search - and only now
             * counted so (Python releases its idle semaphore at the same point,
             * after get_nowait() found the queue empty): a worker about to take
             * queued work never holds a token a submitter could count on. A
             * submission between the search and this add finds no token and
             * starts a worker, as in Python. Relaxed: a count; the eventcount,
             * not the token, guarantees the wake-up. */
            __atomic_fetch_add(&ex->idle_tokens, 1, __ATOMIC_RELAXED);
            weft__deadline forever = {.forever = true};
            weft__ec_wait(&ex->ec, key, &forever, false);
            take_idle_token(ex); /* ours back, unless a submission claimed it */
        }
        if (f) {
            weft__future_run(f);
            idle = 0;
        } else {
            idle = EXECUTOR_SPINS / 2; /* woken: search a while before sleeping again */
        }
    }
    tls_worker = NULL;
    return NULL;
}

/* Start one more worker unless there are enough (max_workers, or - first_only
 * - any), the pool is closed or broken. Returns 0 (started or not needed) or
 * the thread's start error; *started (if not NULL) says whether this call
 * started one. */
static int spawn_one(weft_executor *ex, bool first_only, bool *started)
{
    weft_lock_acquire(&ex->spawn_lock, WEFT_FOREVER);
    int rc = 0;
    if (started)
        *started = false;
    /* Relaxed: n_started is written only under this lock. */
    unsigned n = __atomic_load_n(&ex->n_started, __ATOMIC_RELAXED);
    if (n >= ex->max_workers || (first_only && n > 0) ||
        __atomic_load_n(&ex->closed, __ATOMIC_RELAXED) ||
        __atomic_load_n(&ex->broken, __ATOMIC_RELAXED))
        goto out;
    struct weft__worker *w = &ex->workers[n];
    rc = weft__deque_init(&w->deque);
    if (rc)
        goto out;
    w->ex = ex;
    w->index = n;
    w->rng = (n + 1) * 2654435761u;
    w->ticks = 0;
    w->batch_end = 0;
    char name[WEFT_THREAD_NAME_MAX];
    snprintf(name, sizeof name, "%s_%u", ex->prefix, n);
    /* Daemon: a pool nobody shut down must not hold up the process's exit. */
    rc = weft_thread_start(&w->thread, worker_main, w,
                           &(weft_thread_opts){.name = name, .daemon = true});
    if (rc) {
        weft__deque_destroy(&w->deque);
        goto out;
    }
    /* Release: the deque is initialised before thieves index it. The new worker
     * may push before this; its own tasks are run by itself meanwhile. */
    __atomic_store_n(&ex->n_started, n + 1, __ATOMIC_RELEASE);
    if (started)
        *started = true;
out:
    weft_lock_release(&ex->spawn_lock);
    return rc;
}

/* Python's rule (_adjust_thread_count): after queueing its task, a submission
 * starts a worker iff it cannot claim an idle worker and fewer than
 * max_workers exist. As Python's idle semaphore, a submission claims an idle
 * worker's token, so two submissions never count on the same sleeper (each
 * claimed sleeper is woken by the push and searches). Relaxed load: a hint
 * (spawn_one re-checks under its lock); n_started is read-mostly once the
 * pool is up. */
static void maybe_spawn(weft_executor *ex)
{
    if (__atomic_load_n(&ex->n_started, __ATOMIC_RELAXED) < ex->max_workers &&
        !take_idle_token(ex))
        spawn_one(ex, false, NULL);
}

/* ---- creation ---- */

WEFT_API int weft_executor_new(weft_executor **out, const weft_executor_opts *opts)
{
    if (!out)
        return -EINVAL;
    weft_executor_opts o = opts ? *opts : (weft_executor_opts){0};
    unsigned max = o.max_workers ? o.max_workers : cpus_available();
    if (max > EXECUTOR_MAX_WORKERS)
        return -EINVAL;
    weft_executor *ex = aligned_alloc(WEFT__CACHELINE, sizeof *ex);
    if (!ex)
        return -ENOMEM;
    memset(ex, 0, sizeof *ex);
    ex->fork_gen = weft__fork_generation();
    size_t wsize = ((size_t)max * sizeof(struct weft__worker) + WEFT__CACHELINE - 1) /
                   WEFT__CACHELINE * WEFT__CACHELINE;
    ex->workers = aligned_alloc(WEFT__CACHELINE, wsize);
    if (!ex->workers) {
        free(ex);
        return -ENOMEM;
    }
    memset(ex->workers, 0, wsize);
    weft__inject_init(&ex->inject);
    weft_lock_init(&ex->spawn_lock, "weft_executor.spawn");
    ex->max_workers = max;
    ex->initializer = o.initializer;
    ex->initarg = o.initarg;
    if (o.thread_name_prefix)
        snprintf(ex->prefix, sizeof ex->prefix, "%s", o.thread_name_prefix);
    else
        snprintf(ex->prefix, sizeof ex->prefix, "ThreadPoolExecutor-%u",
                 /* Relaxed: only distinct numbers are needed. */
                 __atomic_fetch_add(&pool_counter, 1, __ATOMIC_RELAXED));
    *out = ex;
    return 0;
}

WEFT_API unsigned weft_executor_workers(const weft_executor *ex)
{
    return ex ? __atomic_load_n(&ex->n_started, __ATOMIC_ACQUIRE) : 0;
}

/* ---- submission ---- */

/* The future for a submission: proto's task, and internal tasks (job set) get
 * the future itself as their argument. Stored in *out before the push: with no
 * out reference the future may be run and freed as soon as it is queued. */
static weft_future *make_future(weft_executor *ex, const weft_future *proto, weft_future **out)
{
    weft_future *f = weft__future_new(ex, proto->fn, proto->arg, out ? 2 : 1);
    if (!f)
        return NULL;
    if (proto->job) {
        f->arg = f;
        f->job = proto->job;
        f->job_free = proto->job_free;
        f->lo = proto->lo;
        f->hi = proto->hi;
    }
    if (out)
        *out = f;
    return f;
}

static int submit(weft_executor *ex, const weft_future *proto, weft_future **out)
{
    struct weft__worker *w = tls_worker;
    weft_future *f;
    if (ex->fork_gen != weft__fork_generation())
        return -ECHILD; /* inherited through fork(): its workers are not here */
    /* Relaxed: an early answer; the outside path below re-checks after its
     * push, and a worker runs its own pushes before it exits. */
    if (__atomic_load_n(&ex->closed, __ATOMIC_RELAXED))
        return -WEFT_ESHUTDOWN;
    int rc = __atomic_load_n(&ex->broken, __ATOMIC_RELAXED);
    if (rc)
        return rc;
    if (w && w->ex == ex) {
        /* From one of our workers: its own deque. */
        if (!(f = make_future(ex, proto, out)))
            return -ENOMEM;
        if (weft__deque_push_owner(&w->deque, f))
            weft__inject_push(&ex->inject, f); /* no memory to grow: we still find it */
        maybe_spawn(ex);
        weft__pool_wake(ex);
        return 0;
    }
    /* The first worker is started before anything is queued, so a failure to
     * start it leaves nothing stranded; it is this submission's worker (the
     * rule's start), so maybe_spawn is skipped. Relaxed: re-checked under the
     * lock. */
    bool started = false;
    if (__atomic_load_n(&ex->n_started, __ATOMIC_RELAXED) == 0) {
        rc = spawn_one(ex, true, &started);
        if (!rc && __atomic_load_n(&ex->n_started, __ATOMIC_RELAXED) == 0)
            rc = __atomic_load_n(&ex->broken, __ATOMIC_RELAXED) ?: -WEFT_ESHUTDOWN;
        if (rc)
            return rc;
    }
    /* From outside: the injection queue, then the shutdown check (see the file
     * comment). f holds an extra reference until the check is done, as the
     * caller's may be absent (out NULL) and a worker may finish f at once. */
    weft_future *mine = NULL;
    if (!(f = make_future(ex, proto, &mine)))
        return -ENOMEM;
    weft__inject_push(&ex->inject, f);
    /* seq_cst: ordered after the push's exchange; see the file comment. */
    if (__atomic_load_n(&ex->closed, __ATOMIC_SEQ_CST) && weft_future_cancel(f)) {
        /* Too late: nobody may be left to run it. The pool's reference stays
         * with the node in the queue. */
        weft__future_unref(f);
        return -WEFT_ESHUTDOWN;
    }
    if (!started)
        maybe_spawn(ex);
    else
        /* The worker we started may have gone idle before the push and
         * offered a token: it is this submission's worker (Python starts it
         * after queueing, so it never counts as idle), and the next
         * submission must not count on it. */
        take_idle_token(ex);
    weft__pool_wake(ex);
    if (out)
        *out = f;
    else
        weft__future_unref(f);
    return 0;
}

WEFT_API int weft_executor_submit(weft_executor *ex, void *(*fn)(void *arg), void *arg,
                                  weft_future **out)
{
    if (!ex || !fn)
        return -EINVAL;
    /* Only the fields make_future reads: a full initialiser zeroes the whole
     * future with a `rep stos`, a measurable part of a submission. */
    weft_future proto;
    proto.fn = fn;
    proto.arg = arg;
    proto.job = NULL;
    return submit(ex, &proto, out);
}

int weft__submit_internal(weft_executor *ex, void *(*fn)(void *), void *job,
                          void (*job_free)(void *), long lo, long hi, weft_future **out)
{
    weft_future proto = {.fn = fn, .arg = NULL, .job = job, .job_free = job_free,
                         .lo = lo, .hi = hi};
    return submit(ex, &proto, out);
}

/* ---- shutdown ---- */

/* Whether the caller is one of ex's tasks, or one of its workers (a
 * done-callback runs there outside any task): it cannot wait for the pool. */
static bool on_own_thread(const weft_executor *ex)
{
    return weft__in_task_of(ex) || (tls_worker && tls_worker->ex == ex);
}

static void cancel_dequeued(weft_future *f)
{
    /* The shutdown caller keeps the pool alive: it may wake helpers. */
    if (!weft__future_cancel_pending(f, true) &&
        (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) & F_HELPER))
        weft__ec_notify_all(&f->ex->ec, false); /* cancelled by a user meanwhile */
    weft__future_unref(f);
}

/* Cancel every queued task: empty the injection queue and steal every deque. */
static void drain_cancel(weft_executor *ex)
{
    for (;;) {
        bool busy = false;
        weft_future *f = weft__inject_pop(&ex->inject, true, &busy);
        if (f)
            cancel_dequeued(f);
        else if (busy)
            sched_yield();
        else
            break;
    }
    unsigned n = __atomic_load_n(&ex->n_started, __ATOMIC_ACQUIRE);
    for (unsigned v = 0; v < n; v++) {
        for (;;) {
            bool contended = false;
            weft_future *f = weft__deque_steal_any(&ex->workers[v].deque, &contended);
            if (f)
                cancel_dequeued(f);
            else if (!contended)
                break;
        }
    }
}

WEFT_API int weft_executor_shutdown(weft_executor *ex, bool wait, bool cancel_futures)
{
    if (!ex)
        return -EINVAL;
    if (ex->fork_gen != weft__fork_generation())
        return -ECHILD; /* inherited through fork(): leave the parent's copy alone */
    if (wait && on_own_thread(ex))
        return -EDEADLK;
    if (cancel_futures)
        /* Relaxed: workers read it per task; a task dequeued just before runs. */
        __atomic_store_n(&ex->cancelling, 1, __ATOMIC_RELAXED);
    /* seq_cst: see the file comment. */
    __atomic_exchange_n(&ex->closed, 1, __ATOMIC_SEQ_CST);
    if (cancel_futures)
        drain_cancel(ex);
    /* Idle workers wake, see the pool closed and nothing to do, and exit. */
    weft__ec_notify_all(&ex->ec, false);
    if (wait) {
        weft_lock_acquire(&ex->spawn_lock, WEFT_FOREVER);
        /* Under the lock: no spawn is half done; none starts after the close. */
        unsigned n = __atomic_load_n(&ex->n_started, __ATOMIC_RELAXED);
        weft_lock_release(&ex->spawn_lock);
        for (unsigned i = 0; i < n; i++)
            weft_thread_join(ex->workers[i].thread, WEFT_FOREVER, NULL);
    }
    return 0;
}

WEFT_API void weft_executor_free(weft_executor *ex)
{
    if (!ex)
        return;
    /* Inherited through fork(): its locks and queues may be mid-update by
     * threads that are not here, so touch nothing; the copy stays allocated. */
    if (ex->fork_gen != weft__fork_generation())
        return;
    if (on_own_thread(ex)) {
        /* Cannot wait for ourselves: shut down and leave the pool allocated
         * rather than deadlock (documented as a caller's mistake). */
        weft_executor_shutdown(ex, false, false);
        return;
    }
    weft_executor_shutdown(ex, true, false);
    /* Nodes of submissions that lost the race with shutdown (cancelled by
     * their submitters) may remain: release the pool's references. */
    drain_cancel(ex);
    unsigned n = __atomic_load_n(&ex->n_started, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++) {
        weft_thread_free(ex->workers[i].thread);
        weft__deque_destroy(&ex->workers[i].deque);
    }
    weft_lock_destroy(&ex->spawn_lock);
    free(ex->workers);
    free(ex);
}
