/* weft_wait in every mode with timeouts, as_completed, map, parallel_for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft_test.h"
#include "executor_test.h"


static void *fail_now(void *arg)
{
    weft_task_fail(-EPERM, "bad %d", (int)I(arg));
    return NULL;
}

static weft_executor *pool(unsigned workers)
{
    weft_executor *ex = NULL;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = workers}), 0);
    return ex;
}

static void wait_done(weft_future *f)
{
    assert_int_equal(weft_wait(&f, 1, WEFT_ALL_COMPLETED, WEFT_FOREVER, NULL, NULL), 0);
}

static void test_wait_modes(void **state)
{
    weft_executor *ex = pool(2);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *fs[3];
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &fs[0]), 0);
    wait_done(fs[0]);
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[1]), 0);
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[2]), 0);
    size_t nd = 99;
    /* FIRST_COMPLETED: one is done already. */
    assert_int_equal(weft_wait(fs, 3, WEFT_FIRST_COMPLETED, 0, &nd, NULL), 0);
    assert_int_equal(nd, 1);
    /* ALL_COMPLETED times out, reporting how many are done. */
    double t0 = weft_test_now();
    assert_int_equal(weft_wait(fs, 3, WEFT_ALL_COMPLETED, 0.05, &nd, NULL), -ETIMEDOUT);
    assert_true(weft_test_now() - t0 >= 0.045);
    assert_int_equal(nd, 1);
    assert_int_equal(weft_wait(fs, 3, WEFT_ALL_COMPLETED, 0, &nd, NULL), -ETIMEDOUT);
    /* FIRST_EXCEPTION with no failure behaves as ALL_COMPLETED. */
    assert_int_equal(weft_wait(fs, 3, WEFT_FIRST_EXCEPTION, 0.02, &nd, NULL), -ETIMEDOUT);
    /* FIRST_COMPLETED over only the blocked ones times out... */
    assert_int_equal(weft_wait(fs + 1, 2, WEFT_FIRST_COMPLETED, 0.02, &nd, NULL), -ETIMEDOUT);
    assert_int_equal(nd, 0);
    weft_event_set(&go);
    /* ...and is woken when one completes. */
    assert_int_equal(weft_wait(fs + 1, 2, WEFT_FIRST_COMPLETED, 10, &nd, NULL), 0);
    assert_true(nd >= 1);
    assert_int_equal(weft_wait(fs, 3, WEFT_ALL_COMPLETED, 10, &nd, NULL), 0);
    assert_int_equal(nd, 3);
    for (int i = 0; i < 3; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);
}

static void test_wait_first_exception(void **state)
{
    weft_executor *ex = pool(2);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *fs[3];
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[0]), 0);
    assert_int_equal(weft_executor_submit(ex, identity, P(2), &fs[1]), 0);
    wait_done(fs[1]);
    size_t nd;
    /* A success alone does not satisfy FIRST_EXCEPTION. */
    assert_int_equal(weft_wait(fs, 2, WEFT_FIRST_EXCEPTION, 0.02, &nd, NULL), -ETIMEDOUT);
    assert_int_equal(weft_executor_submit(ex, fail_now, P(3), &fs[2]), 0);
    assert_int_equal(weft_wait(fs, 3, WEFT_FIRST_EXCEPTION, 10, &nd, NULL), 0);
    assert_int_equal(nd, 2);
    assert_int_equal(weft_future_result(fs[2], 0, NULL), -EPERM);
    assert_string_equal(weft_future_error(fs[2]), "bad 3");
    /* A cancelled future is not an exception. */
    weft_event_set(&go);
    for (int i = 0; i < 3; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);
}

static void test_wait_bad_args_and_empty(void **state)
{
    size_t nd = 5;
    assert_int_equal(weft_wait(NULL, 0, WEFT_ALL_COMPLETED, 0, &nd, NULL), 0);
    assert_int_equal(nd, 0);
    assert_int_equal(weft_wait(NULL, 1, WEFT_ALL_COMPLETED, 0, NULL, NULL), -EINVAL);
    weft_future *none[1] = {NULL};
    assert_int_equal(weft_wait(none, 1, WEFT_ALL_COMPLETED, 0, NULL, NULL), -EINVAL);
    weft_executor *ex = pool(1);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, NULL, &f), 0);
    assert_int_equal(weft_wait(&f, 1, (weft_wait_mode)7, 0, NULL, NULL), -EINVAL);
    wait_done(f);
    weft_future_free(f);
    weft_executor_free(ex);
}

