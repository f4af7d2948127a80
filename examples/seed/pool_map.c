/*
 * pool_map.c - ports the tutorials' Executor.map() programs: squaring a list of
 * numbers with a chunksize, then "checking" a list of URLs where some are down
 * (a short sleep stands in for the request; a failed check is the exception
 * that map() re-raises).
 *
 * Shows: map() gives the results in input order, whatever order the pool
 * computes them in; with a chunksize, each chunk of consecutive items is one
 * task, done by one worker; a failing item makes map() report the first failure
 * in input order, not the first one to happen.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "seed.h"
#include "weft/executor.h"

#define N 1000
#define CHUNK 50

/* A small number per thread, to see which thread handled which item. */
static atomic_int threads_seen;
static _Thread_local int my_number; /* 0 until the thread's first item */
static int handled_by[N];           /* item -> thread number; written by one task each */

static void nap_ms(long ms)
{
    nanosleep(&(struct timespec){0, ms * 1000 * 1000}, NULL);
}

/* The mapped function: x -> x*x. Items and results are numbers in pointers. */
static void *square(void *item)
{
    intptr_t x = (intptr_t)item;
    if (my_number == 0)
        my_number = atomic_fetch_add(&threads_seen, 1) + 1;
    handled_by[x] = my_number;
    if (x % 97 == 0)
        nap_ms(1); /* uneven work, so chunks finish out of order */
    return (void *)(x * x);
}

typedef struct site {
    const char *url;
    int delay_ms; /* how long the check takes */
    int error;    /* the failure it ends with, 0 if the site is up */
} site;

static const site sites[] = {
    {"https://example.org/", 10, 0},
    {"https://weft.dev/", 20, 0},
    {"https://down.example/", 80, -EHOSTUNREACH}, /* fails, but late */
    {"https://example.com/", 10, 0},
    {"https://gone.example/", 1, -ENOENT}, /* fails first, but comes later in the list */
};
#define NSITES (sizeof sites / sizeof sites[0])

static void *check_url(void *item)
{
    const site *s = item;
    nap_ms(s->delay_ms);
    if (s->error) {
        weft_task_fail(s->error, "%s: %s", s->url, strerror(-s->error));
        return NULL;
    }
    return (void *)"200 OK";
}

WEFT_SEED(pool_map, "Executor.map with a chunksize: results in input order")
{
    weft_executor *ex;
    int rc = weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 4});
    SEED_CHECK(rc == 0, "weft_executor_new: %s", weft_strerror(rc));

    /* 1. squares, 20 tasks of 50 items */
    static void *items[N], *results[N];
    for (intptr_t i = 0; i < N; i++)
        items[i] = (void *)i;
    rc = weft_executor_map(ex, square, items, results, N, CHUNK, 10.0, NULL);
    int wrong = -1, split = -1;
    for (int i = N - 1; i >= 0; i--)
        if ((intptr_t)results[i] != (intptr_t)i * i)
            wrong = i;
    for (int i = N - 1; i >= 0; i--)
        if (handled_by[i] == 0 || handled_by[i] != handled_by[i - i % CHUNK])
            split = i;

    /* 2. URLs, one task each: two of them fail */
    void *urls[NSITES], *status[NSITES] = {NULL};
    for (size_t i = 0; i < NSITES; i++)
        urls[i] = (void *)&sites[i];
    weft_map_failure why = {0};
    int map_rc = weft_executor_map(ex, check_url, urls, status, NSITES, 1, 10.0, &why);
    weft_executor_free(ex);

    SEED_CHECK(rc == 0, "map(square): %s", weft_strerror(rc));
    printf("squares of 0..%d: ..., %ld, %ld, %ld (%d chunks of %d on %d threads)\n", N - 1,
           (long)(intptr_t)results[N - 3], (long)(intptr_t)results[N - 2],
           (long)(intptr_t)results[N - 1], N / CHUNK, CHUNK, atomic_load(&threads_seen));
    SEED_CHECK(wrong < 0, "results[%d] is %ld, expected %ld", wrong, (long)(intptr_t)results[wrong],
               (long)wrong * wrong);
    SEED_CHECK(split < 0, "item %d was done by thread %d, the start of its chunk by %d", split,
               handled_by[split], handled_by[split - split % CHUNK]);

    for (size_t i = 0; i < 2; i++)
        printf("%s %s\n", sites[i].url, status[i] ? (const char *)status[i] : "?");
    printf("map(check_url) raised: %s (%s's; %s failed sooner, but later in the list)\n",
           map_rc == 0 ? "nothing" : weft_strerror(map_rc), sites[2].url, sites[4].url);
    if (map_rc != 0)
        printf("  item %zu failed: %s\n", why.index, why.msg);
    SEED_CHECK(map_rc != 0 && why.index == 2 && why.code == map_rc,
               "map(check_url) blamed item %zu (code %d), expected item 2", why.index, why.code);
    SEED_CHECK(map_rc == sites[2].error,
               "map(check_url) gave %s, expected the first failure in input order (%s)",
               weft_strerror(map_rc), weft_strerror(sites[2].error));
    for (size_t i = 0; i < 2; i++)
        SEED_CHECK(status[i] && strcmp(status[i], "200 OK") == 0, "%s: no status", sites[i].url);
    return 0;
}
