/* Queue stress: N producers and M consumers move many distinct items through a
 * small queue; every item arrives exactly once (sum and seen-bitmap), blocked
 * callers wake on shutdown, and timeouts return. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft_test.h"

struct run {
    weft_queue *q;
    size_t per_producer;
    int producers;
    uint8_t *seen; /* one byte per item, incremented atomically */
    uint64_t sum;  /* atomically */
    uint64_t count;
    bool batch;
};

struct worker {
    struct run *run;
    int id;
};

/* Items are 1-based so NULL never travels (it would be a valid item, but a
 * sentinel-free test is clearer). */
static void *producer(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    uintptr_t base = (uintptr_t)w->id * r->per_producer + 1;
    if (!r->batch) {
        for (size_t i = 0; i < r->per_producer; i++)
            if (weft_queue_put(r->q, (void *)(base + i), WEFT_FOREVER) != 0)
                return (void *)1;
        return NULL;
    }
    void *buf[16];
    for (size_t i = 0; i < r->per_producer;) {
        size_t n = 0;
        while (n < 16 && i + n < r->per_producer) {
            buf[n] = (void *)(base + i + n);
            n++;
        }
        size_t done;
        if (weft_queue_put_many(r->q, buf, n, &done, WEFT_FOREVER) != 0 || done != n)
            return (void *)1;
        i += n;
    }
    return NULL;
}

static void record(struct run *r, void *item)
{
    uintptr_t v = (uintptr_t)item;
    __atomic_fetch_add(&r->seen[v], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->sum, v, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->count, 1, __ATOMIC_RELAXED);
}

/* Consume until the queue is shut down and drained. */
static void *consumer(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    void *buf[16];
    for (;;) {
        int rc;
        if (r->batch) {
            size_t got;
            rc = weft_queue_get_many(r->q, buf, 16, &got, WEFT_FOREVER);
            for (size_t i = 0; rc == 0 && i < got; i++)
                record(r, buf[i]);
        } else {
            rc = weft_queue_get(r->q, &buf[0], WEFT_FOREVER);
            if (rc == 0)
                record(r, buf[0]);
        }
        if (rc == -WEFT_ESHUTDOWN)
            return NULL;
        if (rc != 0)
            return (void *)1;
    }
}

static void run_mpmc(weft_queue_kind kind, size_t maxsize, int np, int nc, size_t total, bool batch)
{
    struct run r = {0};
    assert_int_equal(weft_queue_new(&r.q, &(weft_queue_opts){.kind = kind, .maxsize = maxsize}), 0);
    r.producers = np;
    r.per_producer = total / (size_t)np;
    r.batch = batch;
    size_t n = r.per_producer * (size_t)np;
    r.seen = calloc(n + 1, 1);
    assert_non_null(r.seen);
    weft_thread *p[8], *c[8];
    struct worker pw[8], cw[8];
    for (int i = 0; i < nc; i++) {
        cw[i] = (struct worker){&r, i};
        assert_int_equal(weft_thread_start(&c[i], consumer, &cw[i], NULL), 0);
    }
    for (int i = 0; i < np; i++) {
        pw[i] = (struct worker){&r, i};
        assert_int_equal(weft_thread_start(&p[i], producer, &pw[i], NULL), 0);
    }
    for (int i = 0; i < np; i++) {
        void *res;
        assert_int_equal(weft_thread_join(p[i], WEFT_FOREVER, &res), 0);
        assert_null(res);
        weft_thread_free(p[i]);
    }
    /* Producers are done: shut down, consumers drain the rest and stop. */
    assert_int_equal(weft_queue_shutdown(r.q, false), 0);
    for (int i = 0; i < nc; i++) {
        void *res;
        assert_int_equal(weft_thread_join(c[i], WEFT_FOREVER, &res), 0);
        assert_null(res);
        weft_thread_free(c[i]);
    }
    assert_int_equal(r.count, n);
    assert_true(r.sum == (uint64_t)n * (n + 1) / 2);
    for (size_t v = 1; v <= n; v++)
        if (r.seen[v] != 1)
            fail_msg("item %zu seen %d times", v, r.seen[v]);
    assert_true(weft_queue_empty(r.q));
    weft_queue_free(r.q);
    free(r.seen);
}