/* Waits from another thread on many futures wake as they complete. */
static void test_wait_many_cross_thread(void **state)
{
    weft_executor *ex = pool(2);
    enum { N = 200 };
    weft_event go[N];
    weft_future *fs[N];
    for (int i = 0; i < N; i++) {
        weft_event_init(&go[i]);
        assert_int_equal(weft_executor_submit(ex, block_on, &go[i], &fs[i]), 0);
    }
    /* Release them one at a time while waiting for each set of "first". */
    for (int i = 0; i < N; i++) {
        weft_event_set(&go[i]);
        size_t nd;
        assert_int_equal(weft_wait(fs + i, N - (size_t)i, WEFT_FIRST_COMPLETED, 10, &nd, NULL), 0);
        assert_true(nd >= 1);
    }
    assert_int_equal(weft_wait(fs, N, WEFT_ALL_COMPLETED, 10, NULL, NULL), 0);
    for (int i = 0; i < N; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);
}

/* ---- as_completed ---- */

static void test_as_completed(void **state)
{
    weft_executor *ex = pool(3); /* all three blocked tasks run at once */
    weft_event go[3] = {WEFT_EVENT_INIT, WEFT_EVENT_INIT, WEFT_EVENT_INIT};
    weft_future *fs[4];
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_executor_submit(ex, block_on, &go[i], &fs[i]), 0);
    fs[3] = fs[1]; /* duplicates are yielded once */
    weft_as_completed *it;
    assert_int_equal(weft_as_completed_new(&it, fs, 4, 10), 0);
    /* Complete 2, then 0, then 1: yielded in that order. */
    int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        weft_event_set(&go[order[k]]);
        weft_future *f;
        assert_int_equal(weft_as_completed_next(it, &f, NULL), 0);
        assert_ptr_equal(f, fs[order[k]]);
        assert_true(weft_future_done(f));
    }
    weft_future *f;
    assert_int_equal(weft_as_completed_next(it, &f, NULL), -ENOENT);
    weft_as_completed_free(it);
    for (int i = 0; i < 3; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);
}

static void test_as_completed_timeout(void **state)
{
    weft_executor *ex = pool(2);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *fs[2];
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &fs[0]), 0);
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[1]), 0);
    weft_as_completed *it;
    double t0 = weft_test_now();
    assert_int_equal(weft_as_completed_new(&it, fs, 2, 0.1), 0);
    weft_future *f;
    assert_int_equal(weft_as_completed_next(it, &f, NULL), 0);
    assert_ptr_equal(f, fs[0]);
    assert_int_equal(weft_as_completed_next(it, &f, NULL), -ETIMEDOUT);
    double el = weft_test_now() - t0;
    assert_true(el >= 0.095 && el < 5);
    assert_int_equal(weft_as_completed_next(it, &f, NULL), -ETIMEDOUT); /* overall: still */
    weft_as_completed_free(it);
    assert_int_equal(weft_as_completed_new(NULL, fs, 2, 0), -EINVAL);
    assert_int_equal(weft_as_completed_new(&it, NULL, 2, 0), -EINVAL);
    assert_int_equal(weft_as_completed_next(NULL, &f, NULL), -EINVAL);
    weft_as_completed_free(NULL);
    weft_event_set(&go);
    for (int i = 0; i < 2; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);
}

/* ---- map ---- */

static void *square(void *item)
{
    uintptr_t x = I(item);
    return P(x * x);
}

static void *square_fail_at_13(void *item)
{
    if (I(item) == 13) {
        weft_task_fail(-ERANGE, "13 is unlucky");
        return NULL;
    }
    return square(item);
}

