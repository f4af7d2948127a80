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
    assert_int_equal(weft_lock_init(NULL, NULL), -EINVAL);
    assert_int_equal(weft_lock_destroy(NULL), -EINVAL);
    assert_int_equal(weft_lock_acquire(NULL, WEFT_FOREVER), -EINVAL);
    assert_int_equal(weft_lock_acquire(NULL, 0), -EINVAL);
    assert_int_equal(weft_lock_try(NULL), -EINVAL);
    assert_int_equal(weft_lock_release(NULL), -EINVAL);
    assert_false(weft_lock_locked(NULL));
}

static void test_basic(void **state)
{
    weft_lock l;
    assert_int_equal(weft_lock_init(&l, "basic"), 0);
    assert_false(weft_lock_locked(&l));
    assert_int_equal(weft_lock_acquire(&l, WEFT_FOREVER), 0);
    assert_true(weft_lock_locked(&l));
    assert_int_equal(weft_lock_try(&l), -EBUSY);
    assert_int_equal(weft_lock_acquire(&l, 0), -EBUSY);
    assert_int_equal(weft_lock_destroy(&l), -EBUSY);
    assert_int_equal(weft_lock_release(&l), 0);
    assert_false(weft_lock_locked(&l));
    assert_int_equal(weft_lock_release(&l), -EPERM);
    assert_int_equal(weft_lock_try(&l), 0);
    assert_int_equal(weft_lock_release(&l), 0);
    assert_int_equal(weft_lock_acquire(&l, 0), 0); /* free: timeout 0 succeeds */
    assert_int_equal(weft_lock_release(&l), 0);
    assert_int_equal(weft_lock_acquire(&l, 1.0), 0);
    assert_int_equal(weft_lock_release(&l), 0);
    assert_int_equal(weft_lock_destroy(&l), 0);
}

