/*
 * bench/main.c - weft_bench: runs every benchmark for weft and for raw pthreads
 * in the same process and prints impl<TAB>name<TAB>value<TAB>unit lines.
 *
 *   weft_bench [--quick] [--repeats N] [--only NAME] [--impl weft|pthread] [--list]
 *
 * --impl runs one implementation only (for profiling one side, e.g. under
 * `strace -c -f` or `perf stat`); the figures are then not side by side.
 *
 * Method: each benchmark runs a warm-up, then `repeats` rounds; within a round
 * every implementation runs once, the order alternating between rounds so slow
 * drift of the machine does not favour one side. The row reports the median of the
 * rounds, except lock_acquire_release, a single-threaded microbenchmark whose noise
 * can only add time, which reports the best (minimum). Per-round figures are
 * printed as '#' notes.
 *
 * Environment: WEFT_BENCH_QUICK=1 is --quick (a twentieth of the iterations,
 * 2 repeats: for checking the harness, not for quoting).
 *
 * Exit status: 0, 3 when an exactness check failed, 1 on any other error.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/common.h"

enum stat { STAT_MEDIAN, STAT_MIN };

struct bench {
    const char *name;
    const char *unit;
    enum stat stat;
    long n; /* iterations per run in a full run */
    bench_fn weft, pthread;
    /* A second row from the same runs (bench_aux after each run), reduced the same
     * way, or NULL. */
    const char *aux;
    /* Why there is no pthread figure (pthread == NULL), printed as a note. */
    const char *no_pthread;
};

/* Sizes: each run takes roughly 0.05-0.4 s on the 2-core reference machine. */
static const struct bench benches[] = {
    {"thread_spawn_join", "us/op", STAT_MEDIAN, 4000, weft_spawn_join, pthread_spawn_join,
     NULL, NULL},
    {"lock_acquire_release", "ns/op", STAT_MIN, 20000000, weft_lock_acquire_release,
     pthread_lock_acquire_release, NULL, NULL},
    {"counter_lock_per_increment_2threads", "ns/incr", STAT_MEDIAN, 4000000,
     weft_counter_2threads, pthread_counter_2threads, NULL, NULL},
    {"cpu_bound_2threads_speedup", "x", STAT_MEDIAN, 100000000, weft_cpu_2threads,
     pthread_cpu_2threads, NULL, NULL},
    {"event_pingpong_2threads", "us/rtt", STAT_MEDIAN, 20000, weft_event_pingpong,
     pthread_event_pingpong, NULL, NULL},
    /* queue rows: n items moved (ops = items; priority: put+get pairs; handoff:
     * round trips, each timed alone) */
    {"queue_fifo_spsc_bounded1024", "ops/s", STAT_MEDIAN, 4000000, weft_queue_spsc,
     pthread_queue_spsc, NULL, NULL},
    {"queue_fifo_mpmc_2p2c_bounded1024", "ops/s", STAT_MEDIAN, 4000000, weft_queue_mpmc,
     pthread_queue_mpmc, NULL, NULL},
    {"queue_fifo_spsc_bounded1024_batch16", "ops/s", STAT_MEDIAN, 8000000,
     weft_queue_spsc_batch, pthread_queue_spsc_batch, NULL, NULL},
    {"priority_queue_put_get_1thread", "ops/s", STAT_MEDIAN, 2000000, weft_prio_put_get,
     pthread_prio_put_get, NULL, NULL},
    {"queue_handoff_latency_p50", "us/rtt", STAT_MEDIAN, 20000, weft_queue_handoff,
     pthread_queue_handoff, "queue_handoff_latency_p99", NULL},
    /* executor rows: n tasks (empty), fib(25) computations, loop indices */
    {"threadpool_empty_tasks_2workers", "tasks/s", STAT_MEDIAN, 2000000, weft_empty_tasks,
     pthread_empty_tasks, NULL, NULL},
    {"threadpool_fib25_recursive", "ms/fib", STAT_MEDIAN, 40, weft_fib_recursive, NULL, NULL,
     "a textbook pthread pool deadlocks when its tasks wait on their children's futures "
     "(both workers block, the children never run)"},
    {"parallel_for_speedup_2threads", "x", STAT_MEDIAN, 100000, weft_parallel_for_2threads,
     pthread_parallel_for_2threads, NULL, NULL},
    /* process rows: n spawn+join cycles; n lock round trips; n increments */
    {"process_spawn_join_fork", "us/op", STAT_MEDIAN, 2000, weft_process_spawn_fork,
     raw_fork_waitpid, NULL, NULL},
    {"process_spawn_join_forkserver", "us/op", STAT_MEDIAN, 2000,
     weft_process_spawn_forkserver, NULL, NULL,
     "there is no raw forkserver to compare with (raw fork+waitpid is the fork row)"},
    {"shared_lock_acquire_release", "ns/op", STAT_MIN, 20000000, weft_shared_lock_ar,
     raw_robust_mutex_ar, NULL, NULL},
    {"shared_counter_lock_per_increment_2procs", "ns/incr", STAT_MEDIAN, 4000000,
     weft_shared_counter_2procs, raw_robust_counter_2procs, NULL, NULL},
    /* queue between processes: n messages moved; the 1 MiB row: n messages */
    {"ipc_queue_64B_1prod_1cons", "msgs/s", STAT_MEDIAN, 4000000, weft_ipcq_64_1p1c,
     raw_pipe_64_1p1c, NULL, NULL},
    {"ipc_queue_64B_2prod_2cons", "msgs/s", STAT_MEDIAN, 4000000, weft_ipcq_64_2p2c,
     raw_pipe_64_2p2c, NULL, NULL},
    {"ipc_queue_1MiB_throughput", "GB/s", STAT_MEDIAN, 2000, weft_ipcq_1mib, raw_memcpy_1mib,
     NULL, NULL},
    {"pipe_roundtrip_64B", "us/rtt", STAT_MEDIAN, 100000, weft_pipe_roundtrip,
     raw_pipe_roundtrip, NULL, NULL},
};

