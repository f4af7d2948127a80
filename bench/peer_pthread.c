/*
 * bench/peer_pthread.c - the raw pthread rows: what a C programmer writes without
 * weft (pthread_create/join, a default pthread_mutex_t, a mutex+condvar event, the
 * textbook bounded queue: a ring under one mutex with two condvars).
 * Each function mirrors its weft twin in bench_weft.c line for line.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* ---- thread_spawn_join: create + join one thread at a time ---- */

static atomic_long spawn_runs; /* how many thread bodies ran; checked after the loop */

static void *spawn_body(void *arg)
{
    atomic_fetch_add_explicit(&spawn_runs, 1, memory_order_relaxed);
    return arg;
}

double pthread_spawn_join(long n)
{
    atomic_store(&spawn_runs, 0);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pthread_t t;
        int rc = pthread_create(&t, NULL, spawn_body, (void *)(intptr_t)(i + 1));
        if (rc != 0) {
            bench_error("pthread_create", -rc);
            return -1;
        }
        void *res = NULL;
        pthread_join(t, &res);
        if (res != (void *)(intptr_t)(i + 1)) {
            bench_fail("pthread thread_spawn_join: join returned %p, expected %ld", res, i + 1);
            return -1;
        }
    }
    int64_t t1 = bench_now_ns();
    if (atomic_load(&spawn_runs) != n) {
        bench_fail("pthread thread_spawn_join: %ld bodies ran, expected %ld",
                   atomic_load(&spawn_runs), n);
        return -1;
    }
    return (double)(t1 - t0) / 1e3 / (double)n; /* us per spawn+join */
}

/* ---- lock_acquire_release: uncontended, one thread ---- */

double pthread_lock_acquire_release(long n)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    int64_t t1 = bench_now_ns();
    pthread_mutex_destroy(&m);
    return (double)(t1 - t0) / (double)n; /* ns per lock+unlock */
}

/* ---- counter_lock_per_increment_2threads ---- */

struct counter_ctx {
    pthread_mutex_t m;
    long counter;    /* guarded by m */
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
        pthread_mutex_lock(&c->m);
        c->counter++;
        pthread_mutex_unlock(&c->m);
    }
    return NULL;
}

double pthread_counter_2threads(long n)
{
    struct counter_ctx c = {.m = PTHREAD_MUTEX_INITIALIZER, .per_thread = n / 2};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        int rc = pthread_create(&t[i], NULL, counter_body, &c);
        if (rc != 0) {
            bench_error("pthread_create", -rc);
            return -1;
        }
    }
    while (atomic_load(&c.ready) < 2)
        ;
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(&c.go, 1, memory_order_release);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    int64_t t1 = bench_now_ns();
    pthread_mutex_destroy(&c.m);
    return bench_counter_result("pthread", c.counter, 2 * c.per_thread, t0, t1);
}

/* ---- cpu_bound_2threads_speedup ---- */

double pthread_cpu_2threads(long n)
{
    struct bench_cpu_ctx seq[2] = {{1, n, 0}, {2, n, 0}}, par[2] = {{1, n, 0}, {2, n, 0}};
    int64_t t_seq = bench_cpu_sequential(seq);
    int64_t t1 = bench_now_ns();
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        int rc = pthread_create(&t[i], NULL, bench_cpu_body, &par[i]);
        if (rc != 0) {
            bench_error("pthread_create", -rc);
            return -1;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return bench_cpu_speedup("pthread", seq, par, t_seq, bench_now_ns() - t1);
}

/* ---- event_pingpong_2threads: two events made of mutex + condvar + flag ---- */

struct pev {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int flag; /* guarded by m */
};

#define PEV_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

static void pev_set(struct pev *e)
{
    pthread_mutex_lock(&e->m);
    e->flag = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->m);
}

static void pev_wait(struct pev *e)
{
    pthread_mutex_lock(&e->m);
    while (!e->flag)
        pthread_cond_wait(&e->cv, &e->m);
    pthread_mutex_unlock(&e->m);
}

