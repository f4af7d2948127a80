#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weft/sync.h"
#include "sync/test_sync_util.h"

static void test_init_errors(void **state)
{
    weft_barrier b;
    unsigned idx = 99;
    assert_int_equal(weft_barrier_init(NULL, 2, NULL), -EINVAL);
    assert_int_equal(weft_barrier_init(&b, 0, NULL), -EINVAL);
    assert_int_equal(weft_barrier_init(&b, 2, &(weft_barrier_opts){.timeout = NAN}), -EINVAL);
    assert_int_equal(weft_barrier_wait(NULL, &idx), -EINVAL);
    assert_int_equal(weft_barrier_wait_timeout(NULL, 1.0, &idx), -EINVAL);
    assert_int_equal(weft_barrier_reset(NULL), -EINVAL);
    assert_int_equal(weft_barrier_abort(NULL), -EINVAL);
    assert_int_equal(weft_barrier_parties(NULL), 0);
    assert_int_equal(weft_barrier_n_waiting(NULL), 0);
    assert_false(weft_barrier_broken(NULL));
    assert_int_equal(idx, 99);
    assert_int_equal(weft_barrier_init(&b, 3, NULL), 0);
    assert_int_equal(weft_barrier_wait_timeout(&b, NAN, &idx), -EINVAL);
    assert_int_equal(weft_barrier_parties(&b), 3);
    assert_int_equal(weft_barrier_n_waiting(&b), 0);
    assert_false(weft_barrier_broken(&b));
}

static int action_calls;
static int count_action(void *arg)
{
    action_calls++;
    *(int *)arg += 1;
    return 0;
}

static void test_single_party(void **state)
{
    weft_barrier b;
    int arg = 0;
    action_calls = 0;
    assert_int_equal(weft_barrier_init(&b, 1, &(weft_barrier_opts){.action = count_action,
                                                                    .action_arg = &arg}),
                     0);
    for (int i = 0; i < 3; i++) {
        unsigned idx = 99;
        assert_int_equal(weft_barrier_wait(&b, &idx), 0);
        assert_int_equal(idx, 0);
    }
    assert_int_equal(weft_barrier_wait(&b, NULL), 0);
    assert_int_equal(arg, 4);
    assert_int_equal(action_calls, 4);
}

/* ---- helpers: threads that wait once and record the result ---- */

struct one {
    weft_barrier *b;
    double timeout; /* 0 here: use weft_barrier_wait (default timeout) */
    bool use_default;
    int rc;
    unsigned idx;
    int done;
};

static void *wait_once(void *arg)
{
    struct one *o = arg;
    o->idx = 999;
    o->rc = o->use_default ? weft_barrier_wait(o->b, &o->idx)
                           : weft_barrier_wait_timeout(o->b, o->timeout, &o->idx);
    __atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void await_waiting(weft_barrier *b, unsigned n)
{
    double end = t_now() + 10;
    while (weft_barrier_n_waiting(b) != n) {
        assert_true(t_now() < end);
        sched_yield();
    }
}

static void test_abort_breaks_waiters(void **state)
{
    weft_barrier b;
    weft_barrier_init(&b, 3, NULL);
    struct one o[2] = {{.b = &b, .timeout = WEFT_FOREVER}, {.b = &b, .timeout = 30.0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, wait_once, &o[i]), 0);
    await_waiting(&b, 2);
    assert_int_equal(weft_barrier_abort(&b), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(o[i].rc, -WEFT_EBROKEN);
        assert_int_equal(o[i].idx, 999); /* untouched on failure */
    }
    assert_true(weft_barrier_broken(&b));
    assert_int_equal(weft_barrier_n_waiting(&b), 0);
    assert_int_equal(weft_barrier_wait_timeout(&b, 1.0, NULL), -WEFT_EBROKEN);
    assert_int_equal(weft_barrier_wait(&b, NULL), -WEFT_EBROKEN);
    /* reset makes it usable again */
    assert_int_equal(weft_barrier_reset(&b), 0);
    assert_false(weft_barrier_broken(&b));
    for (int i = 0; i < 2; i++) {
        o[i].done = 0;
        assert_int_equal(pthread_create(&th[i], NULL, wait_once, &o[i]), 0);
    }
    unsigned idx = 99;
    await_waiting(&b, 2);
    assert_int_equal(weft_barrier_wait(&b, &idx), 0);
    assert_int_equal(idx, 2); /* the last to arrive gets parties - 1 */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(o[i].rc, 0);
    }
    assert_int_equal(o[0].idx + o[1].idx, 1);
}

static void test_timeout_breaks(void **state)
{
    weft_barrier b;
    weft_barrier_init(&b, 3, NULL);
    struct one forever = {.b = &b, .timeout = WEFT_FOREVER};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_once, &forever), 0);
    await_waiting(&b, 1);
    double t0 = t_now();
    assert_int_equal(weft_barrier_wait_timeout(&b, 0.05, NULL), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 2.0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(forever.rc, -WEFT_EBROKEN);
    assert_true(weft_barrier_broken(&b));
    assert_int_equal(weft_barrier_wait_timeout(&b, 0.05, NULL), -WEFT_EBROKEN);
    assert_int_equal(weft_barrier_reset(&b), 0);
    assert_false(weft_barrier_broken(&b));
}

static void test_nonblocking_wait_breaks(void **state)
{
    weft_barrier b;
    weft_barrier_init(&b, 2, NULL);
    assert_int_equal(weft_barrier_wait_timeout(&b, 0, NULL), -ETIMEDOUT);
    assert_true(weft_barrier_broken(&b));
    weft_barrier_reset(&b);
    /* but the last party with timeout 0 completes the round */
    struct one o = {.b = &b, .timeout = WEFT_FOREVER};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_once, &o), 0);
    await_waiting(&b, 1);
    unsigned idx = 99;
    assert_int_equal(weft_barrier_wait_timeout(&b, 0, &idx), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.idx, 0);
}

