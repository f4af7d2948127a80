/*
 * The thread record shared by thread.c (start, join), registry.c (current thread,
 * enumerate, exit rule, fork), timer.c and local.c.
 */
#ifndef WEFT_THREAD_INTERNAL_H
#define WEFT_THREAD_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/thread.h"

enum weft__thread_kind {
    WEFT__THREAD_STARTED, /* made by weft_thread_start */
    WEFT__THREAD_MAIN,    /* the process's main thread */
    WEFT__THREAD_DUMMY,   /* a thread weft did not start, met in weft_current_thread */
};

struct weft_thread {
    /* References: the caller's, the running thread's own, the registry's.
     * Atomic; the last weft__thread_unref frees a heap record. */
    uint32_t refs;
    /* One-shot flags (internal/flag.h): `started` once tid and ident are
     * written, `finished` once fn has returned and `result` is written. */
    uint32_t started;
    uint32_t finished;
    /* The pthread, joinable until reaped. Written by pthread_create in the
     * starter; read only by whoever reaps, which the caller's reference (dropped
     * after start returns) orders after that write. */
    pthread_t pthread;
    /* 0 until someone claims the pthread for reaping (atomic CAS to 1): the
     * first joiner to see `finished` (pthread_join), or the last reference going
     * away unjoined (pthread_detach). Exactly one of them wins. */
    uint32_t reaped;
    pid_t tid;           /* kernel thread id; written before `started` is set
                          * (and rewritten by the fork child handler, alone) */
    unsigned long ident; /* pthread_self(); written before `started` is set */
    weft_thread_fn fn;   /* immutable after start */
    void *arg;           /* immutable after start */
    void *result; /* written by the thread before `finished` is set */
    bool daemon;  /* immutable after start */
    uint8_t kind; /* enum weft__thread_kind, immutable */
    char name[WEFT_THREAD_NAME_MAX];
    /* Registry links; guarded by the registry mutex (registry.c). */
    struct weft_thread *prev, *next;
    bool listed;
};

/* Take / drop a reference. Dropping the last frees a heap record. */
void weft__thread_ref(weft_thread *t);
void weft__thread_unref(weft_thread *t);
/* Fork child: the record's pthread does not exist here; never join or detach it. */
void weft__thread_forget_pthread(weft_thread *t);

/* Registry (registry.c). */
void weft__registry_add(weft_thread *t);    /* takes a registry reference */
/* Leave the registry and set `finished`, atomically with respect to fork(). */
void weft__registry_finish(weft_thread *t);
void weft__registry_arm_exit_wait(void);    /* install the atexit wait, once */
/* Python's exit rule for threads: join every non-daemon thread this process
 * started (unless weft_thread_wait_at_exit(false)). The atexit handler, and the
 * end of a weft child process. */
void weft__registry_wait_non_daemon(void);
void weft__set_current(weft_thread *t);     /* the calling thread's record */
unsigned long weft__next_thread_number(void);

/* Thread-local values (local.c): destroy the calling thread's values. */
void weft__local_run_dtors(void);

#endif
