/* Timer: fires after its delay, cancel before it fires, cancel after. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "weft.h"
#include "weft_test.h"

static int fired_count;
static double fired_at;

static void on_fire(void *arg)
{
    fired_at = weft_test_now();
    __atomic_fetch_add(&fired_count, 1, __ATOMIC_RELAXED);
}

static void test_fires_after_delay(void **state)
{
    fired_count = 0;
    weft_timer *t;
    double t0 = weft_test_now();
    assert_int_equal(weft_timer_start(&t, 0.1, on_fire, NULL, NULL), 0);
    assert_false(weft_timer_fired(t));
    assert_int_equal(weft_timer_join(t, 10.0), 0);
    assert_true(weft_timer_fired(t));
    assert_int_equal(fired_count, 1);
    assert_true(fired_at - t0 >= 0.095);
    assert_false(weft_timer_cancel(t)); /* too late */
    weft_timer_free(t);
}

static void test_cancel_before_fire(void **state)
{
    fired_count = 0;
    weft_timer *t;
    double t0 = weft_test_now();
    assert_int_equal(weft_timer_start(&t, 30.0, on_fire, NULL, NULL), 0);
    assert_true(weft_timer_cancel(t));
    assert_false(weft_timer_cancel(t)); /* only the first cancel wins */
    assert_int_equal(weft_timer_join(t, 10.0), 0);
    assert_true(weft_test_now() - t0 < 10.0); /* the sleep ended at cancel */
    assert_int_equal(fired_count, 0);
    assert_false(weft_timer_fired(t));
    weft_timer_free(t);
}

static void test_free_pending_still_fires(void **state)
{
    fired_count = 0;
    weft_timer *t;
    assert_int_equal(weft_timer_start(&t, 0.02, on_fire, NULL,
                                      &(weft_thread_opts){.name = "fire-and-forget"}), 0);
    weft_timer_free(t);
    for (int i = 0; i < 1000 && __atomic_load_n(&fired_count, __ATOMIC_RELAXED) == 0; i++)
        weft_test_sleep(0.01);
    assert_int_equal(__atomic_load_n(&fired_count, __ATOMIC_RELAXED), 1);
}

static void test_bad_input(void **state)
{
    weft_timer *t;
    assert_int_equal(weft_timer_start(NULL, 1, on_fire, NULL, NULL), -EINVAL);
    assert_int_equal(weft_timer_start(&t, 1, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(weft_timer_start(&t, -1, on_fire, NULL, NULL), -EINVAL);
    assert_int_equal(weft_timer_start(&t, 0.0 / 0.0, on_fire, NULL, NULL), -EINVAL);
    assert_false(weft_timer_cancel(NULL));
    assert_int_equal(weft_timer_join(NULL, 0), -EINVAL);
    assert_false(weft_timer_fired(NULL));
    weft_timer_free(NULL);
}

/* Stress: race cancel against firing; each timer either fired or was cancelled,
 * never both, never neither. */
static int raced_fired;
static void race_fire(void *arg)
{
    __atomic_fetch_add(&raced_fired, 1, __ATOMIC_RELAXED);
}

static void test_cancel_race(void **state)
{
    int n = WEFT_TEST_SCALE(400), cancelled = 0;
    raced_fired = 0;
    for (int i = 0; i < n; i++) {
        weft_timer *t;
        assert_int_equal(weft_timer_start(&t, 0, race_fire, NULL, NULL), 0);
        cancelled += weft_timer_cancel(t);
        assert_int_equal(weft_timer_join(t, WEFT_FOREVER), 0);
        weft_timer_free(t);
    }
    assert_int_equal(cancelled + raced_fired, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fires_after_delay),
        cmocka_unit_test(test_cancel_before_fire),
        cmocka_unit_test(test_free_pending_still_fires),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_cancel_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
