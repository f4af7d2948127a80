/*
 * Starting and joining threads (Python's threading.Thread).
 *
 * Joining waits on the record's `finished` flag, which any number of joiners may
 * wait on, with a deadline, as often as they like - Python's join semantics, which
 * pthread_join (once, by one thread, no timeout) cannot give. The pthread itself
 * stays joinable: the first joiner to see `finished` reaps it with pthread_join
 * (the thread is past its body by then, so that wait is a few microseconds at
 * most), which hands its stack straight back to the C library's cache for the
 * next thread. A thread whose handles all go away unjoined is detached instead.
 * (Creating threads detached would be simpler, but then every new thread finds
 * the previous stack still in use and maps a fresh one: spawn+join measured 1.6x
 * slower than pthread_create+pthread_join.)
 *
 * Lifetime: a record starts with three references (caller, the thread itself, the
 * registry). The thread drops its own after it has set `finished`; the registry's
 * goes when it leaves the registry; the caller's with weft_thread_free().
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/clock.h"
#include "internal/flag.h"
#include "thread/thread_internal.h"

void weft__thread_ref(weft_thread *t)
{
    /* Relaxed: taking a reference orders nothing; the caller already holds one. */
    __atomic_fetch_add(&t->refs, 1, __ATOMIC_RELAXED);
}

/* Claim the pthread for reaping; true for exactly one caller. */
static bool claim_reap(weft_thread *t)
{
    uint32_t expected = 0;
    /* Relaxed: the claim only decides who calls join/detach; the pthread
     * calls themselves synchronise with the thread's exit. */
    return __atomic_compare_exchange_n(&t->reaped, &expected, 1, false, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED);
}

void weft__thread_unref(weft_thread *t)
{
    /* Release on the way down, acquire by the last owner, so every use of the
     * record by other holders happens before free(). */
    if (__atomic_fetch_sub(&t->refs, 1, __ATOMIC_ACQ_REL) != 1 || t->kind == WEFT__THREAD_MAIN)
        return;
    /* Nobody joined: let the thread (perhaps the caller itself, dropping its
     * own reference at the end of the trampoline) clean up after itself. */
    if (t->kind == WEFT__THREAD_STARTED && claim_reap(t))
        pthread_detach(t->pthread);
    free(t);
}

/* Called in a fork child for records of threads that do not exist there. */
void weft__thread_forget_pthread(weft_thread *t)
{
    __atomic_store_n(&t->reaped, 1, __ATOMIC_RELAXED);
}

WEFT_API weft_thread *weft_thread_ref(weft_thread *t)
{
    if (t)
        weft__thread_ref(t);
    return t;
}

WEFT_API void weft_thread_free(weft_thread *t)
{
    if (t)
        weft__thread_unref(t);
}

/* Kernel-visible name: the first 15 bytes (the kernel's limit, TASK_COMM_LEN). */
static void set_os_name(const char *name)
{
    /* Cut by hand: snprintf's deliberate truncation trips GCC 12's
     * -Wformat-truncation (an error under -Werror) in optimised builds. */
    char os_name[16];
    size_t n = strnlen(name, sizeof os_name - 1);
    memcpy(os_name, name, n);
    os_name[n] = '\0';
    pthread_setname_np(pthread_self(), os_name);
}

static void *trampoline(void *p)
{
    weft_thread *t = p;
    weft__set_current(t);
    t->tid = gettid();
    t->ident = (unsigned long)pthread_self();
    weft__flag_set(&t->started); /* publishes tid and ident */
    set_os_name(t->name);

    void *result = t->fn(t->arg);

    t->result = result;
    weft__local_run_dtors();   /* threading.local values die with the thread */
    /* Out of enumerate() and finished in one step (publishes result; wakes
     * joiners), so join never returns while enumerate() still lists it. */
    weft__set_current(NULL);
    weft__registry_finish(t);
    weft__thread_unref(t);     /* the thread's own reference */
    return NULL;
}

