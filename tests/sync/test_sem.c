#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "weft/sync.h"
#include "sync/test_sync_util.h"

static void test_init_errors(void **state)
{
    weft_sem s;
    assert_int_equal(weft_sem_init(NULL, 1), -EINVAL);
    assert_int_equal(weft_sem_init_bounded(NULL, 1), -EINVAL);
    assert_int_equal(weft_sem_init(&s, -1), -EINVAL);
    assert_int_equal(weft_sem_init_bounded(&s, -5), -EINVAL);
    assert_int_equal(weft_sem_acquire(NULL, 0), -EINVAL);
    assert_int_equal(weft_sem_release(NULL, 1), -EINVAL);
    assert_int_equal(weft_sem_value(NULL), 0);
    assert_int_equal(weft_sem_init(&s, 0), 0);
    assert_int_equal(weft_sem_release(&s, 0), -EINVAL);
    assert_int_equal(weft_sem_acquire(&s, NAN), -EINVAL);
    assert_int_equal(weft_sem_value(&s), 0);
    assert_int_equal(weft_sem_init(&s, INT32_MAX), 0);
    assert_int_equal(weft_sem_value(&s), INT32_MAX);
}

static void test_basic(void **state)
{
    weft_sem s;
    assert_int_equal(weft_sem_init(&s, 2), 0);
    assert_int_equal(weft_sem_value(&s), 2);
    assert_int_equal(weft_sem_acquire(&s, WEFT_FOREVER), 0);
    assert_int_equal(weft_sem_acquire(&s, 0), 0);
    assert_int_equal(weft_sem_value(&s), 0);
    assert_int_equal(weft_sem_acquire(&s, 0), -EBUSY);
    double t0 = t_now();
    assert_int_equal(weft_sem_acquire(&s, 0.05), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 2.0);
    assert_int_equal(weft_sem_value(&s), 0);
    assert_int_equal(weft_sem_release(&s, 3), 0); /* unbounded: past the start */
    assert_int_equal(weft_sem_value(&s), 3);
    assert_int_equal(weft_sem_acquire(&s, 1.0), 0);
    assert_int_equal(weft_sem_value(&s), 2);
}

static void test_static_init(void **state)
{
    static weft_sem a = WEFT_SEM_INIT(1);
    static weft_sem b = WEFT_BOUNDED_SEM_INIT(1);
    assert_int_equal(weft_sem_acquire(&a, 0), 0);
    assert_int_equal(weft_sem_acquire(&a, 0), -EBUSY);
    assert_int_equal(weft_sem_release(&a, 2), 0);
    assert_int_equal(weft_sem_value(&a), 2);
    assert_int_equal(weft_sem_release(&b, 1), -EOVERFLOW);
    assert_int_equal(weft_sem_acquire(&b, 0), 0);
    assert_int_equal(weft_sem_release(&b, 1), 0);
    assert_int_equal(weft_sem_value(&b), 1);
}

static void test_bounded(void **state)
{
    weft_sem s;
    assert_int_equal(weft_sem_init_bounded(&s, 3), 0);
    assert_int_equal(weft_sem_release(&s, 1), -EOVERFLOW);
    assert_int_equal(weft_sem_value(&s), 3);
    assert_int_equal(weft_sem_acquire(&s, 0), 0);
    assert_int_equal(weft_sem_acquire(&s, 0), 0);
    assert_int_equal(weft_sem_release(&s, 3), -EOVERFLOW); /* nothing released */
    assert_int_equal(weft_sem_value(&s), 1);
    assert_int_equal(weft_sem_release(&s, 2), 0);
    assert_int_equal(weft_sem_value(&s), 3);
    assert_int_equal(weft_sem_release(&s, UINT32_MAX), -EOVERFLOW);
    assert_int_equal(weft_sem_value(&s), 3);

    weft_sem z;
    assert_int_equal(weft_sem_init_bounded(&z, 0), 0);
    assert_int_equal(weft_sem_release(&z, 1), -EOVERFLOW);
    assert_int_equal(weft_sem_acquire(&z, 0), -EBUSY);
}

static void test_unbounded_overflow(void **state)
{
    weft_sem s;
    assert_int_equal(weft_sem_init(&s, INT32_MAX - 1), 0);
    assert_int_equal(weft_sem_release(&s, 2), -EOVERFLOW);
    assert_int_equal(weft_sem_value(&s), INT32_MAX - 1);
    assert_int_equal(weft_sem_release(&s, 1), 0);
    assert_int_equal(weft_sem_value(&s), INT32_MAX);
    assert_int_equal(weft_sem_release(&s, 1), -EOVERFLOW);
    assert_int_equal(weft_sem_release(&s, UINT32_MAX), -EOVERFLOW);
    assert_int_equal(weft_sem_value(&s), INT32_MAX);
}

