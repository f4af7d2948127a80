/*
 * bench/bench_executor.c - the weft rows of the executor benchmarks
 * (weft/executor.h). Their pthread twins are in peer_pthread_pool.c; the Python,
 * Go and GLib peers do the same work.
 *
 * Every row creates its pool before the clock starts and frees it after the clock
 * stops: the rows measure a pool in use, not its set-up and shutdown (weft starts
 * workers lazily, on the first submissions: that start is inside the timed region,
 * as it is for CPython's ThreadPoolExecutor).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"

#include "weft/executor.h"

#define ITEM(v) ((void *)(uintptr_t)(v))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

/* ---- threadpool_empty_tasks_2workers ----
 * One outside thread (the caller) submits tasks 1..n, each returning its argument,
 * to a pool of 2 workers, in batches of BENCH_TASK_BATCH futures: submit the
 * batch, then result() + free each future in submission order, adding up the
 * results. The sum must be n(n+1)/2. */

static void *empty_task(void *arg)
{
    return arg;
}

double weft_empty_tasks(long n)
{
    weft_executor *ex;
    int rc = weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2});
    if (rc) {
        bench_error("weft_executor_new", rc);
        return -1;
    }
    weft_future *fs[BENCH_TASK_BATCH];
    uint64_t sum = 0, done = 0;
    int64_t t0 = bench_now_ns();
    for (long base = 0; base < n && !rc; base += BENCH_TASK_BATCH) {
        long k = n - base < BENCH_TASK_BATCH ? n - base : BENCH_TASK_BATCH;
        long sub = 0;
        for (; sub < k; sub++) {
            rc = weft_executor_submit(ex, empty_task, ITEM(base + sub + 1), &fs[sub]);
            if (rc) {
                bench_error("weft_executor_submit", rc);
                break;
            }
        }
        for (long i = 0; i < sub; i++) {
            void *r = NULL;
            int rr = weft_future_result(fs[i], WEFT_FOREVER, &r);
            weft_future_free(fs[i]);
            if (rr) {
                if (!rc)
                    bench_error("weft_future_result", rr);
                rc = rr;
                continue;
            }
            sum += VAL(r);
            done++;
        }
    }
    int64_t t1 = bench_now_ns();
    weft_executor_free(ex);
    if (rc)
        return -1;
    uint64_t want = (uint64_t)n * (uint64_t)(n + 1) / 2;
    if (done != (uint64_t)n || sum != want) {
        bench_fail("weft threadpool_empty_tasks_2workers: %llu results summing to %llu, "
                   "expected %ld summing to %llu",
                   (unsigned long long)done, (unsigned long long)sum, n, (unsigned long long)want);
        return -1;
    }
    return (double)n / ((double)(t1 - t0) / 1e9); /* tasks per second */
}

/* ---- threadpool_fib25_recursive ----
 * fib(k) where every call is a task: a call with k >= 2 submits fib(k-1) and
 * fib(k-2) to the pool and waits on both futures (newest first; a waiting task
 * runs other queued tasks meanwhile). The outside thread submits fib(25) and
 * waits on it. n = number of fib(25) computations; the figure is ms per one. */

static weft_executor *fib_ex; /* the pool of the running round */

static void *fib_task(void *arg)
{
    long k = (long)(intptr_t)arg;
    if (k < 2)
        return arg;
    weft_future *a, *b;
    int rc = weft_executor_submit(fib_ex, fib_task, ITEM(k - 1), &a);
    if (rc) {
        weft_task_fail(rc, "submit fib(%ld)", k - 1);
        return NULL;
    }
    rc = weft_executor_submit(fib_ex, fib_task, ITEM(k - 2), &b);
    if (rc) {
        weft_future_result(a, WEFT_FOREVER, NULL);
        weft_future_free(a);
        weft_task_fail(rc, "submit fib(%ld)", k - 2);
        return NULL;
    }
    void *ra = NULL, *rb = NULL;
    int rcb = weft_future_result(b, WEFT_FOREVER, &rb);
    int rca = weft_future_result(a, WEFT_FOREVER, &ra);
    weft_future_free(b);
    weft_future_free(a);
    if (rca || rcb) {
        weft_task_fail(rca ? rca : rcb, "fib(%ld): a child failed", k);
        return NULL;
    }
    return ITEM(VAL(ra) + VAL(rb));
}

