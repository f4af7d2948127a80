/*
 * parallel_sum.c - ports the tutorials' CPU-bound example: adding up the primes
 * below a million by trial division, first in one thread, then split over
 * the cores. In CPython the threaded version is no faster (the GIL lets one
 * thread compute at a time) and the tutorials reach for processes; weft threads
 * run truly in parallel, so parallel_for on a thread pool is enough.
 *
 * Shows: weft_parallel_for covers the range exactly once, in sub-ranges of its
 * choosing run on the pool's workers and the calling thread; each sub-range adds
 * its partial sum once, so the total is exact; the speedup over one thread is
 * printed (and not checked: it depends on the machine).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "seed.h"
#include "weft/executor.h"

#define LIMIT 1000000L
/* Known answers for the primes below LIMIT. */
#define PRIME_COUNT 78498L
#define PRIME_SUM 37550402023LL

static unsigned char visits[LIMIT]; /* times a sub-range covered each number */

typedef struct totals {
    atomic_llong sum;
    atomic_long count;
    atomic_long ranges;
} totals;


static bool is_prime(long n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    for (long d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return false;
    return true;
}

/* The body: the primes in [lo, hi), added to the totals once at the end. */
static void sum_primes(long lo, long hi, void *arg)
{
    totals *t = arg;
    long long sum = 0;
    long count = 0;
    for (long n = lo; n < hi; n++) {
        visits[n]++; /* each number belongs to one sub-range: no two threads share it */
        if (is_prime(n)) {
            sum += n;
            count++;
        }
    }
    atomic_fetch_add(&t->sum, sum);
    atomic_fetch_add(&t->count, count);
    atomic_fetch_add(&t->ranges, 1);
}

WEFT_SEED(parallel_sum, "the sum of the primes below 1000000: one thread vs parallel_for")
{
    totals one = {0}, par = {0};
    double t0 = seed_now();
    sum_primes(0, LIMIT, &one);
    double t_one = seed_now() - t0;
    for (long i = 0; i < LIMIT; i++)
        visits[i] = 0;

    weft_executor *ex;
    int rc = weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2});
    SEED_CHECK(rc == 0, "weft_executor_new: %s", weft_strerror(rc));
    t0 = seed_now();
    rc = weft_parallel_for(ex, 0, LIMIT, 0, sum_primes, &par);
    double t_par = seed_now() - t0;
    unsigned workers = weft_executor_workers(ex);
    weft_executor_free(ex);
    SEED_CHECK(rc == 0, "weft_parallel_for: %s", weft_strerror(rc));

    long once = 0;
    for (long i = 0; i < LIMIT; i++)
        once += visits[i] == 1;
    printf("one thread:   %ld primes, sum %lld, in %.3f s\n", atomic_load(&one.count),
           atomic_load(&one.sum), t_one);
    printf("parallel_for: %ld primes, sum %lld, in %.3f s (%ld sub-ranges, %u workers "
           "+ the caller): x%.1f\n",
           atomic_load(&par.count), atomic_load(&par.sum), t_par, atomic_load(&par.ranges), workers,
           t_par > 0 ? t_one / t_par : 0.0);
    SEED_CHECK(atomic_load(&one.count) == PRIME_COUNT && atomic_load(&one.sum) == PRIME_SUM,
               "one thread: %ld primes summing to %lld, expected %ld and %lld",
               atomic_load(&one.count), atomic_load(&one.sum), PRIME_COUNT, PRIME_SUM);
    SEED_CHECK(once == LIMIT, "%ld of %ld numbers were covered exactly once", once, LIMIT);
    SEED_CHECK(atomic_load(&par.count) == PRIME_COUNT && atomic_load(&par.sum) == PRIME_SUM,
               "parallel_for: %ld primes summing to %lld, expected %ld and %lld",
               atomic_load(&par.count), atomic_load(&par.sum), PRIME_COUNT, PRIME_SUM);
    SEED_CHECK(atomic_load(&par.ranges) >= 2 && workers >= 1 && workers <= 2,
               "parallel_for used %ld sub-range(s) and %u workers (max 2)",
               atomic_load(&par.ranges), workers);
    return 0;
}
