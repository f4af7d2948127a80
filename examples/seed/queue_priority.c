/*
 * queue_priority.c - ports the tutorials' queue.PriorityQueue program: put
 * (priority, item) pairs in any order, then get them back while the queue is not
 * empty. Python compares the tuples; weft takes the priority beside the item
 * (weft_queue_put_prio), or a compare function over the items themselves (as a
 * Python class with __lt__ would give).
 *
 * Shows: the smallest priority comes out first, and equal priorities come out in
 * the order they were put; a compare function orders items by any key, here jobs
 * by name.
 */
#include <stdint.h>
#include <string.h>

#include "seed.h"
#include "weft/queue.h"

typedef struct pair {
    int64_t priority;
    const char *item;
} pair;

static const pair given[] = {{1, "a"}, {3, "c"}, {1, "d"}, {2, "b"}};
static const pair expect[] = {{1, "a"}, {1, "d"}, {2, "b"}, {3, "c"}};
#define NPAIRS (sizeof given / sizeof given[0])

typedef struct job {
    const char *name;
} job;

static int by_name(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    return strcmp(((const job *)a)->name, ((const job *)b)->name);
}

static int tuples(void)
{
    weft_queue *q;
    int rc = weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_PRIORITY});
    SEED_CHECK(rc == 0, "weft_queue_new: %s", weft_strerror(rc));
    for (size_t i = 0; i < NPAIRS && rc == 0; i++)
        rc = weft_queue_put_prio(q, given[i].priority, (void *)given[i].item, WEFT_FOREVER);

    pair out[NPAIRS];
    size_t n = 0;
    while (rc == 0 && !weft_queue_empty(q) && n < NPAIRS) {
        void *item;
        rc = weft_queue_get_prio(q, &out[n].priority, &item, WEFT_FOREVER);
        if (rc == 0) {
            out[n].item = item;
            printf("(%lld, '%s')\n", (long long)out[n].priority, out[n].item);
            n++;
        }
    }
    weft_queue_free(q);
    SEED_CHECK(rc == 0, "put or get: %s", weft_strerror(rc));
    SEED_CHECK(n == NPAIRS, "got %zu of %zu pairs back", n, NPAIRS);
    for (size_t i = 0; i < NPAIRS; i++)
        SEED_CHECK(
            out[i].priority == expect[i].priority && strcmp(out[i].item, expect[i].item) == 0,
            "pair %zu came out as (%lld, '%s'), expected (%lld, '%s')", i,
            (long long)out[i].priority, out[i].item, (long long)expect[i].priority, expect[i].item);
    return 0;
}

static int jobs(void)
{
    static job todo[] = {{"test"}, {"build"}, {"package"}, {"deploy"}};
    static const char *const sorted[] = {"build", "deploy", "package", "test"};
    enum { NJOBS = sizeof todo / sizeof todo[0] };

    weft_queue *q;
    int rc =
        weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_PRIORITY, .compare = by_name});
    SEED_CHECK(rc == 0, "weft_queue_new(compare): %s", weft_strerror(rc));
    for (int i = 0; i < NJOBS && rc == 0; i++)
        rc = weft_queue_put(q, &todo[i], WEFT_FOREVER);

    const char *out[NJOBS];
    int n = 0;
    void *item;
    printf("jobs by name:");
    while (rc == 0 && n < NJOBS && (rc = weft_queue_get(q, &item, 0)) == 0) {
        out[n++] = ((job *)item)->name;
        printf(" %s", out[n - 1]);
    }
    printf("\n");
    if (rc == -WEFT_EEMPTY)
        rc = 0; /* fewer than NJOBS came out: reported below */
    weft_queue_free(q);
    SEED_CHECK(rc == 0, "put or get: %s", weft_strerror(rc));
    SEED_CHECK(n == NJOBS, "got %d of %d jobs back", n, NJOBS);
    for (int i = 0; i < NJOBS; i++)
        SEED_CHECK(strcmp(out[i], sorted[i]) == 0, "job %d came out as %s, expected %s", i, out[i],
                   sorted[i]);
    return 0;
}

WEFT_SEED(queue_priority, "queue.PriorityQueue: smallest priority first, ties in put order")
{
    int rc = tuples();
    return rc ? rc : jobs();
}
