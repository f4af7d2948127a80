/*
 * bench/bench_weft.c - the weft rows. Each function is the weft twin of the one
 * with the same shape in peer_pthread.c: same work, same checks, weft calls.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "bench.h"
#include <stdlib.h>

#include "weft/queue.h"
#include "weft/sync.h"
#include "weft/thread.h"

/* ---- thread_spawn_join: start + join + free one thread at a time ---- */

static atomic_long spawn_runs; /* how many thread bodies ran; checked after the loop */

static void *spawn_body(void *arg)
{
    atomic_fetch_add_explicit(&spawn_runs, 1, memory_order_relaxed);
    return arg;
}

double weft_spawn_join(long n)
{
    atomic_store(&spawn_runs, 0);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        weft_thread *t;
        int rc = weft_thread_start(&t, spawn_body, (void *)(intptr_t)(i + 1), NULL);
        if (rc != 0) {
            bench_error("weft_thread_start", rc);
            return -1;
        }
        void *res = NULL;
        rc = weft_thread_join(t, WEFT_FOREVER, &res);
        weft_thread_free(t);
        if (rc != 0) {
            bench_error("weft_thread_join", rc);
            return -1;
        }
        if (res != (void *)(intptr_t)(i + 1)) {
            bench_fail("weft thread_spawn_join: join returned %p, expected %ld", res, i + 1);
            return -1;
        }
    }
    int64_t t1 = bench_now_ns();
    if (atomic_load(&spawn_runs) != n) {
        bench_fail("weft thread_spawn_join: %ld bodies ran, expected %ld",
                   atomic_load(&spawn_runs), n);
        return -1;
    }
    return (double)(t1 - t0) / 1e3 / (double)n; /* us per start+join+free */
}

/* ---- lock_acquire_release: uncontended, one thread ---- */

double weft_lock_acquire_release(long n)
{
    weft_lock l;
    weft_lock_init(&l, "bench");
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        weft_lock_acquire(&l, WEFT_FOREVER);
        weft_lock_release(&l);
    }
    int64_t t1 = bench_now_ns();
    weft_lock_destroy(&l);
    return (double)(t1 - t0) / (double)n; /* ns per acquire+release */
}

/* ---- counter_lock_per_increment_2threads ---- */

struct counter_ctx {
    weft_lock l;
    long counter;    /* guarded by l */
    long per_thread; /* increments each thread makes */
    atomic_int ready;
    atomic_int go;
};

static void *counter_body(void *arg)
{
    struct counter_ctx *c = arg;
    atomic_fetch_add(&c->ready, 1);
    bench_wait_gate(&c->go);
    for (long i = 0; i < c->per_thread; i++) {
        weft_lock_acquire(&c->l, WEFT_FOREVER);
        c->counter++;
        weft_lock_release(&c->l);
    }
    return NULL;
}

