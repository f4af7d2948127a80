/*
 * The per-thread cache behind the shared locks: the thread id that goes into a
 * lock's word and the robust list glibc registered for the thread (see
 * shared_internal_sync.h for why we use glibc's list rather than our own).
 */
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shared/shared_internal_sync.h"

/* Thread-local: each thread reads and writes only its own copy. Initial-exec
 * TLS: one instruction to reach it, instead of a __tls_get_addr call per lock
 * operation in the shared library. */
__thread struct weft__sh_self weft__sh_self_tls __attribute__((tls_model("initial-exec")));

/* The futex_offset the kernel must be told for our layout: the word's offset
 * from the `next` field that list entries point to. */
#define SH_FUTEX_OFFSET                                                                            \
    ((long)offsetof(weft_shared_lock, _word) - (long)offsetof(weft_shared_lock, _next))

_Static_assert(offsetof(weft_shared_lock, _prev) + sizeof(void *) ==
                   offsetof(weft_shared_lock, _next),
               "prev must sit just before next, as in glibc's __pthread_list_t");

/* glibc's list for the calling thread, or NULL when it is missing or laid out
 * differently from ours (the locks then work without death detection). */
static struct weft__robust_head *robust_head_of_self(void)
{
    struct weft__robust_head *head = NULL;
    size_t len = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &len) != 0 || !head ||
        len != sizeof(struct weft__robust_head))
        return NULL;
    /* Plain read: the head is this thread's own (glibc writes it only in this
     * thread, and in a fork child before any code of ours runs). */
    if (head->futex_offset != SH_FUTEX_OFFSET)
        return NULL;
    return head;
}

struct weft__sh_self *weft__sh_self_setup(void)
{
    struct weft__sh_self *s = &weft__sh_self_tls;
    s->gen = weft__fork_generation();
    s->tid = (uint32_t)gettid();
    s->head = robust_head_of_self();
    return s;
}
