/*
 * The bounded FIFO store: a ring of `cap` cells, each with a sequence number that
 * says whose turn it is (the scheme of D. Vyukov's bounded MPMC queue).
 *
 * Positions count up forever (64 bits never wrap in practice); position p lives in
 * cell p % cap. Cell c starts with seq = c. For position p:
 *   seq == p      the cell is free for the producer of p;
 *   seq == p + 1  the item of p is in it, ready for the consumer of p;
 *   seq == p + cap  the consumer of p is done: free for the producer of p + cap.
 * A producer claims position p by a CAS of tail from p to p+1 (only while the
 * cell's seq says free), writes the item, then publishes it by storing seq = p+1
 * with release. A consumer claims p by a CAS of head, reads the item (ordered
 * after the producer's write by its acquire load of seq), then hands the cell to
 * the next lap by storing seq = p + cap with release (ordering its read of the
 * item before the producer's overwrite).
 *
 * Why it is correct: each position is claimed by exactly one producer and one
 * consumer (the CAS on tail/head), the cell's seq hands the cell back and forth
 * between them in strict alternation, and a producer can never lap a consumer:
 * it needs seq == p, which only the consumer of p - cap sets. Progress: a
 * producer or consumer stopped between its CAS and its seq store holds up only
 * that cell's next user (not lock-free in the strict sense, like every bounded
 * array queue with per-cell turns); everybody else goes on.
 *
 * "Full" and "empty" answers are as of the cell looked at: a put may see "full"
 * while a consumer is between its CAS and its seq store. Blocking callers then
 * sleep and are woken by that consumer's notify (queue.c), so nothing is lost.
 */
#include <errno.h>
#include <stdlib.h>

#include "queue/queue_internal.h"

static inline struct weft__ring_cell *cell_at(const struct weft__ring *r, uint64_t pos)
{
    return &r->cells[r->mask ? (pos & r->mask) : (pos % r->cap)];
}

static int ring_try_put(weft_queue *q, void *item, int64_t prio)
{
    (void)prio;
    struct weft__ring *r = &q->s.ring;
    /* Relaxed: the position is only a guess; the cell's seq (acquire) and the
     * CAS decide. */
    uint64_t pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
    struct weft__ring_cell *c;
    for (;;) {
        /* Closed: the bit is part of tail, so a CAS from a value read before
         * close() fails and we come back here. */
        if (pos & WEFT__RING_CLOSED)
            return WEFT__STORE_CLOSED;
        c = cell_at(r, pos);
        /* Acquire: pairs with the consumer's release of this cell, so our write
         * of the item below cannot overtake its read of the old one. */
        uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            /* Relaxed CAS: it only claims the position; the cell's seq carries
             * the ordering. On failure pos is reloaded with the current tail. */
            if (__atomic_compare_exchange_n(&r->tail, &pos, pos + 1, true, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                break;
        } else if (diff < 0) {
            return WEFT__STORE_FULL; /* the consumer of pos - cap is not done */
        } else {
            pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED); /* lapped: look again */
        }
    }
    c->item = item;
    /* Release: publishes the item to the consumer of pos. */
    __atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
    return 0;
}

/* A get found no item at pos. Final only if the ring is closed and pos is the
 * closing position: an item claimed before the close is still on its way (its
 * producer is between its CAS and its publishing store) and will come. */
static int ring_nothing_at(const struct weft__ring *r, uint64_t pos)
{
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    if ((tail & WEFT__RING_CLOSED) && (tail & ~WEFT__RING_CLOSED) <= pos)
        return WEFT__STORE_DRAINED;
    return WEFT__STORE_EMPTY;
}

static int ring_try_get(weft_queue *q, void **item, int64_t *prio)
{
    struct weft__ring *r = &q->s.ring;
    uint64_t pos = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
    struct weft__ring_cell *c;
    for (;;) {
        c = cell_at(r, pos);
        /* Acquire: pairs with the producer's release; the item is visible. */
        uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        int64_t diff = (int64_t)(seq - (pos + 1));
        if (diff == 0) {
            if (__atomic_compare_exchange_n(&r->head, &pos, pos + 1, true, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                break;
        } else if (diff < 0) {
            return ring_nothing_at(r, pos);
        } else {
            pos = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
        }
    }
    *item = c->item;
    if (prio)
        *prio = 0;
    /* Release: our read of the item happens before the next lap's write. */
    __atomic_store_n(&c->seq, pos + r->cap, __ATOMIC_RELEASE);
    return 0;
}

static bool ring_ready(const weft_queue *q, bool want_room)
{
    const struct weft__ring *r = &q->s.ring;
    /* Relaxed: a hint. The caller's own index and the cell it would use next,
     * nothing of the other side's. */
    if (want_room) {
        uint64_t pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
        if (pos & WEFT__RING_CLOSED)
            return true; /* the put will answer at once */
        uint64_t seq = __atomic_load_n(&cell_at(r, pos)->seq, __ATOMIC_RELAXED);
        return (int64_t)(seq - pos) >= 0;
    }
    uint64_t pos = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
    uint64_t seq = __atomic_load_n(&cell_at(r, pos)->seq, __ATOMIC_RELAXED);
    return (int64_t)(seq - (pos + 1)) >= 0;
}

static size_t ring_size(const weft_queue *q)
{
    const struct weft__ring *r = &q->s.ring;
    /* Read head first: tail only grows, so tail - head cannot go negative from
     * reading tail late. Claimed-but-unpublished items count as in the queue. */
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) & ~WEFT__RING_CLOSED;
    uint64_t n = tail - head;
    return n > r->cap ? (size_t)r->cap : (size_t)n;
}

static uint64_t ring_puts(const weft_queue *q)
{
    return __atomic_load_n(&q->s.ring.tail, __ATOMIC_ACQUIRE) & ~WEFT__RING_CLOSED;
}

static void ring_close(weft_queue *q)
{
    /* seq_cst RMW on tail: every producer's claim is a CAS on the same word, so
     * each claim is ordered before or after this, and those after see the bit. */
    __atomic_fetch_or(&q->s.ring.tail, WEFT__RING_CLOSED, __ATOMIC_SEQ_CST);
}

static void ring_destroy(weft_queue *q)
{
    free(q->s.ring.cells);
}

int weft__ring_init(weft_queue *q)
{
    struct weft__ring *r = &q->s.ring;
    uint64_t cap = q->maxsize;
    r->cells = malloc(cap * sizeof *r->cells);
    if (!r->cells)
        return -ENOMEM;
    for (uint64_t i = 0; i < cap; i++)
        r->cells[i] = (struct weft__ring_cell){i, NULL};
    r->cap = cap;
    r->mask = (cap & (cap - 1)) == 0 ? cap - 1 : 0; /* 0 for cap 1: modulo path */
    r->head = r->tail = 0;
    return 0;
}

const struct weft__store_ops weft__ring_ops = {
    .try_put = ring_try_put,
    .try_get = ring_try_get,
    .close = ring_close,
    .ready = ring_ready,
    .size = ring_size,
    .puts = ring_puts,
    .destroy = ring_destroy,
};
