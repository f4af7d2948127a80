/*
 * my_queue.c - ports the tutorials' hand-written "MyQueue" class: a bounded
 * queue made of a list, one Lock and two Conditions on it (not_empty, not_full),
 * whose put() waits while full and get() waits while empty - what queue.Queue
 * does inside, written out to see how it works. A producer and a consumer thread
 * use it.
 *
 * This is for learning: weft's own weft_queue needs no lock on its fast path (a
 * bounded FIFO is a lock-free ring) and sleeps only when it must.
 *
 * Shows: `while (condition false) wait()` around each change; every item arrives
 * exactly once and in order, and the queue never holds more than maxsize.
 */
#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define MAXSIZE 4
#define ITEMS 50

/* ---- the class ---- */

typedef struct my_queue {
    weft_lock mutex;
    weft_cond not_empty; /* signalled after a put; bound to mutex */
    weft_cond not_full;  /* signalled after a get; bound to mutex */
    int items[MAXSIZE];  /* a circular array; everything below guarded by mutex */
    int head, count;
    int most; /* the largest count ever seen, to check the bound */
} my_queue;

static void my_queue_init(my_queue *q)
{
    *q = (my_queue){0};
    weft_lock_init(&q->mutex, "my_queue");
    weft_cond_init(&q->not_empty, &q->mutex);
    weft_cond_init(&q->not_full, &q->mutex);
}

static void my_queue_put(my_queue *q, int item)
{
    weft_lock_acquire(&q->mutex, WEFT_FOREVER);
    while (q->count == MAXSIZE)
        weft_cond_wait(&q->not_full, WEFT_FOREVER); /* lets go of mutex while asleep */
    q->items[(q->head + q->count) % MAXSIZE] = item;
    q->count++;
    if (q->count > q->most)
        q->most = q->count;
    weft_cond_notify(&q->not_empty, 1);
    weft_lock_release(&q->mutex);
}

static int my_queue_get(my_queue *q)
{
    weft_lock_acquire(&q->mutex, WEFT_FOREVER);
    while (q->count == 0)
        weft_cond_wait(&q->not_empty, WEFT_FOREVER);
    int item = q->items[q->head];
    q->head = (q->head + 1) % MAXSIZE;
    q->count--;
    weft_cond_notify(&q->not_full, 1);
    weft_lock_release(&q->mutex);
    return item;
}

/* ---- using it ---- */

static my_queue q;

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ITEMS; i++)
        my_queue_put(&q, i);
    my_queue_put(&q, 0); /* the sentinel: no more items */
    return NULL;
}

/* Written by the consumer, read by main after joining it. */
static int got, in_order; /* items received; those that were the one expected next */

static void *consumer(void *arg)
{
    (void)arg;
    for (int item; (item = my_queue_get(&q)) != 0;)
        in_order += item == ++got;
    return NULL;
}

WEFT_SEED(my_queue, "a hand-written bounded queue: one lock, two conditions")
{
    my_queue_init(&q);
    weft_thread *c, *p;
    int rc = weft_thread_start(&c, consumer, NULL, &(weft_thread_opts){.name = "consumer"});
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    rc = weft_thread_start(&p, producer, NULL, &(weft_thread_opts){.name = "producer"});
    if (rc != 0)
        my_queue_put(&q, 0); /* nobody will produce: let the consumer stop */
    weft_thread_join(c, WEFT_FOREVER, NULL);
    weft_thread_free(c);
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    weft_thread_join(p, WEFT_FOREVER, NULL);
    weft_thread_free(p);

    printf("MyQueue(maxsize=%d): %d items put, %d got, %d of them in order; it held at most %d\n",
           MAXSIZE, ITEMS, got, in_order, q.most);
    SEED_CHECK(got == ITEMS && in_order == ITEMS, "%d items got, %d in order; %d were put", got,
               in_order, ITEMS);
    SEED_CHECK(q.count == 0, "%d items left in the queue", q.count);
    SEED_CHECK(q.most >= 1 && q.most <= MAXSIZE, "the queue held %d items (maxsize %d)", q.most,
               MAXSIZE);
    return 0;
}
