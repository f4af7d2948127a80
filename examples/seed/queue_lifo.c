/*
 * queue_lifo.c - ports the tutorials' queue.LifoQueue program: put the numbers 0
 * to 4, then get them back while the queue is not empty.
 *
 * Shows: a LIFO queue is a thread-safe stack - the same puts as in queue_fifo
 * come out reversed, the last one put first.
 */
#include <stdint.h>

#include "seed.h"
#include "weft/queue.h"

#define N 5

WEFT_SEED(queue_lifo, "queue.LifoQueue: last in, first out")
{
    weft_queue *q;
    int rc = weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_LIFO});
    SEED_CHECK(rc == 0, "weft_queue_new: %s", weft_strerror(rc));

    for (int i = 0; i < N && rc == 0; i++)
        rc = weft_queue_put(q, (void *)(intptr_t)i, WEFT_FOREVER);
    size_t held = weft_queue_qsize(q);

    int out[N], n = 0;
    while (rc == 0 && !weft_queue_empty(q) && n < N) {
        void *item;
        rc = weft_queue_get(q, &item, WEFT_FOREVER);
        if (rc == 0) {
            out[n++] = (int)(intptr_t)item;
            printf("%d\n", out[n - 1]);
        }
    }
    weft_queue_free(q);

    SEED_CHECK(rc == 0, "put or get: %s", weft_strerror(rc));
    SEED_CHECK(held == N, "qsize() after %d puts was %zu", N, held);
    SEED_CHECK(n == N, "got %d of %d items back", n, N);
    for (int i = 0; i < N; i++)
        SEED_CHECK(out[i] == N - 1 - i, "item %d out was %d, expected %d: not last in, first out",
                   i, out[i], N - 1 - i);
    return 0;
}
