/*
 * proc_vs_threads.c - ports the tutorials' "500 threads vs 500 processes"
 * comparison: start 500 of each running the same tiny job, join them, and time
 * both.
 *
 * Shows: a process costs more to start than a thread (a new address space, page
 * tables copied on write), so processes pay off for CPU-heavy work that needs
 * more than one core, threads for many small or waiting jobs. Every job's result
 * is checked: threads hand back a value through join, processes an exit code.
 */
#include <stdint.h>

#include "seed.h"
#include "weft/process.h"
#include "weft/thread.h"

#define N 500

static void *thread_job(void *arg)
{
    return (void *)((intptr_t)arg * 2);
}

static int process_job(void *arg)
{
    return (int)((intptr_t)arg * 2 % 256);
}

WEFT_SEED(proc_vs_threads, "start and join 500 threads, then 500 processes")
{
    static weft_thread *t[N];
    static weft_process *p[N];
    int ok_t = 0, ok_p = 0, nt = 0, np = 0;

    double t0 = seed_now();
    for (; nt < N; nt++)
        if (weft_thread_start(&t[nt], thread_job, (void *)(intptr_t)nt, NULL) != 0)
            break;
    for (int i = 0; i < nt; i++) {
        void *r = NULL;
        weft_thread_join(t[i], WEFT_FOREVER, &r);
        ok_t += (intptr_t)r == (intptr_t)i * 2;
        weft_thread_free(t[i]);
    }
    double threads = seed_now() - t0;

    t0 = seed_now();
    for (; np < N; np++)
        if (weft_process_spawn(&p[np], process_job, (void *)(intptr_t)np, NULL) != 0)
            break;
    for (int i = 0; i < np; i++) {
        int code = -1;
        weft_process_join(p[i], WEFT_FOREVER);
        weft_process_exitcode(p[i], &code);
        ok_p += code == i * 2 % 256;
        weft_process_free(p[i]);
    }
    double procs = seed_now() - t0;

    printf("500 threads: %.1f ms (%.1f us each); 500 processes: %.1f ms (%.1f us each); "
           "processes cost %.1fx\n",
           threads * 1e3, threads * 1e6 / N, procs * 1e3, procs * 1e6 / N, procs / threads);
    SEED_CHECK(ok_t == N, "%d of %d threads returned their result", ok_t, N);
    SEED_CHECK(ok_p == N, "%d of %d processes exited with their result", ok_p, N);
    return 0;
}
