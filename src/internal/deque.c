/*
 * The Chase-Lev work-stealing deque, with the memory orders worked out by Lê,
 * Pop, Cohen and Zappa Nardelli ("Correct and Efficient Work-Stealing for Weak
 * Memory Models", PPoPP 2013), except that their two seq_cst fences are written
 * as seq_cst operations (ThreadSanitizer neither accepts nor models fences).
 *
 * Positions count up forever: items live at positions [top, bottom), position p
 * in slot p & mask of the current array. The owner pushes at bottom and pops at
 * bottom - 1; thieves take the item at top by a CAS of top from t to t + 1. The
 * owner also needs that CAS when it pops the last item (top == bottom - 1), since
 * a thief may be after the same item.
 *
 * The one race that needs care: the owner pops position b = bottom - 1 while a
 * thief steals position t. They collide only when t == b. The owner first
 * publishes bottom = b, then reads top; a thief first reads top, then bottom.
 * This is Dekker's pattern: each side writes its own word, then reads the
 * other's. With fences (the paper) the argument is a seq_cst fence on each side.
 * Here every access in the pattern is itself seq_cst: the owner's exchange of
 * bottom (E) and load of top (Lt), the thief's loads of top (Tt) and bottom (Tb)
 * and every CAS of top. All seq_cst operations sit in one total order S that
 * agrees with program order and (C11 as amended by C++20's P0668) with each
 * location's coherence order. Suppose the owner took position b without a CAS
 * (it read some top t0 < b) and a thief's CAS also took b (it read top == b and
 * bottom > b). Top only grows, by seq_cst CASes; the owner's Lt read t0, older
 * than the CAS that made top == b, so Lt precedes that CAS in S, which precedes
 * the thief's Tt (which read from it), which precedes its Tb. So E < Lt < Tt < Tb
 * in S, and Tb, a seq_cst load after E in S, cannot read a bottom older than E's:
 * it reads b (then the thief sees t == b == bottom, empty, and takes nothing), or
 * a later push's bottom (then position b holds that push's new item, which is
 * what the thief takes - the owner's item was consumed and overwritten in
 * order). Either way no item is taken twice. When t0 == b both sides CAS top
 * from b and exactly one wins. No item is lost: an item is only skipped by a
 * failed CAS, and the failed side reports empty/contended while the winner has
 * it.
 *
 * Slots are atomics (relaxed): a thief may read a slot the owner is rewriting
 * after another thief took its item; the thief's CAS then fails and it drops
 * what it read. Items reach thieves through the release/acquire pair on bottom
 * (push stores bottom after the slot; steal loads bottom before the slot).
 *
 * Growth: when full, the owner copies [top, bottom) into an array twice as big
 * and publishes it with a release store before publishing any new bottom. A
 * thief reads the array pointer after bottom (acquire), so it sees an array at
 * least as new as the one that held every position below that bottom; copies
 * keep positions, so any array that new holds the item at the position it
 * claims. Old arrays stay readable (a slow thief may still hold one) on the
 * retired list until destroy.
 *
 * Push publishes bottom with a seq_cst store rather than the paper's release
 * store: the executor's sleepers rely on it (a pusher's later seq_cst check of
 * the eventcount and a sleeper's later seq_cst load of bottom form the same
 * Dekker pattern as above). On x86 it is one exchange on a line the owner holds.
 */
#include "internal/deque.h"

#include <errno.h>
#include <stdlib.h>

#define DEQUE_FIRST_CAP 64

struct weft__deque_array {
    int64_t mask;                      /* capacity - 1; capacity a power of two */
    struct weft__deque_array *older;   /* next on the retired list */
    void *slot[];                      /* accessed with relaxed atomics */
};

static struct weft__deque_array *array_new(int64_t cap)
{
    struct weft__deque_array *a = malloc(sizeof *a + (size_t)cap * sizeof(void *));
    if (!a)
        return NULL;
    a->mask = cap - 1;
    a->older = NULL;
    return a;
}

int weft__deque_init(weft__deque *d)
{
    d->top = 0;
    d->bottom = 0;
    d->retired = NULL;
    d->array = array_new(DEQUE_FIRST_CAP);
    return d->array ? 0 : -ENOMEM;
}

void weft__deque_destroy(weft__deque *d)
{
    free(d->array);
    d->array = NULL;
    while (d->retired) {
        struct weft__deque_array *a = d->retired;
        d->retired = a->older;
        free(a);
    }
}

/* Owner only: a twice-as-large copy of positions [t, b). */
static struct weft__deque_array *grow(weft__deque *d, struct weft__deque_array *a, int64_t t,
                                      int64_t b)
{
    struct weft__deque_array *n = array_new(2 * (a->mask + 1));
    if (!n)
        return NULL;
    for (int64_t p = t; p < b; p++)
        __atomic_store_n(&n->slot[p & n->mask],
                         __atomic_load_n(&a->slot[p & a->mask], __ATOMIC_RELAXED),
                         __ATOMIC_RELAXED);
    /* Release: a thief that loads the new pointer (acquire) sees the copies. */
    __atomic_store_n(&d->array, n, __ATOMIC_RELEASE);
    /* Only the owner touches the retired list. */
    a->older = d->retired;
    d->retired = a;
    return n;
}