static void test_map_order_and_chunks(void **state)
{
    weft_executor *ex = pool(2);
    enum { N = 1000 };
    void **items = malloc(N * sizeof *items), **res = malloc(N * sizeof *res);
    for (uintptr_t i = 0; i < N; i++)
        items[i] = P(i);
    size_t chunks[] = {0, 1, 7, 100, N, 5000};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        memset(res, 0, N * sizeof *res);
        assert_int_equal(weft_executor_map(ex, square, items, res, N, chunks[c], WEFT_FOREVER, NULL), 0);
        for (uintptr_t i = 0; i < N; i++)
            assert_int_equal(I(res[i]), i * i);
    }
    assert_int_equal(weft_executor_map(ex, square, items, res, 0, 1, 0, NULL), 0);
    assert_int_equal(weft_executor_map(NULL, square, items, res, N, 1, 0, NULL), -EINVAL);
    assert_int_equal(weft_executor_map(ex, NULL, items, res, N, 1, 0, NULL), -EINVAL);
    assert_int_equal(weft_executor_map(ex, square, NULL, res, N, 1, 0, NULL), -EINVAL);
    assert_int_equal(weft_executor_map(ex, square, items, NULL, N, 1, 0, NULL), -EINVAL);
    /* The first failure in input order. */
    assert_int_equal(weft_executor_map(ex, square_fail_at_13, items, res, N, 4, WEFT_FOREVER, NULL),
                     -ERANGE);
    for (uintptr_t i = 0; i < 12; i++) /* the chunks before it are complete */
        assert_int_equal(I(res[i]), i * i);
    weft_executor_shutdown(ex, true, false);
    assert_int_equal(weft_executor_map(ex, square, items, res, N, 1, 0, NULL), -WEFT_ESHUTDOWN);
    weft_executor_free(ex);
    free(items);
    free(res);
}

static void *slow_item(void *item)
{
    weft_test_sleep(0.02);
    return item;
}

static void test_map_timeout(void **state)
{
    weft_executor *ex = pool(1);
    enum { N = 50 };
    void *items[N], *res[N];
    for (uintptr_t i = 0; i < N; i++)
        items[i] = P(i);
    double t0 = weft_test_now();
    assert_int_equal(weft_executor_map(ex, slow_item, items, res, N, 1, 0.1, NULL), -ETIMEDOUT);
    double el = weft_test_now() - t0;
    assert_true(el >= 0.095 && el < 0.5);
    /* The rest were cancelled: the pool is soon free again. */
    weft_executor_free(ex);
    assert_true(weft_test_now() - t0 < 0.5);
}

/* map from inside a task helps instead of deadlocking a one-worker pool. */
struct map_in_task {
    weft_executor *ex;
    void *items[64], *res[64];
};

static void *map_inside(void *arg)
{
    struct map_in_task *m = arg;
    return P(-weft_executor_map(m->ex, square, m->items, m->res, 64, 3, WEFT_FOREVER, NULL));
}

static void test_map_inside_task(void **state)
{
    weft_executor *ex = pool(1);
    struct map_in_task m = {.ex = ex};
    for (uintptr_t i = 0; i < 64; i++)
        m.items[i] = P(i);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, map_inside, &m, &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, 30, &r), 0);
    assert_int_equal(I(r), 0);
    for (uintptr_t i = 0; i < 64; i++)
        assert_int_equal(I(m.res[i]), i * i);
    weft_future_free(f);
    weft_executor_free(ex);
}


/* ---- the usability additions: wait's done[], as_completed's index, map's
 * failure, callbacks that try to wait for their own pool ---- */

static void test_wait_done_flags_and_cancelled_not_exception(void **state)
{
    weft_executor *ex = pool(1);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *fs[3];
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[0]), 0);
    while (!weft_future_running(fs[0]))
        weft_test_sleep(0.001);
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &fs[1]), 0); /* queued */
    assert_int_equal(weft_executor_submit(ex, identity, P(2), &fs[2]), 0); /* queued */
    assert_true(weft_future_cancel(fs[1]));
    bool done[3] = {true, false, true};
    size_t nd = 99;
    /* A cancelled future is not an exception (as Python): still waiting. */
    assert_int_equal(weft_wait(fs, 3, WEFT_FIRST_EXCEPTION, 0.02, &nd, done), -ETIMEDOUT);
    assert_int_equal(nd, 1);
    assert_false(done[0]);
    assert_true(done[1]);
    assert_false(done[2]);
    weft_event_set(&go);
    assert_int_equal(weft_wait(fs, 3, WEFT_ALL_COMPLETED, 10, &nd, done), 0);
    assert_int_equal(nd, 3);
    assert_true(done[0] && done[1] && done[2]);
    for (int i = 0; i < 3; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);
}

