/* Futures: every state transition, results, failures, cancel, done-callbacks,
 * references. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "weft.h"
#include "weft_test.h"
#include "executor_test.h"


/* A task that holds its worker until the event is set. */
static void *failing(void *arg)
{
    assert_int_equal(weft_task_fail(-ENOENT, "no file %s", (const char *)arg), 0);
    return P(1); /* ignored */
}

static void *failing_positive(void *arg)
{
    weft_task_fail(5, NULL);
    return NULL;
}

static weft_executor *pool(unsigned workers)
{
    weft_executor *ex = NULL;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = workers}), 0);
    return ex;
}

static void test_finished_result(void **state)
{
    weft_executor *ex = pool(2);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, P(42), &f), 0);
    void *r = NULL;
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &r), 0);
    assert_int_equal(I(r), 42);
    assert_true(weft_future_done(f));
    assert_false(weft_future_running(f));
    assert_false(weft_future_cancelled(f));
    assert_false(weft_future_cancel(f)); /* finished: cannot cancel */
    assert_string_equal(weft_future_error(f), "");
    /* Again, and with NULL result, and timeout 0. */
    assert_int_equal(weft_future_result(f, 0, NULL), 0);
    weft_future_free(f);
    weft_executor_free(ex);
}

static void test_pending_running_finished(void **state)
{
    weft_executor *ex = pool(1);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *a, *b;
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &a), 0);
    assert_int_equal(weft_executor_submit(ex, identity, P(5), &b), 0);
    /* a gets the only worker; b stays pending behind it. */
    double t0 = weft_test_now();
    while (!weft_future_running(a))
        assert_true(weft_test_now() - t0 < 10);
    assert_false(weft_future_done(a));
    assert_false(weft_future_running(b));
    assert_false(weft_future_done(b));
    assert_int_equal(weft_future_result(a, 0, NULL), -ETIMEDOUT);
    t0 = weft_test_now();
    assert_int_equal(weft_future_result(b, 0.05, NULL), -ETIMEDOUT);
    assert_true(weft_test_now() - t0 >= 0.045);
    /* A running task cannot be cancelled. */
    assert_false(weft_future_cancel(a));
    weft_event_set(&go);
    void *r;
    assert_int_equal(weft_future_result(a, WEFT_FOREVER, &r), 0);
    assert_int_equal(I(r), 77);
    assert_int_equal(weft_future_result(b, WEFT_FOREVER, &r), 0);
    assert_int_equal(I(r), 5);
    weft_future_free(a);
    weft_future_free(b);
    weft_executor_free(ex);
}

static void count_cb(weft_future *f, void *arg)
{
    (void)f;
    (*(int *)arg)++;
}

static void test_cancel_pending(void **state)
{
    weft_executor *ex = pool(1);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *a, *b;
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &a), 0);
    assert_int_equal(weft_executor_submit(ex, identity, P(5), &b), 0);
    int calls = 0;
    assert_int_equal(weft_future_add_done_callback(b, count_cb, &calls), 0);
    assert_int_equal(calls, 0);
    assert_true(weft_future_cancel(b));
    assert_int_equal(calls, 1); /* the canceller runs the callbacks */
    assert_true(weft_future_cancel(b)); /* already cancelled: still true */
    assert_int_equal(calls, 1);
    assert_true(weft_future_cancelled(b));
    assert_true(weft_future_done(b));
    assert_false(weft_future_running(b));
    void *r = P(3);
    assert_int_equal(weft_future_result(b, WEFT_FOREVER, &r), -WEFT_ECANCELLED);
    assert_int_equal(I(r), 3); /* untouched */
    assert_string_equal(weft_future_error(b), "");
    weft_event_set(&go);
    assert_int_equal(weft_future_result(a, WEFT_FOREVER, NULL), 0);
    weft_future_free(a);
    weft_future_free(b);
    weft_executor_free(ex);
}

static void test_failure(void **state)
{
    weft_executor *ex = pool(2);
    weft_future *f, *g;
    assert_int_equal(weft_executor_submit(ex, failing, "x.txt", &f), 0);
    void *r = P(9);
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &r), -ENOENT);
    assert_int_equal(I(r), 9);
    assert_string_equal(weft_future_error(f), "no file x.txt");
    assert_true(weft_future_done(f));
    assert_false(weft_future_cancelled(f));
    assert_int_equal(weft_executor_submit(ex, failing_positive, NULL, &g), 0);
    assert_int_equal(weft_future_result(g, WEFT_FOREVER, NULL), -EIO);
    assert_string_equal(weft_future_error(g), "");
    weft_future_free(f);
    weft_future_free(g);
    weft_executor_free(ex);
}

static void *long_message(void *arg)
{
    char buf[600];
    memset(buf, 'a', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    weft_task_fail(-EINVAL, "%s", buf);
    return NULL;
}

static void test_failure_message_cut(void **state)
{
    weft_executor *ex = pool(1);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, long_message, NULL, &f), 0);
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, NULL), -EINVAL);
    assert_int_equal(strlen(weft_future_error(f)), 255);
    weft_future_free(f);
    weft_executor_free(ex);
}