/* ---- release(n) wakes exactly n sleepers ---- */

struct sleepers {
    weft_sem sem;
    int started;
    int got;
};

static void *sleeper(void *arg)
{
    struct sleepers *s = arg;
    __atomic_fetch_add(&s->started, 1, __ATOMIC_RELEASE);
    assert_int_equal(weft_sem_acquire(&s->sem, 30.0), 0);
    __atomic_fetch_add(&s->got, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_release_n_wakes_n(void **state)
{
    struct sleepers s = {.sem = WEFT_SEM_INIT(0)};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sleeper, &s), 0);
    t_await_at_least(&s.started, 3);
    t_sleep(0.05);
    assert_int_equal(__atomic_load_n(&s.got, __ATOMIC_ACQUIRE), 0);
    assert_int_equal(weft_sem_release(&s.sem, 2), 0);
    t_await_at_least(&s.got, 2);
    t_sleep(0.05);
    assert_int_equal(__atomic_load_n(&s.got, __ATOMIC_ACQUIRE), 2);
    assert_int_equal(weft_sem_value(&s.sem), 0);
    assert_int_equal(weft_sem_release(&s.sem, 1), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(s.got, 3);
    assert_int_equal(weft_sem_value(&s.sem), 0);
}

/* ---- stress: at most `permits` holders, and exactly that many at peak ---- */

#define THREADS 8
#define PERMITS 3

struct limiter {
    weft_sem sem;
    int inside;
    int max_inside;
    long iters;
    long done;
};

static void *limited(void *arg)
{
    struct limiter *l = arg;
    for (long i = 0; i < l->iters; i++) {
        int rc = (i % 3 == 0) ? weft_sem_acquire(&l->sem, 10.0)
                              : weft_sem_acquire(&l->sem, WEFT_FOREVER);
        assert_int_equal(rc, 0);
        int now = __atomic_add_fetch(&l->inside, 1, __ATOMIC_ACQ_REL);
        assert_true(now <= PERMITS);
        int max = __atomic_load_n(&l->max_inside, __ATOMIC_RELAXED);
        while (now > max &&
               !__atomic_compare_exchange_n(&l->max_inside, &max, now, false,
                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        if (i % 64 == 0)
            t_sleep(0.0002); /* hold a while now and then, so holders pile up */
        __atomic_fetch_sub(&l->inside, 1, __ATOMIC_ACQ_REL);
        __atomic_fetch_add(&l->done, 1, __ATOMIC_RELAXED);
        assert_int_equal(weft_sem_release(&l->sem, 1), 0);
    }
    return NULL;
}

static void stress_limit(bool bounded)
{
    struct limiter l = {.iters = SCALE(20000)};
    if (bounded)
        weft_sem_init_bounded(&l.sem, PERMITS);
    else
        weft_sem_init(&l.sem, PERMITS);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, limited, &l), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(l.max_inside, PERMITS);
    assert_int_equal(l.done, THREADS * l.iters);
    assert_int_equal(weft_sem_value(&l.sem), PERMITS);
    assert_int_equal(l.sem._waiters, 0);
}

static void test_stress_limit(void **state)
{
    stress_limit(false);
}

static void test_stress_limit_bounded(void **state)
{
    stress_limit(true);
}

/* ---- stress: units handed over through release(n) with many sleepers ---- */

struct handover {
    weft_sem sem;
    long per_thread;
    long taken;
};

static void *taker(void *arg)
{
    struct handover *h = arg;
    for (long i = 0; i < h->per_thread; i++) {
        int rc;
        while ((rc = weft_sem_acquire(&h->sem, 0.002)) == -ETIMEDOUT)
            ;
        assert_int_equal(rc, 0);
        __atomic_fetch_add(&h->taken, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_stress_release_n(void **state)
{
    struct handover h = {.sem = WEFT_SEM_INIT(0), .per_thread = SCALE(20000)};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, taker, &h), 0);
    long total = 4 * h.per_thread, given = 0;
    unsigned n = 1;
    while (given < total) {
        unsigned k = (unsigned)((total - given) < n ? (total - given) : n);
        assert_int_equal(weft_sem_release(&h.sem, k), 0);
        given += k;
        n = n % 5 + 1;
        if (given % 1000 < 5)
            sched_yield();
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(h.taken, total);
    assert_int_equal(weft_sem_value(&h.sem), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_static_init),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_unbounded_overflow),
        cmocka_unit_test(test_release_n_wakes_n),
        cmocka_unit_test(test_stress_limit),
        cmocka_unit_test(test_stress_limit_bounded),
        cmocka_unit_test(test_stress_release_n),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
