/*
 * A work-stealing deque (Chase and Lev): one owner thread pushes and pops at the
 * bottom, last in first out; any thread steals from the top, oldest first. The
 * executor gives each worker one. Items are non-NULL pointers.
 *
 * Contract in the names: _owner calls only from the deque's owner thread;
 * _any from any thread. The deque grows (owner side); arrays it outgrows stay
 * allocated until destroy, since a thief may still be reading one.
 */
#ifndef WEFT_INTERNAL_DEQUE_H
#define WEFT_INTERNAL_DEQUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weft__deque_array;

typedef struct weft__deque {
    _Alignas(64) int64_t top;    /* next to steal; CAS by thieves and the owner */
    _Alignas(64) int64_t bottom; /* next free slot; written by the owner only */
    struct weft__deque_array *array; /* current array; replaced by the owner */
    struct weft__deque_array *retired; /* outgrown arrays, freed at destroy */
} weft__deque;

/* Returns 0 or -ENOMEM. */
int weft__deque_init(weft__deque *d);
/* No thread may use d during or after this. */
void weft__deque_destroy(weft__deque *d);

/* Push item (non-NULL). Returns 0 or -ENOMEM (nothing pushed). The new bottom is
 * published with a seq_cst store, so a seq_cst load the caller makes afterwards
 * (an eventcount check) is ordered after the push (see deque.c). */
int weft__deque_push_owner(weft__deque *d, void *item);
/* Push items[0..n) (non-NULL), items[0] first (nearest the top), with one
 * publication of bottom (seq_cst, as push). Returns 0 or -ENOMEM (nothing
 * pushed). */
int weft__deque_push_many_owner(weft__deque *d, void *const *items, size_t n);
/* The newest item, or NULL when empty. */
void *weft__deque_pop_owner(weft__deque *d);
/* The oldest item, or NULL when empty or when another thread won the race for
 * it (then *contended is set: trying again may succeed). */
void *weft__deque_steal_any(weft__deque *d, bool *contended);
/* The item k places below the top (k = 0: the next to steal), or NULL when
 * fewer look present. A racy snapshot: the item may be taken, finished and
 * even freed by the time it is returned, so it is only ever a hint (an
 * address to prefetch), never to be dereferenced. Any thread. */
void *weft__deque_peek_any(const weft__deque *d, int64_t k);
/* How many items look present (a snapshot; may be stale). */
size_t weft__deque_size_any(const weft__deque *d);

#endif
