/*
 * Python's queue module over the two stores (see queue_internal.h): creation,
 * blocking put/get with deadlines, batches, shutdown and task accounting.
 *
 * Waiting. A put that finds the store full (a get that finds it empty) spins
 * briefly, then sleeps on the not_full (not_empty) eventcount and tries again when
 * woken. Every successful get notifies not_full (bounded queues only: nobody
 * waits for room in an unbounded one) and every successful put notifies
 * not_empty; with nobody asleep a notify is one locked RMW, no system call.
 *
 * Deadlines are computed lazily: a call that never has to wait never reads the
 * clock. The deadline is still taken from the moment waiting starts, which is
 * within nanoseconds of the call's start.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal/cpu.h"
#include "queue/queue_internal.h"

/* Spinning before sleeping, adaptive per queue and direction (the idea of
 * glibc's adaptive mutex): a peer running on another core usually makes room
 * or an item within a few hundred nanoseconds, far less than a futex sleep and
 * wake; but when the peer shares our core, every spin only delays it. So each
 * side keeps a spin budget: it moves toward twice the spins that last
 * succeeded, and shrinks when spinning ended in a sleep anyway. Each spin is
 * one pause plus a look at our own next cell. */
#define SPIN_MIN 64
#define SPIN_MAX 1024
#define SPIN_START 256

enum { RUNNING = 0, SHUT = 1, SHUT_NOW = 2 };

static uint32_t shut_state(const weft_queue *q)
{
    /* Acquire: pairs with shutdown's release; callers act on the flag alone. */
    return __atomic_load_n(&q->shutdown, __ATOMIC_ACQUIRE);
}

/* ---- creation ---- */

static int check_opts(const weft_queue_opts *o)
{
    if (o->kind < WEFT_QUEUE_FIFO || o->kind > WEFT_QUEUE_SIMPLE)
        return -EINVAL;
    if (o->kind == WEFT_QUEUE_SIMPLE && o->maxsize)
        return -EINVAL;
    if (o->compare && o->kind != WEFT_QUEUE_PRIORITY)
        return -EINVAL;
    if (o->maxsize > ((size_t)1 << 40))
        return -EINVAL; /* would not fit in memory; also keeps positions far from wrap */
    return 0;
}

WEFT_API int weft_queue_new(weft_queue **out, const weft_queue_opts *opts)
{
    if (!out)
        return -EINVAL;
    weft_queue_opts o = opts ? *opts : (weft_queue_opts){0};
    int rc = check_opts(&o);
    if (rc)
        return rc;
    weft_queue *q = aligned_alloc(WEFT__CACHELINE, sizeof *q);
    if (!q)
        return -ENOMEM;
    memset(q, 0, sizeof *q);
    q->kind = o.kind;
    q->maxsize = o.maxsize;
    q->compare = o.compare;
    q->compare_ctx = o.compare_ctx;
    q->discard = o.discard;
    /* The ring needs two cells at least: with one, "full for position p" and
     * "free for position p + 1" would be the same sequence number. */
    bool ring = o.kind == WEFT_QUEUE_FIFO && o.maxsize >= 2;
    q->ops = ring ? &weft__ring_ops : &weft__locked_ops;
    rc = ring ? weft__ring_init(q) : weft__locked_init(q);
    if (rc) {
        free(q);
        return rc;
    }
    *out = q;
    return 0;
}

/* Take everything left, handing it to discard; returns how many. With
 * until_drained (a closed store), also wait out items claimed before the close
 * and still on their way in - a few instructions away unless their producer was
 * preempted, hence the yield. */
static uint64_t drain(weft_queue *q, bool until_drained)
{
    uint64_t n = 0;
    void *item;
    for (;;) {
        int rc = q->ops->try_get(q, &item, NULL);
        if (rc == 0) {
            if (q->discard)
                q->discard(item);
            n++;
        } else if (rc == WEFT__STORE_EMPTY && until_drained) {
            sched_yield();
        } else {
            return n;
        }
    }
}

WEFT_API void weft_queue_free(weft_queue *q)
{
    if (!q)
        return;
    drain(q, false); /* no other thread may use q now: nothing is in flight */
    q->ops->destroy(q);
    free(q);
}

/* ---- waiting ---- */

/* A timeout and the deadline made from it on first need. */
typedef struct wait_plan {
    double timeout;
    bool have_deadline;
    weft__deadline d;
} wait_plan;

static const weft__deadline *plan_deadline(wait_plan *p)
{
    if (!p->have_deadline) {
        p->d = weft__deadline_in(p->timeout);
        p->have_deadline = true;
    }
    return &p->d;
}

static void notify_put(weft_queue *q)
{
    weft__ec_notify_all(&q->not_empty, false);
}

static void notify_got(weft_queue *q)
{
    if (q->maxsize)
        weft__ec_notify_all(&q->not_full, false);
}

/* Spin until the store looks like it has room (want_room) or an item, a bounded
 * number of times. Only a hint: the caller tries again either way. */
