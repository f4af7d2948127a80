/* Stress: a million tiny tasks, recursive fib with every call a task, shutdown
 * cancelling a full queue, callbacks that submit, futures dropped from other
 * threads, several outside submitters. Every count is exact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "weft.h"
#include "weft_test.h"
#include "executor_test.h"


static weft_executor *pool(unsigned workers)
{
    weft_executor *ex = NULL;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = workers}), 0);
    return ex;
}

static void *plus_one(void *arg)
{
    return P(I(arg) + 1);
}

/* A million in the plain and ASan builds (TSan: a tenth). */
static void test_million_tiny_tasks(void **state)
{
    weft_executor *ex = pool(2);
#ifdef WEFT_TSAN
    const size_t n = 100000;
#else
    const size_t n = 1000000;
#endif
    enum { BATCH = 4096 };
    weft_future **fs = malloc(BATCH * sizeof *fs);
    uint64_t sum = 0;
    for (size_t base = 0; base < n; base += BATCH) {
        size_t m = n - base < BATCH ? n - base : BATCH;
        for (size_t k = 0; k < m; k++)
            assert_int_equal(weft_executor_submit(ex, plus_one, P(base + k), &fs[k]), 0);
        for (size_t k = 0; k < m; k++) {
            void *r;
            assert_int_equal(weft_future_result(fs[k], WEFT_FOREVER, &r), 0);
            assert_int_equal(I(r), base + k + 1);
            sum += I(r);
            weft_future_free(fs[k]);
        }
    }
    assert_int_equal(sum, (uint64_t)n * (n + 1) / 2);
    free(fs);
    weft_executor_free(ex);
}

/* ---- fib: every call a task waiting on its children ---- */

static weft_executor *fib_ex;

static void *fib(void *arg)
{
    long n = (long)I(arg);
    if (n < 2)
        return arg;
    weft_future *a, *b;
    if (weft_executor_submit(fib_ex, fib, P(n - 1), &a) ||
        weft_executor_submit(fib_ex, fib, P(n - 2), &b)) {
        weft_task_fail(-ENOMEM, "submit");
        return NULL;
    }
    void *ra = NULL, *rb = NULL;
    int rc1 = weft_future_result(b, WEFT_FOREVER, &rb);
    int rc2 = weft_future_result(a, WEFT_FOREVER, &ra);
    weft_future_free(a);
    weft_future_free(b);
    if (rc1 || rc2) {
        weft_task_fail(rc1 ? rc1 : rc2, "child");
        return NULL;
    }
    return P(I(ra) + I(rb));
}

static void run_fib(unsigned workers, long n, uintptr_t expect)
{
    fib_ex = pool(workers);
    weft_future *f;
    assert_int_equal(weft_executor_submit(fib_ex, fib, P(n), &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &r), 0);
    assert_int_equal(I(r), expect);
    weft_future_free(f);
    weft_executor_free(fib_ex);
}

static void test_fib_every_call_a_task(void **state)
{
#ifdef WEFT_TSAN
    run_fib(2, 18, 2584);
    run_fib(1, 15, 610); /* one worker: only helping avoids deadlock */
    run_fib(4, 16, 987);
#else
    run_fib(2, 25, 75025);
    run_fib(1, 20, 6765);
    run_fib(4, 22, 17711);
#endif
}

/* ---- shutdown(cancel_futures) with a full queue and tasks submitting ---- */

static uint64_t ran;

static void *count_and_spawn(void *arg)
{
    weft_executor *ex = arg;
    __atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
    /* Children may be refused once shutdown starts: fine. */
    (void)weft_executor_submit(ex, count_and_spawn, NULL, NULL);
    return NULL;
}

