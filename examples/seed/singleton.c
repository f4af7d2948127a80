/*
 * singleton.c - ports the tutorials' thread-safe singleton: many threads ask for
 * "the" instance at the same moment, and a lock with a double check makes sure
 * only one of them builds it.
 *
 * Shows: weft_once_call() is that pattern ready-made. Ten threads ask at once;
 * the slow constructor runs exactly once and everybody gets the same object.
 */
#include <stdlib.h>
#include <time.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define THREADS 10

typedef struct config {
    int version;
} config;

static weft_once config_once = WEFT_ONCE_INIT;
static config *the_config;  /* written once, inside config_once */
static int constructions;   /* how many times build_config ran (atomic) */
static weft_barrier start_line; /* lets the ten threads ask at the same moment */

static void build_config(void *arg)
{
    __atomic_add_fetch(&constructions, 1, __ATOMIC_RELAXED);
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL); /* a slow constructor */
    the_config = malloc(sizeof *the_config);
    if (the_config)
        the_config->version = 1;
}

/* The singleton's accessor: build on first use, by whoever comes first. */
static config *get_config(void)
{
    weft_once_call(&config_once, build_config, NULL);
    return the_config;
}

static void *ask(void *arg)
{
    weft_barrier_wait(&start_line, NULL);
    return get_config();
}

WEFT_SEED(singleton, "a thread-safe singleton: ten threads, one construction, with weft_once")
{
    weft_barrier_init(&start_line, THREADS, NULL);
    weft_thread *t[THREADS];
    int started = 0, rc = 0;
    for (; started < THREADS; started++)
        if ((rc = weft_thread_start(&t[started], ask, NULL, NULL)) != 0)
            break;
    if (rc != 0)
        weft_barrier_abort(&start_line); /* let the started ones through */

    int same = 0;
    for (int i = 0; i < started; i++) {
        void *got = NULL;
        weft_thread_join(t[i], WEFT_FOREVER, &got);
        weft_thread_free(t[i]);
        same += got != NULL && got == the_config;
    }
    int built = __atomic_load_n(&constructions, __ATOMIC_RELAXED);
    printf("%d threads asked at once: %d construction%s, %d got the same instance %p\n",
           started, built, built == 1 ? "" : "s", same, (void *)the_config);
    free(the_config);
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    SEED_CHECK(built == 1, "the constructor ran %d times", built);
    SEED_CHECK(same == THREADS, "only %d of %d threads got the one instance", same, THREADS);
    return 0;
}