static void pev_clear(struct pev *e)
{
    pthread_mutex_lock(&e->m);
    e->flag = 0;
    pthread_mutex_unlock(&e->m);
}

struct pingpong_ctx {
    struct pev ping, pong;
    long rounds;
    long bounced; /* written only by the ponger, read after join */
};

static void *ponger(void *arg)
{
    struct pingpong_ctx *c = arg;
    for (long i = 0; i < c->rounds; i++) {
        pev_wait(&c->ping);
        pev_clear(&c->ping);
        c->bounced++;
        pev_set(&c->pong);
    }
    return NULL;
}

double pthread_event_pingpong(long n)
{
    struct pingpong_ctx c = {PEV_INIT, PEV_INIT, n, 0};
    pthread_t t;
    int rc = pthread_create(&t, NULL, ponger, &c);
    if (rc != 0) {
        bench_error("pthread_create", -rc);
        return -1;
    }
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pev_set(&c.ping);
        pev_wait(&c.pong);
        pev_clear(&c.pong);
    }
    int64_t t1 = bench_now_ns();
    pthread_join(t, NULL);
    if (c.bounced != n) {
        bench_fail("pthread event_pingpong_2threads: %ld bounces, expected %ld", c.bounced, n);
        return -1;
    }
    return (double)(t1 - t0) / 1e3 / (double)n; /* us per round trip */
}

/* ================= queue rows: the textbook queues =================
 * FIFO: a ring of void * under one mutex, with condvars not_empty and not_full
 * (each put signals not_empty, each get signals not_full) - the bounded buffer of
 * every operating-systems course. Priority: a binary heap ordered by (priority,
 * insertion number) under a mutex, with a not_empty condvar. Items, sentinels and
 * checks are those of the weft rows in bench_weft.c. */

#define ITEM(v) ((void *)(uintptr_t)(v))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

struct tq {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    void **buf;       /* cap cells */
    size_t cap;       /* fixed */
    size_t head, len; /* guarded by m */
};

static int tq_init(struct tq *q, size_t cap)
{
    pthread_mutex_init(&q->m, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->buf = malloc(cap * sizeof *q->buf);
    q->cap = cap;
    q->head = q->len = 0;
    if (!q->buf) {
        bench_error("malloc", -12);
        return -1;
    }
    return 0;
}

static void tq_destroy(struct tq *q)
{
    free(q->buf);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->m);
}

static void tq_put(struct tq *q, void *item)
{
    pthread_mutex_lock(&q->m);
    while (q->len == q->cap)
        pthread_cond_wait(&q->not_full, &q->m);
    q->buf[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->m);
}

static void *tq_get(struct tq *q)
{
    pthread_mutex_lock(&q->m);
    while (q->len == 0)
        pthread_cond_wait(&q->not_empty, &q->m);
    void *item = q->buf[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->m);
    return item;
}

/* Batches: as many items as fit (or are there) per lock hold. */
static void tq_put_many(struct tq *q, void *const *items, size_t n)
{
    pthread_mutex_lock(&q->m);
    while (n > 0) {
        while (q->len == q->cap)
            pthread_cond_wait(&q->not_full, &q->m);
        while (n > 0 && q->len < q->cap) {
            q->buf[(q->head + q->len) % q->cap] = *items++;
            q->len++;
            n--;
        }
        pthread_cond_broadcast(&q->not_empty);
    }
    pthread_mutex_unlock(&q->m);
}

