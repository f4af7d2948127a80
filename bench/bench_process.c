/*
 * bench/bench_process.c - the weft rows of the process benchmarks: weft/process.h
 * (spawn + join of a child running a trivial function, by fork and through the
 * forkserver) and weft/shared.h (the process-shared Lock, uncontended and with two
 * processes incrementing a counter). The raw twins are in peer_raw_process.c.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "bench.h"
#include "weft/process.h"
#include "weft/shared.h"

/* ---- process_spawn_join_{fork,forkserver} ---- */

static int exit_with(void *arg)
{
    return (int)(intptr_t)arg;
}

static double spawn_join(long n, weft_start_method method, const char *row)
{
    weft_process_opts opts = {.method = method};
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        weft_process *p;
        int rc = weft_process_spawn(&p, exit_with, (void *)(intptr_t)(i & 0x7f), &opts);
        if (rc != 0) {
            bench_error("weft_process_spawn", rc);
            return -1;
        }
        int code = -1;
        rc = weft_process_join(p, WEFT_FOREVER);
        if (rc == 0)
            rc = weft_process_exitcode(p, &code);
        weft_process_free(p);
        if (rc != 0 || code != (i & 0x7f)) {
            bench_fail("weft %s: child %ld gave exit code %d (%s), expected %ld", row, i, code,
                       weft_strerror(rc), i & 0x7f);
            return -1;
        }
    }
    return (double)(bench_now_ns() - t0) / 1e3 / (double)n; /* us per spawn+join */
}

double weft_process_spawn_fork(long n)
{
    return spawn_join(n, WEFT_START_FORK, "process_spawn_join_fork");
}

double weft_process_spawn_forkserver(long n)
{
    return spawn_join(n, WEFT_START_FORKSERVER, "process_spawn_join_forkserver");
}

/* ---- shared_lock_acquire_release: uncontended, one process ---- */

_Static_assert(sizeof(weft_shared_lock) <= sizeof(((struct bench_proc_area *)0)->lock),
               "the lock fits its slot in the shared page");

static struct bench_proc_area *area_new(void)
{
    struct bench_proc_area *area =
        mmap(NULL, sizeof *area, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        bench_error("mmap", -errno);
        return NULL;
    }
    int rc = weft_shared_lock_init((weft_shared_lock *)area->lock);
    if (rc != 0) {
        bench_error("weft_shared_lock_init", rc);
        munmap(area, sizeof *area);
        return NULL;
    }
    return area;
}

double weft_shared_lock_ar(long n)
{
    struct bench_proc_area *area = area_new();
    if (!area)
        return -1;
    weft_shared_lock *l = (weft_shared_lock *)area->lock;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        weft_shared_lock_acquire(l, WEFT_FOREVER);
        weft_shared_lock_release(l);
    }
    int64_t t1 = bench_now_ns();
    munmap(area, sizeof *area);
    return (double)(t1 - t0) / (double)n; /* ns per acquire+release */
}

/* ---- shared_counter_lock_per_increment_2procs ---- */

static void counter_body(struct bench_proc_area *area, long iters)
{
    weft_shared_lock *l = (weft_shared_lock *)area->lock;
    for (long i = 0; i < iters; i++) {
        weft_shared_lock_acquire(l, WEFT_FOREVER);
        area->counter++;
        weft_shared_lock_release(l);
    }
}

double weft_shared_counter_2procs(long n)
{
    struct bench_proc_area *area = area_new();
    if (!area)
        return -1;
    area->counter = 0;
    int64_t ns = bench_run_2procs("weft", area, counter_body, n);
    double r = ns < 0 ? -1 : bench_counter_result("weft", area->counter, n / 2 * 2, 0, ns);
    munmap(area, sizeof *area);
    return r;
}