static void test_fifo_ring_mpmc(void **state)
{
    /* Millions of items even under the sanitizers, as the issue asks. */
    size_t total = 2000000;
    run_mpmc(WEFT_QUEUE_FIFO, 1024, 1, 1, total, false);
    run_mpmc(WEFT_QUEUE_FIFO, 8, 4, 4, total, false);
    run_mpmc(WEFT_QUEUE_FIFO, 3, 8, 8, total / 2, false); /* tiny, not a power of two */
    run_mpmc(WEFT_QUEUE_FIFO, 16, 4, 4, total, true);
}

static void test_locked_kinds_mpmc(void **state)
{
    size_t total = WEFT_TEST_SCALE(400000);
    run_mpmc(WEFT_QUEUE_FIFO, 0, 4, 4, total, false);
    run_mpmc(WEFT_QUEUE_FIFO, 1, 2, 2, total / 4, false);
    run_mpmc(WEFT_QUEUE_LIFO, 8, 4, 4, total, false);
    run_mpmc(WEFT_QUEUE_PRIORITY, 8, 4, 4, total, false);
    run_mpmc(WEFT_QUEUE_SIMPLE, 0, 4, 4, total, true);
}

/* FIFO order per producer survives concurrency: each consumer sees every
 * producer's items in increasing order. */
struct order_run {
    weft_queue *q;
    size_t per_producer;
    int bad;
};

static void *ordered_consumer(void *arg)
{
    struct order_run *r = arg;
    uintptr_t last[4] = {0};
    void *item;
    while (weft_queue_get(r->q, &item, WEFT_FOREVER) == 0) {
        uintptr_t v = (uintptr_t)item - 1;
        size_t who = v / r->per_producer;
        if (who >= 4 || v + 1 <= last[who])
            __atomic_store_n(&r->bad, 1, __ATOMIC_RELAXED);
        else
            last[who] = v + 1;
    }
    return NULL;
}

static void test_fifo_order_per_producer(void **state)
{
    struct order_run o = {.per_producer = WEFT_TEST_SCALE(200000)};
    struct run r = {0};
    assert_int_equal(weft_queue_new(&o.q, &(weft_queue_opts){.maxsize = 64}), 0);
    r.q = o.q;
    r.per_producer = o.per_producer;
    weft_thread *p[4], *c[2];
    struct worker pw[4];
    for (int i = 0; i < 2; i++)
        assert_int_equal(weft_thread_start(&c[i], ordered_consumer, &o, NULL), 0);
    for (int i = 0; i < 4; i++) {
        pw[i] = (struct worker){&r, i};
        assert_int_equal(weft_thread_start(&p[i], producer, &pw[i], NULL), 0);
    }
    for (int i = 0; i < 4; i++) {
        weft_thread_join(p[i], WEFT_FOREVER, NULL);
        weft_thread_free(p[i]);
    }
    weft_queue_shutdown(o.q, false);
    for (int i = 0; i < 2; i++) {
        weft_thread_join(c[i], WEFT_FOREVER, NULL);
        weft_thread_free(c[i]);
    }
    assert_int_equal(o.bad, 0);
    weft_queue_free(o.q);
}

/* Shutdown wakes every blocked getter and putter with the shutdown code. */
static void *blocked_get(void *arg)
{
    void *item;
    return (void *)(intptr_t)weft_queue_get(arg, &item, WEFT_FOREVER);
}

static void *blocked_put(void *arg)
{
    return (void *)(intptr_t)weft_queue_put(arg, (void *)1, WEFT_FOREVER);
}

static void test_shutdown_wakes_everyone(void **state)
{
    for (int immediate = 0; immediate < 2; immediate++) {
        weft_queue *empty, *full;
        assert_int_equal(weft_queue_new(&empty, &(weft_queue_opts){.maxsize = 4}), 0);
        assert_int_equal(weft_queue_new(&full, &(weft_queue_opts){.maxsize = 2}), 0);
        weft_queue_put(full, (void *)1, 0);
        weft_queue_put(full, (void *)2, 0);
        weft_thread *g[4], *p[4];
        for (int i = 0; i < 4; i++) {
            assert_int_equal(weft_thread_start(&g[i], blocked_get, empty, NULL), 0);
            assert_int_equal(weft_thread_start(&p[i], blocked_put, full, NULL), 0);
        }
        weft_test_sleep(0.05); /* let them block; the result does not depend on it */
        weft_queue_shutdown(empty, immediate);
        weft_queue_shutdown(full, immediate);
        for (int i = 0; i < 4; i++) {
            void *rg, *rp;
            assert_int_equal(weft_thread_join(g[i], 10.0, &rg), 0);
            assert_int_equal(weft_thread_join(p[i], 10.0, &rp), 0);
            assert_int_equal((intptr_t)rg, -WEFT_ESHUTDOWN);
            assert_int_equal((intptr_t)rp, -WEFT_ESHUTDOWN);
            weft_thread_free(g[i]);
            weft_thread_free(p[i]);
        }
        weft_queue_free(empty);
        weft_queue_free(full);
    }
}

