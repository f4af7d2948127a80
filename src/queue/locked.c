/*
 * The locked stores: one growable array under one weft_lock, used as
 *   a circular FIFO    (unbounded Queue, SimpleQueue),
 *   a stack            (LifoQueue),
 *   a binary min-heap  (PriorityQueue) ordered by (priority or compare, order).
 * `order` numbers puts, so equal priorities come out first-in first-out, as
 * Python's PriorityQueue users expect of (priority, item) pairs put in sequence.
 *
 * The lock is held only for the array operation itself, never across a wait:
 * waiting happens in queue.c on the eventcounts, after the lock is released.
 */
#include <errno.h>
#include <stdlib.h>

#include "queue/queue_internal.h"

typedef struct weft__locked_entry entry;

static int grow(struct weft__locked *s)
{
    size_t cap = s->cap ? s->cap * 2 : 16;
    entry *v = malloc(cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    /* Unroll the circular FIFO so it starts at 0; stack and heap start at 0. */
    for (size_t i = 0; i < s->len; i++)
        v[i] = s->v[(s->first + i) % (s->cap ? s->cap : 1)];
    free(s->v);
    s->v = v;
    s->cap = cap;
    s->first = 0;
    return 0;
}

/* a comes out before b? */
static bool before(const weft_queue *q, const entry *a, const entry *b)
{
    if (q->compare) {
        int c = q->compare(a->item, b->item, q->compare_ctx);
        if (c != 0)
            return c < 0;
    } else if (a->prio != b->prio) {
        return a->prio < b->prio;
    }
    return a->order < b->order;
}

static void heap_up(weft_queue *q, entry *v, size_t i)
{
    entry e = v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(q, &e, &v[parent]))
            break;
        v[i] = v[parent];
        i = parent;
    }
    v[i] = e;
}

static void heap_down(weft_queue *q, entry *v, size_t len, size_t i)
{
    entry e = v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= len)
            break;
        if (child + 1 < len && before(q, &v[child + 1], &v[child]))
            child++;
        if (!before(q, &v[child], &e))
            break;
        v[i] = v[child];
        i = child;
    }
    v[i] = e;
}

/* Called with the lock held. */
static int push(weft_queue *q, void *item, int64_t prio)
{
    struct weft__locked *s = &q->s.locked;
    if (s->closed)
        return WEFT__STORE_CLOSED;
    if (q->maxsize && s->len >= q->maxsize)
        return WEFT__STORE_FULL;
    if (s->len == s->cap) {
        int rc = grow(s);
        if (rc)
            return rc;
    }
    entry e = {item, prio, s->puts};
    switch (q->kind) {
    case WEFT_QUEUE_LIFO:
        s->v[s->len] = e;
        break;
    case WEFT_QUEUE_PRIORITY:
        s->v[s->len] = e;
        heap_up(q, s->v, s->len);
        break;
    default: /* FIFO, SIMPLE */
        s->v[(s->first + s->len) % s->cap] = e;
        break;
    }
    /* Atomic stores: qsize() and task accounting read these without the lock. */
    __atomic_store_n(&s->len, s->len + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&s->puts, s->puts + 1, __ATOMIC_RELEASE);
    return 0;
}

/* Called with the lock held. */
static int pop(weft_queue *q, void **item, int64_t *prio)
{
    struct weft__locked *s = &q->s.locked;
    if (s->len == 0)
        return s->closed ? WEFT__STORE_DRAINED : WEFT__STORE_EMPTY;
    entry e;
    size_t len = s->len - 1;
    switch (q->kind) {
    case WEFT_QUEUE_LIFO:
        e = s->v[len];
        break;
    case WEFT_QUEUE_PRIORITY:
        e = s->v[0];
        s->v[0] = s->v[len];
        if (len)
            heap_down(q, s->v, len, 0);
        break;
    default:
        e = s->v[s->first];
        s->first = (s->first + 1) % s->cap;
        break;
    }
    __atomic_store_n(&s->len, len, __ATOMIC_RELAXED); /* read unlocked by qsize() */
    *item = e.item;
    if (prio)
        *prio = e.prio;
    return 0;
}

static int locked_try_put(weft_queue *q, void *item, int64_t prio)
{
    weft_lock_acquire(&q->s.locked.lock, WEFT_FOREVER);
    int rc = push(q, item, prio);
    weft_lock_release(&q->s.locked.lock);
    return rc;
}

static int locked_try_get(weft_queue *q, void **item, int64_t *prio)
{
    weft_lock_acquire(&q->s.locked.lock, WEFT_FOREVER);
    int rc = pop(q, item, prio);
    weft_lock_release(&q->s.locked.lock);
    return rc;
}

static void locked_close(weft_queue *q)
{
    weft_lock_acquire(&q->s.locked.lock, WEFT_FOREVER);
    /* Atomic store: ready() peeks at it without the lock. */
    __atomic_store_n(&q->s.locked.closed, true, __ATOMIC_RELAXED);
    weft_lock_release(&q->s.locked.lock);
}

static bool locked_ready(const weft_queue *q, bool want_room)
{
    const struct weft__locked *s = &q->s.locked;
    size_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED); /* a hint */
    if (__atomic_load_n(&s->closed, __ATOMIC_RELAXED))
        return true; /* the call will answer at once */
    return want_room ? (q->maxsize == 0 || len < q->maxsize) : len > 0;
}

static size_t locked_size(const weft_queue *q)
{
    /* A relaxed read of a field written under the lock: a snapshot, as qsize()
     * promises. Atomic so the unlocked read is not a data race. */
    return __atomic_load_n(&q->s.locked.len, __ATOMIC_RELAXED);
}

static uint64_t locked_puts(const weft_queue *q)
{
    return __atomic_load_n(&q->s.locked.puts, __ATOMIC_ACQUIRE);
}

static void locked_destroy(weft_queue *q)
{
    free(q->s.locked.v);
}

int weft__locked_init(weft_queue *q)
{
    struct weft__locked *s = &q->s.locked;
    weft_lock_init(&s->lock, "weft queue");
    s->v = NULL;
    s->cap = s->len = s->first = 0;
    s->puts = 0;
    s->closed = false;
    return 0;
}

const struct weft__store_ops weft__locked_ops = {
    .try_put = locked_try_put,
    .try_get = locked_try_get,
    .close = locked_close,
    .ready = locked_ready,
    .size = locked_size,
    .puts = locked_puts,
    .destroy = locked_destroy,
};