static void test_default_timeout(void **state)
{
    weft_barrier b;
    weft_barrier_init(&b, 2, &(weft_barrier_opts){.timeout = 0.05});
    double t0 = t_now();
    assert_int_equal(weft_barrier_wait(&b, NULL), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 2.0);
    assert_true(weft_barrier_broken(&b));
    /* an explicit timeout overrides the default */
    weft_barrier_reset(&b);
    struct one o = {.b = &b, .timeout = 10.0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_once, &o), 0);
    t_sleep(0.1); /* longer than the default timeout */
    assert_int_equal(weft_barrier_n_waiting(&b), 1);
    assert_int_equal(weft_barrier_wait(&b, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(o.rc, 0);
}

static int failing_action(void *arg)
{
    *(pthread_t *)arg = pthread_self();
    return -EIO;
}

static int positive_action(void *arg)
{
    return EIO;
}

static void test_failing_action(void **state)
{
    weft_barrier b;
    pthread_t ran;
    weft_barrier_init(&b, 2, &(weft_barrier_opts){.action = failing_action, .action_arg = &ran});
    struct one o = {.b = &b, .timeout = WEFT_FOREVER};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_once, &o), 0);
    await_waiting(&b, 1);
    assert_int_equal(weft_barrier_wait(&b, NULL), -EIO); /* we arrived last */
    assert_true(pthread_equal(ran, pthread_self()));
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(o.rc, -WEFT_EBROKEN);
    assert_true(weft_barrier_broken(&b));

    weft_barrier p;
    weft_barrier_init(&p, 1, &(weft_barrier_opts){.action = positive_action});
    assert_int_equal(weft_barrier_wait(&p, NULL), -EIO); /* normalised to negative */
    assert_true(weft_barrier_broken(&p));
}

static void test_reset_while_waiting(void **state)
{
    weft_barrier b;
    weft_barrier_init(&b, 3, NULL);
    struct one o[2] = {{.b = &b, .timeout = WEFT_FOREVER}, {.b = &b, .timeout = WEFT_FOREVER}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, wait_once, &o[i]), 0);
    await_waiting(&b, 2);
    assert_int_equal(weft_barrier_reset(&b), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(o[i].rc, -WEFT_EBROKEN);
    }
    assert_false(weft_barrier_broken(&b));
    assert_int_equal(weft_barrier_n_waiting(&b), 0);
    /* a full round works after the reset */
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, wait_once, &o[i]), 0);
    await_waiting(&b, 2);
    assert_int_equal(weft_barrier_wait(&b, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(o[i].rc, 0);
    }
}

/* ---- stress: rounds, each round's indices exactly {0..parties-1} ---- */

#define PARTIES 5

struct rounds {
    weft_barrier b;
    long rounds;
    unsigned *idx;      /* [round * PARTIES + thread] */
    long actions;       /* run by the action (under the barrier's lock) */
    int last_idx_ok;    /* the action ran in the thread that got parties - 1 */
    pthread_t action_thread[1];
};

struct runner {
    struct rounds *r;
    int id;
};

static int round_action(void *arg)
{
    struct rounds *r = arg;
    r->actions++;
    r->action_thread[0] = pthread_self();
    return 0;
}

static void *round_runner(void *arg)
{
    struct runner *me = arg;
    struct rounds *r = me->r;
    for (long i = 0; i < r->rounds; i++) {
        unsigned idx = 999;
        int rc = (i % 2) ? weft_barrier_wait_timeout(&r->b, 60.0, &idx)
                         : weft_barrier_wait(&r->b, &idx);
        assert_int_equal(rc, 0);
        r->idx[i * PARTIES + me->id] = idx;
        /* The action ran before anyone was released, in the thread that got
         * the last index; that thread checks it (no other thread writes
         * action_thread until the next round completes, which needs us). */
        if (idx == PARTIES - 1)
            assert_true(pthread_equal(r->action_thread[0], pthread_self()));
    }
    return NULL;
}

static void test_stress_rounds(void **state)
{
    static struct rounds r;
    memset(&r, 0, sizeof r);
    r.rounds = SCALE(4000);
    r.idx = calloc((size_t)(r.rounds * PARTIES), sizeof(unsigned));
    assert_non_null(r.idx);
    weft_barrier_init(&r.b, PARTIES, &(weft_barrier_opts){.action = round_action, .action_arg = &r});
    struct runner run[PARTIES];
    for (int i = 0; i < PARTIES; i++)
        run[i] = (struct runner){.r = &r, .id = i};
    t_run(PARTIES, round_runner, run, sizeof run[0]);
    assert_int_equal(r.actions, r.rounds);
    for (long i = 0; i < r.rounds; i++) {
        unsigned seen = 0;
        for (int k = 0; k < PARTIES; k++) {
            unsigned idx = r.idx[i * PARTIES + k];
            assert_true(idx < PARTIES);
            seen |= 1u << idx;
        }
        assert_int_equal(seen, (1u << PARTIES) - 1);
    }
    assert_false(weft_barrier_broken(&r.b));
    assert_int_equal(weft_barrier_n_waiting(&r.b), 0);
    free(r.idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_single_party),
        cmocka_unit_test(test_abort_breaks_waiters),
        cmocka_unit_test(test_timeout_breaks),
        cmocka_unit_test(test_nonblocking_wait_breaks),
        cmocka_unit_test(test_default_timeout),
        cmocka_unit_test(test_failing_action),
        cmocka_unit_test(test_reset_while_waiting),
        cmocka_unit_test(test_stress_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
