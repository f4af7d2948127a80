/*
 * Futures: the state machine, completion and its wake-ups, done-callbacks,
 * references, and how a task reports failure.
 *
 * States (executor_internal.h): pending -> running -> finished | failed, or
 * pending -> cancelled, or pending -> failed (a broken pool). Every transition
 * out of pending is a CAS, so a cancel and a worker's start cannot both win.
 * Completion writes the outcome (result, or code and message) and then exchanges
 * the final state in with seq_cst: the release half publishes the outcome to
 * anyone who reads a done state with acquire; the read half collects the wake-up
 * bits waiters set before it (see the header for why none is missed).
 *
 * Done-callbacks. add_done_callback first sets F_CALLBACKS in the state word (a
 * CAS that fails once the future is done: then it calls fn at once), then pushes
 * its node on the Treiber stack `cbs`. Completion, seeing F_CALLBACKS in the word
 * it exchanged out, takes the stack by exchanging WEFT__CB_TAKEN in and runs the
 * nodes oldest first. An adder whose push finds WEFT__CB_TAKEN was too late for
 * that and runs its callback itself. So every callback runs exactly once, and the
 * common case (no callbacks) costs completion nothing beyond the state exchange.
 *
 * References: a plain counter; the last unref frees. The pool holds one while the
 * task is queued or running (dropped after the callbacks ran), the submitter one.
 *
 * Failure: a task calls weft_task_fail, which writes into the innermost frame of
 * its thread (a frame per running task, nested when a waiting task helps run
 * others); the runner copies the frame into the future after fn returns.
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/executor_internal.h"
#include "internal/futex.h"

static __thread struct weft__frame *tls_frame;

static const char broken_msg[] =
    "A thread initializer failed, the thread pool is not usable anymore";

/* ---- frames ---- */

struct weft__frame *weft__frame_current(void)
{
    return tls_frame;
}

void weft__frame_push(struct weft__frame *fr, weft_executor *ex)
{
    fr->up = tls_frame;
    fr->ex = ex;
    fr->depth = tls_frame ? tls_frame->depth + 1 : 1;
    fr->failed = false;
    fr->code = 0;
    fr->msg[0] = '\0';
    tls_frame = fr;
}

void weft__frame_pop(struct weft__frame *fr)
{
    tls_frame = fr->up;
}

bool weft__in_task_of(const weft_executor *ex)
{
    for (struct weft__frame *fr = tls_frame; fr; fr = fr->up)
        if (fr->ex == ex)
            return true;
    return false;
}

