#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "weft/sync.h"
#include "sync/test_sync_util.h"

static void test_null_args(void **state)
{
    assert_int_equal(weft_rlock_init(NULL, NULL), -EINVAL);
    assert_int_equal(weft_rlock_destroy(NULL), -EINVAL);
    assert_int_equal(weft_rlock_acquire(NULL, WEFT_FOREVER), -EINVAL);
    assert_int_equal(weft_rlock_try(NULL), -EINVAL);
    assert_int_equal(weft_rlock_release(NULL), -EINVAL);
    assert_false(weft_rlock_is_owned(NULL));
    assert_int_equal(weft_rlock_owner(NULL), 0);
    assert_int_equal(weft_rlock_depth(NULL), 0);
}

static void test_recursive(void **state)
{
    weft_rlock r;
    assert_int_equal(weft_rlock_init(&r, "r"), 0);
    assert_false(weft_rlock_is_owned(&r));
    assert_int_equal(weft_rlock_owner(&r), 0);
    assert_int_equal(weft_rlock_depth(&r), 0);
    assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&r, 0), 0); /* re-entry never blocks */
    assert_int_equal(weft_rlock_try(&r), 0);
    assert_int_equal(weft_rlock_acquire(&r, 0.5), 0);
    assert_true(weft_rlock_is_owned(&r));
    assert_int_equal(weft_rlock_owner(&r), (unsigned long)pthread_self());
    assert_int_equal(weft_rlock_depth(&r), 4);
    assert_int_equal(weft_rlock_destroy(&r), -EBUSY);
    for (unsigned d = 4; d > 0; d--) {
        assert_int_equal(weft_rlock_depth(&r), d);
        assert_int_equal(weft_rlock_release(&r), 0);
    }
    assert_false(weft_rlock_is_owned(&r));
    assert_int_equal(weft_rlock_owner(&r), 0);
    assert_int_equal(weft_rlock_depth(&r), 0);
    assert_int_equal(weft_rlock_release(&r), -EPERM);
    assert_int_equal(weft_rlock_acquire(&r, NAN), -EINVAL);
    assert_int_equal(weft_rlock_destroy(&r), 0);
}

static void test_static_init(void **state)
{
    static weft_rlock a = WEFT_RLOCK_INIT;
    static weft_rlock b = WEFT_RLOCK_INIT_NAMED("b");
    assert_int_equal(weft_rlock_acquire(&a, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&b, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_release(&b), 0);
    assert_int_equal(weft_rlock_release(&a), 0);
}

static void test_overflow(void **state)
{
    weft_rlock r = WEFT_RLOCK_INIT;
    assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), 0);
    r._depth = UINT32_MAX; /* white box: 4e9 acquisitions would take too long */
    assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), -EOVERFLOW);
    assert_int_equal(weft_rlock_try(&r), -EOVERFLOW);
    assert_int_equal(weft_rlock_depth(&r), UINT32_MAX);
    r._depth = 1;
    assert_int_equal(weft_rlock_release(&r), 0);
    assert_int_equal(weft_rlock_owner(&r), 0);
}

struct other {
    weft_rlock *r;
    int try_rc, zero_rc, timed_rc, release_rc;
    bool owned;
    double waited;
};

static void *other_thread(void *arg)
{
    struct other *o = arg;
    o->owned = weft_rlock_is_owned(o->r);
    o->release_rc = weft_rlock_release(o->r);
    o->try_rc = weft_rlock_try(o->r);
    o->zero_rc = weft_rlock_acquire(o->r, 0);
    double t0 = t_now();
    o->timed_rc = weft_rlock_acquire(o->r, 0.05);
    o->waited = t_now() - t0;
    return NULL;
}