/* Puts racing shutdown: every put that returned 0 is delivered (plain shutdown)
 * or dropped and counted done (immediate); none lands after the drain. */
struct racer {
    weft_queue *q;
    int go;
    uint64_t ok[2];
};

struct racer_arg {
    struct racer *r;
    int id;
};

static void *racing_putter(void *arg)
{
    struct racer_arg *a = arg;
    while (!__atomic_load_n(&a->r->go, __ATOMIC_ACQUIRE))
        ;
    uint64_t n = 0;
    int rc;
    while ((rc = weft_queue_put(a->r->q, (void *)1, 0)) != -WEFT_ESHUTDOWN)
        n += rc == 0;
    a->r->ok[a->id] = n;
    return NULL;
}

static int dropped_items;
static void count_drop(void *item)
{
    dropped_items++;
}

static void test_put_racing_shutdown(void **state)
{
    int trials = WEFT_TEST_SCALE(400);
    for (int t = 0; t < trials; t++) {
        bool immediate = t % 2;
        size_t maxsize = (t / 2) % 2 ? 8 : 0; /* ring and locked store */
        struct racer r = {0};
        dropped_items = 0;
        assert_int_equal(weft_queue_new(&r.q, &(weft_queue_opts){.maxsize = maxsize,
                                                                 .discard = count_drop}), 0);
        weft_thread *p[2];
        struct racer_arg args[2] = {{&r, 0}, {&r, 1}};
        for (int i = 0; i < 2; i++)
            assert_int_equal(weft_thread_start(&p[i], racing_putter, &args[i], NULL), 0);
        __atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
        weft_test_sleep(0.00002 * (t % 7));
        assert_int_equal(weft_queue_shutdown(r.q, immediate), 0);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(weft_thread_join(p[i], WEFT_FOREVER, NULL), 0);
            weft_thread_free(p[i]);
        }
        uint64_t put = r.ok[0] + r.ok[1], got = 0;
        void *item;
        int rc;
        while ((rc = weft_queue_get(r.q, &item, 0)) == 0) {
            got++;
            weft_queue_task_done(r.q);
        }
        assert_int_equal(rc, -WEFT_ESHUTDOWN);
        if (immediate)
            assert_true(got == 0 && (uint64_t)dropped_items == put);
        else
            assert_true(got == put && dropped_items == 0);
        assert_int_equal(weft_queue_join(r.q, 0), 0);
        weft_queue_free(r.q);
    }
}

/* join() returns once every item is marked done by the workers. */
static void *worker_with_task_done(void *arg)
{
    weft_queue *q = arg;
    void *item;
    while (weft_queue_get(q, &item, WEFT_FOREVER) == 0)
        if (weft_queue_task_done(q) != 0)
            return (void *)1;
    return NULL;
}

static void test_join_with_workers(void **state)
{
    weft_queue *q;
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.maxsize = 16}), 0);
    weft_thread *w[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(weft_thread_start(&w[i], worker_with_task_done, q, NULL), 0);
    size_t n = WEFT_TEST_SCALE(100000);
    for (uintptr_t i = 1; i <= n; i++)
        assert_int_equal(weft_queue_put(q, (void *)i, WEFT_FOREVER), 0);
    assert_int_equal(weft_queue_join(q, 60.0), 0);
    assert_int_equal(weft_queue_qsize(q), 0);
    assert_int_equal(weft_queue_task_done(q), -EINVAL); /* all accounted for */
    weft_queue_shutdown(q, false);
    for (int i = 0; i < 4; i++) {
        void *res;
        assert_int_equal(weft_thread_join(w[i], WEFT_FOREVER, &res), 0);
        assert_null(res);
        weft_thread_free(w[i]);
    }
    weft_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_ring_mpmc),
        cmocka_unit_test(test_locked_kinds_mpmc),
        cmocka_unit_test(test_fifo_order_per_producer),
        cmocka_unit_test(test_shutdown_wakes_everyone),
        cmocka_unit_test(test_join_with_workers),
        cmocka_unit_test(test_put_racing_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