static int make_attr(pthread_attr_t *attr, const weft_thread_opts *opts)
{
    int rc = pthread_attr_init(attr);
    if (rc)
        return -rc;
    if (opts && opts->stack_size) {
        if (opts->stack_size < (size_t)PTHREAD_STACK_MIN)
            rc = EINVAL;
        else
            rc = pthread_attr_setstacksize(attr, opts->stack_size);
    }
    if (rc)
        pthread_attr_destroy(attr);
    return -rc;
}

static weft_thread *new_record(weft_thread_fn fn, void *arg, const weft_thread_opts *opts)
{
    weft_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->refs = 3; /* caller, thread, registry */
    t->fn = fn;
    t->arg = arg;
    t->daemon = opts && opts->daemon;
    t->kind = WEFT__THREAD_STARTED;
    if (opts && opts->name)
        snprintf(t->name, sizeof t->name, "%s", opts->name);
    else
        snprintf(t->name, sizeof t->name, "Thread-%lu", weft__next_thread_number());
    return t;
}

WEFT_API int weft_thread_start(weft_thread **out, weft_thread_fn fn, void *arg,
                               const weft_thread_opts *opts)
{
    if (!out || !fn)
        return -EINVAL;
    pthread_attr_t attr;
    int rc = make_attr(&attr, opts);
    if (rc)
        return rc;
    weft_thread *t = new_record(fn, arg, opts);
    if (!t) {
        pthread_attr_destroy(&attr);
        return -ENOMEM;
    }
    if (!t->daemon)
        weft__registry_arm_exit_wait();
    weft__registry_add(t); /* listed before it runs, as Python's start() promises */
    /* pthread_create writes t->pthread before returning; the new thread never
     * reads it, and every other reader gets t from *out, after this. */
    rc = pthread_create(&t->pthread, &attr, trampoline, t);
    pthread_attr_destroy(&attr);
    if (rc) {
        /* While listed, the record may have been handed out by weft_enumerate()
         * or picked by the exit wait: those holders keep it alive through their
         * references, so drop ours instead of freeing it, and let it read as a
         * thread that has finished (ident 0, tid 0: it never ran). */
        weft__flag_set(&t->started);
        weft__thread_forget_pthread(t); /* there is no pthread to join or detach */
        weft__registry_finish(t);
        weft__thread_unref(t); /* the thread's own: it never ran */
        weft__thread_unref(t); /* the caller's: *out is left unchanged */
        return rc == EAGAIN ? -EAGAIN : -rc;
    }
    *out = t;
    return 0;
}

WEFT_API int weft_thread_join(weft_thread *t, double timeout, void **result)
{
    if (!t || weft__timeout_invalid(timeout))
        return -EINVAL;
    if (t == weft_current_thread())
        return -EDEADLK;
    weft__deadline d = weft__deadline_in(timeout);
    int rc = weft__flag_wait(&t->finished, &d);
    if (rc)
        return rc;
    /* Finished: reap the pthread once (it is leaving, so this is brief). Other
     * joiners don't wait for the reaping; the result is already theirs. */
    if (t->kind == WEFT__THREAD_STARTED && claim_reap(t))
        pthread_join(t->pthread, NULL);
    if (result)
        *result = t->result; /* ordered by the acquire in flag_wait */
    return 0;
}

WEFT_API bool weft_thread_is_alive(const weft_thread *t)
{
    return t && !weft__flag_is_set(&t->finished);
}

WEFT_API const char *weft_thread_name(const weft_thread *t)
{
    return t ? t->name : "";
}

WEFT_API bool weft_thread_daemon(const weft_thread *t)
{
    return t && t->daemon;
}

/* ident and tid are written by the thread itself as it starts; wait for that. */
static void wait_started(const weft_thread *t)
{
    weft__deadline forever = weft__deadline_in(WEFT_FOREVER);
    weft__flag_wait((uint32_t *)&t->started, &forever);
}

WEFT_API unsigned long weft_thread_ident(const weft_thread *t)
{
    if (!t)
        return 0;
    wait_started(t);
    return t->ident;
}

WEFT_API pid_t weft_thread_native_id(const weft_thread *t)
{
    if (!t)
        return -1;
    wait_started(t);
    return t->tid;
}
