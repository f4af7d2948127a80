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
 * A pop answers "empty" only when, under the lock, the tail is the stub with no
 * link after it and a seq_cst load of head reads the stub too: then every node
 * exchanged into head before that load sits before the stub and was consumed.
 * When a node is exchanged in but not linked yet (its producer is between its
 * two steps), the pop answers "busy", not "empty": the searcher looks again and
 * does not sleep. The producer finishes within a few instructions.
 *
 * Why a sleeper misses no push: a producer exchanges head (seq_cst RMW) before
 * its eventcount check (a seq_cst load, weft__pool_wake); a sleeper prepares the
 * eventcount (seq_cst RMW) before its final, strict pop, which loads head with
 * seq_cst. If the producer's check misses the sleeper's bit, the check precedes
 * the prepare in the single order S of seq_cst operations, so the exchange
 * precedes the sleeper's load of head, which reads that node or a later head.
 * Either way the pop cannot answer "empty" while the node is still queued: a
 * later head that is the stub was pushed by a consumer behind the node, after
 * which "empty" needs the tail to have passed it. The link itself can then be a
 * plain release store.
 */
#include "executor/executor_internal.h"

/* The most tasks one take moves to a deque (besides the one it returns). */
#define INJECT_BATCH_MAX 64

void weft__inject_init(struct weft__inject *q)
{
    q->stub.next = NULL;
    q->head = &q->stub;
    q->tail = &q->stub;
    q->lock = 0;
    q->batches = 0;
    q->hint_pos = 0;
    for (unsigned i = 0; i < WEFT__INJECT_HINTS; i++)
        q->hints[i] = NULL;
}

void weft__inject_push(struct weft__inject *q, weft_future *f)
{
    /* Relaxed, racy (producers may overwrite each other's hints and count
     * one push twice): a hint is only an address to prefetch. f->seq is a
     * plain write, published with f by the exchange and link below. */
    unsigned h = __atomic_load_n(&q->hint_pos, __ATOMIC_RELAXED);
    __atomic_store_n(&q->hint_pos, h + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&q->hints[h % WEFT__INJECT_HINTS], f, __ATOMIC_RELAXED);
    f->seq = h;
    /* Relaxed: f is not reachable yet; the link store below publishes it. */
    __atomic_store_n(&f->next, NULL, __ATOMIC_RELAXED);
    /* seq_cst: the producer's half of the argument above. (Acq_rel would do for
     * the list itself: acquire, so the previous producer's store of
     * prev->next = NULL happens before ours of prev->next = f; release, the
     * same for the next producer.) */
    weft_future *prev = __atomic_exchange_n(&q->head, f, __ATOMIC_SEQ_CST);
    /* Release: publishes f's fields to the consumer that follows the link. */
    __atomic_store_n(&prev->next, f, __ATOMIC_RELEASE);
}

/* Under the consumer lock. NULL with *busy set: a push is in progress.
 * keep_last: answer NULL (without *busy) rather than take a node that looks
 * last, so neither head nor the newest node - the lines producers write - is
 * touched; for a caller that already took some. */
static weft_future *pop_locked(struct weft__inject *q, bool *busy, bool keep_last)
{
    /* Relaxed: tail is only written under the lock we hold. */
    weft_future *t = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);
    /* Acquire loads of links: the linked node's fields are visible. */
    weft_future *next = __atomic_load_n(&t->next, __ATOMIC_ACQUIRE);
    if (t == &q->stub) {
        if (!next) {
            /* seq_cst: the sleeper's half of the argument above. */
            if (__atomic_load_n(&q->head, __ATOMIC_SEQ_CST) != &q->stub)
                *busy = true; /* exchanged in behind the stub, not linked yet */
            return NULL;
        }
        __atomic_store_n(&q->tail, next, __ATOMIC_RELAXED);
        t = next;
        next = __atomic_load_n(&t->next, __ATOMIC_ACQUIRE);
    }
    if (next) {
        __atomic_store_n(&q->tail, next, __ATOMIC_RELAXED);
        return t;
    }
    if (keep_last)
        return NULL;
    /* t looks last. If head moved on, a producer is between its exchange and
     * its link. */
    if (t != __atomic_load_n(&q->head, __ATOMIC_SEQ_CST)) {
        *busy = true;
        return NULL;
    }
    /* t really is last: put the stub behind it so t can leave the list. */
    weft__inject_push(q, &q->stub);
    next = __atomic_load_n(&t->next, __ATOMIC_ACQUIRE);
    if (next) {
        __atomic_store_n(&q->tail, next, __ATOMIC_RELAXED);
        return t;
    }
    *busy = true; /* a producer slipped in before the stub and has not linked */
    return NULL;
}

