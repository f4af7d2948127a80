/*
 * Timer (Python's threading.Timer): a thread that sleeps until a deadline on a
 * futex word, then runs fn unless cancel() got there first.
 *
 * `state` decides the race between the timer thread and cancel() with one CAS
 * each: PENDING -> RUNNING (the timer fires) or PENDING -> CANCELLED (cancel
 * wins). Whoever moves it out of PENDING owns the outcome.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal/clock.h"
#include "internal/futex.h"
#include "thread/thread_internal.h"

enum { PENDING, CANCELLED, RUNNING, DONE };

struct weft_timer {
    uint32_t refs;  /* the handle's and the timer thread's; atomic */
    uint32_t state; /* PENDING, CANCELLED, RUNNING, DONE; atomic, futex word */
    weft__deadline due;
    void (*fn)(void *arg);
    void *arg;
    weft_thread *thread; /* the timer thread; see weft_timer_start */
};

static void timer_unref(weft_timer *t)
{
    /* acq_rel: the last owner sees every other owner's use before freeing. */
    if (__atomic_fetch_sub(&t->refs, 1, __ATOMIC_ACQ_REL) == 1) {
        weft_thread_free(t->thread);
        free(t);
    }
}

static void *timer_body(void *p)
{
    weft_timer *t = p;
    uint32_t s;
    /* Sleep until the deadline or until cancel() changes the word. */
    while ((s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE)) == PENDING) {
        if (weft__futex_wait(&t->state, PENDING, weft__deadline_ts(&t->due), false) == -ETIMEDOUT)
            break;
    }
    s = PENDING;
    if (__atomic_compare_exchange_n(&t->state, &s, RUNNING, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        t->fn(t->arg);
        /* Release: fn's effects are visible to whoever sees DONE. */
        __atomic_store_n(&t->state, DONE, __ATOMIC_RELEASE);
    }
    timer_unref(t);
    return NULL;
}

WEFT_API int weft_timer_start(weft_timer **out, double delay, void (*fn)(void *arg), void *arg,
                              const weft_thread_opts *opts)
{
    if (!out || !fn || !(delay >= 0)) /* also rejects NaN */
        return -EINVAL;
    weft_timer *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->refs = 2;
    t->state = PENDING;
    t->due = weft__deadline_in(delay);
    t->fn = fn;
    t->arg = arg;
    char name[WEFT_THREAD_NAME_MAX];
    weft_thread_opts o = opts ? *opts : (weft_thread_opts){0};
    if (!o.name) {
        snprintf(name, sizeof name, "Timer-%lu", weft__next_thread_number());
        o.name = name;
    }
    /* t->thread is written here, before or while the timer thread runs, and is
     * only read by timer_unref's final free and by join: both are ordered after
     * this store by the refcount and by the caller's own program order. */
    weft_thread *th;
    int rc = weft_thread_start(&th, timer_body, t, &o);
    if (rc) {
        free(t);
        return rc;
    }
    __atomic_store_n(&t->thread, th, __ATOMIC_RELEASE);
    *out = t;
    return 0;
}

WEFT_API bool weft_timer_cancel(weft_timer *t)
{
    if (!t)
        return false;
    uint32_t s = PENDING;
    if (!__atomic_compare_exchange_n(&t->state, &s, CANCELLED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return false;
    weft__futex_wake(&t->state, 1, false); /* end the timer thread's sleep now */
    return true;
}

WEFT_API int weft_timer_join(weft_timer *t, double timeout)
{
    if (!t)
        return -EINVAL;
    return weft_thread_join(__atomic_load_n(&t->thread, __ATOMIC_ACQUIRE), timeout, NULL);
}

WEFT_API bool weft_timer_fired(const weft_timer *t)
{
    return t && __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == DONE;
}

WEFT_API void weft_timer_free(weft_timer *t)
{
    if (t)
        timer_unref(t);
}
