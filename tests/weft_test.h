/* Small helpers shared by the tests. */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <time.h>

/* Monotonic seconds, for generous lower/upper bounds on waits. */
static inline double weft_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sleep for s seconds. */
static inline void weft_test_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Scale a stress count down under sanitizers, which slow code 5-20x. */
#ifdef WEFT_TSAN
#define WEFT_TEST_SCALE(n) ((n) / 10 ? (n) / 10 : 1)
#elif defined(WEFT_SANITIZER)
#define WEFT_TEST_SCALE(n) ((n) / 4 ? (n) / 4 : 1)
#else
#define WEFT_TEST_SCALE(n) (n)
#endif

#endif