int weft__deque_push_owner(weft__deque *d, void *item)
{
    /* Relaxed: only the owner writes bottom and array. */
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_RELAXED);
    /* Acquire: a thief's read of the slot at top happens before its CAS moved
     * top; seeing the moved top we may reuse that slot. A stale (smaller) top
     * only makes us grow early. */
    int64_t t = __atomic_load_n(&d->top, __ATOMIC_ACQUIRE);
    struct weft__deque_array *a = __atomic_load_n(&d->array, __ATOMIC_RELAXED);
    if (b - t > a->mask) {
        a = grow(d, a, t, b);
        if (!a)
            return -ENOMEM;
    }
    __atomic_store_n(&a->slot[b & a->mask], item, __ATOMIC_RELAXED);
    /* seq_cst (hence release): publishes the slot to thieves, and orders this
     * store before the caller's later seq_cst loads (see the file comment). */
    __atomic_store_n(&d->bottom, b + 1, __ATOMIC_SEQ_CST);
    return 0;
}

int weft__deque_push_many_owner(weft__deque *d, void *const *items, size_t n)
{
    /* Relaxed and acquire: as in push. */
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_RELAXED);
    int64_t t = __atomic_load_n(&d->top, __ATOMIC_ACQUIRE);
    struct weft__deque_array *a = __atomic_load_n(&d->array, __ATOMIC_RELAXED);
    while (b - t + (int64_t)n > a->mask + 1) {
        a = grow(d, a, t, b);
        if (!a)
            return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&a->slot[(b + (int64_t)i) & a->mask], items[i], __ATOMIC_RELAXED);
    /* seq_cst: as in push; one store publishes every slot above, since a
     * thief reads a slot only after a load of bottom that covers it. */
    __atomic_store_n(&d->bottom, b + (int64_t)n, __ATOMIC_SEQ_CST);
    return 0;
}

void *weft__deque_pop_owner(weft__deque *d)
{
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_RELAXED) - 1;
    struct weft__deque_array *a = __atomic_load_n(&d->array, __ATOMIC_RELAXED);
    /* seq_cst exchange then seq_cst load of top: the owner's half of the Dekker
     * pattern (the paper's relaxed store + seq_cst fence + relaxed load). */
    __atomic_exchange_n(&d->bottom, b, __ATOMIC_SEQ_CST);
    int64_t t = __atomic_load_n(&d->top, __ATOMIC_SEQ_CST);
    void *item = NULL;
    if (t <= b) {
        item = __atomic_load_n(&a->slot[b & a->mask], __ATOMIC_RELAXED);
        if (t == b) {
            /* The last item: race thieves for it. seq_cst, as every CAS of top. */
            if (!__atomic_compare_exchange_n(&d->top, &t, t + 1, false, __ATOMIC_SEQ_CST,
                                             __ATOMIC_RELAXED))
                item = NULL;
            /* Relaxed: the deque is empty either way (top == b + 1); thieves
             * that read this bottom find nothing. */
            __atomic_store_n(&d->bottom, b + 1, __ATOMIC_RELAXED);
        }
    } else {
        /* Was empty: restore bottom (== top). Relaxed: nothing to publish. */
        __atomic_store_n(&d->bottom, b + 1, __ATOMIC_RELAXED);
    }
    return item;
}

void *weft__deque_steal_any(weft__deque *d, bool *contended)
{
    /* seq_cst loads of top then bottom: the thief's half of the Dekker pattern
     * (the paper's acquire load + seq_cst fence + acquire load). Bottom's load
     * is also the acquire that makes the pushed slot visible. */
    int64_t t = __atomic_load_n(&d->top, __ATOMIC_SEQ_CST);
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_SEQ_CST);
    if (t >= b)
        return NULL;
    /* Acquire: pairs with grow's release; the array holds position t (see the
     * file comment on growth). */
    struct weft__deque_array *a = __atomic_load_n(&d->array, __ATOMIC_ACQUIRE);
    void *item = __atomic_load_n(&a->slot[t & a->mask], __ATOMIC_RELAXED);
    /* seq_cst CAS claims position t; failure means the owner or another thief
     * took it, and what we read may be stale: drop it. */
    if (!__atomic_compare_exchange_n(&d->top, &t, t + 1, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED)) {
        if (contended)
            *contended = true;
        return NULL;
    }
    return item;
}

size_t weft__deque_size_any(const weft__deque *d)
{
    /* Acquire loads; a snapshot that may be stale by the time it is used. */
    int64_t t = __atomic_load_n(&d->top, __ATOMIC_ACQUIRE);
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_ACQUIRE);
    return b > t ? (size_t)(b - t) : 0;
}

void *weft__deque_peek_any(const weft__deque *d, int64_t k)
{
    /* Relaxed loads throughout: the answer is only a hint (see deque.h). The
     * array read may be an outgrown one; it stays allocated until destroy. */
    int64_t t = __atomic_load_n(&d->top, __ATOMIC_RELAXED);
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_RELAXED);
    if (t + k >= b)
        return NULL;
    struct weft__deque_array *a = __atomic_load_n(&d->array, __ATOMIC_RELAXED);
    return __atomic_load_n(&a->slot[(t + k) & a->mask], __ATOMIC_RELAXED);
}