static void test_as_completed_index_and_duplicates(void **state)
{
    weft_executor *ex = pool(3);
    weft_event go[3] = {WEFT_EVENT_INIT, WEFT_EVENT_INIT, WEFT_EVENT_INIT};
    weft_future *fs[5];
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_executor_submit(ex, block_on, &go[i], &fs[i]), 0);
    fs[3] = fs[0]; /* duplicates: yielded once, under the first position */
    fs[4] = fs[2];
    weft_as_completed *it;
    assert_int_equal(weft_as_completed_new(&it, fs, 5, 10), 0);
    int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        weft_event_set(&go[order[k]]);
        weft_future *f = NULL;
        size_t idx = 99;
        assert_int_equal(weft_as_completed_next(it, &f, &idx), 0);
        assert_int_equal(idx, (size_t)order[k]);
        assert_ptr_equal(f, fs[order[k]]);
    }
    weft_future *f;
    size_t idx;
    assert_int_equal(weft_as_completed_next(it, &f, &idx), -ENOENT);
    weft_as_completed_free(it);
    for (int i = 0; i < 3; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);
}

/* Many futures, completing in any order; every index yielded exactly once.
 * Then an iterator freed while its futures still run (their callbacks keep
 * its memory: ASan checks). */
static void test_as_completed_many_and_early_free(void **state)
{
    enum { N = 20000 };
    weft_executor *ex = pool(4);
    weft_future **fs = malloc(N * sizeof *fs);
    uint8_t *seen = calloc(N, 1);
    for (uintptr_t i = 0; i < N; i++)
        assert_int_equal(weft_executor_submit(ex, identity, P(i), &fs[i]), 0);
    weft_as_completed *it;
    assert_int_equal(weft_as_completed_new(&it, fs, N, 60), 0);
    weft_future *f;
    size_t idx;
    for (size_t k = 0; k < N; k++) {
        assert_int_equal(weft_as_completed_next(it, &f, &idx), 0);
        assert_true(idx < N);
        assert_ptr_equal(f, fs[idx]);
        assert_int_equal(seen[idx]++, 0);
        void *r;
        assert_int_equal(weft_future_result(f, 0, &r), 0);
        assert_int_equal(I(r), idx);
    }
    assert_int_equal(weft_as_completed_next(it, &f, &idx), -ENOENT);
    weft_as_completed_free(it);
    for (size_t i = 0; i < N; i++)
        weft_future_free(fs[i]);

    weft_event go = WEFT_EVENT_INIT;
    for (int i = 0; i < 8; i++)
        assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[i]), 0);
    assert_int_equal(weft_as_completed_new(&it, fs, 8, 0), 0);
    assert_int_equal(weft_as_completed_next(it, &f, NULL), -ETIMEDOUT);
    weft_as_completed_free(it);
    weft_event_set(&go);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(weft_future_result(fs[i], 10, NULL), 0);
        weft_future_free(fs[i]);
    }
    free(seen);
    free(fs);
    weft_executor_free(ex);
}

/* as_completed from a task of a one-worker pool: must help, not sleep. */
static weft_executor *ac_ex;
static void *as_completed_inside(void *arg)
{
    (void)arg;
    weft_future *fs[16];
    for (uintptr_t i = 0; i < 16; i++)
        if (weft_executor_submit(ac_ex, identity, P(i), &fs[i]))
            return P(1000);
    weft_as_completed *it;
    if (weft_as_completed_new(&it, fs, 16, 30))
        return P(1000);
    uintptr_t sum = 0, n = 0;
    weft_future *f;
    size_t idx;
    while (weft_as_completed_next(it, &f, &idx) == 0) {
        sum += idx;
        n++;
    }
    weft_as_completed_free(it);
    for (int i = 0; i < 16; i++)
        weft_future_free(fs[i]);
    return P(n == 16 ? sum : 1000);
}

static void test_as_completed_inside_task(void **state)
{
    ac_ex = pool(1);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ac_ex, as_completed_inside, NULL, &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, 30, &r), 0);
    assert_int_equal(I(r), 15 * 16 / 2);
    weft_future_free(f);
    weft_executor_free(ac_ex);
}