double bench_aux;

static int failures;     /* exactness failures */
static int errors;       /* other errors */

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

void bench_error(const char *what, int code)
{
    fprintf(stderr, "ERROR %s: %s\n", what, weft_strerror(code));
    errors++;
}

uint64_t bench_cpu_work(uint64_t seed, long iters)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (long i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

void *bench_cpu_body(void *arg)
{
    struct bench_cpu_ctx *c = arg;
    c->result = bench_cpu_work(c->seed, c->iters);
    return NULL;
}

int64_t bench_cpu_sequential(struct bench_cpu_ctx seq[2])
{
    int64_t t0 = bench_now_ns();
    bench_cpu_body(&seq[0]);
    bench_cpu_body(&seq[1]);
    return bench_now_ns() - t0;
}

double bench_cpu_speedup(const char *impl, const struct bench_cpu_ctx seq[2],
                         const struct bench_cpu_ctx par[2], int64_t t_seq, int64_t t_par)
{
    for (int i = 0; i < 2; i++)
        if (seq[i].result != par[i].result) {
            bench_fail("%s cpu_bound_2threads_speedup: thread %d computed %llx, "
                       "sequential %llx", impl, i, (unsigned long long)par[i].result,
                       (unsigned long long)seq[i].result);
            return -1;
        }
    return (double)t_seq / (double)t_par;
}

double bench_counter_result(const char *impl, long counter, long total, int64_t t0, int64_t t1)
{
    if (counter != total) {
        bench_fail("%s counter row: counter %ld, expected %ld", impl,
                   counter, total);
        return -1;
    }
    return (double)(t1 - t0) / (double)total; /* ns per increment */
}

/* The parent's side of shared_counter_lock_per_increment_2procs: fork two
 * children that wait at the gate in `area`, then run body(area, n / 2) and leave;
 * time from opening the gate to both reaped. Returns the elapsed ns, or -1 after
 * reporting an error (a failed fork, a child that did not exit with 0). */
int64_t bench_run_2procs(const char *impl, struct bench_proc_area *area,
                         void (*body)(struct bench_proc_area *area, long iters), long n)
{
    pid_t pid[2];
    atomic_store(&area->gate, 0);
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] < 0) {
            bench_error("fork", -errno);
            if (i == 1)
                kill(pid[0], SIGKILL), waitpid(pid[0], NULL, 0);
            return -1;
        }
        if (pid[i] == 0) {
            bench_wait_gate(&area->gate);
            body(area, n / 2);
            _exit(0);
        }
    }
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(&area->gate, 1, memory_order_release);
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        int st;
        if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    int64_t t1 = bench_now_ns();
    if (bad) {
        bench_fail("%s shared_counter_lock_per_increment_2procs: %d child(ren) failed", impl, bad);
        return -1;
    }
    return t1 - t0;
}

