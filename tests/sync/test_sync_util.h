/* Helpers shared by the sync tests (raw pthreads; not a test program itself). */
#ifndef WEFT_TEST_SYNC_UTIL_H
#define WEFT_TEST_SYNC_UTIL_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "weft_test.h"

/* Iteration counts: full size normally and under ASan, halved under TSan, so
 * each program stays well under 20 s on 2 cores. */
#if defined(WEFT_TSAN)
#define SCALE(n) ((n) / 2 > 0 ? (n) / 2 : 1)
#else
#define SCALE(n) (n)
#endif

/* Clock and sleep: the helpers every test uses (tests/weft_test.h). */
#define t_now weft_test_now
#define t_sleep weft_test_sleep

/* Start n threads running fn(args + i * size); join them all. */
typedef void *(*t_fn)(void *);

static inline void t_run(int n, t_fn fn, void *args, size_t size)
{
    pthread_t th[64];
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * size), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
}

/* Spin (yielding) until *p reaches at least v; fails the test after 10 s. */
static inline void t_await_at_least(const int *p, int v)
{
    double end = t_now() + 10;
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < v) {
        assert_true(t_now() < end);
        sched_yield();
    }
}

#endif
