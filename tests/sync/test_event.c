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
    assert_int_equal(weft_event_init(NULL), -EINVAL);
    assert_int_equal(weft_event_set(NULL), -EINVAL);
    assert_int_equal(weft_event_clear(NULL), -EINVAL);
    assert_false(weft_event_is_set(NULL));
    assert_int_equal(weft_event_wait(NULL, 0), -EINVAL);
    weft_event e = WEFT_EVENT_INIT;
    assert_int_equal(weft_event_wait(&e, NAN), -EINVAL);
}

static void test_basic(void **state)
{
    weft_event e;
    assert_int_equal(weft_event_init(&e), 0);
    assert_false(weft_event_is_set(&e));
    assert_int_equal(weft_event_wait(&e, 0), -ETIMEDOUT);
    double t0 = t_now();
    assert_int_equal(weft_event_wait(&e, 0.05), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 2.0);
    assert_int_equal(weft_event_set(&e), 0);
    assert_true(weft_event_is_set(&e));
    assert_int_equal(weft_event_set(&e), 0); /* idempotent */
    assert_true(weft_event_is_set(&e));
    assert_int_equal(weft_event_wait(&e, 0), 0);
    assert_int_equal(weft_event_wait(&e, WEFT_FOREVER), 0);
    assert_int_equal(weft_event_wait(&e, 1.0), 0);
    assert_int_equal(weft_event_clear(&e), 0);
    assert_false(weft_event_is_set(&e));
    assert_int_equal(weft_event_clear(&e), 0);
    assert_false(weft_event_is_set(&e));
    assert_int_equal(weft_event_wait(&e, 0), -ETIMEDOUT);
}

static void test_static_init(void **state)
{
    static weft_event e = WEFT_EVENT_INIT;
    assert_false(weft_event_is_set(&e));
    weft_event_set(&e);
    assert_true(weft_event_is_set(&e));
}

/* ---- waiters ---- */

#define WAITERS 5

struct crowd {
    weft_event ev;
    double timeout;
    int done;
    int rc[WAITERS];
    long payload; /* written before set(), read after wait() */
    long seen[WAITERS];
};

struct member {
    struct crowd *c;
    int id;
};

static void *waiter(void *arg)
{
    struct member *m = arg;
    m->c->rc[m->id] = weft_event_wait(&m->c->ev, m->c->timeout);
    if (m->c->rc[m->id] == 0)
        m->c->seen[m->id] = m->c->payload; /* ordered by set()/wait() */
    __atomic_fetch_add(&m->c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void start_crowd(struct crowd *c, struct member *m, pthread_t *th)
{
    for (int i = 0; i < WAITERS; i++) {
        m[i] = (struct member){.c = c, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, waiter, &m[i]), 0);
    }
    /* Waiters with a short timeout may give up before the last one registers
     * (a loaded machine, TSan): only wait for all of them to be asleep when
     * their timeout is long enough not to matter. */
    if (c->timeout >= 0 && c->timeout < 1.0)
        return;
    /* White box: each waiter counts itself in _waiters after reading the word. */
    double end = t_now() + 10;
    while (__atomic_load_n(&c->ev._waiters, __ATOMIC_ACQUIRE) < WAITERS) {
        assert_true(t_now() < end);
        sched_yield();
    }
}

static void join_crowd(struct crowd *c, pthread_t *th)
{
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(c->done, WAITERS);
}

static void test_set_wakes_all(void **state)
{
    struct crowd c = {.ev = WEFT_EVENT_INIT, .timeout = 30.0};
    struct member m[WAITERS];
    pthread_t th[WAITERS];
    start_crowd(&c, m, th);
    t_sleep(0.05);
    assert_int_equal(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE), 0);
    c.payload = 42;
    assert_int_equal(weft_event_set(&c.ev), 0);
    join_crowd(&c, th);
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(c.rc[i], 0);
        assert_int_equal(c.seen[i], 42);
    }
    assert_int_equal(c.ev._waiters, 0);
}

/* set() then clear() at once still releases everyone already waiting. */
static void test_pulse_wakes_all(void **state)
{
    /* Finite timeout: a missed pulse fails as -ETIMEDOUT instead of hanging. */
    struct crowd c = {.ev = WEFT_EVENT_INIT, .timeout = 10.0};
    struct member m[WAITERS];
    pthread_t th[WAITERS];
    start_crowd(&c, m, th);
    c.payload = 7;
    assert_int_equal(weft_event_set(&c.ev), 0);
    assert_int_equal(weft_event_clear(&c.ev), 0);
    join_crowd(&c, th);
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(c.rc[i], 0);
        assert_int_equal(c.seen[i], 7);
    }
    assert_false(weft_event_is_set(&c.ev));
}

static void test_waiters_time_out(void **state)
{
    struct crowd c = {.ev = WEFT_EVENT_INIT, .timeout = 0.05};
    struct member m[WAITERS];
    pthread_t th[WAITERS];
    double t0 = t_now();
    start_crowd(&c, m, th);
    join_crowd(&c, th);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 5.0);
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(c.rc[i], -ETIMEDOUT);
    assert_int_equal(c.ev._waiters, 0);
}

/* ---- stress: rounds of set/clear handshakes, nobody misses a round ---- */

#define PLAYERS 4

struct rounds {
    weft_event go;        /* set by the leader to start a round */
    weft_event ack[PLAYERS];
    long rounds;
    long count[PLAYERS];
};

struct player {
    struct rounds *r;
    int id;
};

static void *player(void *arg)
{
    struct player *p = arg;
    struct rounds *r = p->r;
    for (long i = 0; i < r->rounds; i++) {
        assert_int_equal(weft_event_wait(&r->go, (i % 2) ? 30.0 : WEFT_FOREVER), 0);
        p->r->count[p->id]++;
        assert_int_equal(weft_event_set(&r->ack[p->id]), 0);
        /* The leader clears `go`, then our ack: once the ack is clear, `go` is
         * clear too (or already set for the next round). */
        while (weft_event_is_set(&r->ack[p->id]))
            sched_yield();
    }
    return NULL;
}

static void test_stress_rounds(void **state)
{
    struct rounds r = {.go = WEFT_EVENT_INIT, .rounds = SCALE(5000)};
    struct player p[PLAYERS];
    pthread_t th[PLAYERS];
    for (int i = 0; i < PLAYERS; i++) {
        weft_event_init(&r.ack[i]);
        p[i] = (struct player){.r = &r, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, player, &p[i]), 0);
    }
    for (long i = 0; i < r.rounds; i++) {
        assert_int_equal(weft_event_set(&r.go), 0);
        for (int k = 0; k < PLAYERS; k++)
            assert_int_equal(weft_event_wait(&r.ack[k], 30.0), 0);
        weft_event_clear(&r.go);
        for (int k = 0; k < PLAYERS; k++)
            weft_event_clear(&r.ack[k]);
    }
    for (int i = 0; i < PLAYERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < PLAYERS; i++)
        assert_int_equal(r.count[i], r.rounds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_static_init),
        cmocka_unit_test(test_set_wakes_all),
        cmocka_unit_test(test_pulse_wakes_all),
        cmocka_unit_test(test_waiters_time_out),
        cmocka_unit_test(test_stress_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