double weft_counter_2threads(long n)
{
    struct counter_ctx c = {.per_thread = n / 2};
    weft_lock_init(&c.l, "counter");
    weft_thread *t[2];
    for (int i = 0; i < 2; i++) {
        int rc = weft_thread_start(&t[i], counter_body, &c, NULL);
        if (rc != 0) {
            bench_error("weft_thread_start", rc);
            return -1;
        }
    }
    while (atomic_load(&c.ready) < 2)
        ;
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(&c.go, 1, memory_order_release);
    for (int i = 0; i < 2; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    int64_t t1 = bench_now_ns();
    weft_lock_destroy(&c.l);
    return bench_counter_result("weft", c.counter, 2 * c.per_thread, t0, t1);
}

/* ---- cpu_bound_2threads_speedup ---- */

double weft_cpu_2threads(long n)
{
    struct bench_cpu_ctx seq[2] = {{1, n, 0}, {2, n, 0}}, par[2] = {{1, n, 0}, {2, n, 0}};
    int64_t t_seq = bench_cpu_sequential(seq);
    int64_t t1 = bench_now_ns();
    weft_thread *t[2];
    for (int i = 0; i < 2; i++) {
        int rc = weft_thread_start(&t[i], bench_cpu_body, &par[i], NULL);
        if (rc != 0) {
            bench_error("weft_thread_start", rc);
            return -1;
        }
    }
    for (int i = 0; i < 2; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    return bench_cpu_speedup("weft", seq, par, t_seq, bench_now_ns() - t1);
}

/* ---- event_pingpong_2threads: set / wait / clear on two events ---- */

struct pingpong_ctx {
    weft_event ping, pong;
    long rounds;
    long bounced; /* written only by the ponger, read after join */
};

static void *ponger(void *arg)
{
    struct pingpong_ctx *c = arg;
    for (long i = 0; i < c->rounds; i++) {
        weft_event_wait(&c->ping, WEFT_FOREVER);
        weft_event_clear(&c->ping);
        c->bounced++;
        weft_event_set(&c->pong);
    }
    return NULL;
}

double weft_event_pingpong(long n)
{
    struct pingpong_ctx c = {.rounds = n};
    weft_event_init(&c.ping);
    weft_event_init(&c.pong);
    weft_thread *t;
    int rc = weft_thread_start(&t, ponger, &c, NULL);
    if (rc != 0) {
        bench_error("weft_thread_start", rc);
        return -1;
    }
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        weft_event_set(&c.ping);
        weft_event_wait(&c.pong, WEFT_FOREVER);
        weft_event_clear(&c.pong);
    }
    int64_t t1 = bench_now_ns();
    weft_thread_join(t, WEFT_FOREVER, NULL);
    weft_thread_free(t);
    if (c.bounced != n) {
        bench_fail("weft event_pingpong_2threads: %ld bounces, expected %ld", c.bounced, n);
        return -1;
    }
    return (double)(t1 - t0) / 1e3 / (double)n; /* us per round trip */
}

/* ================= queue rows (weft/queue.h) =================
 * Items are the integers 1..n carried in the void * itself; 0 is the "no more"
 * sentinel of the two-producer row. Every consumer tallies what it got
 * (bench_tally_check); the single-consumer rows also check FIFO order. */

#define ITEM(v) ((void *)(uintptr_t)(v))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

/* Start n_threads weft threads running body(ctx), release them together through
 * *go once all have checked in on *ready, join them; returns the ns from the gate
 * to the last join, or -1 on error. */
static double run_gated(void *(*const *bodies)(void *), void *const *ctxs, int n_threads,
                        atomic_int *ready, atomic_int *go)
{
    weft_thread *t[8];
    for (int i = 0; i < n_threads; i++) {
        int rc = weft_thread_start(&t[i], bodies[i], ctxs[i], NULL);
        if (rc != 0) { /* threads already started wait at the gate: give up now */
            bench_error("weft_thread_start", rc);
            exit(1);
        }
    }
    while (atomic_load(ready) < n_threads)
        ;
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(go, 1, memory_order_release);
    for (int i = 0; i < n_threads; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    return (double)(bench_now_ns() - t0);
}

struct wq_ctx {
    weft_queue *q;
    uint64_t first, last; /* producer: puts first..last */
    struct bench_tally tally; /* consumer: what it got */
    uint64_t expect_n;        /* single consumer: items to take (in order 1..n) */
    int error;                /* a weft call failed (code) */
    bool order_bad;
    atomic_int *ready, *go;
};

static void *wq_producer(void *arg)
{
    struct wq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    for (uint64_t v = c->first; v <= c->last; v++) {
        int rc = weft_queue_put(c->q, ITEM(v), WEFT_FOREVER);
        if (rc) {
            c->error = rc;
            break;
        }
    }
    return NULL;
}

/* Producer of the two-producer row: its range, then one sentinel. */
static void *wq_producer_sentinel(void *arg)
{
    struct wq_ctx *c = arg;
    wq_producer(arg);
    int rc = weft_queue_put(c->q, ITEM(0), WEFT_FOREVER);
    if (rc)
        c->error = rc;
    return NULL;
}

/* Single consumer: exactly expect_n items, which must come 1, 2, 3, ... */
static void *wq_consumer_n(void *arg)
{
    struct wq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    for (uint64_t i = 1; i <= c->expect_n; i++) {
        void *it;
        int rc = weft_queue_get(c->q, &it, WEFT_FOREVER);
        if (rc) {
            c->error = rc;
            break;
        }
        c->order_bad |= VAL(it) != i;
        bench_tally_add(&c->tally, VAL(it));
    }
    return NULL;
}

/* Consumer of the two-consumer row: until the first sentinel. */
static void *wq_consumer_sentinel(void *arg)
{
    struct wq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    for (;;) {
        void *it;
        int rc = weft_queue_get(c->q, &it, WEFT_FOREVER);
        if (rc) {
            c->error = rc;
            break;
        }
        if (VAL(it) == 0)
            break;
        bench_tally_add(&c->tally, VAL(it));
    }
    return NULL;
}

static weft_queue *wq_new(size_t maxsize, weft_queue_kind kind)
{
    weft_queue *q;
    int rc = weft_queue_new(&q, &(weft_queue_opts){.kind = kind, .maxsize = maxsize});
    if (rc) {
        bench_error("weft_queue_new", rc);
        return NULL;
    }
    return q;
}

/* ---- queue_fifo_spsc_bounded1024: one producer, one consumer ---- */

double weft_queue_spsc(long n)
{
    weft_queue *q = wq_new(BENCH_QUEUE_MAXSIZE, WEFT_QUEUE_FIFO);
    if (!q)
        return -1;
    atomic_int ready = 0, go = 0;
    struct wq_ctx p = {.q = q, .first = 1, .last = (uint64_t)n, .ready = &ready, .go = &go};
    struct wq_ctx c = {.q = q, .expect_n = (uint64_t)n, .ready = &ready, .go = &go};
    void *(*bodies[])(void *) = {wq_producer, wq_consumer_n};
    void *ctxs[] = {&p, &c};
    double ns = run_gated(bodies, ctxs, 2, &ready, &go);
    weft_queue_free(q);
    if (ns < 0)
        return -1;
    if (p.error || c.error) {
        bench_error("weft queue_fifo_spsc_bounded1024 put/get", p.error ? p.error : c.error);
        return -1;
    }
    if (c.order_bad) {
        bench_fail("weft queue_fifo_spsc_bounded1024: items out of FIFO order");
        return -1;
    }
    if (bench_tally_check(&c.tally, (uint64_t)n, "weft", "queue_fifo_spsc_bounded1024"))
        return -1;
    return (double)n / (ns / 1e9); /* items per second */
}

/* ---- queue_fifo_mpmc_2p2c_bounded1024: two producers, two consumers ---- */

double weft_queue_mpmc(long n)
{
    weft_queue *q = wq_new(BENCH_QUEUE_MAXSIZE, WEFT_QUEUE_FIFO);
    if (!q)
        return -1;
    uint64_t half = (uint64_t)n / 2;
    atomic_int ready = 0, go = 0;
    struct wq_ctx p[2] = {{.q = q, .first = 1, .last = half, .ready = &ready, .go = &go},
                          {.q = q, .first = half + 1, .last = 2 * half, .ready = &ready,
                           .go = &go}};
    struct wq_ctx c[2] = {{.q = q, .ready = &ready, .go = &go},
                          {.q = q, .ready = &ready, .go = &go}};
    void *(*bodies[])(void *) = {wq_producer_sentinel, wq_producer_sentinel,
                                 wq_consumer_sentinel, wq_consumer_sentinel};
    void *ctxs[] = {&p[0], &p[1], &c[0], &c[1]};
    double ns = run_gated(bodies, ctxs, 4, &ready, &go);
    weft_queue_free(q);
    if (ns < 0)
        return -1;
    for (int i = 0; i < 2; i++)
        if (p[i].error || c[i].error) {
            bench_error("weft queue_fifo_mpmc_2p2c_bounded1024 put/get",
                        p[i].error ? p[i].error : c[i].error);
            return -1;
        }
    struct bench_tally t = {c[0].tally.count + c[1].tally.count,
                            c[0].tally.sum + c[1].tally.sum,
                            c[0].tally.sumsq + c[1].tally.sumsq};
    if (bench_tally_check(&t, 2 * half, "weft", "queue_fifo_mpmc_2p2c_bounded1024"))
        return -1;
    return (double)(2 * half) / (ns / 1e9); /* items per second */
}

/* ---- queue_fifo_spsc_bounded1024_batch16: put_many / get_many of 16 ---- */

static void *wq_batch_producer(void *arg)
{
    struct wq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    void *items[BENCH_BATCH];
    for (uint64_t v = c->first; v <= c->last; v += BENCH_BATCH) {
        for (int k = 0; k < BENCH_BATCH; k++)
            items[k] = ITEM(v + (uint64_t)k);
        int rc = weft_queue_put_many(c->q, items, BENCH_BATCH, NULL, WEFT_FOREVER);
        if (rc) {
            c->error = rc;
            break;
        }
    }
    return NULL;
}

static void *wq_batch_consumer(void *arg)
{
    struct wq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    uint64_t next = 1;
    void *items[BENCH_BATCH];
    while (next <= c->expect_n) {
        size_t got = 0;
        int rc = weft_queue_get_many(c->q, items, BENCH_BATCH, &got, WEFT_FOREVER);
        if (rc) {
            c->error = rc;
            break;
        }
        for (size_t k = 0; k < got; k++, next++) {
            c->order_bad |= VAL(items[k]) != next;
            bench_tally_add(&c->tally, VAL(items[k]));
        }
    }
    return NULL;
}

double weft_queue_spsc_batch(long n)
{
    n -= n % BENCH_BATCH;
    weft_queue *q = wq_new(BENCH_QUEUE_MAXSIZE, WEFT_QUEUE_FIFO);
    if (!q)
        return -1;
    atomic_int ready = 0, go = 0;
    struct wq_ctx p = {.q = q, .first = 1, .last = (uint64_t)n, .ready = &ready, .go = &go};
    struct wq_ctx c = {.q = q, .expect_n = (uint64_t)n, .ready = &ready, .go = &go};
    void *(*bodies[])(void *) = {wq_batch_producer, wq_batch_consumer};
    void *ctxs[] = {&p, &c};
    double ns = run_gated(bodies, ctxs, 2, &ready, &go);
    weft_queue_free(q);
    if (ns < 0)
        return -1;
    if (p.error || c.error) {
        bench_error("weft queue_fifo_spsc_bounded1024_batch16 put_many/get_many",
                    p.error ? p.error : c.error);
        return -1;
    }
    if (c.order_bad) {
        bench_fail("weft queue_fifo_spsc_bounded1024_batch16: items out of FIFO order");
        return -1;
    }
    if (bench_tally_check(&c.tally, (uint64_t)n, "weft", "queue_fifo_spsc_bounded1024_batch16"))
        return -1;
    return (double)n / (ns / 1e9); /* items per second */
}

/* ---- priority_queue_put_get_1thread: batches of BENCH_PRIO_BATCH puts with
 * pseudo-random priorities, then as many gets; one op = one put + one get ---- */

double weft_prio_put_get(long n)
{
    n -= n % BENCH_PRIO_BATCH;
    weft_queue *q = wq_new(0, WEFT_QUEUE_PRIORITY);
    if (!q)
        return -1;
    struct bench_tally t = {0};
    uint64_t rng = 42;
    bool order_bad = false;
    int64_t t0 = bench_now_ns();
    for (long b = 0; b < n; b += BENCH_PRIO_BATCH) {
        for (long k = 1; k <= BENCH_PRIO_BATCH; k++) {
            int rc = weft_queue_put_prio(q, (int64_t)bench_prio_next(&rng), ITEM(b + k),
                                         WEFT_FOREVER);
            if (rc) {
                bench_error("weft_queue_put_prio", rc);
                weft_queue_free(q);
                return -1;
            }
        }
        int64_t prev = -1;
        for (long k = 0; k < BENCH_PRIO_BATCH; k++) {
            int64_t prio;
            void *it;
            int rc = weft_queue_get_prio(q, &prio, &it, WEFT_FOREVER);
            if (rc) {
                bench_error("weft_queue_get_prio", rc);
                weft_queue_free(q);
                return -1;
            }
            order_bad |= prio < prev;
            prev = prio;
            bench_tally_add(&t, VAL(it));
        }
    }
    int64_t t1 = bench_now_ns();
    weft_queue_free(q);
    if (order_bad) {
        bench_fail("weft priority_queue_put_get_1thread: priorities out of order");
        return -1;
    }
    if (bench_tally_check(&t, (uint64_t)n, "weft", "priority_queue_put_get_1thread"))
        return -1;
    return (double)n / ((double)(t1 - t0) / 1e9); /* put+get pairs per second */
}

/* ---- queue_handoff_latency: one item ping-ponged through two queues that start
 * empty (unbounded FIFO, the default queue); each round trip timed alone.
 * Returns the median in us per round trip; bench_aux gets the 99th percentile ---- */

struct handoff_ctx {
    weft_queue *ping, *pong;
    long rounds;
    int error;
};

static void *handoff_partner(void *arg)
{
    struct handoff_ctx *c = arg;
    for (long i = 0; i < c->rounds; i++) {
        void *it;
        int rc = weft_queue_get(c->ping, &it, WEFT_FOREVER);
        if (rc == 0)
            rc = weft_queue_put(c->pong, ITEM(VAL(it) + 1), WEFT_FOREVER);
        if (rc) {
            c->error = rc;
            break;
        }
    }
    return NULL;
}

double weft_queue_handoff(long n)
{
    double *lat = malloc((size_t)n * sizeof *lat);
    if (!lat) {
        bench_error("malloc", -12);
        return -1;
    }
    struct handoff_ctx c = {wq_new(0, WEFT_QUEUE_FIFO), wq_new(0, WEFT_QUEUE_FIFO), n, 0};
    if (!c.ping || !c.pong)
        exit(1);
    weft_thread *t;
    int rc = weft_thread_start(&t, handoff_partner, &c, NULL);
    if (rc != 0) {
        bench_error("weft_thread_start", rc);
        exit(1);
    }
    bool wrong = false;
    for (long i = 0; i < n; i++) {
        void *back = NULL;
        int64_t t0 = bench_now_ns();
        rc = weft_queue_put(c.ping, ITEM(2 * i), WEFT_FOREVER);
        if (rc == 0)
            rc = weft_queue_get(c.pong, &back, WEFT_FOREVER);
        int64_t t1 = bench_now_ns();
        if (rc) { /* the partner would wait forever: give up now */
            bench_error("weft queue_handoff_latency put/get", rc);
            exit(1);
        }
        wrong |= VAL(back) != (uint64_t)(2 * i + 1);
        lat[i] = (double)(t1 - t0) / 1e3;
    }
    weft_thread_join(t, WEFT_FOREVER, NULL);
    weft_thread_free(t);
    weft_queue_free(c.ping);
    weft_queue_free(c.pong);
    if (c.error || wrong) {
        if (c.error)
            bench_error("weft queue_handoff_latency partner", c.error);
        else
            bench_fail("weft queue_handoff_latency: an item came back changed");
        free(lat);
        return -1;
    }
    double p50 = bench_percentile(lat, n, 50);
    bench_aux = bench_percentile(lat, n, 99);
    free(lat);
    return p50; /* us per round trip, median */
}
