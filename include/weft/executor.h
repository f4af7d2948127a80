/*
 * weft/executor.h - Python's concurrent.futures.ThreadPoolExecutor, Future,
 * wait() and as_completed(), in C, on a work-stealing pool.
 *
 *     weft_executor *ex;
 *     weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 4});
 *     weft_future *f;
 *     weft_executor_submit(ex, download, "a.zip", &f);
 *     void *result;
 *     int rc = weft_future_result(f, WEFT_FOREVER, &result);
 *     weft_future_free(f);
 *     weft_executor_free(ex);           // the end of Python's `with` block
 *
 * Tasks are `void *fn(void *arg)`. A task reports failure - Python's exception -
 * by calling weft_task_fail(code, fmt, ...) before it returns; the future then
 * carries the code and message instead of a result.
 *
 * Workers start lazily, by Python's rule: a submission starts one worker iff
 * it cannot claim an idle one (each idle worker is claimed by one submission at
 * most) and fewer than max_workers exist. Each worker keeps its own deque of tasks: tasks submitted from
 * inside a task go to that worker's deque (last in, first out, for locality), and
 * idle workers steal from the others (oldest first). Idle workers sleep; an idle
 * pool uses no CPU. A task may wait on futures of tasks it submitted: while it
 * waits, its thread runs the awaited tasks that have not started yet, then other
 * queued tasks, so recursive divide-and-conquer never deadlocks the pool.
 *
 * Nesting limit. Tasks run inside a wait run on the waiting thread's stack, so
 * the library bounds how deep they nest: at most WEFT_EXECUTOR_NEST_MAX task
 * frames on any thread (each costs the task's own stack frame plus about 1 KiB);
 * a wait at that depth runs nothing and only sleeps. A chain of nested waits
 * (each task waiting on the next) deeper than that continues on other workers;
 * one longer than about max_workers x WEFT_EXECUTOR_NEST_MAX cannot fit in the
 * pool's stacks and waits forever - as every such chain longer than
 * max_workers does in Python, whose workers never help.
 *
 * Thread-safety: every call may be made from any thread, including from tasks
 * and done-callbacks, unless it says otherwise.
 *
 * Fork: a pool's workers do not exist in a child created by fork(), so a pool
 * inherited that way is dead there: make a new pool in the child. In the child,
 * weft_executor_submit and weft_executor_shutdown refuse the inherited pool with
 * -ECHILD; weft_executor_free returns without touching it (its copy stays
 * allocated: threads of the parent may have been half-way through updating it);
 * waiting for one of its futures that was not done at the fork (result, wait,
 * as_completed) returns -ECHILD instead of waiting forever, once the caller
 * would otherwise sleep. Futures done before the fork still give their outcome.
 * The parent's pool is unaffected.
 */
#ifndef WEFT_EXECUTOR_H
#define WEFT_EXECUTOR_H

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_executor weft_executor;
typedef struct weft_future weft_future;

/* Codes beside 0 and the usual -EINVAL/-ENOMEM/-ETIMEDOUT:
 *   -WEFT_ECANCELLED  the future was cancelled (Python's CancelledError)
 *   -WEFT_ESHUTDOWN   submit after shutdown (Python's RuntimeError); see queue.h */
#define WEFT_ECANCELLED ECANCELED

/* Most task frames nested on one thread by helping waits (see above). */
#define WEFT_EXECUTOR_NEST_MAX 256

typedef struct weft_executor_opts {
    /* Most worker threads; 0 means the number of CPUs the process may use
     * (weft's main use is CPU-bound work). Python's default, min(32, cpus + 4),
     * suits pools that mostly wait on I/O: pass it explicitly, e.g.
     * .max_workers = cpus + 4 < 32 ? cpus + 4 : 32 with cpus from
     * sysconf(_SC_NPROCESSORS_ONLN). */
    unsigned max_workers;
    /* Worker names are "<prefix>_N" (Python's "ThreadPoolExecutor-0_N" when NULL). */
    const char *thread_name_prefix;
    /* Run once in each worker before its first task; a non-zero return (a
     * negative errno) breaks the pool: pending and later futures fail with it
     * (Python's BrokenThreadPool). */
    int (*initializer)(void *arg);
    void *initarg;
} weft_executor_opts;

/* Make a pool (no threads yet). opts may be NULL. Returns 0, -EINVAL, -ENOMEM. */
WEFT_API int weft_executor_new(weft_executor **out, const weft_executor_opts *opts);

