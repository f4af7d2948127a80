/*
 * bench/bench.h - the C side of `make bench`: one executable, weft_bench, that
 * measures the weft rows and the raw pthread rows of every benchmark in the same
 * process, repeat by repeat, alternating the order of the implementations.
 *
 * Output (stdout), one line per (implementation, benchmark):
 *     impl<TAB>name<TAB>value<TAB>unit
 * Lines starting with '#' are notes (per-repeat figures, skipped rows).
 * An exactness failure (a counter off by one, a wrong join result) prints
 * "FAIL ..." on stderr and makes weft_bench exit with status 3.
 *
 * Each implementation of a benchmark is a bench_fn: it runs the benchmark once with
 * the iteration count `n` and returns the figure in the row's unit, a negative
 * value after reporting a failure with bench_fail() or bench_error(), or
 * BENCH_SKIP.
 */
#ifndef WEFT_BENCH_H
#define WEFT_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef double (*bench_fn)(long n);

/* Returned by a bench_fn whose implementation is not available in this build
 * (the row is skipped with a note, not failed). */
#define BENCH_SKIP (-2.0)

/* Monotonic clock in nanoseconds. */
static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Report an exactness failure (printf-style) and remember it for the exit status. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report that something (not an exactness check) went wrong, e.g. a start call
 * returned an error. Also makes the run fail. */
void bench_error(const char *what, int code);

/* The CPU-bound kernel shared by every implementation of
 * cpu_bound_2threads_speedup: `iters` dependent xorshift64 steps from `seed`.
 * The serial dependency chain and the runtime count keep the compiler from
 * removing or vectorising it. The Python and Go peers run the same steps. */
uint64_t bench_cpu_work(uint64_t seed, long iters);

/* cpu_bound_2threads_speedup, the parts every C implementation shares: two jobs
 * run one after the other, then (by the caller) in two threads of its kind. */
struct bench_cpu_ctx {
    uint64_t seed;
    long iters;
    uint64_t result;
};
/* A thread body (void *(void *)) running bench_cpu_work for one job. */
void *bench_cpu_body(void *arg);
/* Run both jobs sequentially in the caller; returns the elapsed ns. */
int64_t bench_cpu_sequential(struct bench_cpu_ctx seq[2]);
/* Check that the parallel results equal the sequential ones and return the
 * speedup t_seq / t_par, or -1 (after bench_fail naming impl) on a mismatch. */
double bench_cpu_speedup(const char *impl, const struct bench_cpu_ctx seq[2],
                         const struct bench_cpu_ctx par[2], int64_t t_seq, int64_t t_par);

/* counter_lock_per_increment_2threads: check the final counter and return ns per
 * increment over [t0, t1], or -1 (after bench_fail naming impl) if it is off. */
double bench_counter_result(const char *impl, long counter, long total, int64_t t0, int64_t t1);

/* Spin until *flag becomes non-zero (start gate for contended benchmarks). */
static inline void bench_wait_gate(atomic_int *flag)
{
    while (!atomic_load_explicit(flag, memory_order_acquire))
        ;
}

/* A second figure from the same run (queue_handoff_latency: the 99th percentile
 * beside the median that the bench_fn returns). A bench_fn whose table entry names
 * an aux row stores it here before returning. */
extern double bench_aux;

/* Exactness check shared by the queue rows: every consumer adds up what it got;
 * the totals must equal those of the items 1..n (count, sum, sum of squares, all
 * mod 2^64), so no item was lost, duplicated or invented. */
struct bench_tally {
    uint64_t count, sum, sumsq;
};

static inline void bench_tally_add(struct bench_tally *t, uint64_t v)
{
    t->count++;
    t->sum += v;
    t->sumsq += v * v;
}

/* Returns 0 when t is exactly the tally of 1..n; otherwise reports a failure
 * naming impl and row and returns -1. */
int bench_tally_check(const struct bench_tally *t, uint64_t n, const char *impl,
                      const char *row);

