#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "weft/sync.h"
#include "sync/test_sync_util.h"

static int runs;

static void bump(void *arg)
{
    runs++;
    *(int *)arg += 10;
}

static void test_null_args(void **state)
{
    weft_once o = WEFT_ONCE_INIT;
    int x = 0;
    assert_int_equal(weft_once_call(NULL, bump, &x), -EINVAL);
    assert_int_equal(weft_once_call(&o, NULL, &x), -EINVAL);
    assert_false(weft_once_done(NULL));
    assert_false(weft_once_done(&o));
    assert_int_equal(x, 0);
}

static void test_runs_once(void **state)
{
    weft_once o = WEFT_ONCE_INIT;
    int x = 0;
    runs = 0;
    assert_false(weft_once_done(&o));
    assert_int_equal(weft_once_call(&o, bump, &x), 0);
    assert_true(weft_once_done(&o));
    assert_int_equal(weft_once_call(&o, bump, &x), 0);
    assert_int_equal(weft_once_call(&o, bump, &x), 0);
    assert_int_equal(runs, 1);
    assert_int_equal(x, 10);
}

static weft_once recursive_once = WEFT_ONCE_INIT;
static int inner_rc = 1;
static bool inner_done;

static void recurse(void *arg)
{
    inner_rc = weft_once_call(&recursive_once, recurse, arg);
    inner_done = weft_once_done(&recursive_once);
}

static void test_recursive_deadlk(void **state)
{
    assert_int_equal(weft_once_call(&recursive_once, recurse, NULL), 0);
    assert_int_equal(inner_rc, -EDEADLK);
    assert_false(inner_done);
    assert_true(weft_once_done(&recursive_once));
    assert_int_equal(weft_once_call(&recursive_once, recurse, NULL), 0); /* not again */
    assert_int_equal(inner_rc, -EDEADLK);
}

/* ---- 8 threads: fn runs exactly once, everyone returns after it finished ---- */

#define THREADS 8

struct shared {
    weft_once once;
    int runs;        /* written by fn only */
    long value;      /* written by fn only */
    int go;
    int saw_value[THREADS];
};

struct caller {
    struct shared *s;
    int id;
};

static void slow_init(void *arg)
{
    struct shared *s = arg;
    t_sleep(0.05); /* make the others find it running, and sleep */
    s->runs++;
    s->value = 12345;
}

static void *call_once(void *arg)
{
    struct caller *c = arg;
    while (!__atomic_load_n(&c->s->go, __ATOMIC_ACQUIRE))
        sched_yield();
    assert_int_equal(weft_once_call(&c->s->once, slow_init, c->s), 0);
    assert_true(weft_once_done(&c->s->once));
    c->s->saw_value[c->id] = c->s->value == 12345; /* fn's writes are visible */
    return NULL;
}

static void run_race(void)
{
    struct shared s = {.once = WEFT_ONCE_INIT};
    struct caller c[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct caller){.s = &s, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, call_once, &c[i]), 0);
    }
    __atomic_store_n(&s.go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(s.runs, 1);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(s.saw_value[i], 1);
    assert_int_equal(s.once._state, 3);
    assert_int_equal(s.once._runner, 0);
}

static void test_eight_threads(void **state)
{
    for (int round = 0; round < 5; round++)
        run_race();
}

/* Many quick races, with a fast fn: exactly once each. */
struct quick {
    weft_once once;
    int runs;
    int go;
};

static void quick_init(void *arg)
{
    __atomic_fetch_add(&((struct quick *)arg)->runs, 1, __ATOMIC_RELAXED);
}

static void *quick_caller(void *arg)
{
    struct quick *q = arg;
    while (!__atomic_load_n(&q->go, __ATOMIC_ACQUIRE))
        sched_yield();
    assert_int_equal(weft_once_call(&q->once, quick_init, q), 0);
    return NULL;
}

static void test_stress_many_onces(void **state)
{
    long rounds = SCALE(300);
    for (long r = 0; r < rounds; r++) {
        struct quick q = {.once = WEFT_ONCE_INIT};
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&th[i], NULL, quick_caller, &q), 0);
        __atomic_store_n(&q.go, 1, __ATOMIC_RELEASE);
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(q.runs, 1);
        assert_true(weft_once_done(&q.once));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_runs_once),
        cmocka_unit_test(test_recursive_deadlk),
        cmocka_unit_test(test_eight_threads),
        cmocka_unit_test(test_stress_many_onces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
