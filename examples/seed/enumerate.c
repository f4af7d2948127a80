/*
 * enumerate.c - ports the tutorials' threading.enumerate() / active_count()
 * program: list the threads that are alive right now, by name.
 *
 * Shows: the registry holds the main thread ("MainThread") and every started
 * thread until it ends; the count goes back to one once they are joined.
 */
#include <string.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define WORKERS 3
#define LISTED_MAX 16

static const char *const worker_names[WORKERS] = {"reader", "parser", "writer"};
static weft_event release_workers = WEFT_EVENT_INIT;

static void *wait_for_release(void *arg)
{
    weft_event_wait(&release_workers, WEFT_FOREVER);
    return NULL;
}

typedef struct listing {
    size_t alive;   /* what weft_enumerate() returned */
    size_t dummies; /* threads weft did not start ("Dummy-N") */
    bool has_main;
    int workers_seen;
} listing;

/* Print the live threads' names and sum up what the list holds. */
static listing list_threads(void)
{
    weft_thread *th[LISTED_MAX];
    listing l = {0};
    l.alive = weft_enumerate(th, LISTED_MAX);
    size_t filled = l.alive < LISTED_MAX ? l.alive : LISTED_MAX;
    printf("enumerate():");
    for (size_t i = 0; i < filled; i++) {
        const char *name = weft_thread_name(th[i]);
        printf(" %s", name);
        l.has_main |= strcmp(name, "MainThread") == 0;
        l.dummies += strncmp(name, "Dummy-", 6) == 0;
        for (int w = 0; w < WORKERS; w++)
            l.workers_seen += strcmp(name, worker_names[w]) == 0;
        weft_thread_free(th[i]);
    }
    printf("\nactive_count() = %zu\n", weft_active_count());
    return l;
}

WEFT_SEED(enumerate, "enumerate() and active_count(): the threads alive, by name")
{
    weft_thread *t[WORKERS];
    int started = 0, rc = 0;
    for (; started < WORKERS; started++)
        if ((rc = weft_thread_start(&t[started], wait_for_release, NULL,
                                    &(weft_thread_opts){.name = worker_names[started]})) != 0)
            break;

    listing busy = list_threads(); /* the workers are blocked on the event: all alive */
    size_t count = weft_active_count();

    weft_event_set(&release_workers);
    for (int i = 0; i < started; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    listing done = list_threads();

    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    SEED_CHECK(busy.alive == 1 + WORKERS + busy.dummies,
               "enumerate() found %zu threads, expected 1 + %d + %zu dummies", busy.alive,
               WORKERS, busy.dummies);
    SEED_CHECK(count == busy.alive, "active_count() = %zu but enumerate() found %zu", count,
               busy.alive);
    SEED_CHECK(busy.has_main, "MainThread is not listed");
    SEED_CHECK(busy.workers_seen == WORKERS, "%d of the %d workers are listed", busy.workers_seen,
               WORKERS);
    SEED_CHECK(done.alive == 1 + done.dummies && done.has_main && done.workers_seen == 0,
               "after the joins enumerate() still lists %zu threads", done.alive);
    SEED_CHECK(weft_active_count() == done.alive, "active_count() = %zu after the joins",
               weft_active_count());
    return 0;
}