static void *count_only(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void test_shutdown_cancel_while_queued(void **state)
{
    for (int round = 0; round < 20; round++) {
        weft_executor *ex = pool(2);
        ran = 0;
        enum { N = 2000 };
        weft_future **fs = malloc(N * sizeof *fs);
        for (int i = 0; i < N; i++)
            assert_int_equal(weft_executor_submit(ex, count_only, NULL, &fs[i]), 0);
        weft_future *spawner;
        assert_int_equal(weft_executor_submit(ex, count_and_spawn, NULL, &spawner), 0);
        assert_int_equal(weft_executor_shutdown(ex, round & 1, true), 0);
        assert_int_equal(weft_executor_shutdown(ex, true, false), 0);
        size_t finished = 0, cancelled = 0;
        for (int i = 0; i < N; i++) {
            assert_true(weft_future_done(fs[i]));
            int rc = weft_future_result(fs[i], 0, NULL);
            if (rc == 0)
                finished++;
            else {
                assert_int_equal(rc, -WEFT_ECANCELLED);
                cancelled++;
            }
            weft_future_free(fs[i]);
        }
        assert_int_equal(finished + cancelled, N);
        weft_future_free(spawner);
        /* What ran is what finished, plus the spawner's chain. */
        assert_true(__atomic_load_n(&ran, __ATOMIC_RELAXED) >= finished);
        free(fs);
        weft_executor_free(ex);
    }
}

/* ---- callbacks that submit more work ---- */

struct chain {
    weft_executor *ex;
    uint64_t remaining; /* callbacks still to submit */
    uint64_t done;
    weft_event all;
};

static void *chain_task(void *arg)
{
    return arg;
}

static void resubmit(weft_future *f, void *arg)
{
    struct chain *c = arg;
    (void)f;
    if (__atomic_add_fetch(&c->done, 1, __ATOMIC_ACQ_REL) == 4 * 500) {
        weft_event_set(&c->all);
        return;
    }
    if (__atomic_sub_fetch(&c->remaining, 1, __ATOMIC_ACQ_REL) >= 1u << 31)
        return; /* quota used */
    weft_future *g;
    assert_int_equal(weft_executor_submit(c->ex, chain_task, c, &g), 0);
    assert_int_equal(weft_future_add_done_callback(g, resubmit, c), 0);
    weft_future_free(g); /* the callback keeps nothing: the pool's reference holds */
}

static void test_callback_submits_more(void **state)
{
    struct chain c = {.ex = pool(2), .remaining = 4 * 500 - 4, .done = 0};
    weft_event_init(&c.all);
    for (int i = 0; i < 4; i++) {
        weft_future *g;
        assert_int_equal(weft_executor_submit(c.ex, chain_task, &c, &g), 0);
        assert_int_equal(weft_future_add_done_callback(g, resubmit, &c), 0);
        weft_future_free(g);
    }
    assert_int_equal(weft_event_wait(&c.all, 30), 0);
    assert_int_equal(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE), 4 * 500);
    weft_executor_free(c.ex);
}

/* ---- futures dropped by other threads while the pool runs them ---- */

struct dropper {
    weft_queue *q;
    uint64_t dropped;
};

static void *drop_from_queue(void *arg)
{
    struct dropper *d = arg;
    for (;;) {
        void *item;
        if (weft_queue_get(d->q, &item, WEFT_FOREVER))
            return NULL; /* shut down */
        weft_future *f = item;
        if (I(f) & 1) /* some wait first, most drop at once */
            weft_future_result(f, WEFT_FOREVER, NULL);
        weft_future_free(f);
        d->dropped++;
    }
}

static void test_futures_freed_from_other_threads(void **state)
{
    weft_executor *ex = pool(2);
    weft_queue *q;
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_FIFO,
                                                            .maxsize = 256}),
                     0);
    struct dropper d[2] = {{q, 0}, {q, 0}};
    weft_thread *t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(weft_thread_start(&t[i], drop_from_queue, &d[i], NULL), 0);
    const size_t n = WEFT_TEST_SCALE(200000);
    for (size_t i = 0; i < n; i++) {
        weft_future *f;
        assert_int_equal(weft_executor_submit(ex, plus_one, P(i), &f), 0);
        /* An extra reference, dropped at once here: refs race the pool's. */
        weft_future_free(weft_future_ref(f));
        assert_int_equal(weft_queue_put(q, f, WEFT_FOREVER), 0);
    }
    weft_queue_shutdown(q, false);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(weft_thread_join(t[i], 60, NULL), 0);
        weft_thread_free(t[i]);
    }
    assert_int_equal(d[0].dropped + d[1].dropped, n);
    weft_queue_free(q);
    weft_executor_free(ex);
}