static size_t tq_get_many(struct tq *q, void **items, size_t max)
{
    pthread_mutex_lock(&q->m);
    while (q->len == 0)
        pthread_cond_wait(&q->not_empty, &q->m);
    size_t k = 0;
    while (k < max && q->len > 0) {
        items[k++] = q->buf[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->m);
    return k;
}

/* Start the threads, release them together, join them: ns from gate to last join. */
static double run_gated(void *(*const *bodies)(void *), void *const *ctxs, int n_threads,
                        atomic_int *ready, atomic_int *go)
{
    pthread_t t[8];
    for (int i = 0; i < n_threads; i++) {
        int rc = pthread_create(&t[i], NULL, bodies[i], ctxs[i]);
        if (rc != 0) { /* threads already started wait at the gate: give up now */
            bench_error("pthread_create", -rc);
            exit(1);
        }
    }
    while (atomic_load(ready) < n_threads)
        ;
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(go, 1, memory_order_release);
    for (int i = 0; i < n_threads; i++)
        pthread_join(t[i], NULL);
    return (double)(bench_now_ns() - t0);
}

struct tq_ctx {
    struct tq *q;
    uint64_t first, last;     /* producer: puts first..last */
    struct bench_tally tally; /* consumer: what it got */
    uint64_t expect_n;        /* single consumer: items to take (in order 1..n) */
    bool order_bad;
    atomic_int *ready, *go;
};

static void *tq_producer(void *arg)
{
    struct tq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    for (uint64_t v = c->first; v <= c->last; v++)
        tq_put(c->q, ITEM(v));
    return NULL;
}

static void *tq_producer_sentinel(void *arg)
{
    struct tq_ctx *c = arg;
    tq_producer(arg);
    tq_put(c->q, ITEM(0));
    return NULL;
}

static void *tq_consumer_n(void *arg)
{
    struct tq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    for (uint64_t i = 1; i <= c->expect_n; i++) {
        uint64_t v = VAL(tq_get(c->q));
        c->order_bad |= v != i;
        bench_tally_add(&c->tally, v);
    }
    return NULL;
}

static void *tq_consumer_sentinel(void *arg)
{
    struct tq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    for (;;) {
        uint64_t v = VAL(tq_get(c->q));
        if (v == 0)
            break;
        bench_tally_add(&c->tally, v);
    }
    return NULL;
}

double pthread_queue_spsc(long n)
{
    struct tq q;
    if (tq_init(&q, BENCH_QUEUE_MAXSIZE))
        return -1;
    atomic_int ready = 0, go = 0;
    struct tq_ctx p = {.q = &q, .first = 1, .last = (uint64_t)n, .ready = &ready, .go = &go};
    struct tq_ctx c = {.q = &q, .expect_n = (uint64_t)n, .ready = &ready, .go = &go};
    void *(*bodies[])(void *) = {tq_producer, tq_consumer_n};
    void *ctxs[] = {&p, &c};
    double ns = run_gated(bodies, ctxs, 2, &ready, &go);
    tq_destroy(&q);
    if (c.order_bad) {
        bench_fail("pthread queue_fifo_spsc_bounded1024: items out of FIFO order");
        return -1;
    }
    if (bench_tally_check(&c.tally, (uint64_t)n, "pthread", "queue_fifo_spsc_bounded1024"))
        return -1;
    return (double)n / (ns / 1e9); /* items per second */
}

double pthread_queue_mpmc(long n)
{
    struct tq q;
    if (tq_init(&q, BENCH_QUEUE_MAXSIZE))
        return -1;
    uint64_t half = (uint64_t)n / 2;
    atomic_int ready = 0, go = 0;
    struct tq_ctx p[2] = {{.q = &q, .first = 1, .last = half, .ready = &ready, .go = &go},
                          {.q = &q, .first = half + 1, .last = 2 * half, .ready = &ready,
                           .go = &go}};
    struct tq_ctx c[2] = {{.q = &q, .ready = &ready, .go = &go},
                          {.q = &q, .ready = &ready, .go = &go}};
    void *(*bodies[])(void *) = {tq_producer_sentinel, tq_producer_sentinel,
                                 tq_consumer_sentinel, tq_consumer_sentinel};
    void *ctxs[] = {&p[0], &p[1], &c[0], &c[1]};
    double ns = run_gated(bodies, ctxs, 4, &ready, &go);
    tq_destroy(&q);
    struct bench_tally t = {c[0].tally.count + c[1].tally.count,
                            c[0].tally.sum + c[1].tally.sum,
                            c[0].tally.sumsq + c[1].tally.sumsq};
    if (bench_tally_check(&t, 2 * half, "pthread", "queue_fifo_mpmc_2p2c_bounded1024"))
        return -1;
    return (double)(2 * half) / (ns / 1e9); /* items per second */
}

static void *tq_batch_producer(void *arg)
{
    struct tq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    void *items[BENCH_BATCH];
    for (uint64_t v = c->first; v <= c->last; v += BENCH_BATCH) {
        for (int k = 0; k < BENCH_BATCH; k++)
            items[k] = ITEM(v + (uint64_t)k);
        tq_put_many(c->q, items, BENCH_BATCH);
    }
    return NULL;
}

static void *tq_batch_consumer(void *arg)
{
    struct tq_ctx *c = arg;
    atomic_fetch_add(c->ready, 1);
    bench_wait_gate(c->go);
    uint64_t next = 1;
    void *items[BENCH_BATCH];
    while (next <= c->expect_n) {
        size_t got = tq_get_many(c->q, items, BENCH_BATCH);
        for (size_t k = 0; k < got; k++, next++) {
            c->order_bad |= VAL(items[k]) != next;
            bench_tally_add(&c->tally, VAL(items[k]));
        }
    }
    return NULL;
}

double pthread_queue_spsc_batch(long n)
{
    n -= n % BENCH_BATCH;
    struct tq q;
    if (tq_init(&q, BENCH_QUEUE_MAXSIZE))
        return -1;
    atomic_int ready = 0, go = 0;
    struct tq_ctx p = {.q = &q, .first = 1, .last = (uint64_t)n, .ready = &ready, .go = &go};
    struct tq_ctx c = {.q = &q, .expect_n = (uint64_t)n, .ready = &ready, .go = &go};
    void *(*bodies[])(void *) = {tq_batch_producer, tq_batch_consumer};
    void *ctxs[] = {&p, &c};
    double ns = run_gated(bodies, ctxs, 2, &ready, &go);
    tq_destroy(&q);
    if (c.order_bad) {
        bench_fail("pthread queue_fifo_spsc_bounded1024_batch16: items out of FIFO order");
        return -1;
    }
    if (bench_tally_check(&c.tally, (uint64_t)n, "pthread",
                          "queue_fifo_spsc_bounded1024_batch16"))
        return -1;
    return (double)n / (ns / 1e9); /* items per second */
}

/* ---- priority_queue_put_get_1thread: a binary heap under a mutex ---- */

struct hent {
    uint64_t prio, seq;
    void *item;
};

struct theap {
    pthread_mutex_t m;
    pthread_cond_t not_empty;
    struct hent *v;    /* guarded by m, as are the fields below */
    size_t len, cap;
    uint64_t seq;      /* insertion number: equal priorities come out FIFO */
};

static bool hless(const struct hent *a, const struct hent *b)
{
    return a->prio < b->prio || (a->prio == b->prio && a->seq < b->seq);
}

static int theap_put(struct theap *h, uint64_t prio, void *item)
{
    pthread_mutex_lock(&h->m);
    if (h->len == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        struct hent *v = realloc(h->v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&h->m);
            return -1;
        }
        h->v = v;
        h->cap = cap;
    }
    struct hent e = {prio, h->seq++, item};
    size_t i = h->len++;
    while (i > 0 && hless(&e, &h->v[(i - 1) / 2])) { /* sift up */
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = e;
    pthread_cond_signal(&h->not_empty);
    pthread_mutex_unlock(&h->m);
    return 0;
}

static void *theap_get(struct theap *h, uint64_t *prio)
{
    pthread_mutex_lock(&h->m);
    while (h->len == 0)
        pthread_cond_wait(&h->not_empty, &h->m);
    struct hent top = h->v[0], last = h->v[--h->len];
    size_t i = 0;
    for (;;) { /* sift the last entry down from the root */
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && hless(&h->v[c + 1], &h->v[c]))
            c++;
        if (!hless(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->len > 0)
        h->v[i] = last;
    pthread_mutex_unlock(&h->m);
    *prio = top.prio;
    return top.item;
}

double pthread_prio_put_get(long n)
{
    n -= n % BENCH_PRIO_BATCH;
    struct theap h = {.m = PTHREAD_MUTEX_INITIALIZER, .not_empty = PTHREAD_COND_INITIALIZER};
    struct bench_tally t = {0};
    uint64_t rng = 42;
    bool order_bad = false;
    int64_t t0 = bench_now_ns();
    for (long b = 0; b < n; b += BENCH_PRIO_BATCH) {
        for (long k = 1; k <= BENCH_PRIO_BATCH; k++)
            if (theap_put(&h, bench_prio_next(&rng), ITEM(b + k))) {
                bench_error("realloc", -12);
                free(h.v);
                return -1;
            }
        uint64_t prev = 0;
        for (long k = 0; k < BENCH_PRIO_BATCH; k++) {
            uint64_t prio;
            void *it = theap_get(&h, &prio);
            order_bad |= prio < prev;
            prev = prio;
            bench_tally_add(&t, VAL(it));
        }
    }
    int64_t t1 = bench_now_ns();
    free(h.v);
    pthread_cond_destroy(&h.not_empty);
    pthread_mutex_destroy(&h.m);
    if (order_bad) {
        bench_fail("pthread priority_queue_put_get_1thread: priorities out of order");
        return -1;
    }
    if (bench_tally_check(&t, (uint64_t)n, "pthread", "priority_queue_put_get_1thread"))
        return -1;
    return (double)n / ((double)(t1 - t0) / 1e9); /* put+get pairs per second */
}

/* ---- queue_handoff_latency: two textbook queues (capacity 1024: never full) ---- */

struct handoff_ctx {
    struct tq ping, pong;
    long rounds;
};

static void *handoff_partner(void *arg)
{
    struct handoff_ctx *c = arg;
    for (long i = 0; i < c->rounds; i++)
        tq_put(&c->pong, ITEM(VAL(tq_get(&c->ping)) + 1));
    return NULL;
}

double pthread_queue_handoff(long n)
{
    double *lat = malloc((size_t)n * sizeof *lat);
    struct handoff_ctx c = {.rounds = n};
    if (!lat || tq_init(&c.ping, BENCH_QUEUE_MAXSIZE) || tq_init(&c.pong, BENCH_QUEUE_MAXSIZE)) {
        bench_error("malloc", -12);
        exit(1);
    }
    pthread_t t;
    int rc = pthread_create(&t, NULL, handoff_partner, &c);
    if (rc != 0) {
        bench_error("pthread_create", -rc);
        exit(1);
    }
    bool wrong = false;
    for (long i = 0; i < n; i++) {
        int64_t t0 = bench_now_ns();
        tq_put(&c.ping, ITEM(2 * i));
        void *back = tq_get(&c.pong);
        int64_t t1 = bench_now_ns();
        wrong |= VAL(back) != (uint64_t)(2 * i + 1);
        lat[i] = (double)(t1 - t0) / 1e3;
    }
    pthread_join(t, NULL);
    tq_destroy(&c.ping);
    tq_destroy(&c.pong);
    if (wrong) {
        bench_fail("pthread queue_handoff_latency: an item came back changed");
        free(lat);
        return -1;
    }
    double p50 = bench_percentile(lat, n, 50);
    bench_aux = bench_percentile(lat, n, 99);
    free(lat);
    return p50; /* us per round trip, median */
}
