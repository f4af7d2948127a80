/* Queue: every kind's order, every call and every error code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "weft.h"
#include "weft_test.h"

#define P(i) ((void *)(uintptr_t)(i))
#define I(p) ((uintptr_t)(p))

static weft_queue *make(weft_queue_kind kind, size_t maxsize)
{
    weft_queue *q = NULL;
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.kind = kind, .maxsize = maxsize}), 0);
    return q;
}

static void test_fifo_order_bounded_and_unbounded(void **state)
{
    size_t sizes[] = {0, 1, 3, 8, 1024};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        weft_queue *q = make(WEFT_QUEUE_FIFO, sizes[k]);
        size_t n = sizes[k] ? sizes[k] : 100;
        for (int lap = 0; lap < 3; lap++) { /* several laps round the ring */
            for (size_t i = 0; i < n; i++)
                assert_int_equal(weft_queue_put(q, P(i + 1), 0), 0);
            assert_int_equal(weft_queue_qsize(q), n);
            if (sizes[k]) {
                assert_true(weft_queue_full(q));
                assert_int_equal(weft_queue_put(q, P(999), 0), -WEFT_EFULL);
            }
            for (size_t i = 0; i < n; i++) {
                void *v;
                assert_int_equal(weft_queue_get(q, &v, 0), 0);
                assert_int_equal(I(v), i + 1);
            }
            assert_true(weft_queue_empty(q));
            void *v;
            assert_int_equal(weft_queue_get(q, &v, 0), -WEFT_EEMPTY);
        }
        weft_queue_free(q);
    }
}

static void test_lifo_order(void **state)
{
    weft_queue *q = make(WEFT_QUEUE_LIFO, 0);
    for (uintptr_t i = 1; i <= 5; i++)
        assert_int_equal(weft_queue_put(q, P(i), 0), 0);
    for (uintptr_t i = 5; i >= 1; i--) {
        void *v;
        assert_int_equal(weft_queue_get(q, &v, 0), 0);
        assert_int_equal(I(v), i);
    }
    weft_queue_free(q);
    q = make(WEFT_QUEUE_LIFO, 2);
    assert_int_equal(weft_queue_put(q, P(1), 0), 0);
    assert_int_equal(weft_queue_put(q, P(2), 0), 0);
    assert_int_equal(weft_queue_put(q, P(3), 0), -WEFT_EFULL);
    weft_queue_free(q);
}

/* The tutorial: (1,"a"), (3,"c"), (1,"d"), (2,"b") come out a, d, b, c. */
static void test_priority_order_stable(void **state)
{
    weft_queue *q = make(WEFT_QUEUE_PRIORITY, 0);
    const char *names[] = {"a", "c", "d", "b"};
    int64_t prios[] = {1, 3, 1, 2};
    for (int i = 0; i < 4; i++)
        assert_int_equal(weft_queue_put_prio(q, prios[i], (void *)names[i], 0), 0);
    const char *expect[] = {"a", "d", "b", "c"};
    int64_t expect_prio[] = {1, 1, 2, 3};
    for (int i = 0; i < 4; i++) {
        void *v;
        int64_t pr;
        assert_int_equal(weft_queue_get_prio(q, &pr, &v, 0), 0);
        assert_string_equal((const char *)v, expect[i]);
        assert_int_equal(pr, expect_prio[i]);
    }
    weft_queue_free(q);
}

static void test_priority_many_random(void **state)
{
    weft_queue *q = make(WEFT_QUEUE_PRIORITY, 0);
    enum { N = 5000 };
    uint32_t x = 12345;
    for (uintptr_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        int64_t pr = (int64_t)((x >> 16) % 50) - 25;
        /* Encode (priority, insertion) in the item to check order. */
        assert_int_equal(weft_queue_put_prio(q, pr, P(((uintptr_t)(pr + 25) << 20) | i), 0), 0);
    }
    uintptr_t last = 0;
    for (int i = 0; i < N; i++) {
        void *v;
        assert_int_equal(weft_queue_get(q, &v, 0), 0);
        assert_true(i == 0 || I(v) > last); /* priority first, then insertion order */
        last = I(v);
    }
    weft_queue_free(q);
}

static int by_string(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    return strcmp(a, b);
}

static void test_priority_with_compare(void **state)
{
    weft_queue *q;
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_PRIORITY,
                                                           .compare = by_string}), 0);
    const char *in[] = {"pear", "apple", "fig", "apple"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(weft_queue_put(q, (void *)in[i], 0), 0);
    const char *expect[] = {"apple", "apple", "fig", "pear"};
    void *v;
    assert_int_equal(weft_queue_get(q, &v, 0), 0);
    assert_ptr_equal(v, in[1]); /* equal keys: first put comes out first */
    assert_int_equal(weft_queue_get(q, &v, 0), 0);
    assert_ptr_equal(v, in[3]);
    for (int i = 2; i < 4; i++) {
        assert_int_equal(weft_queue_get(q, &v, 0), 0);
        assert_string_equal(v, expect[i]);
    }
    weft_queue_free(q);
}