bool weft__inject_nonempty(struct weft__inject *q)
{
    /* Relaxed snapshot: only a hint for spinning workers; the decision to sleep
     * is taken with a real pop (see above). Empty when the consumer has moved
     * past every node and nothing was pushed after the stub. */
    return __atomic_load_n(&q->head, __ATOMIC_RELAXED) != &q->stub ||
           __atomic_load_n(&q->tail, __ATOMIC_RELAXED) != &q->stub;
}

weft_future *weft__inject_take(struct weft__inject *q, bool strict, bool *busy,
                               const uint32_t *gen, weft__deque *dest, size_t max)
{
    /* The hint only saves spinning workers a trip through the lock; a check
     * that decides to sleep is strict and takes the lock (see above). */
    if (!strict && !weft__inject_nonempty(q))
        return NULL;
    uint32_t z = 0;
    /* Acquire: the previous holder's writes of tail, links, batches and its
     * deque pushes are visible. */
    if (!__atomic_compare_exchange_n(&q->lock, &z, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        *busy = true;
        return NULL;
    }
    weft_future *f = NULL;
    /* Relaxed: batches is written only under the lock we hold. */
    uint32_t b = __atomic_load_n(&q->batches, __ATOMIC_RELAXED);
    if (gen && *gen != b) {
        *busy = true; /* a batch moved to a deque since the caller looked there */
    } else if ((f = pop_locked(q, busy, false)) && dest) {
        size_t n = 1;
        if (max > 1) {
            /* Following the links is one cache miss per node, each waiting for
             * the last; asking for the nodes pushed after f first (by their
             * places in the hint ring) lets the misses overlap, and fetches
             * the lines owned, for the start CAS that follows. A prefetch
             * never faults, so a stale (even freed) address is harmless. */
            /* Not past the second newest: the newest is left alone (its
             * pusher writes it when it links the next), and places beyond
             * it hold old entries. Relaxed: a hint. */
            uint32_t ahead = __atomic_load_n(&q->hint_pos, __ATOMIC_RELAXED) - f->seq - 1;
            for (uint32_t i = 1; i < max && i < ahead; i++) {
                weft_future *h = __atomic_load_n(
                    &q->hints[(f->seq + i) % WEFT__INJECT_HINTS], __ATOMIC_RELAXED);
                if (h)
                    weft__prefetch_write(h);
            }
        }
        /* Popped first, then pushed on dest with one publication of its
         * bottom (one seq_cst store per batch instead of one per task). */
        weft_future *got[INJECT_BATCH_MAX];
        size_t k = 0;
        if (max > INJECT_BATCH_MAX + 1)
            max = INJECT_BATCH_MAX + 1;
        while (n < max && (got[k] = pop_locked(q, busy, true)) != NULL) {
            k++;
            n++;
        }
        if (k && weft__deque_push_many_owner(dest, (void *const *)got, k))
            for (size_t i = 0; i < k; i++)
                weft__inject_push(q, got[i]); /* no memory: back to the end, not lost */
        if (n > 1)
            /* Release: a searcher that reads the new count (acquire) before
             * looking in the deques sees the pushes above. */
            __atomic_store_n(&q->batches, b + 1, __ATOMIC_RELEASE);
    }
    /* Release: hands tail, the stub's state and the pushes to the next holder. */
    __atomic_store_n(&q->lock, 0, __ATOMIC_RELEASE);
    return f;
}

weft_future *weft__inject_pop(struct weft__inject *q, bool strict, bool *busy)
{
    return weft__inject_take(q, strict, busy, NULL, NULL, 1);
}