static void test_other_thread(void **state)
{
    weft_rlock r = WEFT_RLOCK_INIT;
    assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), 0);
    struct other o = {.r = &r};
    t_run(1, other_thread, &o, 0);
    assert_false(o.owned);
    assert_int_equal(o.release_rc, -EPERM);
    assert_int_equal(o.try_rc, -EBUSY);
    assert_int_equal(o.zero_rc, -EBUSY);
    assert_int_equal(o.timed_rc, -ETIMEDOUT);
    assert_true(o.waited >= 0.045 && o.waited < 2.0);
    /* The failed attempts left it intact. */
    assert_int_equal(weft_rlock_depth(&r), 2);
    assert_true(weft_rlock_is_owned(&r));
    assert_int_equal(weft_rlock_release(&r), 0);
    assert_int_equal(weft_rlock_release(&r), 0);
    assert_int_equal(weft_rlock_destroy(&r), 0);
}

struct handoff {
    weft_rlock r;
    int started;
    int acquired;
    int rc;
    unsigned depth;
};

static void *blocked(void *arg)
{
    struct handoff *h = arg;
    __atomic_store_n(&h->started, 1, __ATOMIC_RELEASE);
    h->rc = weft_rlock_acquire(&h->r, 10.0);
    __atomic_store_n(&h->acquired, 1, __ATOMIC_RELEASE);
    h->depth = weft_rlock_depth(&h->r);
    if (h->rc == 0)
        weft_rlock_release(&h->r);
    return NULL;
}

static void test_handoff_after_full_release(void **state)
{
    struct handoff h = {.r = WEFT_RLOCK_INIT};
    pthread_t th;
    assert_int_equal(weft_rlock_acquire(&h.r, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&h.r, WEFT_FOREVER), 0);
    assert_int_equal(pthread_create(&th, NULL, blocked, &h), 0);
    t_await_at_least(&h.started, 1);
    t_sleep(0.05);
    assert_int_equal(weft_rlock_release(&h.r), 0); /* still held at depth 1 */
    t_sleep(0.05);
    assert_int_equal(__atomic_load_n(&h.acquired, __ATOMIC_ACQUIRE), 0); /* not yet */
    assert_int_equal(weft_rlock_release(&h.r), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.depth, 1);
    assert_int_equal(weft_rlock_owner(&h.r), 0);
}

static void test_lockdep_hooks_enabled(void **state)
{
    bool was = weft_lockdep_enable(true);
    weft_rlock r = WEFT_RLOCK_INIT_NAMED("R");
    assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_try(&r), 0);
    assert_int_equal(weft_rlock_release(&r), 0);
    assert_int_equal(weft_rlock_release(&r), 0);
    assert_int_equal(weft_rlock_try(&r), 0);
    assert_int_equal(weft_rlock_release(&r), 0);
    assert_int_equal(weft_rlock_destroy(&r), 0);
    weft_lockdep_enable(was);
}

/* ---- stress: recursive acquisition under contention ---- */

#define THREADS 6
#define DEPTH 3

struct shared {
    weft_rlock r;
    long value;
    long iters;
};

static void *recursive_worker(void *arg)
{
    struct shared *s = arg;
    unsigned long me = (unsigned long)pthread_self();
    for (long i = 0; i < s->iters; i++) {
        for (int d = 0; d < DEPTH; d++) {
            int rc = (i % 4 == 3 && d == 0) ? weft_rlock_acquire(&s->r, 5.0)
                                            : weft_rlock_acquire(&s->r, WEFT_FOREVER);
            assert_int_equal(rc, 0);
            assert_int_equal(weft_rlock_owner(&s->r), me);
            s->value++;
        }
        assert_int_equal(weft_rlock_depth(&s->r), DEPTH);
        for (int d = 0; d < DEPTH; d++)
            assert_int_equal(weft_rlock_release(&s->r), 0);
        assert_false(weft_rlock_is_owned(&s->r));
    }
    return NULL;
}

static void test_stress_recursive(void **state)
{
    struct shared s = {.r = WEFT_RLOCK_INIT, .iters = SCALE(60000)};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, recursive_worker, &s), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(s.value, (long)THREADS * DEPTH * s.iters);
    assert_int_equal(weft_rlock_owner(&s.r), 0);
    assert_int_equal(weft_rlock_destroy(&s.r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_recursive),
        cmocka_unit_test(test_static_init),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_other_thread),
        cmocka_unit_test(test_handoff_after_full_release),
        cmocka_unit_test(test_lockdep_hooks_enabled),
        cmocka_unit_test(test_stress_recursive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