/*
 * Schedule fn(arg) and store a new future in *out (a reference the caller must
 * release with weft_future_free; out may be NULL to fire and forget). Returns 0,
 * -EINVAL (ex or fn NULL), -WEFT_ESHUTDOWN (after shutdown), -ENOMEM, -ECHILD (a
 * pool inherited through fork(); see the top), or the initializer's code once the
 * pool is broken. Never blocks.
 */
WEFT_API int weft_executor_submit(weft_executor *ex, void *(*fn)(void *arg), void *arg,
                                  weft_future **out);

/*
 * Python's shutdown(wait, cancel_futures): refuse new submissions; with
 * cancel_futures, cancel every task not yet started; with wait, return only when
 * all running and queued tasks are done and the workers have exited. Returns 0,
 * -EINVAL, -EDEADLK (wait requested from one of the pool's own tasks, or from a
 * done-callback running on one of its workers: no worker can wait for itself),
 * -ECHILD (a pool inherited through fork(): see the top).
 */
WEFT_API int weft_executor_shutdown(weft_executor *ex, bool wait, bool cancel_futures);

/* shutdown(wait=true, cancel_futures=false), then free the pool. Futures stay
 * valid (they are reference-counted). NULL is ignored. Must not be called from
 * one of the pool's own tasks or from a done-callback running on one of its
 * workers (it then only shuts the pool down, leaving it allocated). */
WEFT_API void weft_executor_free(weft_executor *ex);

/* Number of worker threads started so far. */
WEFT_API unsigned weft_executor_workers(const weft_executor *ex);

/* ---------------------------------------------------------------------------
 * Tasks report failure.
 */

/* Mark the calling task failed with code (a negative errno; 0 or positive values
 * are turned into -EIO) and a printf-style message (may be NULL), kept up to 255
 * bytes. The task should return right after; its return value is ignored. Outside
 * a task this does nothing and returns -EINVAL; otherwise 0. */
WEFT_API int weft_task_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------------
 * Futures. States: pending -> running -> finished (result or failure), or
 * pending -> cancelled.
 */

/* Wait up to timeout for the outcome. Returns 0 and stores the task's return
 * value in *result (if not NULL); or the task's failure code (weft_task_fail);
 * -WEFT_ECANCELLED; -ETIMEDOUT; -EINVAL; -ECHILD (in a fork child, f belongs
 * to a pool inherited from the parent and is not done: see the top). Called
 * from a task of the same pool, runs other queued tasks while it waits. */
WEFT_API int weft_future_result(weft_future *f, double timeout, void **result);

/* The failure message of a failed task ("" otherwise); valid while f is held. */
WEFT_API const char *weft_future_error(const weft_future *f);

/* Python's done(), running(), cancelled(). Never block. */
WEFT_API bool weft_future_done(const weft_future *f);
WEFT_API bool weft_future_running(const weft_future *f);
WEFT_API bool weft_future_cancelled(const weft_future *f);

/* Cancel if still pending: true if it is now cancelled (also if it already
 * was), false if it is running or finished (as Python's cancel()). Runs the
 * done-callbacks when it cancels. */
WEFT_API bool weft_future_cancel(weft_future *f);

/* Call fn(f, arg) once f is done (finished or cancelled) - at once, in the
 * caller, if it already is; otherwise in the thread that completes it, often
 * a worker of the pool. Returns 0, -EINVAL, -ENOMEM. A callback may submit
 * work and free other futures; it must not free f (the caller of the callback
 * holds it), and must not call weft_executor_free or weft_executor_shutdown
 * with wait on f's pool (a worker cannot wait for itself: -EDEADLK). */
WEFT_API int weft_future_add_done_callback(weft_future *f, void (*fn)(weft_future *f, void *arg),
                                           void *arg);

/* Take another reference (returned for convenience) / drop one. A future may be
 * dropped at any time, from any thread, even while its task runs. */
WEFT_API weft_future *weft_future_ref(weft_future *f);
WEFT_API void weft_future_free(weft_future *f);

/* ---------------------------------------------------------------------------
 * wait(), as_completed(), map().
 */

typedef enum weft_wait_mode {
    WEFT_ALL_COMPLETED = 0,
    WEFT_FIRST_COMPLETED,
    WEFT_FIRST_EXCEPTION, /* the first failed task; with no failure, as ALL_COMPLETED */
} weft_wait_mode;