static void test_map_failure_reported(void **state)
{
    weft_executor *ex = pool(2);
    enum { N = 40 };
    void *items[N], *res[N];
    for (uintptr_t i = 0; i < N; i++)
        items[i] = P(i);
    size_t chunks[] = {1, 4, 7, 40};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        weft_map_failure why = {.index = 999, .code = 0, .msg = "x"};
        assert_int_equal(weft_executor_map(ex, square_fail_at_13, items, res, N, chunks[c],
                                           10, &why),
                         -ERANGE);
        assert_int_equal(why.index, 13);
        assert_int_equal(why.code, -ERANGE);
        assert_string_equal(why.msg, "13 is unlucky");
        if (chunks[c] == 1)
            for (uintptr_t i = 0; i < 13; i++)
                assert_int_equal(I(res[i]), i * i); /* before the failure: stored */
    }
    weft_map_failure why = {.index = 999};
    assert_int_equal(weft_executor_map(ex, square, items, res, N, 3, 10, &why), 0);
    assert_int_equal(why.index, 999); /* untouched on success */
    weft_executor_free(ex);
}

/* After a timeout, running chunks write into map's private copy, never into
 * the caller's (here: stack) arrays. */
static void test_map_timeout_leaves_arrays_alone(void **state)
{
    weft_executor *ex = pool(2);
    enum { N = 8 };
    void *items[N], *res[N];
    for (uintptr_t i = 0; i < N; i++) {
        items[i] = P(i + 1);
        res[i] = P(0xdead);
    }
    assert_int_equal(weft_executor_map(ex, slow_item, items, res, N, 1, 0.005, NULL),
                     -ETIMEDOUT);
    void *snapshot[N];
    memcpy(snapshot, res, sizeof res);
    weft_executor_free(ex); /* the running ones finish */
    assert_memory_equal(snapshot, res, sizeof res);
    for (int i = 0; i < N; i++)
        assert_true(res[i] == P(0xdead) || res[i] == P(i + 1));
}

/* A done-callback runs on the worker that completed the future: waiting for
 * that pool there would wait for itself. */
struct cb_shutdown {
    weft_executor *ex;
    int rc;
    weft_event called;
};
static void shutdown_in_callback(weft_future *f, void *arg)
{
    (void)f;
    struct cb_shutdown *c = arg;
    c->rc = weft_executor_shutdown(c->ex, true, false);
    weft_event_set(&c->called);
}

static void test_callback_shutdown_wait_is_edeadlk(void **state)
{
    struct cb_shutdown c = {.ex = pool(1), .rc = 1, .called = WEFT_EVENT_INIT};
    weft_event go = WEFT_EVENT_INIT;
    weft_future *f;
    assert_int_equal(weft_executor_submit(c.ex, block_on, &go, &f), 0);
    assert_int_equal(weft_future_add_done_callback(f, shutdown_in_callback, &c), 0);
    weft_event_set(&go); /* completes on the worker, which runs the callback */
    assert_int_equal(weft_event_wait(&c.called, 10), 0);
    assert_int_equal(c.rc, -EDEADLK);
    weft_future_free(f);
    weft_executor_free(c.ex);
}

/* ---- parallel_for ---- */

struct cover {
    long begin, end;
    uint8_t *hits;
    long max_piece;
    long pieces;
};

