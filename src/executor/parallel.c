/*
 * Executor.map and parallel_for, on internal tasks (weft__submit_internal: the
 * task's argument is its own future, which carries the job and a range).
 *
 * map: one task per chunk of `chunksize` items. The items are copied into a job
 * block and the chunks write their results there, so a map that gives up early
 * (timeout, failure) leaves nothing pointing into the caller's arrays; the block
 * is freed with the last chunk's future. Results are copied out in input order.
 *
 * parallel_for: fork-join by halves. A range larger than the grain submits its
 * upper half as a task and keeps the lower half, until it is small enough to
 * run; then it waits for the halves it gave away, newest first (helping the pool
 * meanwhile, so the waits never block a worker). Thieves take the oldest entries
 * of a deque - the largest halves - so work spreads in few steals. A half whose
 * task could not be submitted (shutdown, memory) or was cancelled (shutdown with
 * cancel_futures) runs inline, so [begin, end) is covered exactly once whatever
 * happens to the pool. Everything a task touches lives until parallel_for
 * returns, since it waits for all of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/executor_internal.h"

/* ---- map ---- */

struct map_job {
    uint32_t refs;           /* the map call + one per chunk future */
    void *(*fn)(void *item);
    void **items;            /* copies of the caller's items */
    void **results;          /* filled by the chunks */
};

static void map_job_unref(void *p)
{
    struct map_job *j = p;
    /* Acq_rel: every chunk's writes happen before the free. */
    if (__atomic_fetch_sub(&j->refs, 1, __ATOMIC_ACQ_REL) == 1)
        free(j);
}

static void *map_chunk(void *arg)
{
    weft_future *self = arg;
    struct map_job *j = self->job;
    struct weft__frame *fr = weft__frame_current(); /* the chunk's own frame */
    for (long i = self->lo; i < self->hi; i++) {
        void *r = j->fn(j->items[i]);
        if (fr->failed) {
            /* The chunk fails with the item's code; later items skipped. The
             * failing position + 1 goes in result, which the runner leaves
             * alone for a failed task (published by its state exchange); 0
             * there means the chunk failed without running (a broken pool). */
            self->result = (void *)(uintptr_t)(i + 1);
            return NULL;
        }
        j->results[i] = r;
    }
    return NULL;
}

static void cancel_from(weft_future **fs, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        weft_future_cancel(fs[i]);
}

WEFT_API int weft_executor_map(weft_executor *ex, void *(*fn)(void *item), void *const *items,
                               void **results, size_t n, size_t chunksize, double timeout,
                               weft_map_failure *failure)
{
    if (!ex || !fn || (n && (!items || !results)) || n > (size_t)LONG_MAX / 2)
        return -EINVAL;
    weft__deadline d = weft__deadline_in(timeout);
    if (n == 0)
        return 0;
    size_t cs = chunksize ? chunksize : 1;
    size_t nchunks = n / cs + (n % cs != 0);
    struct map_job *j = malloc(sizeof *j + 2 * n * sizeof(void *));
    weft_future **fs = malloc(nchunks * sizeof *fs);
    if (!j || !fs) {
        free(j);
        free(fs);
        return -ENOMEM;
    }
    j->refs = 1;
    j->fn = fn;
    j->items = (void **)(j + 1);
    j->results = j->items + n;
    memcpy(j->items, items, n * sizeof(void *));
    int rc = 0;
    size_t submitted = 0;
    for (; submitted < nchunks; submitted++) {
        size_t lo = submitted * cs, hi = lo + cs < n ? lo + cs : n;
        /* Relaxed: the job is published to the chunk by the queue's release. */
        __atomic_fetch_add(&j->refs, 1, __ATOMIC_RELAXED);
        rc = weft__submit_internal(ex, map_chunk, j, map_job_unref, (long)lo, (long)hi,
                                   &fs[submitted]);
        if (rc) {
            __atomic_fetch_sub(&j->refs, 1, __ATOMIC_RELAXED); /* not taken */
            break;
        }
    }
    size_t ok = 0; /* chunks copied out, in order */
    if (!rc) {
        for (; ok < nchunks; ok++) {
            rc = weft__wait_many(&fs[ok], 1, WEFT_ALL_COMPLETED, &d, NULL);
            if (!rc) {
                rc = weft__future_outcome(fs[ok]);
                if (rc && rc != -WEFT_ECANCELLED && failure) {
                    /* Acquire (by the outcome's state load): result and msg. */
                    size_t at = (size_t)(uintptr_t)fs[ok]->result;
                    failure->index = at ? at - 1 : ok * cs;
                    failure->code = rc;
                    snprintf(failure->msg, sizeof failure->msg, "%s",
                             weft_future_error(fs[ok]));
                }
            }
            if (rc)
                break;
            size_t lo = ok * cs, hi = lo + cs < n ? lo + cs : n;
            memcpy(results + lo, j->results + lo, (hi - lo) * sizeof(void *));
        }
    }
    /* On failure or timeout, what has not started never will (Python cancels
     * the rest when the result iterator is abandoned). */
    cancel_from(fs, ok, submitted);
    for (size_t i = 0; i < submitted; i++)
        weft_future_free(fs[i]);
    free(fs);
    map_job_unref(j);
    return rc;
}

