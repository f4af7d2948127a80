/* Thread-local values: per-thread isolation, destructors, slot reuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "weft.h"
#include "weft_test.h"

static int destroyed; /* sum of destroyed values; updated atomically */

static void count_dtor(void *v)
{
    __atomic_fetch_add(&destroyed, (int)(intptr_t)v, __ATOMIC_RELAXED);
}

static weft_local *slot;

static void *set_and_read(void *arg)
{
    if (weft_local_get(slot) != NULL)
        return (void *)1; /* a new thread must start with NULL */
    weft_local_set(slot, arg, NULL);
    for (int i = 0; i < 1000; i++) {
        if (weft_local_get(slot) != arg)
            return (void *)2;
        sched_yield();
    }
    return NULL;
}

static void test_isolation_and_dtor_before_join(void **state)
{
    destroyed = 0;
    assert_int_equal(weft_local_new(&slot, count_dtor), 0);
    weft_thread *t[8];
    int expect = 0;
    for (intptr_t i = 0; i < 8; i++) {
        expect += (int)(i + 1);
        assert_int_equal(weft_thread_start(&t[i], set_and_read, (void *)(i + 1), NULL), 0);
    }
    for (int i = 0; i < 8; i++) {
        void *r;
        assert_int_equal(weft_thread_join(t[i], WEFT_FOREVER, &r), 0);
        assert_null(r);
        weft_thread_free(t[i]);
    }
    /* Every thread's value was destroyed before its join returned. */
    assert_int_equal(__atomic_load_n(&destroyed, __ATOMIC_RELAXED), expect);
    assert_null(weft_local_get(slot)); /* main never set one */
    weft_local_free(slot);
}

static void test_set_returns_old_and_free_destroys_own(void **state)
{
    destroyed = 0;
    weft_local *l;
    assert_int_equal(weft_local_new(&l, count_dtor), 0);
    void *old = (void *)-1;
    assert_int_equal(weft_local_set(l, (void *)5, &old), 0);
    assert_null(old);
    assert_int_equal(weft_local_set(l, (void *)7, &old), 0);
    assert_ptr_equal(old, (void *)5);
    assert_ptr_equal(weft_local_get(l), (void *)7);
    weft_local_free(l);
    assert_int_equal(destroyed, 7);
}

static void test_reused_id_does_not_see_stale_value(void **state)
{
    weft_local *a, *b;
    assert_int_equal(weft_local_new(&a, NULL), 0);
    assert_int_equal(weft_local_set(a, (void *)11, NULL), 0);
    weft_local_free(a);
    assert_int_equal(weft_local_new(&b, NULL), 0); /* likely the same id */
    assert_null(weft_local_get(b));
    weft_local_free(b);
}

static void *foreign_sets(void *arg)
{
    weft_local_set(slot, arg, NULL);
    return NULL;
}

static void test_foreign_thread_values_destroyed(void **state)
{
    destroyed = 0;
    assert_int_equal(weft_local_new(&slot, count_dtor), 0);
    pthread_t pt;
    assert_int_equal(pthread_create(&pt, NULL, foreign_sets, (void *)3), 0);
    assert_int_equal(pthread_join(pt, NULL), 0);
    assert_int_equal(__atomic_load_n(&destroyed, __ATOMIC_RELAXED), 3);
    weft_local_free(slot);
}

static void test_bad_input(void **state)
{
    assert_int_equal(weft_local_new(NULL, NULL), -EINVAL);
    assert_null(weft_local_get(NULL));
    assert_int_equal(weft_local_set(NULL, NULL, NULL), -EINVAL);
    weft_local_free(NULL);
}

static void test_many_slots(void **state)
{
    enum { N = 100 };
    weft_local *l[N];
    for (intptr_t i = 0; i < N; i++) {
        assert_int_equal(weft_local_new(&l[i], NULL), 0);
        assert_int_equal(weft_local_set(l[i], (void *)(i + 1), NULL), 0);
    }
    for (intptr_t i = 0; i < N; i++)
        assert_ptr_equal(weft_local_get(l[i]), (void *)(i + 1));
    for (int i = 0; i < N; i++)
        weft_local_free(l[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isolation_and_dtor_before_join),
        cmocka_unit_test(test_set_returns_old_and_free_destroys_own),
        cmocka_unit_test(test_reused_id_does_not_see_stale_value),
        cmocka_unit_test(test_foreign_thread_values_destroyed),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_many_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