static void test_simple_queue(void **state)
{
    weft_queue *q = make(WEFT_QUEUE_SIMPLE, 0);
    for (uintptr_t i = 1; i <= 1000; i++)
        assert_int_equal(weft_queue_put(q, P(i), 0), 0);
    for (uintptr_t i = 1; i <= 1000; i++) {
        void *v;
        assert_int_equal(weft_queue_get(q, &v, 0), 0);
        assert_int_equal(I(v), i);
    }
    assert_int_equal(weft_queue_task_done(q), -EINVAL); /* SimpleQueue tracks no tasks */
    assert_int_equal(weft_queue_join(q, 0), -EINVAL);
    weft_queue_free(q);
}

static void test_bad_input(void **state)
{
    weft_queue *q;
    void *v;
    assert_int_equal(weft_queue_new(NULL, NULL), -EINVAL);
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.kind = 42}), -EINVAL);
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_SIMPLE, .maxsize = 3}),
                     -EINVAL);
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_FIFO, .compare = by_string}),
                     -EINVAL);
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.maxsize = (size_t)-1}), -EINVAL);
    assert_int_equal(weft_queue_put(NULL, P(1), 0), -EINVAL);
    assert_int_equal(weft_queue_get(NULL, &v, 0), -EINVAL);
    assert_int_equal(weft_queue_task_done(NULL), -EINVAL);
    assert_int_equal(weft_queue_join(NULL, 0), -EINVAL);
    assert_int_equal(weft_queue_shutdown(NULL, false), -EINVAL);
    assert_int_equal(weft_queue_qsize(NULL), 0);
    assert_true(weft_queue_empty(NULL));
    assert_false(weft_queue_full(NULL));
    assert_false(weft_queue_is_shutdown(NULL));
    weft_queue_free(NULL);

    assert_int_equal(weft_queue_new(&q, NULL), 0); /* unbounded FIFO */
    assert_int_equal(weft_queue_maxsize(q), 0);
    assert_int_equal(weft_queue_get(q, NULL, 0), -EINVAL);
    assert_int_equal(weft_queue_put(q, P(1), NAN), -EINVAL);
    assert_int_equal(weft_queue_put_prio(q, 1, P(1), 0), -EINVAL); /* not a priority queue */
    assert_int_equal(weft_queue_get_prio(q, NULL, &v, 0), -EINVAL);
    assert_int_equal(weft_queue_get_many(q, NULL, 4, NULL, 0), -EINVAL);
    void *buf[2];
    assert_int_equal(weft_queue_get_many(q, buf, 0, NULL, 0), -EINVAL);
    assert_int_equal(weft_queue_put_many(q, NULL, 2, NULL, 0), -EINVAL);
    /* task_done more times than items put: an error, nothing lost. */
    assert_int_equal(weft_queue_task_done(q), -EINVAL);
    assert_int_equal(weft_queue_put(q, P(1), 0), 0);
    assert_int_equal(weft_queue_task_done(q), 0);
    assert_int_equal(weft_queue_task_done(q), -EINVAL);
    assert_int_equal(weft_queue_qsize(q), 1); /* the item is still there */
    weft_queue_free(q);
}

static void test_timeouts(void **state)
{
    weft_queue *q = make(WEFT_QUEUE_FIFO, 1);
    void *v;
    double t0 = weft_test_now();
    assert_int_equal(weft_queue_get(q, &v, 0.05), -ETIMEDOUT);
    double dt = weft_test_now() - t0;
    assert_true(dt >= 0.045 && dt < 5.0);
    assert_int_equal(weft_queue_put(q, P(1), 0.05), 0);
    t0 = weft_test_now();
    assert_int_equal(weft_queue_put(q, P(2), 0.05), -ETIMEDOUT);
    dt = weft_test_now() - t0;
    assert_true(dt >= 0.045 && dt < 5.0);
    weft_queue_free(q);
}

static int discarded;
static void count_discard(void *item)
{
    discarded += (int)I(item);
}

static void test_free_discards(void **state)
{
    weft_queue *q;
    discarded = 0;
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.maxsize = 4, .discard = count_discard}), 0);
    weft_queue_put(q, P(3), 0);
    weft_queue_put(q, P(4), 0);
    weft_queue_free(q);
    assert_int_equal(discarded, 7);
}

