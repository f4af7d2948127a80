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

/* Spin until *flag becomes non-zero (start gate for contended benchmarks). */
static inline void bench_wait_gate(atomic_int *flag)
{
    while (!atomic_load_explicit(flag, memory_order_acquire))
        ;
}

/* Implementations: bench_weft.c and peer_pthread.c. */

double weft_spawn_join(long n);
double weft_lock_acquire_release(long n);
double weft_counter_2threads(long n);
double weft_cpu_2threads(long n);
double weft_event_pingpong(long n);

double pthread_spawn_join(long n);
double pthread_lock_acquire_release(long n);
double pthread_counter_2threads(long n);
double pthread_cpu_2threads(long n);
double pthread_event_pingpong(long n);

#endif