/* The pseudo-random priorities of priority_queue_put_get_1thread: a 64-bit LCG
 * (Knuth's MMIX constants), priority = top 20 bits of the state. The Python, Go
 * and GLib peers compute the same sequence. */
static inline uint64_t bench_prio_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 44;
}

/* Percentile p (0..100) of v[0..k), sorting v in place: the element of rank
 * ceil(p/100 * k) (nearest rank). */
double bench_percentile(double *v, long k, double p);

/* Queue sizes shared by every implementation of the queue rows. */
#define BENCH_QUEUE_MAXSIZE 1024 /* bounded rows */
#define BENCH_PRIO_BATCH 1024    /* priority row: items put before they are all got */
#define BENCH_BATCH 16           /* _batch16 row: items per put_many / get_many */

/* Executor rows: futures per batch of threadpool_empty_tasks_2workers (submit
 * that many, then result() each), the fib argument of threadpool_fib25_recursive
 * and its exact value, and the xorshift steps per index of
 * parallel_for_speedup_2threads (the peers use the same numbers). */
#define BENCH_TASK_BATCH 1024
#define BENCH_FIB_N 25
#define BENCH_FIB_RESULT 75025u
#define BENCH_PF_STEPS 1000

/* Process rows: the shared page of shared_counter_lock_per_increment_2procs (a
 * MAP_SHARED mapping made before the fork): the start gate, the counter and the
 * lock under test (weft_shared_lock or a robust process-shared pthread mutex),
 * each on its own cache line. */
struct bench_proc_area {
    _Alignas(64) atomic_int gate;
    _Alignas(64) long counter; /* guarded by the lock below */
    _Alignas(64) unsigned char lock[64];
};
int64_t bench_run_2procs(const char *impl, struct bench_proc_area *area,
                         void (*body)(struct bench_proc_area *area, long iters), long n);

/* Implementations: bench_weft.c, bench_executor.c, peer_pthread.c and
 * peer_pthread_pool.c. */

double weft_spawn_join(long n);
double weft_lock_acquire_release(long n);
double weft_counter_2threads(long n);
double weft_cpu_2threads(long n);
double weft_event_pingpong(long n);

double weft_queue_spsc(long n);
double weft_queue_mpmc(long n);
double weft_queue_spsc_batch(long n);
double weft_prio_put_get(long n);
double weft_queue_handoff(long n);

double weft_empty_tasks(long n);
double weft_fib_recursive(long n);
double weft_parallel_for_2threads(long n);

double weft_process_spawn_fork(long n);
double weft_process_spawn_forkserver(long n);
double weft_shared_lock_ar(long n);
double weft_shared_counter_2procs(long n);

double pthread_spawn_join(long n);
double pthread_lock_acquire_release(long n);
double pthread_counter_2threads(long n);
double pthread_cpu_2threads(long n);
double pthread_event_pingpong(long n);
double pthread_queue_spsc(long n);
double pthread_queue_mpmc(long n);
double pthread_queue_spsc_batch(long n);
double pthread_prio_put_get(long n);
double pthread_queue_handoff(long n);
double pthread_empty_tasks(long n);
double pthread_parallel_for_2threads(long n);
/* peer_raw_process.c: the "pthread" column of the process rows holds raw OS calls:
 * fork()+waitpid(), and a PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST mutex. */
double raw_fork_waitpid(long n);
double raw_robust_mutex_ar(long n);
double raw_robust_counter_2procs(long n);

/* bench_ipc.c: the queue between processes; its raw column is a pipe(2) carrying
 * the same messages (memcpy bandwidth on the 1 MiB row). */
double weft_ipcq_64_1p1c(long n);
double weft_ipcq_64_2p2c(long n);
double weft_ipcq_1mib(long n);
double raw_pipe_64_1p1c(long n);
double raw_pipe_64_2p2c(long n);
double raw_memcpy_1mib(long n);
/* pipe_roundtrip_64B: weft's duplex Pipe; raw: two pipe(2)s. */
double weft_pipe_roundtrip(long n);
double raw_pipe_roundtrip(long n);

#endif