static void test_batches(void **state)
{
    weft_queue *q = make(WEFT_QUEUE_FIFO, 8);
    void *in[20], *out[20];
    for (uintptr_t i = 0; i < 20; i++)
        in[i] = P(i + 100);
    size_t done = 99;
    assert_int_equal(weft_queue_put_many(q, in, 20, &done, 0), -WEFT_EFULL);
    assert_int_equal(done, 8);
    size_t got = 0;
    assert_int_equal(weft_queue_get_many(q, out, 5, &got, 0), 0);
    assert_int_equal(got, 5);
    assert_int_equal(weft_queue_get_many(q, out + 5, 20, &got, 0), 0);
    assert_int_equal(got, 3);
    for (uintptr_t i = 0; i < 8; i++)
        assert_ptr_equal(out[i], in[i]);
    assert_int_equal(weft_queue_get_many(q, out, 20, &got, 0), -WEFT_EEMPTY);
    assert_int_equal(got, 0);
    assert_int_equal(weft_queue_put_many(q, in, 0, &done, 0), 0);
    assert_int_equal(done, 0);
    weft_queue_free(q);
}

static void test_task_done_and_join(void **state)
{
    weft_queue *q = make(WEFT_QUEUE_FIFO, 4);
    assert_int_equal(weft_queue_join(q, 0), 0); /* nothing put: all done */
    weft_queue_put(q, P(1), 0);
    weft_queue_put(q, P(2), 0);
    assert_int_equal(weft_queue_join(q, 0), -ETIMEDOUT);
    void *v;
    weft_queue_get(q, &v, 0);
    assert_int_equal(weft_queue_task_done(q), 0);
    assert_int_equal(weft_queue_join(q, 0.01), -ETIMEDOUT);
    weft_queue_get(q, &v, 0);
    assert_int_equal(weft_queue_task_done(q), 0);
    assert_int_equal(weft_queue_join(q, 0), 0);
    weft_queue_free(q);
}

static void test_shutdown_drains_then_fails(void **state)
{
    weft_queue_kind kinds[] = {WEFT_QUEUE_FIFO, WEFT_QUEUE_LIFO, WEFT_QUEUE_PRIORITY};
    for (int k = 0; k < 3; k++) {
        weft_queue *q = make(kinds[k], 4);
        weft_queue_put(q, P(1), 0);
        weft_queue_put(q, P(2), 0);
        assert_int_equal(weft_queue_shutdown(q, false), 0);
        assert_true(weft_queue_is_shutdown(q));
        assert_int_equal(weft_queue_put(q, P(3), 0), -WEFT_ESHUTDOWN);
        void *v;
        assert_int_equal(weft_queue_get(q, &v, WEFT_FOREVER), 0);
        assert_int_equal(weft_queue_get(q, &v, WEFT_FOREVER), 0);
        assert_int_equal(weft_queue_get(q, &v, WEFT_FOREVER), -WEFT_ESHUTDOWN);
        weft_queue_free(q);
    }
}

static void test_shutdown_immediate(void **state)
{
    weft_queue *q;
    discarded = 0;
    assert_int_equal(weft_queue_new(&q, &(weft_queue_opts){.maxsize = 4, .discard = count_discard}), 0);
    weft_queue_put(q, P(1), 0);
    weft_queue_put(q, P(2), 0);
    weft_queue_put(q, P(4), 0);
    void *v;
    assert_int_equal(weft_queue_get(q, &v, 0), 0); /* taken, not yet done */
    assert_int_equal(weft_queue_shutdown(q, true), 0);
    assert_int_equal(discarded, 6);
    assert_int_equal(weft_queue_qsize(q), 0);
    assert_int_equal(weft_queue_get(q, &v, WEFT_FOREVER), -WEFT_ESHUTDOWN);
    /* Dropped items count as done; the taken one still needs its task_done. */
    assert_int_equal(weft_queue_join(q, 0), -ETIMEDOUT);
    assert_int_equal(weft_queue_task_done(q), 0);
    assert_int_equal(weft_queue_join(q, 0), 0);
    assert_int_equal(weft_queue_shutdown(q, false), 0); /* stays immediate */
    assert_int_equal(weft_queue_get(q, &v, 0), -WEFT_ESHUTDOWN);
    weft_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order_bounded_and_unbounded),
        cmocka_unit_test(test_lifo_order),
        cmocka_unit_test(test_priority_order_stable),
        cmocka_unit_test(test_priority_many_random),
        cmocka_unit_test(test_priority_with_compare),
        cmocka_unit_test(test_simple_queue),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_free_discards),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_task_done_and_join),
        cmocka_unit_test(test_shutdown_drains_then_fails),
        cmocka_unit_test(test_shutdown_immediate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
