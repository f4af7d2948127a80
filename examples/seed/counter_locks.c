/*
 * counter_locks.c - ports the tutorials' shared-counter program that compares
 * taking the lock for every increment with taking it once around the whole loop.
 *
 * Shows: both ways give the exact count; the fine-grained one pays for a lock
 * hand-over per increment, the coarse one holds the lock for the whole loop (and
 * so runs the threads one after another).
 */
#include <time.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define THREADS 4
#define INCREMENTS 50000

static weft_lock counter_lock = WEFT_LOCK_INIT_NAMED("counter");
static long counter; /* guarded by counter_lock */


/* with counter_lock: counter += 1 */
static void *lock_each_increment(void *arg)
{
    for (int i = 0; i < INCREMENTS; i++) {
        weft_lock_acquire(&counter_lock, WEFT_FOREVER);
        counter++;
        weft_lock_release(&counter_lock);
    }
    return NULL;
}

/* with counter_lock: for ...: counter += 1 */
static void *lock_whole_loop(void *arg)
{
    weft_lock_acquire(&counter_lock, WEFT_FOREVER);
    for (int i = 0; i < INCREMENTS; i++)
        counter++;
    weft_lock_release(&counter_lock);
    return NULL;
}

/* Run THREADS copies of fn; return the elapsed time, or -1 if a start failed. */
static double run(weft_thread_fn fn)
{
    weft_thread *t[THREADS];
    int started = 0;
    counter = 0;
    double t0 = seed_now();
    for (; started < THREADS; started++)
        if (weft_thread_start(&t[started], fn, NULL, NULL) != 0)
            break;
    for (int i = 0; i < started; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    double elapsed = seed_now() - t0;
    return started == THREADS ? elapsed : -1;
}

WEFT_SEED(counter_locks, "a shared counter: a lock per increment vs. one lock around the loop")
{
    const long expected = (long)THREADS * INCREMENTS;

    double fine = run(lock_each_increment);
    SEED_CHECK(fine >= 0, "could not start %d threads", THREADS);
    long fine_count = counter;
    printf("lock per increment:     counter = %ld in %.3f s\n", fine_count, fine);

    double coarse = run(lock_whole_loop);
    SEED_CHECK(coarse >= 0, "could not start %d threads", THREADS);
    long coarse_count = counter;
    printf("lock around the loop:   counter = %ld in %.3f s\n", coarse_count, coarse);

    SEED_CHECK(fine_count == expected, "lock per increment counted %ld, expected %ld",
               fine_count, expected);
    SEED_CHECK(coarse_count == expected, "lock around the loop counted %ld, expected %ld",
               coarse_count, expected);
    return 0;
}