/* ---- several outside submitters, one pool ---- */

struct submitter {
    weft_executor *ex;
    size_t n;
    uint64_t sum;
};

static void *submit_many(void *arg)
{
    struct submitter *s = arg;
    enum { B = 256 };
    weft_future *fs[B];
    for (size_t base = 0; base < s->n; base += B) {
        size_t m = s->n - base < B ? s->n - base : B;
        for (size_t k = 0; k < m; k++)
            if (weft_executor_submit(s->ex, plus_one, P(base + k), &fs[k]))
                return P(1);
        for (size_t k = 0; k < m; k++) {
            void *r;
            if (weft_future_result(fs[k], WEFT_FOREVER, &r))
                return P(1);
            s->sum += I(r);
            weft_future_free(fs[k]);
        }
    }
    return NULL;
}

static void test_many_submitters(void **state)
{
    weft_executor *ex = pool(3);
    enum { T = 4 };
    struct submitter s[T];
    weft_thread *t[T];
    const size_t n = WEFT_TEST_SCALE(100000);
    for (int i = 0; i < T; i++) {
        s[i] = (struct submitter){ex, n, 0};
        assert_int_equal(weft_thread_start(&t[i], submit_many, &s[i], NULL), 0);
    }
    for (int i = 0; i < T; i++) {
        void *r;
        assert_int_equal(weft_thread_join(t[i], 120, &r), 0);
        assert_null(r);
        weft_thread_free(t[i]);
        assert_int_equal(s[i].sum, (uint64_t)n * (n + 1) / 2);
    }
    weft_executor_free(ex);
}


/* ---- submissions racing shutdown: accepted ones always complete ---- */

struct racer {
    weft_executor *ex;
    weft_future *fs[4096];
    size_t n;
    uint64_t refused;
};

static void *race_submit(void *arg)
{
    struct racer *r = arg;
    for (size_t i = 0; i < 4096; i++) {
        weft_future *f = NULL;
        int rc = weft_executor_submit(r->ex, plus_one, P(i), &f);
        if (rc == -WEFT_ESHUTDOWN) {
            assert_null(f);
            r->refused++;
            continue;
        }
        assert_int_equal(rc, 0);
        r->fs[r->n++] = f;
    }
    return NULL;
}

static void test_submit_races_shutdown(void **state)
{
    for (int round = 0; round < WEFT_TEST_SCALE(40); round++) {
        weft_executor *ex = pool(2);
        struct racer *r = calloc(2, sizeof *r);
        weft_thread *t[2];
        for (int i = 0; i < 2; i++) {
            r[i].ex = ex;
            assert_int_equal(weft_thread_start(&t[i], race_submit, &r[i], NULL), 0);
        }
        weft_test_sleep(0.0002 * (round % 5));
        assert_int_equal(weft_executor_shutdown(ex, true, false), 0);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(weft_thread_join(t[i], 60, NULL), 0);
            weft_thread_free(t[i]);
            assert_int_equal(r[i].n + r[i].refused, 4096);
            for (size_t k = 0; k < r[i].n; k++) {
                void *v;
                /* Accepted before the close: ran, even though we shut down. */
                assert_int_equal(weft_future_result(r[i].fs[k], 30, &v), 0);
                weft_future_free(r[i].fs[k]);
            }
        }
        free(r);
        weft_executor_free(ex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_tiny_tasks),
        cmocka_unit_test(test_fib_every_call_a_task),
        cmocka_unit_test(test_shutdown_cancel_while_queued),
        cmocka_unit_test(test_callback_submits_more),
        cmocka_unit_test(test_futures_freed_from_other_threads),
        cmocka_unit_test(test_many_submitters),
        cmocka_unit_test(test_submit_races_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