double weft_fib_recursive(long n)
{
    if (n < 1)
        n = 1;
    int rc = weft_executor_new(&fib_ex, &(weft_executor_opts){.max_workers = 2});
    if (rc) {
        bench_error("weft_executor_new", rc);
        return -1;
    }
    uint64_t bad = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n && !rc; i++) {
        weft_future *f;
        rc = weft_executor_submit(fib_ex, fib_task, ITEM(BENCH_FIB_N), &f);
        if (rc) {
            bench_error("weft_executor_submit", rc);
            break;
        }
        void *r = NULL;
        rc = weft_future_result(f, WEFT_FOREVER, &r);
        if (rc)
            fprintf(stderr, "fib task failed: %s\n", weft_future_error(f));
        weft_future_free(f);
        if (rc) {
            bench_error("weft_future_result", rc);
            break;
        }
        if (VAL(r) != BENCH_FIB_RESULT && !bad)
            bad = VAL(r) ? VAL(r) : 1;
    }
    int64_t t1 = bench_now_ns();
    weft_executor_free(fib_ex);
    fib_ex = NULL;
    if (rc)
        return -1;
    if (bad) {
        bench_fail("weft threadpool_fib25_recursive: fib(%d) = %llu, expected %llu", BENCH_FIB_N,
                   (unsigned long long)bad, (unsigned long long)BENCH_FIB_RESULT);
        return -1;
    }
    return (double)(t1 - t0) / 1e6 / (double)n; /* ms per fib(25) */
}

/* ---- parallel_for_speedup_2threads ----
 * sum over i in [0, n) of bench_cpu_work(i + 1, BENCH_PF_STEPS), sequentially in
 * the calling thread (t_seq), then with weft_parallel_for on a pool of
 * max_workers = 1: weft_parallel_for's calling thread works on the range too, so
 * exactly two threads compute (t_par). Speedup = t_seq / t_par; the sums must be
 * equal. */

struct pf_ctx {
    _Atomic uint64_t sum;
};

static void pf_range(long lo, long hi, void *arg)
{
    struct pf_ctx *c = arg;
    uint64_t s = 0;
    for (long i = lo; i < hi; i++)
        s += bench_cpu_work((uint64_t)i + 1, BENCH_PF_STEPS);
    atomic_fetch_add_explicit(&c->sum, s, memory_order_relaxed);
}

double weft_parallel_for_2threads(long n)
{
    weft_executor *ex;
    int rc = weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 1});
    if (rc) {
        bench_error("weft_executor_new", rc);
        return -1;
    }
    struct pf_ctx seq = {0}, par = {0};
    int64_t t0 = bench_now_ns();
    pf_range(0, n, &seq);
    int64_t t1 = bench_now_ns();
    rc = weft_parallel_for(ex, 0, n, 0, pf_range, &par);
    int64_t t2 = bench_now_ns();
    unsigned workers = weft_executor_workers(ex);
    weft_executor_free(ex);
    if (rc) {
        bench_error("weft_parallel_for", rc);
        return -1;
    }
    if (workers > 1) {
        bench_fail("weft parallel_for_speedup_2threads: %u workers started, expected at most 1 "
                   "(plus the caller)",
                   workers);
        return -1;
    }
    if (atomic_load(&seq.sum) != atomic_load(&par.sum)) {
        bench_fail("weft parallel_for_speedup_2threads: parallel sum %llx, sequential %llx",
                   (unsigned long long)atomic_load(&par.sum),
                   (unsigned long long)atomic_load(&seq.sum));
        return -1;
    }
    return (double)(t1 - t0) / (double)(t2 - t1); /* speedup t_seq / t_par */
}
