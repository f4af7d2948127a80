/* Stress tests combining the primitives, each checking an exact invariant. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "weft/sync.h"
#include "sync/test_sync_util.h"

/* ---- a queue guarded by an RLock, waited on through its Condition while the
 * RLock is held twice: items are moved exactly once ---- */

#define CAP 8
#define SIDES 3

struct rqueue {
    weft_rlock r;
    weft_cond cond; /* one condition for "not empty" and "not full" */
    long items[CAP];
    int head, count;
    long total, produced, consumed;
    long long sum;
    unsigned char *seen;
};

static bool can_put(void *arg)
{
    struct rqueue *q = arg;
    return q->count < CAP || q->produced == q->total;
}

static bool can_get(void *arg)
{
    struct rqueue *q = arg;
    return q->count > 0 || q->consumed == q->total;
}

static void *rq_producer(void *arg)
{
    struct rqueue *q = arg;
    for (;;) {
        weft_rlock_acquire(&q->r, WEFT_FOREVER);
        weft_rlock_acquire(&q->r, WEFT_FOREVER); /* depth 2 across the wait */
        assert_int_equal(weft_cond_wait_for(&q->cond, can_put, q, WEFT_FOREVER), 0);
        assert_int_equal(weft_rlock_depth(&q->r), 2);
        bool done = q->produced == q->total;
        if (!done) {
            q->items[(q->head + q->count) % CAP] = q->produced++;
            q->count++;
            weft_cond_notify_all(&q->cond);
        }
        weft_rlock_release(&q->r);
        weft_rlock_release(&q->r);
        if (done)
            return NULL;
    }
}

static void *rq_consumer(void *arg)
{
    struct rqueue *q = arg;
    for (;;) {
        weft_rlock_acquire(&q->r, WEFT_FOREVER);
        weft_rlock_acquire(&q->r, WEFT_FOREVER);
        assert_int_equal(weft_cond_wait_for(&q->cond, can_get, q, WEFT_FOREVER), 0);
        bool done = q->count == 0;
        if (!done) {
            long item = q->items[q->head];
            q->head = (q->head + 1) % CAP;
            q->count--;
            q->consumed++;
            assert_int_equal(q->seen[item], 0);
            q->seen[item] = 1;
            q->sum += item;
            weft_cond_notify_all(&q->cond);
        }
        weft_rlock_release(&q->r);
        weft_rlock_release(&q->r);
        if (done)
            return NULL;
    }
}

static void test_rlock_condition_queue(void **state)
{
    struct rqueue q = {.r = WEFT_RLOCK_INIT, .total = SCALE(100000)};
    weft_cond_init_rlock(&q.cond, &q.r);
    q.seen = calloc((size_t)q.total, 1);
    assert_non_null(q.seen);
    pthread_t th[2 * SIDES];
    for (int i = 0; i < SIDES; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, rq_producer, &q), 0);
        assert_int_equal(pthread_create(&th[SIDES + i], NULL, rq_consumer, &q), 0);
    }
    for (int i = 0; i < 2 * SIDES; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(q.consumed, q.total);
    assert_true(q.sum == (long long)q.total * (q.total - 1) / 2);
    for (long i = 0; i < q.total; i++)
        assert_int_equal(q.seen[i], 1);
    assert_null(q.cond._head);
    assert_int_equal(weft_rlock_owner(&q.r), 0);
    free(q.seen);
}

/* ---- a Semaphore(1) as a mutex: exact counter ---- */

struct semcount {
    weft_sem sem;
    long value;
    long iters;
};

static void *sem_incr(void *arg)
{
    struct semcount *s = arg;
    for (long i = 0; i < s->iters; i++) {
        int rc;
        if (i % 5 == 0) {
            while ((rc = weft_sem_acquire(&s->sem, 0)) == -EBUSY)
                sched_yield();
        } else {
            rc = weft_sem_acquire(&s->sem, WEFT_FOREVER);
        }
        assert_int_equal(rc, 0);
        s->value++;
        assert_int_equal(weft_sem_release(&s->sem, 1), 0);
    }
    return NULL;
}

static void test_semaphore_as_mutex(void **state)
{
    struct semcount s = {.iters = SCALE(100000)};
    weft_sem_init_bounded(&s.sem, 1);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sem_incr, &s), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(s.value, 4 * s.iters);
    assert_int_equal(weft_sem_value(&s.sem), 1);
    assert_int_equal(weft_sem_release(&s.sem, 1), -EOVERFLOW);
}