static void spin_for(weft_queue *q, bool want_room)
{
    uint32_t *budget = want_room ? &q->put_spins : &q->get_spins;
    /* Relaxed: a tuning hint; a lost update only makes one guess less good. */
    uint32_t limit = __atomic_load_n(budget, __ATOMIC_RELAXED);
    if (limit == 0)
        limit = SPIN_START;
    uint32_t i = 0;
    bool ok = false;
    for (; i < limit; i++) {
        if (q->ops->ready(q, want_room)) {
            ok = true;
            break;
        }
        weft__cpu_relax();
    }
    int32_t target = ok ? (int32_t)(2 * i + SPIN_MIN) : 0;
    int32_t next = (int32_t)limit + (target - (int32_t)limit) / 8;
    if (next < SPIN_MIN)
        next = SPIN_MIN;
    if (next > SPIN_MAX)
        next = SPIN_MAX;
    if ((uint32_t)next != limit)
        __atomic_store_n(budget, (uint32_t)next, __ATOMIC_RELAXED);
}

/* One put, waiting as the plan allows. Does not notify: the caller does, once
 * for a batch. */
static int put_one(weft_queue *q, void *item, int64_t prio, wait_plan *p)
{
    bool spun = false;
    for (;;) {
        if (shut_state(q) != RUNNING)
            return -WEFT_ESHUTDOWN;
        int rc = q->ops->try_put(q, item, prio);
        if (rc <= 0)
            return rc; /* 0, or -ENOMEM */
        if (rc == WEFT__STORE_CLOSED)
            return -WEFT_ESHUTDOWN;
        if (p->timeout == 0)
            return -WEFT_EFULL;
        if (!spun) {
            spin_for(q, true);
            spun = true;
            continue;
        }
        uint32_t key = weft__ec_prepare(&q->not_full);
        rc = q->ops->try_put(q, item, prio);
        if (rc <= 0)
            return rc;
        if (rc == WEFT__STORE_CLOSED)
            return -WEFT_ESHUTDOWN;
        if (weft__ec_wait(&q->not_full, key, plan_deadline(p), false) == -ETIMEDOUT) {
            /* One last look: room made just as we gave up is taken, not lost. */
            rc = q->ops->try_put(q, item, prio);
            if (rc == WEFT__STORE_CLOSED)
                return -WEFT_ESHUTDOWN;
            return rc <= 0 ? rc : -ETIMEDOUT;
        }
    }
}

/* Try to get now, with shutdown's rules: after an immediate shutdown nothing is
 * handed out; after a plain one, everything put before it still is. */
static int try_get_now(weft_queue *q, void **item, int64_t *prio)
{
    if (shut_state(q) == SHUT_NOW)
        return -WEFT_ESHUTDOWN;
    int rc = q->ops->try_get(q, item, prio);
    return rc == WEFT__STORE_DRAINED ? -WEFT_ESHUTDOWN : rc;
}

static int get_one(weft_queue *q, void **item, int64_t *prio, wait_plan *p)
{
    bool spun = false;
    for (;;) {
        int rc = try_get_now(q, item, prio);
        if (rc <= 0)
            return rc;
        if (p->timeout == 0)
            return -WEFT_EEMPTY;
        if (!spun) {
            spin_for(q, false);
            spun = true;
            continue;
        }
        uint32_t key = weft__ec_prepare(&q->not_empty);
        rc = try_get_now(q, item, prio);
        if (rc <= 0)
            return rc;
        if (weft__ec_wait(&q->not_empty, key, plan_deadline(p), false) == -ETIMEDOUT) {
            rc = try_get_now(q, item, prio);
            return rc <= 0 ? rc : -ETIMEDOUT;
        }
    }
}

/* ---- put and get ---- */

static int put_prio(weft_queue *q, int64_t prio, void *item, double timeout)
{
    if (!q || weft__timeout_invalid(timeout))
        return -EINVAL;
    wait_plan p = {.timeout = timeout};
    int rc = put_one(q, item, prio, &p);
    if (rc == 0)
        notify_put(q);
    return rc;
}

WEFT_API int weft_queue_put(weft_queue *q, void *item, double timeout)
{
    return put_prio(q, 0, item, timeout);
}

WEFT_API int weft_queue_put_prio(weft_queue *q, int64_t priority, void *item, double timeout)
{
    if (q && q->kind != WEFT_QUEUE_PRIORITY)
        return -EINVAL;
    return put_prio(q, priority, item, timeout);
}

static int get_prio(weft_queue *q, int64_t *prio, void **item, double timeout)
{
    if (!q || !item || weft__timeout_invalid(timeout))
        return -EINVAL;
    wait_plan p = {.timeout = timeout};
    int rc = get_one(q, item, prio, &p);
    if (rc == 0)
        notify_got(q);
    return rc;
}

WEFT_API int weft_queue_get(weft_queue *q, void **item, double timeout)
{
    return get_prio(q, NULL, item, timeout);
}

WEFT_API int weft_queue_get_prio(weft_queue *q, int64_t *priority, void **item, double timeout)
{
    if (q && q->kind != WEFT_QUEUE_PRIORITY)
        return -EINVAL;
    return get_prio(q, priority, item, timeout);
}

/* ---- batches ---- */