WEFT_API int weft_task_fail(int code, const char *fmt, ...)
{
    struct weft__frame *fr = tls_frame;
    if (!fr)
        return -EINVAL;
    fr->failed = true;
    fr->code = code < 0 ? code : -EIO;
    fr->msg[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(fr->msg, sizeof fr->msg, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* ---- life cycle ---- */

/* ---- a per-thread cache of freed futures ----
 * A submitter that collects its results frees futures in the thread that made
 * them, in bursts larger than malloc's per-thread cache: keeping up to
 * CACHE_MAX of them on a thread-local list makes the allocation of the submit
 * fast path a pop. Futures freed elsewhere feed that thread's list. The list is
 * returned to malloc when the thread exits (a key destructor). */
#define CACHE_MAX 1024

static __thread weft_future *tls_cache;
static __thread unsigned tls_cache_n;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static void cache_drop(void *unused)
{
    (void)unused;
    while (tls_cache) {
        weft_future *f = tls_cache;
        tls_cache = f->next;
        free(f);
    }
    tls_cache_n = 0;
}

static void cache_init(void)
{
    cache_key_ok = pthread_key_create(&cache_key, cache_drop) == 0;
}

static weft_future *cache_get(void)
{
    weft_future *f = tls_cache;
    if (f) {
        weft_future *next = f->next;
        tls_cache = next;
        tls_cache_n--;
        /* The next allocation's lines were last written by the thread that
         * completed it: ask for them (for writing) now, so that their misses
         * overlap this submission instead of stalling the next one's queue
         * exchange, which waits for all earlier stores. */
        if (next) {
            __builtin_prefetch(next, 1);
            __builtin_prefetch((char *)next + sizeof *next - 1, 1);
        }
        return f;
    }
    /* Aligned: the first line holds the per-task fields (see the struct). */
    return aligned_alloc(WEFT__CACHELINE, sizeof *f);
}

static void cache_put(weft_future *f)
{
    if (tls_cache_n >= CACHE_MAX) {
        free(f);
        return;
    }
    if (!tls_cache) {
        /* Arm the exit destructor (any non-NULL value) whenever the list
         * starts anew: cheap, and survives a destructor pass that emptied it. */
        pthread_once(&cache_once, cache_init);
        if (!cache_key_ok || pthread_setspecific(cache_key, (void *)1) != 0) {
            free(f);
            return;
        }
    }
    f->next = tls_cache;
    tls_cache = f;
    tls_cache_n++;
}

weft_future *weft__future_new(weft_executor *ex, void *(*fn)(void *), void *arg, uint32_t refs)
{
    weft_future *f = cache_get();
    if (!f)
        return NULL;
    /* Plain writes: f is published later by the queue push (release). Field
     * by field: a compound literal compiles to a `rep stos`, slow at this size. */
    f->state = F_PENDING;
    f->refs = refs;
    f->fn = fn;
    f->arg = arg;
    f->ex = ex;
    f->next = NULL;
    f->cbs = NULL;
    f->result = NULL;
    f->msg = NULL;
    f->code = 0;
    f->fork_gen = ex ? ex->fork_gen : weft__fork_generation();
    f->job = NULL;
    f->job_free = NULL;
    f->lo = 0;
    f->hi = 0;
    return f;
}

static void destroy(weft_future *f)
{
    struct weft__callback *c = f->cbs;
    while (c && c != WEFT__CB_TAKEN) { /* never completed: cannot happen, but free */
        struct weft__callback *next = c->next;
        free(c);
        c = next;
    }
    if (f->job_free)
        f->job_free(f->job);
    free(f->msg);
    cache_put(f);
}

void weft__future_unref(weft_future *f)
{
    /* Seeing 1 while holding a reference means ours is the only one, and no
     * other can appear (taking one needs one): free without a locked RMW.
     * Acquire: pairs with the other droppers' release. */
    if (__atomic_load_n(&f->refs, __ATOMIC_ACQUIRE) == 1) {
        destroy(f);
        return;
    }
    /* Acq_rel: our earlier accesses to f happen before the last dropper's free
     * (release), and the last dropper sees everyone's (acquire). */
    if (__atomic_fetch_sub(&f->refs, 1, __ATOMIC_ACQ_REL) == 1)
        destroy(f);
}

WEFT_API weft_future *weft_future_ref(weft_future *f)
{
    if (f)
        /* Relaxed: the caller already holds a reference, so f cannot go away;
         * nothing is published by taking another. */
        __atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

WEFT_API void weft_future_free(weft_future *f)
{
    if (f)
        weft__future_unref(f);
}

/* ---- completion ---- */

static void run_callbacks(weft_future *f)
{
    /* Acq_rel exchange: acquire, to see the nodes the adders pushed (release);
     * release, so late adders that read WEFT__CB_TAKEN see the state done. */
    struct weft__callback *c = __atomic_exchange_n(&f->cbs, WEFT__CB_TAKEN, __ATOMIC_ACQ_REL);
    struct weft__callback *fifo = NULL; /* reverse the stack: registration order */
    while (c) {
        struct weft__callback *next = c->next;
        c->next = fifo;
        fifo = c;
        c = next;
    }
    while (fifo) {
        struct weft__callback *next = fifo->next;
        fifo->fn(f, fifo->arg);
        free(fifo);
        fifo = next;
    }
}

/* The wake-ups and callbacks owed after a transition to done that replaced the
 * word `old`. notify_pool: whether the caller may touch f->ex (it keeps the pool
 * alive: a worker, or a helper inside one of the pool's calls). */
static void after_done(weft_future *f, uint32_t old, bool notify_pool)
{
    if (old & F_SLEEP)
        weft__futex_wake(&f->state, INT_MAX, false);
    if ((old & F_HELPER) && notify_pool)
        weft__ec_notify_all(&f->ex->ec, false);
    if (old & F_MULTI)
        weft__ec_notify_all(&weft__wait_ec, false);
    if (old & F_CALLBACKS)
        run_callbacks(f);
}

/* pending -> final (cancelled or failed), keeping the wake-up bits in the word
 * so that a later reader (the dequeuer) can still honour F_HELPER. Returns the
 * word replaced, or UINT32_MAX when f was not pending. */
static uint32_t leave_pending(weft_future *f, uint32_t final)
{
    /* Relaxed first read: the CAS decides. */
    uint32_t s = __atomic_load_n(&f->state, __ATOMIC_RELAXED);
    for (;;) {
        if ((s & F_STATE_MASK) != F_PENDING)
            return UINT32_MAX;
        /* seq_cst: as the completion exchange (publishes code/msg, reads bits). */
        if (__atomic_compare_exchange_n(&f->state, &s, (s & ~(uint32_t)F_STATE_MASK) | final,
                                        false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            return s;
    }
}

bool weft__future_cancel_pending(weft_future *f, bool notify_pool)
{
    uint32_t old = leave_pending(f, F_CANCELLED);
    if (old == UINT32_MAX)
        return false;
    after_done(f, old, notify_pool);
    return true;
}

bool weft__future_fail_pending(weft_future *f, int code, const char *msg, bool notify_pool)
{
    /* Written before the CAS that publishes them; only the pool calls this, on a
     * future it dequeued, so the only racing transition is a cancel - and then
     * nobody reads code or msg (they are read only in the failed state). */
    f->code = code;
    f->msg = msg ? strdup(msg) : NULL;
    uint32_t old = leave_pending(f, F_FAILED);
    if (old == UINT32_MAX) {
        free(f->msg);
        f->msg = NULL;
        f->code = 0;
        return false;
    }
    after_done(f, old, notify_pool);
    return true;
}

/* Take f out of pending and complete it here: run it, or fail or cancel it as
 * the pool's state says. Returns false (and does nothing) when f was not
 * pending. The caller keeps the pool alive and holds a reference to f. */
static bool start_and_complete(weft_future *f)
{
    weft_executor *ex = f->ex;
    /* Acquire: pairs with a canceller's CAS, for the bits we may honour. */
    uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((s & F_STATE_MASK) != F_PENDING)
            return false;
        /* Relaxed: flags set by shutdown; a task seen a moment late just runs
         * (or fails) as if dequeued before. */
        int broken = __atomic_load_n(&ex->broken, __ATOMIC_RELAXED);
        if (broken) {
            if (weft__future_fail_pending(f, broken, broken_msg, true))
                return true;
            /* Acquire: as above; cancelled or started meanwhile. */
            s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
            continue;
        }
        if (__atomic_load_n(&ex->cancelling, __ATOMIC_RELAXED)) {
            if (weft__future_cancel_pending(f, true))
                return true;
            /* Acquire: as above. */
            s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
            continue;
        }
        /* Acquire on success (nothing to publish: fn and arg came with the
         * queue's release, or - for a waiter running f inline - with whatever
         * handed it the future); the bits stay for completion to honour. */
        if (__atomic_compare_exchange_n(&f->state, &s, (s & ~(uint32_t)F_STATE_MASK) | F_RUNNING,
                                        false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            break;
    }
    struct weft__frame fr;
    weft__frame_push(&fr, ex);
    void *r = f->fn(f->arg);
    weft__frame_pop(&fr);
    uint32_t final = F_FINISHED;
    if (fr.failed) {
        f->code = fr.code;
        f->msg = strdup(fr.msg); /* NULL on ENOMEM: the message reads "" */
        final = F_FAILED;
    } else {
        f->result = r;
    }
    /* seq_cst exchange: release publishes the outcome; the read collects the
     * waiters' bits (see the file comment). */
    uint32_t old = __atomic_exchange_n(&f->state, final, __ATOMIC_SEQ_CST);
    after_done(f, old, true);
    return true;
}

void weft__future_run(weft_future *f)
{
    if (!start_and_complete(f) &&
        /* Acquire: pairs with the canceller's CAS (the bits it kept). */
        (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) & F_HELPER))
        /* Cancelled while queued (or run by a waiter, which woke its helpers
         * itself). A canceller outside the pool does not wake helpers (it may
         * not touch the pool); we, the dequeuer, do. */
        weft__ec_notify_all(&f->ex->ec, false);
    weft__future_unref(f);
}

bool weft__future_run_inline(weft_future *f)
{
    return start_and_complete(f);
}

/* ---- queries ---- */

static uint32_t state_of(const weft_future *f)
{
    /* Acquire: a done state makes the outcome visible. */
    return __atomic_load_n(&f->state, __ATOMIC_ACQUIRE) & F_STATE_MASK;
}

WEFT_API bool weft_future_done(const weft_future *f)
{
    return f && state_of(f) >= F_FINISHED;
}

WEFT_API bool weft_future_running(const weft_future *f)
{
    return f && state_of(f) == F_RUNNING;
}

WEFT_API bool weft_future_cancelled(const weft_future *f)
{
    return f && state_of(f) == F_CANCELLED;
}

WEFT_API const char *weft_future_error(const weft_future *f)
{
    if (!f || state_of(f) != F_FAILED || !f->msg)
        return "";
    return f->msg;
}

WEFT_API bool weft_future_cancel(weft_future *f)
{
    if (!f)
        return false;
    /* The pool is not touched: a helper waiting on f while it is still queued
     * is woken by whoever dequeues it (weft__future_run). */
    if (weft__future_cancel_pending(f, false))
        return true;
    return state_of(f) == F_CANCELLED;
}

/* The outcome of a done future, as weft_future_result returns it. */
static int outcome(weft_future *f, void **result)
{
    switch (state_of(f)) {
    case F_FINISHED:
        if (result)
            *result = f->result;
        return 0;
    case F_FAILED:
        return f->code;
    default:
        return -WEFT_ECANCELLED;
    }
}

WEFT_API int weft_future_result(weft_future *f, double timeout, void **result)
{
    if (!f)
        return -EINVAL;
    if (state_of(f) < F_FINISHED) {
        weft__deadline d = weft__deadline_in(timeout);
        int rc = weft__wait_many(&f, 1, WEFT_ALL_COMPLETED, &d, NULL);
        if (rc)
            return rc;
    }
    return outcome(f, result);
}

int weft__future_outcome(weft_future *f)
{
    return outcome(f, NULL);
}

WEFT_API int weft_future_add_done_callback(weft_future *f, void (*fn)(weft_future *f, void *arg),
                                           void *arg)
{
    if (!f || !fn)
        return -EINVAL;
    uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
    if (f_is_done(s)) {
        fn(f, arg);
        return 0;
    }
    struct weft__callback *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->arg = arg;
    /* Announce callbacks in the state word unless done. seq_cst CAS: ordered
     * against completion's exchange; acquire on failure, for the outcome. */
    while (!(s & F_CALLBACKS)) {
        if (f_is_done(s)) {
            free(c);
            fn(f, arg);
            return 0;
        }
        if (__atomic_compare_exchange_n(&f->state, &s, s | F_CALLBACKS, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    /* Acquire: if we read WEFT__CB_TAKEN, completion's exchange (release,
     * after its state exchange) makes the done state visible to fn. */
    struct weft__callback *head = __atomic_load_n(&f->cbs, __ATOMIC_ACQUIRE);
    do {
        if (head == WEFT__CB_TAKEN) {
            free(c);
            fn(f, arg);
            return 0;
        }
        c->next = head;
        /* Release: publishes the node to the completer's exchange. */
    } while (!__atomic_compare_exchange_n(&f->cbs, &head, c, true, __ATOMIC_RELEASE,
                                          __ATOMIC_ACQUIRE));
    return 0;
}
