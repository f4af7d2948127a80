/*
 * bench/peer_raw_process.c - the raw rows of the process benchmarks: what a C
 * programmer writes without weft. fork() + waitpid() for a child running a
 * trivial body, and a robust process-shared pthread mutex (the POSIX way to get
 * "owner died" across processes) for the shared-lock rows. Each mirrors its weft
 * twin in bench_process.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* ---- process_spawn_join_fork: fork a child that exits with i & 0x7f, reap it ---- */

double raw_fork_waitpid(long n)
{
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            bench_error("fork", -errno);
            return -1;
        }
        if (pid == 0)
            _exit((int)(i & 0x7f));
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f)) {
            bench_fail("pthread process_spawn_join_fork: child %ld did not exit with %ld", i,
                       i & 0x7f);
            return -1;
        }
    }
    return (double)(bench_now_ns() - t0) / 1e3 / (double)n; /* us per fork+reap */
}

/* ---- shared_lock_acquire_release: uncontended, one process ---- */

static int robust_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return -rc;
}

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((struct bench_proc_area *)0)->lock),
               "the mutex fits its slot in the shared page");

/* The shared page with a robust process-shared mutex in its lock slot, or NULL
 * after reporting the error. */
static struct bench_proc_area *robust_area_new(void)
{
    struct bench_proc_area *area =
        mmap(NULL, sizeof *area, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        bench_error("mmap", -errno);
        return NULL;
    }
    int rc = robust_init((pthread_mutex_t *)area->lock);
    if (rc != 0) {
        bench_error("pthread_mutex_init", rc);
        munmap(area, sizeof *area);
        return NULL;
    }
    return area;
}

double raw_robust_mutex_ar(long n)
{
    struct bench_proc_area *area = robust_area_new();
    if (!area)
        return -1;
    pthread_mutex_t *m = (pthread_mutex_t *)area->lock;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(m);
        pthread_mutex_unlock(m);
    }
    int64_t t1 = bench_now_ns();
    pthread_mutex_destroy(m);
    munmap(area, sizeof *area);
    return (double)(t1 - t0) / (double)n; /* ns per lock+unlock */
}

/* ---- shared_counter_lock_per_increment_2procs ---- */

static void robust_counter_body(struct bench_proc_area *area, long iters)
{
    pthread_mutex_t *m = (pthread_mutex_t *)area->lock;
    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(m);
        area->counter++;
        pthread_mutex_unlock(m);
    }
}

double raw_robust_counter_2procs(long n)
{
    struct bench_proc_area *area = robust_area_new();
    if (!area)
        return -1;
    area->counter = 0;
    int64_t ns = bench_run_2procs("pthread", area, robust_counter_body, n);
    double r = ns < 0 ? -1 : bench_counter_result("pthread", area->counter, n / 2 * 2, 0, ns);
    munmap(area, sizeof *area);
    return r;
}