WEFT_API int weft_queue_put_many(weft_queue *q, void *const *items, size_t n, size_t *done,
                                 double timeout)
{
    if (done)
        *done = 0;
    if (!q || (!items && n) || weft__timeout_invalid(timeout))
        return -EINVAL;
    wait_plan p = {.timeout = timeout};
    size_t i = 0, notified = 0;
    int rc = 0;
    while (i < n) {
        if (shut_state(q) != RUNNING) {
            rc = -WEFT_ESHUTDOWN;
            break;
        }
        rc = q->ops->try_put(q, items[i], 0);
        if (rc == 0) {
            i++;
            continue;
        }
        if (rc < 0)
            break;
        if (rc == WEFT__STORE_CLOSED) {
            rc = -WEFT_ESHUTDOWN;
            break;
        }
        /* Full: let consumers at what we have put before waiting for room. */
        if (i > notified) {
            notify_put(q);
            notified = i;
        }
        rc = put_one(q, items[i], 0, &p);
        if (rc)
            break;
        i++;
    }
    if (i > notified)
        notify_put(q);
    if (done)
        *done = i;
    return rc;
}

WEFT_API int weft_queue_get_many(weft_queue *q, void **items, size_t max, size_t *got,
                                 double timeout)
{
    if (got)
        *got = 0;
    if (!q || !items || max == 0 || weft__timeout_invalid(timeout))
        return -EINVAL;
    wait_plan p = {.timeout = timeout};
    int rc = get_one(q, &items[0], NULL, &p);
    if (rc)
        return rc;
    size_t n = 1;
    while (n < max && try_get_now(q, &items[n], NULL) == 0)
        n++;
    notify_got(q);
    if (got)
        *got = n;
    return 0;
}

/* ---- sizes ---- */

WEFT_API size_t weft_queue_qsize(const weft_queue *q)
{
    return q ? q->ops->size(q) : 0;
}

WEFT_API bool weft_queue_empty(const weft_queue *q)
{
    return weft_queue_qsize(q) == 0;
}

WEFT_API bool weft_queue_full(const weft_queue *q)
{
    return q && q->maxsize && weft_queue_qsize(q) >= q->maxsize;
}

WEFT_API size_t weft_queue_maxsize(const weft_queue *q)
{
    return q ? q->maxsize : 0;
}

/* ---- tasks ---- */

static bool all_done(const weft_queue *q)
{
    /* Acquire on done: a join that sees the count also sees the work the
     * task_done callers finished before marking it. */
    return __atomic_load_n(&q->done, __ATOMIC_ACQUIRE) >= q->ops->puts(q);
}

WEFT_API int weft_queue_task_done(weft_queue *q)
{
    if (!q || q->kind == WEFT_QUEUE_SIMPLE)
        return -EINVAL;
    uint64_t d = __atomic_load_n(&q->done, __ATOMIC_RELAXED);
    do {
        if (d >= q->ops->puts(q))
            return -EINVAL; /* more task_done calls than items put */
        /* Release: the caller's processing of the item happens before a join
         * that sees this count. */
    } while (!__atomic_compare_exchange_n(&q->done, &d, d + 1, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    if (d + 1 == q->ops->puts(q))
        weft__ec_notify_all(&q->all_done, false);
    return 0;
}

WEFT_API int weft_queue_join(weft_queue *q, double timeout)
{
    if (!q || q->kind == WEFT_QUEUE_SIMPLE || weft__timeout_invalid(timeout))
        return -EINVAL;
    wait_plan p = {.timeout = timeout};
    for (;;) {
        if (all_done(q))
            return 0;
        if (timeout == 0)
            return -ETIMEDOUT;
        uint32_t key = weft__ec_prepare(&q->all_done);
        if (all_done(q))
            return 0;
        if (weft__ec_wait(&q->all_done, key, plan_deadline(&p), false) == -ETIMEDOUT)
            return all_done(q) ? 0 : -ETIMEDOUT;
    }
}

/* ---- shutdown ---- */

WEFT_API int weft_queue_shutdown(weft_queue *q, bool immediate)
{
    if (!q)
        return -EINVAL;
    uint32_t want = immediate ? SHUT_NOW : SHUT;
    uint32_t cur = __atomic_load_n(&q->shutdown, __ATOMIC_RELAXED);
    /* Only ever raise the state: a plain shutdown after an immediate one keeps
     * it immediate. Release: pairs with shut_state's acquire. */
    while (cur < want && !__atomic_compare_exchange_n(&q->shutdown, &cur, want, true,
                                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
    /* The store's own close is what stops puts for good (see queue_internal.h);
     * the flag above only lets callers give up early. */
    q->ops->close(q);
    if (immediate) {
        uint64_t dropped = drain(q, true);
        if (dropped)
            __atomic_fetch_add(&q->done, dropped, __ATOMIC_RELEASE);
        weft__ec_notify_all(&q->all_done, false);
    }
    weft__ec_notify_all(&q->not_empty, false);
    weft__ec_notify_all(&q->not_full, false);
    return 0;
}

WEFT_API bool weft_queue_is_shutdown(const weft_queue *q)
{
    return q && shut_state(q) != RUNNING;
}