/* ---- strict alternation of two threads through a Lock and a Condition ---- */

struct pingpong {
    weft_lock lock;
    weft_cond cond;
    int turn; /* 0 or 1, guarded by lock */
    long rounds;
    long trace_errors;
};

struct side {
    struct pingpong *p;
    int me;
};

static bool my_turn(void *arg)
{
    struct side *s = arg;
    return s->p->turn == s->me;
}

static void *player(void *arg)
{
    struct side *s = arg;
    struct pingpong *p = s->p;
    weft_lock_acquire(&p->lock, WEFT_FOREVER);
    for (long i = 0; i < p->rounds; i++) {
        assert_int_equal(weft_cond_wait_for(&p->cond, my_turn, s, WEFT_FOREVER), 0);
        if (p->turn != s->me)
            p->trace_errors++;
        p->turn = 1 - s->me;
        assert_int_equal(weft_cond_notify(&p->cond, 1), 0); /* the other one only */
    }
    weft_lock_release(&p->lock);
    return NULL;
}

static void test_ping_pong(void **state)
{
    struct pingpong p = {.lock = WEFT_LOCK_INIT, .rounds = SCALE(20000)};
    weft_cond_init(&p.cond, &p.lock);
    struct side s[2] = {{&p, 0}, {&p, 1}};
    t_run(2, player, s, sizeof s[0]);
    assert_int_equal(p.trace_errors, 0);
    assert_int_equal(p.turn, 0); /* 2 * rounds switches: back to the start */
}

/* ---- barrier rounds with a lock-protected tally checked after each round ---- */

#define PARTIES 4

struct tally {
    weft_barrier b;
    weft_lock lock;
    long total; /* guarded by lock */
    long rounds;
    long bad;   /* guarded by lock */
};

static void *tally_runner(void *arg)
{
    struct tally *t = arg;
    for (long i = 0; i < t->rounds; i++) {
        weft_lock_acquire(&t->lock, WEFT_FOREVER);
        t->total++;
        weft_lock_release(&t->lock);
        assert_int_equal(weft_barrier_wait(&t->b, NULL), 0);
        /* Everyone has added round i's share, nobody round i+1's yet: that
         * needs the second barrier below, which needs us. */
        weft_lock_acquire(&t->lock, WEFT_FOREVER);
        if (t->total != (i + 1) * PARTIES)
            t->bad++;
        weft_lock_release(&t->lock);
        assert_int_equal(weft_barrier_wait(&t->b, NULL), 0);
    }
    return NULL;
}

static void test_barrier_tally(void **state)
{
    struct tally t = {.lock = WEFT_LOCK_INIT, .rounds = SCALE(5000)};
    weft_barrier_init(&t.b, PARTIES, NULL);
    pthread_t th[PARTIES];
    for (int i = 0; i < PARTIES; i++)
        assert_int_equal(pthread_create(&th[i], NULL, tally_runner, &t), 0);
    for (int i = 0; i < PARTIES; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(t.bad, 0);
    assert_int_equal(t.total, PARTIES * t.rounds);
}

/* ---- Lock stress with lock-order checking switched on ---- */

struct nested {
    weft_lock outer, inner;
    long value;
    long iters;
};

static void *nested_incr(void *arg)
{
    struct nested *n = arg;
    for (long i = 0; i < n->iters; i++) {
        weft_lock_acquire(&n->outer, WEFT_FOREVER);
        weft_lock_acquire(&n->inner, 5.0);
        n->value++;
        weft_lock_release(&n->inner);
        weft_lock_release(&n->outer);
    }
    return NULL;
}

static void test_nested_locks_with_lockdep(void **state)
{
    bool was = weft_lockdep_enable(true);
    struct nested n = {.outer = WEFT_LOCK_INIT_NAMED("outer"),
                       .inner = WEFT_LOCK_INIT_NAMED("inner"),
                       .iters = SCALE(50000)};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, nested_incr, &n), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(n.value, 4 * n.iters);
    assert_int_equal(weft_lock_destroy(&n.inner), 0);
    assert_int_equal(weft_lock_destroy(&n.outer), 0);
    weft_lockdep_enable(was);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlock_condition_queue),
        cmocka_unit_test(test_semaphore_as_mutex),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_barrier_tally),
        cmocka_unit_test(test_nested_locks_with_lockdep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