static void mark_range(long lo, long hi, void *arg)
{
    struct cover *c = arg;
    assert_true(lo < hi);
    assert_true(lo >= c->begin && hi <= c->end);
    for (long i = lo; i < hi; i++)
        __atomic_fetch_add(&c->hits[i - c->begin], 1, __ATOMIC_RELAXED);
    long piece = hi - lo, m = __atomic_load_n(&c->max_piece, __ATOMIC_RELAXED);
    while (piece > m && !__atomic_compare_exchange_n(&c->max_piece, &m, piece, false,
                                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    __atomic_fetch_add(&c->pieces, 1, __ATOMIC_RELAXED);
}

static void check_cover(weft_executor *ex, long begin, long end, long grain)
{
    struct cover c = {begin, end, calloc((size_t)(end - begin) + 1, 1), 0, 0};
    assert_int_equal(weft_parallel_for(ex, begin, end, grain, mark_range, &c), 0);
    for (long i = 0; i < end - begin; i++)
        assert_int_equal(c.hits[i], 1);
    if (grain > 0 && end > begin) {
        assert_true(c.max_piece <= grain);
        assert_true(c.pieces >= (end - begin + grain - 1) / grain);
    }
    free(c.hits);
}

static void test_parallel_for_covers_once(void **state)
{
    weft_executor *ex = pool(2);
    check_cover(ex, 0, 100000, 0);
    check_cover(ex, -500, 1500, 7);
    check_cover(ex, 10, 11, 0);
    check_cover(ex, 10, 10, 3);
    check_cover(ex, 0, 1000, 1);
    assert_int_equal(weft_parallel_for(ex, 5, 4, 0, mark_range, NULL), -EINVAL);
    assert_int_equal(weft_parallel_for(ex, 0, 4, -1, mark_range, NULL), -EINVAL);
    assert_int_equal(weft_parallel_for(ex, 0, 4, 0, NULL, NULL), -EINVAL);
    assert_int_equal(weft_parallel_for(NULL, 0, 4, 0, mark_range, NULL), -EINVAL);
    weft_executor_shutdown(ex, true, false);
    assert_int_equal(weft_parallel_for(ex, 0, 4, 0, mark_range, NULL), -WEFT_ESHUTDOWN);
    weft_executor_free(ex);
}

static void fail_in_range(long lo, long hi, void *arg)
{
    long bad = *(long *)arg;
    if (lo <= bad && bad < hi)
        weft_task_fail(-EDOM, "index %ld", bad);
}

static void test_parallel_for_failure(void **state)
{
    weft_executor *ex = pool(2);
    long bad = 777;
    assert_int_equal(weft_parallel_for(ex, 0, 10000, 10, fail_in_range, &bad), -EDOM);
    bad = 0; /* in the lowest range, which the calling thread itself runs */
    assert_int_equal(weft_parallel_for(ex, 0, 10000, 10, fail_in_range, &bad), -EDOM);
    bad = -1; /* outside: no failure */
    assert_int_equal(weft_parallel_for(ex, 0, 10000, 10, fail_in_range, &bad), 0);
    weft_executor_free(ex);
}

/* Nested: each piece runs its own parallel_for on the same pool. */
static weft_executor *nest_ex;
static void inner_sum(long lo, long hi, void *arg)
{
    __atomic_fetch_add((long *)arg, hi - lo, __ATOMIC_RELAXED);
}
static void outer(long lo, long hi, void *arg)
{
    for (long i = lo; i < hi; i++)
        assert_int_equal(weft_parallel_for(nest_ex, 0, 1000, 10, inner_sum, arg), 0);
}

static void test_parallel_for_nested(void **state)
{
    nest_ex = pool(2);
    long total = 0;
    assert_int_equal(weft_parallel_for(nest_ex, 0, 64, 1, outer, &total), 0);
    assert_int_equal(total, 64 * 1000);
    weft_executor_free(nest_ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_modes),
        cmocka_unit_test(test_wait_first_exception),
        cmocka_unit_test(test_wait_bad_args_and_empty),
        cmocka_unit_test(test_wait_many_cross_thread),
        cmocka_unit_test(test_as_completed),
        cmocka_unit_test(test_as_completed_timeout),
        cmocka_unit_test(test_map_order_and_chunks),
        cmocka_unit_test(test_map_timeout),
        cmocka_unit_test(test_map_inside_task),
        cmocka_unit_test(test_parallel_for_covers_once),
        cmocka_unit_test(test_parallel_for_failure),
        cmocka_unit_test(test_parallel_for_nested),
        cmocka_unit_test(test_wait_done_flags_and_cancelled_not_exception),
        cmocka_unit_test(test_as_completed_index_and_duplicates),
        cmocka_unit_test(test_as_completed_many_and_early_free),
        cmocka_unit_test(test_as_completed_inside_task),
        cmocka_unit_test(test_map_failure_reported),
        cmocka_unit_test(test_map_timeout_leaves_arrays_alone),
        cmocka_unit_test(test_callback_shutdown_wait_is_edeadlk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
