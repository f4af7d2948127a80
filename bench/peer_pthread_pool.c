/*
 * bench/peer_pthread_pool.c - the raw pthread rows of the executor benchmarks:
 * what a C programmer writes without weft.
 *
 *   - threadpool_empty_tasks_2workers: the textbook thread pool - a linked-list
 *     task queue under one mutex with a `not_empty` condvar, 2 worker threads,
 *     and a textbook future per task (malloc'd; its own mutex, condvar and done
 *     flag, signalled by the worker that ran it). Same batches and check as weft.
 *   - threadpool_fib25_recursive: no figure. In this pool a task that waits on
 *     its children's futures blocks its worker; once both workers wait, the
 *     children queued behind them never run - the pool deadlocks (fib(25) needs
 *     far more simultaneous waits than 2 workers).
 *   - parallel_for_speedup_2threads: two threads splitting the range in halves
 *     (pthread_create + join inside the timed region, as in the cpu_bound row).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"

#define ITEM(v) ((void *)(uintptr_t)(v))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

/* ---- the textbook pool ---- */

struct tfuture {
    void *(*fn)(void *);
    void *arg;
    struct tfuture *next; /* queue link, guarded by the pool's mutex */
    pthread_mutex_t m;    /* guards result and done */
    pthread_cond_t c;     /* signalled when done */
    void *result;
    bool done;
};

struct tpool {
    pthread_mutex_t m; /* guards head, tail, closing */
    pthread_cond_t not_empty;
    struct tfuture *head, *tail;
    bool closing;
    pthread_t th[2];
};

static void *tpool_worker(void *arg)
{
    struct tpool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->m);
        while (!p->head && !p->closing)
            pthread_cond_wait(&p->not_empty, &p->m);
        struct tfuture *f = p->head;
        if (!f) { /* closing and drained */
            pthread_mutex_unlock(&p->m);
            return NULL;
        }
        p->head = f->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->m);
        void *r = f->fn(f->arg);
        pthread_mutex_lock(&f->m);
        f->result = r;
        f->done = true;
        pthread_cond_signal(&f->c);
        pthread_mutex_unlock(&f->m);
    }
}

static int tpool_start(struct tpool *p)
{
    pthread_mutex_init(&p->m, NULL);
    pthread_cond_init(&p->not_empty, NULL);
    p->head = p->tail = NULL;
    p->closing = false;
    for (int i = 0; i < 2; i++) {
        int rc = pthread_create(&p->th[i], NULL, tpool_worker, p);
        if (rc) {
            bench_error("pthread_create", -rc);
            exit(1);
        }
    }
    return 0;
}

static void tpool_stop(struct tpool *p)
{
    pthread_mutex_lock(&p->m);
    p->closing = true;
    pthread_cond_broadcast(&p->not_empty);
    pthread_mutex_unlock(&p->m);
    for (int i = 0; i < 2; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->m);
}

static struct tfuture *tpool_submit(struct tpool *p, void *(*fn)(void *), void *arg)
{
    struct tfuture *f = malloc(sizeof *f);
    if (!f)
        return NULL;
    f->fn = fn;
    f->arg = arg;
    f->next = NULL;
    pthread_mutex_init(&f->m, NULL);
    pthread_cond_init(&f->c, NULL);
    f->result = NULL;
    f->done = false;
    pthread_mutex_lock(&p->m);
    if (p->tail)
        p->tail->next = f;
    else
        p->head = f;
    p->tail = f;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->m);
    return f;
}

static void *tfuture_result(struct tfuture *f)
{
    pthread_mutex_lock(&f->m);
    while (!f->done)
        pthread_cond_wait(&f->c, &f->m);
    void *r = f->result;
    pthread_mutex_unlock(&f->m);
    return r;
}

static void tfuture_free(struct tfuture *f)
{
    pthread_cond_destroy(&f->c);
    pthread_mutex_destroy(&f->m);
    free(f);
}

/* ---- threadpool_empty_tasks_2workers ---- */

static void *empty_task(void *arg)
{
    return arg;
}

double pthread_empty_tasks(long n)
{
    struct tpool p;
    tpool_start(&p);
    struct tfuture *fs[BENCH_TASK_BATCH];
    uint64_t sum = 0, done = 0;
    int64_t t0 = bench_now_ns();
    for (long base = 0; base < n; base += BENCH_TASK_BATCH) {
        long k = n - base < BENCH_TASK_BATCH ? n - base : BENCH_TASK_BATCH;
        for (long i = 0; i < k; i++) {
            fs[i] = tpool_submit(&p, empty_task, ITEM(base + i + 1));
            if (!fs[i]) {
                bench_error("malloc", -ENOMEM);
                exit(1);
            }
        }
        for (long i = 0; i < k; i++) {
            sum += VAL(tfuture_result(fs[i]));
            done++;
            tfuture_free(fs[i]);
        }
    }
    int64_t t1 = bench_now_ns();
    tpool_stop(&p);
    uint64_t want = (uint64_t)n * (uint64_t)(n + 1) / 2;
    if (done != (uint64_t)n || sum != want) {
        bench_fail("pthread threadpool_empty_tasks_2workers: %llu results summing to %llu, "
                   "expected %ld summing to %llu",
                   (unsigned long long)done, (unsigned long long)sum, n, (unsigned long long)want);
        return -1;
    }
    return (double)n / ((double)(t1 - t0) / 1e9); /* tasks per second */
}

/* ---- parallel_for_speedup_2threads: two threads, one half each ---- */

struct pf_half {
    long lo, hi;
    uint64_t sum;
};

static void *pf_body(void *arg)
{
    struct pf_half *h = arg;
    uint64_t s = 0;
    for (long i = h->lo; i < h->hi; i++)
        s += bench_cpu_work((uint64_t)i + 1, BENCH_PF_STEPS);
    h->sum = s;
    return NULL;
}

double pthread_parallel_for_2threads(long n)
{
    struct pf_half seq = {0, n, 0}, half[2] = {{0, n / 2, 0}, {n / 2, n, 0}};
    int64_t t0 = bench_now_ns();
    pf_body(&seq);
    int64_t t1 = bench_now_ns();
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        int rc = pthread_create(&t[i], NULL, pf_body, &half[i]);
        if (rc) {
            bench_error("pthread_create", -rc);
            return -1;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    int64_t t2 = bench_now_ns();
    if (half[0].sum + half[1].sum != seq.sum) {
        bench_fail("pthread parallel_for_speedup_2threads: parallel sum %llx, sequential %llx",
                   (unsigned long long)(half[0].sum + half[1].sum), (unsigned long long)seq.sum);
        return -1;
    }
    return (double)(t1 - t0) / (double)(t2 - t1); /* speedup t_seq / t_par */
}