/* ---- parallel_for ---- */

struct pf_job {
    weft_executor *ex;
    void (*fn)(long lo, long hi, void *arg);
    void *arg;
    unsigned long grain;
    int fail; /* first failure code; CAS from 0 */
};

static void run_range(struct pf_job *j, long lo, long hi);

static void *range_task(void *arg)
{
    weft_future *self = arg;
    run_range(self->job, self->lo, self->hi);
    return NULL;
}

/* Run fn on [lo, hi) in its own frame, so weft_task_fail lands in the job
 * whether we are a pool task or the calling thread. */
static void call_fn(struct pf_job *j, long lo, long hi)
{
    struct weft__frame fr;
    weft__frame_push(&fr, j->ex);
    j->fn(lo, hi, j->arg);
    weft__frame_pop(&fr);
    if (fr.failed) {
        int zero = 0;
        /* Relaxed: the code is the only thing published; the caller reads it
         * after waiting for every task (acquire on their states). */
        __atomic_compare_exchange_n(&j->fail, &zero, fr.code, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    }
}

static void run_range(struct pf_job *j, long lo, long hi)
{
    weft_future *kids[8 * sizeof(long) + 1];
    long kid_lo[8 * sizeof(long) + 1], kid_hi[8 * sizeof(long) + 1];
    int nk = 0;
    /* Unsigned: hi - lo may not fit a long. */
    while ((unsigned long)hi - (unsigned long)lo > j->grain) {
        long mid = lo + (long)(((unsigned long)hi - (unsigned long)lo) / 2);
        if (weft__submit_internal(j->ex, range_task, j, NULL, mid, hi, &kids[nk]))
            break; /* shut down or no memory: the rest runs here */
        kid_lo[nk] = mid;
        kid_hi[nk] = hi;
        nk++;
        hi = mid;
    }
    call_fn(j, lo, hi);
    weft__deadline forever = {.forever = true};
    while (nk-- > 0) {
        weft__wait_many(&kids[nk], 1, WEFT_ALL_COMPLETED, &forever, NULL);
        if (weft_future_cancelled(kids[nk]))
            run_range(j, kid_lo[nk], kid_hi[nk]); /* never started: ours now */
        weft_future_free(kids[nk]);
    }
}

WEFT_API int weft_parallel_for(weft_executor *ex, long begin, long end, long grain,
                               void (*fn)(long lo, long hi, void *arg), void *arg)
{
    if (!ex || !fn || end < begin || grain < 0)
        return -EINVAL;
    /* Relaxed: an early answer only; a shutdown racing this call is handled by
     * running the halves inline. */
    if (__atomic_load_n(&ex->closed, __ATOMIC_RELAXED))
        return -WEFT_ESHUTDOWN;
    int broken = __atomic_load_n(&ex->broken, __ATOMIC_RELAXED);
    if (broken)
        return broken;
    if (end == begin)
        return 0;
    unsigned long span = (unsigned long)end - (unsigned long)begin;
    unsigned long g = (unsigned long)grain;
    if (g == 0) {
        /* About eight pieces per worker: enough slack to even out uneven
         * pieces, few enough that splitting costs nothing next to the work. */
        g = span / (8ul * ex->max_workers);
        if (g == 0)
            g = 1;
    }
    struct pf_job j = {.ex = ex, .fn = fn, .arg = arg, .grain = g, .fail = 0};
    /* A frame of ex around the caller's share: its waits help the pool. */
    struct weft__frame fr;
    weft__frame_push(&fr, ex);
    run_range(&j, begin, end);
    weft__frame_pop(&fr);
    return __atomic_load_n(&j.fail, __ATOMIC_RELAXED);
}
