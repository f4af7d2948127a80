/*
 * Internals of the process-shared synchronisation (src/shared/sh_*.c).
 *
 * The shared Lock is a robust futex (Linux, Documentation/locking/robust-futexes):
 * a 32-bit word holding the owner's thread id, linked while held into the owning
 * thread's robust list, which the kernel walks when the thread ends: for every
 * entry whose word still holds the dead thread's id it sets FUTEX_OWNER_DIED,
 * clears the id and, if FUTEX_WAITERS is set, wakes one waiter.
 *
 * One robust list per thread: glibc registers its own (set_robust_list) for
 * every thread it creates and for the main thread, and a second registration
 * would replace it. So we link our locks into glibc's list, in glibc's node
 * layout, which is part of glibc's ABI on 64-bit Linux (pthread_mutex_t's
 * __data: __lock at offset 0, __list.{__prev, __next} at 24 and 32; the kernel
 * is told futex_offset = -32, the word's offset from the __next field that list
 * entries point to). weft_shared_lock has the same layout, and every thread
 * checks the futex_offset glibc registered before it links anything (otherwise
 * locks work without death detection). The list is doubly linked exactly as
 * glibc's ENQUEUE/DEQUEUE do it, so glibc's own unlinking of a robust mutex next
 * to one of ours keeps our nodes consistent and vice versa: an entry points to
 * a node's `next` field; a node's `prev` points to the previous node's `next`
 * field (or to the list head); the word before the head (glibc's robust_prev)
 * plays `prev` for the head. Low bit 1 in a link marks glibc's PI mutexes and
 * is kept as is.
 *
 * Only the owning thread touches its list (the kernel reads it after the thread
 * is gone), so the list needs no atomics - only program order against an
 * asynchronous death: a compiler barrier (atomic_signal_fence) keeps each step
 * where it is. (The CPU may buffer the stores, but a thread that has stopped
 * has all of its stores visible to the kernel code that then walks its list,
 * so the order the kernel sees is program order.) The kernel's list_op_pending field covers the window of an
 * acquire or release in progress: it is set to our node before the word's
 * CAS/exchange and cleared after the list is updated, and the kernel treats the
 * pending node like a list entry.
 */
#ifndef WEFT_SHARED_INTERNAL_SYNC_H
#define WEFT_SHARED_INTERNAL_SYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal/clock.h"
#include "internal/cpu.h"
#include "internal/forkgen.h"
#include "weft/shared.h"

/* The kernel's robust futex word format (linux/futex.h). */
#define SH_WAITERS 0x80000000u
#define SH_OWNER_DIED 0x40000000u
#define SH_TID_MASK 0x3fffffffu
/* A word no thread id can produce (pid_max is at most 2^22): "not recoverable". */
#define SH_NOTREC SH_TID_MASK

/* The kernel's struct robust_list_head, as glibc registers it. */
struct weft__robust_head {
    void *list;
    long futex_offset;
    void *list_op_pending;
};

/* The calling thread's robust-list state, cached per thread. */
struct weft__sh_self {
    uint32_t tid;                   /* gettid(), 0 until set up */
    uint32_t gen;                   /* weft__fork_generation() when tid was read */
    struct weft__robust_head *head; /* glibc's list, NULL: no death detection */
};

extern __thread struct weft__sh_self weft__sh_self_tls __attribute__((tls_model("initial-exec")));

/* Fill the cache (first use in a thread, or first use after fork()). */
struct weft__sh_self *weft__sh_self_setup(void);

/* The calling thread's cache, valid in this process. */
static inline struct weft__sh_self *weft__sh_self(void)
{
    struct weft__sh_self *s = &weft__sh_self_tls;
    /* A fork() child inherits the forking thread's cache with the parent's tid;
     * the fork generation tells us (see internal/forkgen.h). */
    if (__builtin_expect(s->tid == 0 || s->gen != weft__fork_generation(), 0))
        return weft__sh_self_setup();
    return s;
}

/* Keep the compiler from moving memory accesses across this point: a thread
 * may die between any two instructions and the kernel then reads its list. */
#define SH_BARRIER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Link l (whose word the caller has just taken) at the front of the list. */
static inline void weft__sh_list_add(struct weft__robust_head *h, weft_shared_lock *l)
{
    void *first = h->list;
    /* The `prev` slot of the current first node (or glibc's robust_prev). */
    void **first_prev = (void **)((uintptr_t)first & ~(uintptr_t)1) - 1;
    l->_next = first;
    l->_prev = (void *)h;
    *first_prev = (void *)&l->_next;
    SH_BARRIER(); /* the node is complete before the list head shows it */
    h->list = (void *)&l->_next;
}

/* Unlink l (held by the caller). */
static inline void weft__sh_list_del(weft_shared_lock *l)
{
    void **next_prev = (void **)((uintptr_t)l->_next & ~(uintptr_t)1) - 1;
    void **prev_next = (void **)((uintptr_t)l->_prev & ~(uintptr_t)1);
    *next_prev = l->_prev;
    *prev_next = l->_next;
    /* The node's own links are left stale: the kernel never follows them (it
     * walks from the head, and of the pending slot it reads only the word), and
     * the next owner overwrites them when it links the node. */
}

/* Lock internals without argument checks, for RLock, Condition and Barrier.
 * Return 0, -EOWNERDEAD (held), -ENOTRECOVERABLE, -EBUSY, -ETIMEDOUT. */
int weft__sh_lock_until(weft_shared_lock *l, const weft__deadline *d);
/* Release; 0 or -EPERM (not held by the calling thread). */
int weft__sh_unlock(weft_shared_lock *l);
/* True when the calling thread holds l. */
bool weft__sh_lock_owned(const weft_shared_lock *l);
/* After -EOWNERDEAD: clear the owner-died mark (caller holds l). */
int weft__sh_lock_consistent(weft_shared_lock *l);

/* For Condition on an RLock: release fully / take back with a depth. */
uint32_t weft__sh_rlock_release_all(weft_shared_rlock *r);
int weft__sh_rlock_restore(weft_shared_rlock *r, uint32_t depth);

#endif