static void test_static_init(void **state)
{
    static weft_lock a = WEFT_LOCK_INIT;
    static weft_lock b = WEFT_LOCK_INIT_NAMED("b");
    assert_int_equal(weft_lock_acquire(&a, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_acquire(&b, WEFT_FOREVER), 0);
    assert_true(weft_lock_locked(&a) && weft_lock_locked(&b));
    assert_int_equal(weft_lock_release(&b), 0);
    assert_int_equal(weft_lock_release(&a), 0);
}

static void test_nan_timeout(void **state)
{
    weft_lock l = WEFT_LOCK_INIT;
    assert_int_equal(weft_lock_acquire(&l, NAN), -EINVAL);
    assert_false(weft_lock_locked(&l));
}

static void test_timeout(void **state)
{
    weft_lock l = WEFT_LOCK_INIT;
    assert_int_equal(weft_lock_acquire(&l, WEFT_FOREVER), 0);
    double t0 = t_now();
    assert_int_equal(weft_lock_acquire(&l, 0.05), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045);
    assert_true(dt < 2.0);
    assert_true(weft_lock_locked(&l));
    assert_int_equal(weft_lock_release(&l), 0);
    /* The state left by a timed-out waiter (maybe "2") still behaves. */
    assert_int_equal(weft_lock_try(&l), 0);
    assert_int_equal(weft_lock_release(&l), 0);
    assert_int_equal(weft_lock_release(&l), -EPERM);
}

/* A Lock is not owned: another thread may release it. */
static void *release_other(void *arg)
{
    assert_int_equal(weft_lock_release(arg), 0);
    return NULL;
}

static void test_release_by_other_thread(void **state)
{
    weft_lock l = WEFT_LOCK_INIT;
    assert_int_equal(weft_lock_acquire(&l, WEFT_FOREVER), 0);
    t_run(1, release_other, &l, 0);
    assert_false(weft_lock_locked(&l));
}

struct handoff {
    weft_lock lock;
    int started;
    int got;
    double waited;
    double timeout;
};

static void *blocked_acquirer(void *arg)
{
    struct handoff *h = arg;
    double t0 = t_now();
    __atomic_store_n(&h->started, 1, __ATOMIC_RELEASE);
    h->got = weft_lock_acquire(&h->lock, h->timeout);
    h->waited = t_now() - t0;
    if (h->got == 0)
        weft_lock_release(&h->lock);
    return NULL;
}

/* A sleeping acquirer (forever or timed) is woken by the release. */
static void handoff_case(double timeout)
{
    struct handoff h = {.lock = WEFT_LOCK_INIT, .timeout = timeout};
    pthread_t th;
    assert_int_equal(weft_lock_acquire(&h.lock, WEFT_FOREVER), 0);
    assert_int_equal(pthread_create(&th, NULL, blocked_acquirer, &h), 0);
    t_await_at_least(&h.started, 1);
    t_sleep(0.1); /* let it go to sleep on the futex */
    assert_int_equal(weft_lock_release(&h.lock), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(h.got, 0);
    assert_true(h.waited >= 0.05);
    assert_true(h.waited < 5.0);
    assert_false(weft_lock_locked(&h.lock));
}

static void test_handoff_forever(void **state)
{
    handoff_case(WEFT_FOREVER);
}

static void test_handoff_timed(void **state)
{
    handoff_case(10.0);
}

static void test_lockdep_hooks_enabled(void **state)
{
    /* With checking on, every path still behaves (the hooks are called). */
    bool was = weft_lockdep_enable(true);
    weft_lock a = WEFT_LOCK_INIT_NAMED("A"), b = WEFT_LOCK_INIT_NAMED("B");
    assert_int_equal(weft_lock_acquire(&a, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_try(&b), 0);
    assert_int_equal(weft_lock_acquire(&b, 0.01), -ETIMEDOUT);
    assert_int_equal(weft_lock_release(&b), 0);
    assert_int_equal(weft_lock_release(&a), 0);
    assert_int_equal(weft_lock_destroy(&a), 0);
    assert_int_equal(weft_lock_destroy(&b), 0);
    weft_lockdep_enable(was);
}

/* ---- stress: exact counter under contention ---- */

#define THREADS 6

struct counter {
    weft_lock lock;
    long value;
    long iters;
};

struct worker {
    struct counter *c;
    int id;
    long timed_ok; /* successful timed/try acquisitions */
};

static void *count_plain(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; i < w->c->iters; i++) {
        assert_int_equal(weft_lock_acquire(&w->c->lock, WEFT_FOREVER), 0);
        w->c->value++;
        assert_int_equal(weft_lock_release(&w->c->lock), 0);
    }
    return NULL;
}

static void test_stress_counter(void **state)
{
    struct counter c = {.lock = WEFT_LOCK_INIT, .iters = SCALE(200000)};
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++)
        w[i] = (struct worker){.c = &c, .id = i};
    t_run(THREADS, count_plain, w, sizeof w[0]);
    assert_int_equal(c.value, THREADS * c.iters);
    assert_false(weft_lock_locked(&c.lock));
}

/* Mixed blocking, timed and non-blocking acquisitions: the counter equals the
 * number of successful acquisitions exactly. */
static void *count_mixed(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; i < w->c->iters; i++) {
        int rc;
        switch ((i + w->id) % 3) {
        case 0:
            rc = weft_lock_acquire(&w->c->lock, WEFT_FOREVER);
            assert_int_equal(rc, 0);
            break;
        case 1:
            rc = weft_lock_acquire(&w->c->lock, 0.0001);
            assert_true(rc == 0 || rc == -ETIMEDOUT);
            break;
        default:
            rc = weft_lock_try(&w->c->lock);
            assert_true(rc == 0 || rc == -EBUSY);
            break;
        }
        if (rc == 0) {
            w->c->value++;
            w->timed_ok++;
            assert_int_equal(weft_lock_release(&w->c->lock), 0);
        }
    }
    return NULL;
}

static void test_stress_mixed(void **state)
{
    struct counter c = {.lock = WEFT_LOCK_INIT, .iters = SCALE(100000)};
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++)
        w[i] = (struct worker){.c = &c, .id = i};
    t_run(THREADS, count_mixed, w, sizeof w[0]);
    long ok = 0;
    for (int i = 0; i < THREADS; i++)
        ok += w[i].timed_ok;
    assert_int_equal(c.value, ok);
    assert_true(ok >= THREADS * c.iters / 3); /* the blocking third always succeeds */
    assert_false(weft_lock_locked(&c.lock));
    /* Nobody is left asleep: the lock is usable at once. */
    assert_int_equal(weft_lock_try(&c.lock), 0);
    assert_int_equal(weft_lock_release(&c.lock), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_static_init),
        cmocka_unit_test(test_nan_timeout),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_release_by_other_thread),
        cmocka_unit_test(test_handoff_forever),
        cmocka_unit_test(test_handoff_timed),
        cmocka_unit_test(test_lockdep_hooks_enabled),
        cmocka_unit_test(test_stress_counter),
        cmocka_unit_test(test_stress_mixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
