/*
 * The injection queue: where tasks submitted from outside the pool wait for a
 * worker. An intrusive linked queue of futures after D. Vyukov's node-based
 * multi-producer design: a producer exchanges itself into `head` (one RMW, no
 * lock, never fails), then links the previous head to itself. The consumer walks
 * from `tail`. A placeholder node (`stub`) keeps the list non-empty so that
 * producers never touch the consumer's end. The consumer side is single-threaded
 * by a try-lock; a worker that finds it held looks elsewhere (it reports "busy",
 * never "empty", so nobody goes to sleep on a queue another thread is draining).
 *
 * A pop that answers NULL while items are queued can only do so because some
 * producer has exchanged head but not yet stored its link. That producer links
 * with a seq_cst store and then checks the pool's eventcount with a seq_cst load
 * (weft__pool_wake). A sleeper prepares the eventcount (seq_cst RMW) and then
 * pops, reading the missing link with a seq_cst load. If the producer's check
 * missed the sleeper's bit, the check came first in the single order S of seq_cst
 * operations, so the link store (before it) also precedes the sleeper's load of
 * that link, which therefore sees it. So either the sleeper finds the item or the
 * producer wakes it: no task is stranded.
 */
#include "executor/executor_internal.h"

void weft__inject_init(struct weft__inject *q)
{
    q->stub.next = NULL;
    q->head = &q->stub;
    q->tail = &q->stub;
    q->lock = 0;
}

void weft__inject_push(struct weft__inject *q, weft_future *f)
{
    /* Relaxed: f is not reachable yet; the link store below publishes it. */
    __atomic_store_n(&f->next, NULL, __ATOMIC_RELAXED);
    /* Acq_rel would do for the queue itself (acquire: the previous producer's
     * store of prev->next = NULL happens before ours of prev->next = f; release:
     * the same for the next producer); seq_cst costs nothing more on x86. */
    weft_future *prev = __atomic_exchange_n(&q->head, f, __ATOMIC_SEQ_CST);
    /* seq_cst (hence release): publishes f's fields to the consumer, and orders
     * the link before our caller's eventcount check (see above). */
    __atomic_store_n(&prev->next, f, __ATOMIC_SEQ_CST);
}

/* Under the consumer lock. */
static weft_future *pop_locked(struct weft__inject *q)
{
    /* Relaxed: tail is only written under the lock we hold. */
    weft_future *t = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);
    /* seq_cst loads of links (acquire: the node's fields are visible; seq_cst:
     * the sleeper's half of the argument above). */
    weft_future *next = __atomic_load_n(&t->next, __ATOMIC_SEQ_CST);
    if (t == &q->stub) {
        if (!next)
            return NULL;
        __atomic_store_n(&q->tail, next, __ATOMIC_RELAXED);
        t = next;
        next = __atomic_load_n(&t->next, __ATOMIC_SEQ_CST);
    }
    if (next) {
        __atomic_store_n(&q->tail, next, __ATOMIC_RELAXED);
        return t;
    }
    /* t looks last. If head moved on, a producer is between its exchange and
     * its link: it will link and then wake sleepers. */
    if (t != __atomic_load_n(&q->head, __ATOMIC_SEQ_CST))
        return NULL;
    /* t really is last: put the stub behind it so t can leave the list. */
    weft__inject_push(q, &q->stub);
    next = __atomic_load_n(&t->next, __ATOMIC_SEQ_CST);
    if (next) {
        __atomic_store_n(&q->tail, next, __ATOMIC_RELAXED);
        return t;
    }
    return NULL; /* a producer slipped in before the stub and has not linked */
}

bool weft__inject_nonempty(struct weft__inject *q)
{
    /* Relaxed snapshot: only a hint for spinning workers; the decision to sleep
     * is taken with a real pop (see above). Empty when the consumer has moved
     * past every node and nothing was pushed after the stub. */
    return __atomic_load_n(&q->head, __ATOMIC_RELAXED) != &q->stub ||
           __atomic_load_n(&q->tail, __ATOMIC_RELAXED) != &q->stub;
}

weft_future *weft__inject_pop(struct weft__inject *q, bool strict, bool *busy)
{
    /* The hint only saves spinning workers a trip through the lock; a check
     * that decides to sleep is strict and takes the lock (see above). */
    if (!strict && !weft__inject_nonempty(q))
        return NULL;
    uint32_t z = 0;
    /* Acquire: the previous holder's writes of tail and links are visible. */
    if (!__atomic_compare_exchange_n(&q->lock, &z, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        *busy = true;
        return NULL;
    }
    weft_future *f = pop_locked(q);
    /* Release: hands tail and the stub's state to the next holder. */
    __atomic_store_n(&q->lock, 0, __ATOMIC_RELEASE);
    return f;
}
