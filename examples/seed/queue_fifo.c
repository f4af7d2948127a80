/*
 * queue_fifo.c - ports the tutorials' first queue.Queue program: put the numbers
 * 0 to 4, then get them back while the queue is not empty. Then a Queue with
 * maxsize=3, to meet qsize(), full(), empty() and the Full and Empty exceptions.
 *
 * Shows: a FIFO queue hands items out in the order they went in; a bounded queue
 * refuses a non-blocking put when full (-WEFT_EFULL, Python's queue.Full) and an
 * empty one a non-blocking get (-WEFT_EEMPTY, Python's queue.Empty); a put that
 * waits with a timeout gives up with -ETIMEDOUT.
 */
#include <stdint.h>

#include "seed.h"
#include "weft/queue.h"

#define N 5

/* Items are pointer-sized values: small integers travel as themselves. */
#define AS_ITEM(i) ((void *)(intptr_t)(i))
#define AS_INT(p) ((int)(intptr_t)(p))

/* The tutorial's loop; stores what came out in out[], returns how many. */
static int put_then_drain(weft_queue *q, int *out)
{
    for (int i = 0; i < N; i++)
        if (weft_queue_put(q, AS_ITEM(i), WEFT_FOREVER) != 0)
            return -1;
    int n = 0;
    while (!weft_queue_empty(q) && n < N) {
        void *item;
        if (weft_queue_get(q, &item, WEFT_FOREVER) != 0)
            return -1;
        out[n++] = AS_INT(item);
        printf("%d\n", out[n - 1]);
    }
    return n;
}

static int bounded_demo(weft_queue *q)
{
    for (int i = 0; i < 3; i++)
        SEED_CHECK(weft_queue_put(q, AS_ITEM(i), 0) == 0, "put %d into Queue(maxsize=3)", i);
    int full_rc = weft_queue_put(q, AS_ITEM(3), 0);
    int wait_rc = weft_queue_put(q, AS_ITEM(3), 0.05);
    printf("Queue(maxsize=3) after 3 puts: qsize()=%zu full()=%s; put_nowait -> %s, "
           "put(timeout=0.05) -> %s\n",
           weft_queue_qsize(q), weft_queue_full(q) ? "True" : "False",
           full_rc == -WEFT_EFULL ? "Full" : weft_strerror(full_rc),
           wait_rc == -ETIMEDOUT ? "timed out" : weft_strerror(wait_rc));
    SEED_CHECK(weft_queue_qsize(q) == 3 && weft_queue_full(q), "qsize %zu, full %d",
               weft_queue_qsize(q), weft_queue_full(q));
    SEED_CHECK(full_rc == -WEFT_EFULL, "put with timeout 0 on a full queue: %s",
               weft_strerror(full_rc));
    SEED_CHECK(wait_rc == -ETIMEDOUT, "put with timeout 0.05 on a full queue: %s",
               weft_strerror(wait_rc));

    void *item;
    for (int i = 0; i < 3; i++) {
        int rc = weft_queue_get(q, &item, 0);
        SEED_CHECK(rc == 0 && AS_INT(item) == i, "get %d: %s, item %d", i, weft_strerror(rc),
                   AS_INT(item));
    }
    int empty_rc = weft_queue_get(q, &item, 0);
    printf("after 3 gets: qsize()=%zu empty()=%s; get_nowait -> %s\n", weft_queue_qsize(q),
           weft_queue_empty(q) ? "True" : "False",
           empty_rc == -WEFT_EEMPTY ? "Empty" : weft_strerror(empty_rc));
    SEED_CHECK(weft_queue_qsize(q) == 0 && weft_queue_empty(q) && !weft_queue_full(q),
               "qsize %zu, empty %d, full %d", weft_queue_qsize(q), weft_queue_empty(q),
               weft_queue_full(q));
    SEED_CHECK(empty_rc == -WEFT_EEMPTY, "get with timeout 0 on an empty queue: %s",
               weft_strerror(empty_rc));
    return 0;
}

WEFT_SEED(queue_fifo, "queue.Queue: first in, first out; Full and Empty on a bounded one")
{
    weft_queue *q;
    int rc = weft_queue_new(&q, NULL); /* queue.Queue(): FIFO, unbounded */
    SEED_CHECK(rc == 0, "weft_queue_new: %s", weft_strerror(rc));
    int out[N];
    int n = put_then_drain(q, out);
    weft_queue_free(q);
    SEED_CHECK(n == N, "got %d of %d items back", n, N);
    for (int i = 0; i < N; i++)
        SEED_CHECK(out[i] == i, "item %d came out as %d: not first in, first out", i, out[i]);

    rc = weft_queue_new(&q, &(weft_queue_opts){.maxsize = 3});
    SEED_CHECK(rc == 0, "weft_queue_new(maxsize=3): %s", weft_strerror(rc));
    rc = bounded_demo(q);
    weft_queue_free(q);
    return rc;
}