static void test_task_fail_outside_task(void **state)
{
    assert_int_equal(weft_task_fail(-EIO, "nope"), -EINVAL);
}

/* ---- callbacks ---- */

struct order {
    int seen[8];
    int n;
    bool done_inside;
};

static struct order order_log;
static void tag_cb(weft_future *f, void *arg)
{
    order_log.seen[order_log.n++] = (int)I(arg);
    order_log.done_inside = weft_future_done(f);
}

static void test_callbacks_order_and_immediate(void **state)
{
    weft_executor *ex = pool(1);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *f;
    memset(&order_log, 0, sizeof order_log);
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &f), 0);
    for (uintptr_t i = 1; i <= 4; i++)
        assert_int_equal(weft_future_add_done_callback(f, tag_cb, P(i)), 0);
    assert_int_equal(order_log.n, 0);
    weft_event_set(&go);
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, NULL), 0);
    /* The completer runs them after publishing the result; wait for the
     * pool to finish them (free waits for the worker). */
    weft_executor_free(ex);
    assert_int_equal(order_log.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(order_log.seen[i], i + 1);
    assert_true(order_log.done_inside);
    /* Already done: runs at once in the caller. */
    assert_int_equal(weft_future_add_done_callback(f, tag_cb, P(9)), 0);
    assert_int_equal(order_log.n, 5);
    assert_int_equal(order_log.seen[4], 9);
    assert_int_equal(weft_future_add_done_callback(NULL, tag_cb, NULL), -EINVAL);
    assert_int_equal(weft_future_add_done_callback(f, NULL, NULL), -EINVAL);
    weft_future_free(f);
}

/* ---- references ---- */

static void test_refs_and_fire_and_forget(void **state)
{
    weft_executor *ex = pool(2);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &f), 0);
    weft_future *g = weft_future_ref(f);
    assert_ptr_equal(f, g);
    weft_future_free(f);
    void *r;
    assert_int_equal(weft_future_result(g, WEFT_FOREVER, &r), 0);
    assert_int_equal(I(r), 1);
    weft_future_free(g);
    /* Dropped while still queued or running: the pool keeps its own. */
    weft_event go = WEFT_EVENT_INIT;
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &f), 0);
    weft_future_free(f);
    for (int i = 0; i < 100; i++)
        assert_int_equal(weft_executor_submit(ex, identity, P(i), NULL), 0);
    weft_event_set(&go);
    weft_executor_free(ex); /* ASan: nothing leaked, nothing used after free */
    assert_null(weft_future_ref(NULL));
    weft_future_free(NULL);
}

static void test_bad_args(void **state)
{
    weft_executor *ex = pool(1);
    weft_future *f = NULL;
    assert_int_equal(weft_executor_submit(NULL, identity, NULL, &f), -EINVAL);
    assert_int_equal(weft_executor_submit(ex, NULL, NULL, &f), -EINVAL);
    assert_null(f);
    assert_int_equal(weft_future_result(NULL, 0, NULL), -EINVAL);
    assert_false(weft_future_done(NULL));
    assert_false(weft_future_running(NULL));
    assert_false(weft_future_cancelled(NULL));
    assert_false(weft_future_cancel(NULL));
    assert_string_equal(weft_future_error(NULL), "");
    weft_executor_free(ex);
}

/* A future may be waited on by several threads at once, each woken. */
struct waiter_arg {
    weft_future *f;
    void *r;
    int rc;
};

static void *waiter(void *arg)
{
    struct waiter_arg *w = arg;
    w->rc = weft_future_result(w->f, WEFT_FOREVER, &w->r);
    return NULL;
}

static void test_many_waiters(void **state)
{
    weft_executor *ex = pool(1);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &f), 0);
    weft_thread *t[4];
    struct waiter_arg wa[4];
    for (int i = 0; i < 4; i++) {
        wa[i] = (struct waiter_arg){f, NULL, 1};
        assert_int_equal(weft_thread_start(&t[i], waiter, &wa[i], NULL), 0);
    }
    weft_test_sleep(0.05); /* let them sleep on the future */
    weft_event_set(&go);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(weft_thread_join(t[i], 10, NULL), 0);
        weft_thread_free(t[i]);
        assert_int_equal(wa[i].rc, 0);
        assert_int_equal(I(wa[i].r), 77);
    }
    weft_future_free(f);
    weft_executor_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finished_result),
        cmocka_unit_test(test_pending_running_finished),
        cmocka_unit_test(test_cancel_pending),
        cmocka_unit_test(test_failure),
        cmocka_unit_test(test_failure_message_cut),
        cmocka_unit_test(test_task_fail_outside_task),
        cmocka_unit_test(test_callbacks_order_and_immediate),
        cmocka_unit_test(test_refs_and_fire_and_forget),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_many_waiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
