/*
 * bench/peer_pthread.c - the raw pthread rows: what a C programmer writes without
 * weft (pthread_create/join, a default pthread_mutex_t, a mutex+condvar event).
 * Each function mirrors its weft twin in bench_weft.c line for line.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

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
    long total = 2 * c.per_thread;
    if (c.counter != total) {
        bench_fail("pthread counter_lock_per_increment_2threads: counter %ld, expected %ld",
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

double pthread_cpu_2threads(long n)
{
    struct cpu_ctx seq[2] = {{1, n, 0}, {2, n, 0}}, par[2] = {{1, n, 0}, {2, n, 0}};
    int64_t t0 = bench_now_ns();
    cpu_body(&seq[0]);
    cpu_body(&seq[1]);
    int64_t t1 = bench_now_ns();
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        int rc = pthread_create(&t[i], NULL, cpu_body, &par[i]);
        if (rc != 0) {
            bench_error("pthread_create", -rc);
            return -1;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    int64_t t2 = bench_now_ns();
    for (int i = 0; i < 2; i++)
        if (seq[i].result != par[i].result) {
            bench_fail("pthread cpu_bound_2threads_speedup: thread %d computed %llx, "
                       "sequential %llx", i, (unsigned long long)par[i].result,
                       (unsigned long long)seq[i].result);
            return -1;
        }
    return (double)(t1 - t0) / (double)(t2 - t1); /* speedup t_seq / t_par */
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
