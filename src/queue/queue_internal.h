/*
 * How a queue is put together: one front end (queue.c) that owns the Python
 * semantics - blocking with deadlines, shutdown, task accounting - over one of two
 * stores of items:
 *   ring.c    bounded FIFO: a lock-free ring with a sequence number per cell;
 *   locked.c  everything else (unbounded FIFO, SimpleQueue, LIFO, priority): a
 *             container under one weft_lock.
 * A store answers "put one / get one, now, without waiting"; the front end turns
 * "full"/"empty" answers into sleeps on the two eventcounts.
 *
 * Shutdown lives in the store, not beside it: close() makes every later try_put
 * answer CLOSED, atomically with respect to the store's own claim of a position
 * (the ring's tail CAS, the locked store's lock). So a put either got in before
 * the close - and a get will still see it - or fails; none can slip in after the
 * drain, which would leave an item nobody may take and a join() stuck for ever.
 * Likewise try_get answers DRAINED only when the store is closed and every item
 * put before the close has been taken: "empty" alone is never final.
 */
#ifndef WEFT_QUEUE_INTERNAL_H
#define WEFT_QUEUE_INTERNAL_H

#include <stdint.h>

#include "internal/eventcount.h"
#include "weft/queue.h"
#include "weft/sync.h"

#define WEFT__CACHELINE 64

/* What try_put / try_get answer besides 0. */
#define WEFT__STORE_FULL 1    /* try_put: no room now */
#define WEFT__STORE_EMPTY 2   /* try_get: nothing now (more may come) */
#define WEFT__STORE_CLOSED 3  /* try_put: closed, nothing more goes in */
#define WEFT__STORE_DRAINED 4 /* try_get: closed and nothing left, for good */

struct weft__store_ops {
    /* Put (item, prio) now, or answer FULL or CLOSED, or -ENOMEM. */
    int (*try_put)(weft_queue *q, void *item, int64_t prio);
    /* Take the next item now, or answer EMPTY or DRAINED. */
    int (*try_get)(weft_queue *q, void **item, int64_t *prio);
    /* Refuse all later puts. Idempotent. */
    void (*close)(weft_queue *q);
    /* A cheap hint, for spinning: might a put (want_room) or a get succeed
     * now? Reads only what the caller's side already touches. */
    bool (*ready)(const weft_queue *q, bool want_room);
    size_t (*size)(const weft_queue *q);
    /* Items ever put (for task accounting). */
    uint64_t (*puts)(const weft_queue *q);
    void (*destroy)(weft_queue *q);
};

/* The ring (ring.c). Producers and consumers each own one cache line of
 * position; cells follow in their own allocation. */
struct weft__ring_cell {
    uint64_t seq; /* whose turn: see ring.c */
    void *item;
};

/* Bit of `tail` that close() sets: positions stay far below it. */
#define WEFT__RING_CLOSED (UINT64_C(1) << 63)

struct weft__ring {
    /* Next position to put, plus WEFT__RING_CLOSED once closed; CAS by
     * producers, fetch_or by close. */
    _Alignas(WEFT__CACHELINE) uint64_t tail;
    _Alignas(WEFT__CACHELINE) uint64_t head; /* next position to get; CAS by consumers */
    _Alignas(WEFT__CACHELINE) struct weft__ring_cell *cells;
    uint64_t cap;  /* number of cells = maxsize */
    uint64_t mask; /* cap - 1 when cap is a power of two, else 0 */
};

/* The locked containers (locked.c). */
struct weft__locked_entry {
    void *item;
    int64_t prio;
    uint64_t order; /* insertion number: equal priorities come out FIFO */
};

struct weft__locked {
    weft_lock lock; /* guards every field below */
    struct weft__locked_entry *v;
    size_t cap, len;
    size_t first;   /* FIFO: index of the oldest entry in the circular array */
    uint64_t puts;  /* items ever put */
    bool closed;    /* no more puts */
};

struct weft_queue {
    const struct weft__store_ops *ops;
    weft_queue_kind kind;
    size_t maxsize;
    int (*compare)(const void *a, const void *b, void *ctx);
    void *compare_ctx;
    void (*discard)(void *item);

    /* 0 running, 1 shut down, 2 shut down immediately. Written by shutdown with
     * release, read with acquire by every call. */
    uint32_t shutdown;

    /* Eventcounts: consumers sleep on not_empty, producers on not_full, join on
     * all_done. Each on its own line so a notify reads a line nobody writes.
     * Beside each, how long that side spins before sleeping (see queue.c):
     * written only on the slow path, relaxed. */
    _Alignas(WEFT__CACHELINE) weft__ec not_empty;
    uint32_t get_spins;
    _Alignas(WEFT__CACHELINE) weft__ec not_full;
    uint32_t put_spins;
    _Alignas(WEFT__CACHELINE) weft__ec all_done;
    /* Items marked done (task_done, or dropped by immediate shutdown). Atomic. */
    uint64_t done;

    _Alignas(WEFT__CACHELINE) union {
        struct weft__ring ring;
        struct weft__locked locked;
    } s;
};

extern const struct weft__store_ops weft__ring_ops;
extern const struct weft__store_ops weft__locked_ops;
int weft__ring_init(weft_queue *q);
int weft__locked_init(weft_queue *q);

#endif
