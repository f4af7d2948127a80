/*
 * seed.h - how a seed program is written.
 *
 * Each file in examples/seed/ ports one program of the Python tutorials. It
 * defines its body with WEFT_SEED(name, "one-line explanation") { ... return 0; }
 * where name is the file's name without ".c". The same file is built twice:
 * as a standalone program (build/.../seeds/seed_NAME, through seed_main.c) and
 * inside `weft tour`, which runs each seed in a child process of its own.
 *
 * A seed checks what it demonstrates (a total, an order, a time bound) and
 * returns non-zero, after saying why on stderr, when that does not hold; its test
 * runs it and checks the exit status.
 */
#ifndef WEFT_SEED_H
#define WEFT_SEED_H

#include <stdio.h>
#include <time.h>

#define WEFT_SEED(name, about)                                                         \
    extern const char seed_##name##_about[];                                           \
    int seed_##name(void);                                                             \
    const char seed_##name##_about[] = about;                                          \
    int seed_##name(void)

/* Fail the seed with a message unless cond holds. */
#define SEED_CHECK(cond, ...)                                                          \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "seed check failed (%s:%d): ", __FILE__, __LINE__);        \
            fprintf(stderr, __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                       \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

/* Python's time.monotonic(): seconds on a clock that never jumps. */
static inline double seed_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Python's time.sleep(): to an absolute deadline, so a signal cannot shorten it. */
static inline void seed_sleep(double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long long ns = until.tv_nsec + (long long)(seconds * 1e9);
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0)
        ;
}

#endif