int bench_tally_check(const struct bench_tally *t, uint64_t n, const char *impl,
                      const char *row)
{
    struct bench_tally want = {0};
    for (uint64_t v = 1; v <= n; v++)
        bench_tally_add(&want, v);
    if (t->count == want.count && t->sum == want.sum && t->sumsq == want.sumsq)
        return 0;
    bench_fail("%s %s: got %llu items (sum %llu, sum of squares %llu), expected items "
               "1..%llu exactly once (sum %llu, sum of squares %llu)", impl, row,
               (unsigned long long)t->count, (unsigned long long)t->sum,
               (unsigned long long)t->sumsq, (unsigned long long)n,
               (unsigned long long)want.sum, (unsigned long long)want.sumsq);
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double reduce(double *v, int k, enum stat stat)
{
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    if (stat == STAT_MIN)
        return v[0];
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

double bench_percentile(double *v, long k, double p)
{
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    long rank = (long)((p / 100.0) * (double)k + 0.999999); /* nearest rank, 1-based */
    if (rank < 1)
        rank = 1;
    if (rank > k)
        rank = k;
    return v[rank - 1];
}

#define MAX_REPEATS 32

static void usage(FILE *f)
{
    fprintf(f, "usage: weft_bench [--quick] [--repeats N] [--only NAME] [--impl weft|pthread] "
               "[--list]\n");
}

int main(int argc, char **argv)
{
    int quick = getenv("WEFT_BENCH_QUICK") && strcmp(getenv("WEFT_BENCH_QUICK"), "0") != 0;
    int repeats = 0;
    const char *only = NULL, *impl = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) {
            repeats = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--impl") && i + 1 < argc) {
            impl = argv[++i];
            if (strcmp(impl, "weft") != 0 && strcmp(impl, "pthread") != 0) {
                usage(stderr);
                return 1;
            }
        } else if (!strcmp(argv[i], "--list")) {
            for (size_t b = 0; b < sizeof benches / sizeof *benches; b++) {
                printf("%s\t%s\n", benches[b].name, benches[b].unit);
                if (benches[b].aux)
                    printf("%s\t%s\n", benches[b].aux, benches[b].unit);
            }
            return 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (repeats <= 0)
        repeats = quick ? 2 : 5;
    if (repeats > MAX_REPEATS)
        repeats = MAX_REPEATS;

    printf("# weft_bench: weft %s, %d repeats%s\n", weft_version(), repeats,
           quick ? ", QUICK (not for quoting)" : "");
    fflush(stdout);

    int matched = 0;
    for (size_t b = 0; b < sizeof benches / sizeof *benches; b++) {
        const struct bench *bn = &benches[b];
        if (only && strcmp(only, bn->name) != 0 && !(bn->aux && !strcmp(only, bn->aux)))
            continue;
        matched++;
        long n = quick ? bn->n / 20 : bn->n;
        if (n < 1)
            n = 1;
        struct {
            const char *impl;
            bench_fn fn;
            double v[MAX_REPEATS], aux[MAX_REPEATS];
            int ok;
        } im[2] = {{"weft", bn->weft, {0}, {0}, 1}, {"pthread", bn->pthread, {0}, {0}, 1}};
        for (int i = 0; i < 2; i++)
            if ((impl && strcmp(impl, im[i].impl) != 0) || !im[i].fn)
                im[i].ok = 0;
        if (!bn->pthread && bn->no_pthread && (!impl || !strcmp(impl, "pthread")))
            printf("# pthread %s: no figure - %s\n", bn->name, bn->no_pthread);

        /* warm-up: a tenth of a run for each implementation, not recorded */
        for (int i = 0; i < 2; i++) {
            if (!im[i].ok)
                continue;
            double w = im[i].fn(n / 10 > 0 ? n / 10 : 1);
            if (w == BENCH_SKIP)
                printf("# %s %s: not in this build of the library, skipped\n", im[i].impl,
                       bn->name);
            if (w < 0)
                im[i].ok = 0;
        }
        for (int r = 0; r < repeats; r++) {
            for (int j = 0; j < 2; j++) {
                int i = (r % 2) ? 1 - j : j; /* alternate which goes first */
                if (!im[i].ok)
                    continue;
                bench_aux = 0;
                im[i].v[r] = im[i].fn(n);
                im[i].aux[r] = bench_aux;
                if (im[i].v[r] < 0)
                    im[i].ok = 0;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (!im[i].ok)
                continue;
            printf("# %s %s n=%ld rounds:", im[i].impl, bn->name, n);
            for (int r = 0; r < repeats; r++)
                printf(" %.4g", im[i].v[r]);
            printf(" (%s)\n", bn->stat == STAT_MIN ? "best" : "median");
            if (bn->aux) {
                printf("# %s %s n=%ld rounds:", im[i].impl, bn->aux, n);
                for (int r = 0; r < repeats; r++)
                    printf(" %.4g", im[i].aux[r]);
                printf(" (%s)\n", bn->stat == STAT_MIN ? "best" : "median");
            }
        }
        for (int i = 0; i < 2; i++) {
            if (!im[i].ok)
                continue;
            printf("%s\t%s\t%.4g\t%s\n", im[i].impl, bn->name,
                   reduce(im[i].v, repeats, bn->stat), bn->unit);
            if (bn->aux)
                printf("%s\t%s\t%.4g\t%s\n", im[i].impl, bn->aux,
                       reduce(im[i].aux, repeats, bn->stat), bn->unit);
        }
        fflush(stdout);
    }
    if (only && !matched) {
        fprintf(stderr, "weft_bench: no benchmark named %s\n", only);
        return 1;
    }
    if (failures)
        return 3;
    return errors ? 1 : 0;
}
