/*
 * bench/bench_weft.c - the weft rows. Each function is the weft twin of the one
 * with the same shape in peer_pthread.c: same work, same checks, weft calls.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "bench.h"
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
    long total = 2 * c.per_thread;
    if (c.counter != total) {
        bench_fail("weft counter_lock_per_increment_2threads: counter %ld, expected %ld",
                   c.counter, total);
        return -1;
    }
    return (double)(t1 - t0) / (double)total; /* ns per increment */
}

/* ---- cpu_bound_2threads_speedup ---- */

struct cpu_ctx {
    uint64_t seed;
    long iters;
    uint64_t result;
};

static void *cpu_body(void *arg)
{
    struct cpu_ctx *c = arg;
    c->result = bench_cpu_work(c->seed, c->iters);
    return NULL;
}

double weft_cpu_2threads(long n)
{
    struct cpu_ctx seq[2] = {{1, n, 0}, {2, n, 0}}, par[2] = {{1, n, 0}, {2, n, 0}};
    int64_t t0 = bench_now_ns();
    cpu_body(&seq[0]);
    cpu_body(&seq[1]);
    int64_t t1 = bench_now_ns();
    weft_thread *t[2];
    for (int i = 0; i < 2; i++) {
        int rc = weft_thread_start(&t[i], cpu_body, &par[i], NULL);
        if (rc != 0) {
            bench_error("weft_thread_start", rc);
            return -1;
        }
    }
    for (int i = 0; i < 2; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    int64_t t2 = bench_now_ns();
    for (int i = 0; i < 2; i++)
        if (seq[i].result != par[i].result) {
            bench_fail("weft cpu_bound_2threads_speedup: thread %d computed %llx, "
                       "sequential %llx", i, (unsigned long long)par[i].result,
                       (unsigned long long)seq[i].result);
            return -1;
        }
    return (double)(t1 - t0) / (double)(t2 - t1); /* speedup t_seq / t_par */
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