/*
 * Python's concurrent.futures.wait(): wait until the mode is satisfied or timeout.
 * Stores in *n_done how many of fs[0..n) are done (if not NULL), and in done[i]
 * whether fs[i] is (if done is not NULL: Python's (done, not_done) sets, by
 * position). As in Python, FIRST_EXCEPTION counts failed futures only - a
 * cancelled one is not an exception. Returns 0 (mode satisfied), -ETIMEDOUT
 * (the outputs are still filled), -EINVAL, -ECHILD (a future not done belongs
 * to a pool inherited through fork(): see the top). Blocks (helping its pool when
 * called from a task).
 */
WEFT_API int weft_wait(weft_future *const *fs, size_t n, weft_wait_mode mode, double timeout,
                       size_t *n_done, bool *done);

/*
 * Python's as_completed() as an iterator: set it up over fs[0..n) with one
 * overall timeout, then call next until it returns -ENOENT (all yielded).
 * The iterator borrows the array: fs and the futures in it must stay valid
 * until weft_as_completed_free. As Python's set(fs), a future present several
 * times is yielded once, under its first position. Costs O(n) in all (each
 * future gets a done-callback that queues it for the iterator), not O(n) per
 * next. Returns 0, -EINVAL, -ENOMEM.
 */
typedef struct weft_as_completed weft_as_completed;
WEFT_API int weft_as_completed_new(weft_as_completed **out, weft_future *const *fs, size_t n,
                                   double timeout);
/* The next future to complete, in completion order (borrowed from the
 * caller's array), and its position in that array in *index (if not NULL).
 * Returns 0, -ENOENT (none left), -ETIMEDOUT (the overall timeout passed;
 * later calls still yield futures completed by then, without blocking),
 * -ECHILD (one not yielded belongs to a pool inherited through fork()),
 * -EINVAL. */
WEFT_API int weft_as_completed_next(weft_as_completed *it, weft_future **f, size_t *index);
/* Release the iterator (NULL is ignored). Its last few bytes live until the
 * last of its futures completes (their callbacks hold them). */
WEFT_API void weft_as_completed_free(weft_as_completed *it);

/* Which item of a map failed (Python's exception re-raised by the iterator). */
typedef struct weft_map_failure {
    size_t index;  /* position of the failed item in items[] */
    int code;      /* its weft_task_fail code (also map's return value) */
    char msg[256]; /* its weft_task_fail message ("" if none) */
} weft_map_failure;

/*
 * Python's Executor.map(fn, items, chunksize): results[i] = fn(items[i]) for i in
 * [0, n), computed by the pool in chunks of `chunksize` items (0 or 1: one task
 * per item), results in input order. Waits for all (helping when called from a
 * task). Returns 0; the first failure code in input order, with the item and
 * its message in *failure (if not NULL; left untouched on other errors) -
 * results before that item are stored, those past it unspecified;
 * -ETIMEDOUT; -EINVAL; -ENOMEM; -WEFT_ESHUTDOWN; -WEFT_ECANCELLED (shutdown
 * with cancel_futures cancelled a chunk).
 * On any early return (failure, timeout) the chunks not started are cancelled
 * and those still running finish into a private copy: nothing writes to items
 * or results after the call returns, so both may live on the caller's stack.
 */
WEFT_API int weft_executor_map(weft_executor *ex, void *(*fn)(void *item), void *const *items,
                               void **results, size_t n, size_t chunksize, double timeout,
                               weft_map_failure *failure);

/*
 * Run fn(lo, hi, arg) over sub-ranges [lo, hi) that together cover [begin, end)
 * exactly once, on the pool: the range is split in halves recursively, down to
 * `grain` indices (0: chosen from the pool size), so idle workers steal big
 * halves first. Returns when all are done: 0, the first failure code (a range
 * that called weft_task_fail), -EINVAL (fn NULL, end < begin, grain < 0),
 * -WEFT_ESHUTDOWN. The calling thread works too: it runs its own share of the
 * ranges (and helps with queued tasks while it waits), so up to max_workers + 1
 * threads call fn at once - the caller's share is not a pool task, yet
 * weft_task_fail works there as in the pool's ranges. If a half cannot be
 * queued (no memory, a racing shutdown) the thread that split it runs it.
 */
WEFT_API int weft_parallel_for(weft_executor *ex, long begin, long end, long grain,
                               void (*fn)(long lo, long hi, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_EXECUTOR_H */
