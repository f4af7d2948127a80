/*
 * thread_result.c - ports the tutorials' "return a value from a thread" program,
 * where a subclass of threading.Thread stores its result in an attribute that the
 * main thread reads after join().
 *
 * Shows: in weft a thread simply returns its result; weft_thread_join() hands it
 * back, and a join that times out (the thread is still working) hands back nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

typedef struct answer {
    unsigned long long sum;
    char computed_by[WEFT_THREAD_NAME_MAX];
} answer;

static weft_event go = WEFT_EVENT_INIT; /* holds the worker back until main says so */

/* Add up 1..n and return the answer, on the heap, as the thread's result. */
static void *add_up(void *arg)
{
    unsigned long n = *(const unsigned long *)arg;
    weft_event_wait(&go, WEFT_FOREVER);
    answer *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    a->sum = 0;
    for (unsigned long i = 1; i <= n; i++)
        a->sum += i;
    snprintf(a->computed_by, sizeof a->computed_by, "%s",
             weft_thread_name(weft_current_thread()));
    return a;
}

WEFT_SEED(thread_result, "a thread that returns a value, collected by join")
{
    static const unsigned long n = 1000000;
    weft_thread *t;
    int rc = weft_thread_start(&t, add_up, (void *)&n, &(weft_thread_opts){.name = "adder"});
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));

    /* The worker waits for `go`, so it cannot have finished yet. */
    void *result = NULL;
    rc = weft_thread_join(t, 0, &result);
    printf("join(timeout=0) while it works: %s, no result yet\n",
           rc == -ETIMEDOUT ? "timed out" : weft_strerror(rc));
    SEED_CHECK(rc == -ETIMEDOUT && result == NULL, "join(0) gave %d, result %p", rc, result);

    weft_event_set(&go);
    rc = weft_thread_join(t, WEFT_FOREVER, &result);
    SEED_CHECK(rc == 0 && result != NULL, "join: %s, result %p", weft_strerror(rc), result);
    answer *a = result;
    printf("join() returned: 1 + ... + %lu = %llu, computed by %s\n", n, a->sum, a->computed_by);

    void *again = NULL;
    rc = weft_thread_join(t, WEFT_FOREVER, &again);
    weft_thread_free(t);
    bool same = rc == 0 && again == result;
    unsigned long long expected = (unsigned long long)n * (n + 1) / 2;
    bool right = a->sum == expected && strcmp(a->computed_by, "adder") == 0;
    unsigned long long got = a->sum;
    free(a);
    SEED_CHECK(right, "got %llu from the thread, expected %llu from \"adder\"", got, expected);
    SEED_CHECK(same, "a second join gave %d and a different result", rc);
    printf("a second join() returns the same result\n");
    return 0;
}
