/*
 * weft/queue.h - Python's queue module: Queue, LifoQueue, PriorityQueue and
 * SimpleQueue, in C.
 *
 *     weft_queue *q;
 *     weft_queue_new(&q, &(weft_queue_opts){.maxsize = 1024});
 *     weft_queue_put(q, job, WEFT_FOREVER);
 *     void *item;
 *     weft_queue_get(q, &item, 5.0);      // 0, -WEFT_EEMPTY, -ETIMEDOUT, ...
 *     weft_queue_task_done(q);
 *     weft_queue_free(q);
 *
 * Items are pointer-sized values (void *); the queue never looks at what they point
 * to. Every call is thread-safe: any number of threads may put and get at once.
 *
 * Codes shared by the calls below (besides 0):
 *   -WEFT_EEMPTY    get with timeout 0 found the queue empty (Python's Empty)
 *   -WEFT_EFULL     put with timeout 0 found the queue full (Python's Full)
 *   -ETIMEDOUT      a positive timeout expired (empty or full all that time)
 *   -WEFT_ESHUTDOWN the queue was shut down (Python 3.13's ShutDown): puts fail at
 *                   once; gets fail once nothing is left to drain
 *   -EINVAL         a NULL queue or out-pointer, or a bad argument
 */
#ifndef WEFT_QUEUE_H
#define WEFT_QUEUE_H

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_EEMPTY EAGAIN
#define WEFT_EFULL ENOBUFS

typedef struct weft_queue weft_queue;

typedef enum weft_queue_kind {
    WEFT_QUEUE_FIFO = 0,     /* queue.Queue: first in, first out */
    WEFT_QUEUE_LIFO,         /* queue.LifoQueue: last in, first out */
    WEFT_QUEUE_PRIORITY,     /* queue.PriorityQueue: smallest priority first */
    WEFT_QUEUE_SIMPLE,       /* queue.SimpleQueue: unbounded FIFO, no task tracking */
} weft_queue_kind;

typedef struct weft_queue_opts {
    weft_queue_kind kind; /* default WEFT_QUEUE_FIFO */
    /* Most items held at once; 0 (the default) means unbounded. Must be 0 for
     * WEFT_QUEUE_SIMPLE. */
    size_t maxsize;
    /* PRIORITY only: order items by compare(a, b, ctx) (< 0: a comes out first)
     * instead of by the integer priority given to weft_queue_put_prio(). Items
     * that compare equal come out in the order they were put, as in Python. */
    int (*compare)(const void *a, const void *b, void *ctx);
    void *compare_ctx;
    /* Called on each item still held when the queue is freed or dropped by
     * weft_queue_shutdown(q, true); may be NULL. */
    void (*discard)(void *item);
} weft_queue_opts;

/* Make a queue; opts may be NULL (unbounded FIFO). Returns 0, -EINVAL (out NULL,
 * unknown kind, maxsize given for SIMPLE, compare given for a non-PRIORITY kind),
 * -ENOMEM. */
WEFT_API int weft_queue_new(weft_queue **out, const weft_queue_opts *opts);

/* Free the queue, passing items still held to opts.discard. No thread may use it
 * during or after this call. NULL is ignored. */
WEFT_API void weft_queue_free(weft_queue *q);

/* Put an item, waiting up to timeout for room in a bounded queue. PRIORITY: the
 * item gets priority 0. Returns 0, -WEFT_EFULL, -ETIMEDOUT, -WEFT_ESHUTDOWN, -EINVAL,
 * -ENOMEM (unbounded queue could not grow). Blocks only while full. */
WEFT_API int weft_queue_put(weft_queue *q, void *item, double timeout);

/* Take the next item into *item, waiting up to timeout for one. Returns 0,
 * -WEFT_EEMPTY, -ETIMEDOUT, -WEFT_ESHUTDOWN, -EINVAL. Blocks only while empty. */
WEFT_API int weft_queue_get(weft_queue *q, void **item, double timeout);

/* PRIORITY: put with an integer priority (smaller comes out first, equal
 * priorities in insertion order). On other kinds: -EINVAL. Otherwise as put. */
WEFT_API int weft_queue_put_prio(weft_queue *q, int64_t priority, void *item, double timeout);

/* PRIORITY: get, also storing the item's priority in *priority (if not NULL).
 * On other kinds: -EINVAL. Otherwise as get. */
WEFT_API int weft_queue_get_prio(weft_queue *q, int64_t *priority, void **item, double timeout);

/*
 * Put items[0..n) in order, waiting up to timeout (overall) for room as needed.
 * *done (if not NULL) receives how many were put, also on failure: on a timeout or
 * shutdown part of the batch may be in. Returns 0 (all put), or the code of the put
 * that stopped the batch. PRIORITY items get priority 0. Blocks while full.
 */
WEFT_API int weft_queue_put_many(weft_queue *q, void *const *items, size_t n, size_t *done,
                                 double timeout);

/*
 * Take up to max items into items[], waiting up to timeout for the first one and
 * not at all for the rest. *got (if not NULL) receives how many. Returns 0 (at
 * least one), or the code of get when none could be taken. Blocks while empty.
 */
WEFT_API int weft_queue_get_many(weft_queue *q, void **items, size_t max, size_t *got,
                                 double timeout);

/* Python's qsize(), empty(), full(): snapshots, stale as soon as returned. */
WEFT_API size_t weft_queue_qsize(const weft_queue *q);
WEFT_API bool weft_queue_empty(const weft_queue *q);
WEFT_API bool weft_queue_full(const weft_queue *q);
/* The maxsize given at creation (0: unbounded). */
WEFT_API size_t weft_queue_maxsize(const weft_queue *q);

/* Mark one item taken with get as processed. Returns 0, -EINVAL (called more
 * times than items were put - Python's ValueError - or SIMPLE kind, which
 * tracks no tasks). Never blocks. */
WEFT_API int weft_queue_task_done(weft_queue *q);

/* Wait until every item ever put has been marked done. Returns 0, -ETIMEDOUT,
 * -EINVAL (SIMPLE kind). Blocks. */
WEFT_API int weft_queue_join(weft_queue *q, double timeout);

/*
 * Python 3.13's shutdown(): later puts fail with -WEFT_ESHUTDOWN; gets drain what
 * is left, then fail with it. With immediate, gets fail at once and what is left is
 * dropped (passed to opts.discard, and counted done, so join() returns once the
 * items already taken are marked done too). Every blocked put and get wakes up.
 * Returns 0 or -EINVAL. Calling it again is harmless (a later immediate call still
 * drops what is left).
 */
WEFT_API int weft_queue_shutdown(weft_queue *q, bool immediate);

/* True once weft_queue_shutdown() has been called. */
WEFT_API bool weft_queue_is_shutdown(const weft_queue *q);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_QUEUE_H */
