#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "weft/sync.h"
#include "sync/test_sync_util.h"

static bool always_false(void *arg)
{
    return false;
}

static bool flag_is_set(void *arg)
{
    return *(int *)arg != 0;
}

static void test_null_and_perm(void **state)
{
    weft_lock l = WEFT_LOCK_INIT;
    weft_rlock r = WEFT_RLOCK_INIT;
    weft_cond c, cr;
    assert_int_equal(weft_cond_init(NULL, &l), -EINVAL);
    assert_int_equal(weft_cond_init(&c, NULL), -EINVAL);
    assert_int_equal(weft_cond_init_rlock(NULL, &r), -EINVAL);
    assert_int_equal(weft_cond_init_rlock(&cr, NULL), -EINVAL);
    assert_int_equal(weft_cond_init(&c, &l), 0);
    assert_int_equal(weft_cond_init_rlock(&cr, &r), 0);
    assert_int_equal(weft_cond_wait(NULL, 0), -EINVAL);
    assert_int_equal(weft_cond_wait_for(NULL, always_false, NULL, 0), -EINVAL);
    assert_int_equal(weft_cond_notify(NULL, 1), -EINVAL);
    assert_int_equal(weft_cond_notify_all(NULL), -EINVAL);

    /* Lock not held: -EPERM, nothing released or taken. */
    assert_int_equal(weft_cond_wait(&c, 0), -EPERM);
    assert_int_equal(weft_cond_wait_for(&c, always_false, NULL, 0), -EPERM);
    assert_int_equal(weft_cond_notify(&c, 1), -EPERM);
    assert_int_equal(weft_cond_notify_all(&c), -EPERM);
    assert_false(weft_lock_locked(&l));
    assert_int_equal(weft_cond_wait(&cr, 0), -EPERM);
    assert_int_equal(weft_cond_notify(&cr, 1), -EPERM);
    assert_int_equal(weft_cond_notify_all(&cr), -EPERM);

    /* Held: bad arguments are -EINVAL and leave it held. */
    assert_int_equal(weft_lock_acquire(&l, WEFT_FOREVER), 0);
    assert_int_equal(weft_cond_wait_for(&c, NULL, NULL, 0), -EINVAL);
    assert_int_equal(weft_cond_wait(&c, NAN), -EINVAL);
    assert_int_equal(weft_cond_notify(&c, 3), 0); /* nobody waiting: fine */
    assert_int_equal(weft_cond_notify_all(&c), 0);
    assert_true(weft_lock_locked(&l));
    assert_int_equal(weft_lock_release(&l), 0);
}

struct perm_other {
    weft_cond *c;
    int rc_wait, rc_notify;
};

static void *rlock_other(void *arg)
{
    struct perm_other *p = arg;
    p->rc_wait = weft_cond_wait(p->c, 0);
    p->rc_notify = weft_cond_notify(p->c, 1);
    return NULL;
}

/* An RLock held by another thread is not held by the caller. */
static void test_rlock_perm_other_thread(void **state)
{
    weft_rlock r = WEFT_RLOCK_INIT;
    weft_cond c = WEFT_COND_INIT_RLOCK(&r);
    assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), 0);
    struct perm_other p = {.c = &c};
    t_run(1, rlock_other, &p, 0);
    assert_int_equal(p.rc_wait, -EPERM);
    assert_int_equal(p.rc_notify, -EPERM);
    assert_int_equal(weft_rlock_release(&r), 0);
}

static void test_timeout_lock(void **state)
{
    weft_lock l = WEFT_LOCK_INIT;
    weft_cond c = WEFT_COND_INIT(&l);
    assert_int_equal(weft_lock_acquire(&l, WEFT_FOREVER), 0);
    assert_int_equal(weft_cond_wait(&c, 0), -ETIMEDOUT);
    assert_true(weft_lock_locked(&l));
    double t0 = t_now();
    assert_int_equal(weft_cond_wait(&c, 0.05), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 2.0);
    assert_true(weft_lock_locked(&l));
    assert_null(c._head); /* the timed-out node left the queue */
    assert_null(c._tail);
    assert_int_equal(weft_lock_release(&l), 0);
}

static void test_timeout_rlock_restores_depth(void **state)
{
    weft_rlock r = WEFT_RLOCK_INIT;
    weft_cond c;
    assert_int_equal(weft_cond_init_rlock(&c, &r), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_rlock_acquire(&r, WEFT_FOREVER), 0);
    double t0 = t_now();
    assert_int_equal(weft_cond_wait(&c, 0.05), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 2.0);
    assert_true(weft_rlock_is_owned(&r));
    assert_int_equal(weft_rlock_depth(&r), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_rlock_release(&r), 0);
    assert_int_equal(weft_rlock_release(&r), -EPERM);
}

/* ---- waiters started one by one, notified one by one ---- */

#define WAITERS 4

struct group {
    weft_lock lock;
    weft_cond cond;
    int queued;  /* waiters inside wait (guarded by lock) */
    int woken;   /* waiters that returned (atomic) */
    int order[WAITERS];
    int norder;  /* guarded by lock */
    int rc[WAITERS];
};

struct member {
    struct group *g;
    int id;
};

static void *group_waiter(void *arg)
{
    struct member *m = arg;
    struct group *g = m->g;
    assert_int_equal(weft_lock_acquire(&g->lock, WEFT_FOREVER), 0);
    g->queued++;
    g->rc[m->id] = weft_cond_wait(&g->cond, 30.0);
    g->order[g->norder++] = m->id;
    __atomic_fetch_add(&g->woken, 1, __ATOMIC_RELEASE);
    assert_int_equal(weft_lock_release(&g->lock), 0);
    return NULL;
}

/* Start WAITERS threads, each one queued before the next starts. Once the main
 * thread takes the lock and sees queued == i + 1, waiter i is in the queue:
 * it incremented under the lock and wait() queues it before letting go. */
static void group_start(struct group *g, struct member *m, pthread_t *th)
{
    weft_lock_init(&g->lock, "group");
    weft_cond_init(&g->cond, &g->lock);
    for (int i = 0; i < WAITERS; i++) {
        m[i] = (struct member){.g = g, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, group_waiter, &m[i]), 0);
        for (;;) {
            weft_lock_acquire(&g->lock, WEFT_FOREVER);
            int q = g->queued;
            weft_lock_release(&g->lock);
            if (q == i + 1)
                break;
            sched_yield();
        }
    }
}

static void notify_locked(struct group *g, unsigned n)
{
    assert_int_equal(weft_lock_acquire(&g->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_cond_notify(&g->cond, n), 0);
    assert_int_equal(weft_lock_release(&g->lock), 0);
}

/* notify(1) wakes exactly one waiter, the oldest; no spurious wake-ups. */
static void test_notify_exact_fifo(void **state)
{
    struct group g = {0};
    struct member m[WAITERS];
    pthread_t th[WAITERS];
    group_start(&g, m, th);
    t_sleep(0.05);
    assert_int_equal(__atomic_load_n(&g.woken, __ATOMIC_ACQUIRE), 0);
    for (int i = 0; i < WAITERS; i++) {
        notify_locked(&g, 1);
        t_await_at_least(&g.woken, i + 1);
        t_sleep(0.05); /* a second wake-up, if any, would show now */
        assert_int_equal(__atomic_load_n(&g.woken, __ATOMIC_ACQUIRE), i + 1);
    }
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(g.order[i], i);
        assert_int_equal(g.rc[i], 0);
    }
}

/* notify(2) wakes two, notify_all the rest. */
static void test_notify_n_and_all(void **state)
{
    struct group g = {0};
    struct member m[WAITERS];
    pthread_t th[WAITERS];
    group_start(&g, m, th);
    notify_locked(&g, 2);
    t_await_at_least(&g.woken, 2);
    t_sleep(0.05);
    assert_int_equal(__atomic_load_n(&g.woken, __ATOMIC_ACQUIRE), 2);
    assert_int_equal(weft_lock_acquire(&g.lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_cond_notify_all(&g.cond), 0);
    assert_null(g.cond._head);
    assert_int_equal(weft_lock_release(&g.lock), 0);
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(g.woken, WAITERS);
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(g.rc[i], 0);
    /* The first two out are the two oldest, in either order. */
    assert_int_equal(g.order[0] + g.order[1], 1);
}

/* A waiter whose deadline passed while the notifier held the lock is still in
 * the queue; the notify picks it and its wait returns 0: never lost. */
struct late {
    weft_lock lock;
    weft_cond cond;
    int ready;
    int rc;
};

static void *late_waiter(void *arg)
{
    struct late *s = arg;
    weft_lock_acquire(&s->lock, WEFT_FOREVER);
    s->ready = 1;
    s->rc = weft_cond_wait(&s->cond, 0.05);
    weft_lock_release(&s->lock);
    return NULL;
}

static void test_notify_after_deadline_not_lost(void **state)
{
    struct late s = {.lock = WEFT_LOCK_INIT, .rc = 99};
    weft_cond_init(&s.cond, &s.lock);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, late_waiter, &s), 0);
    for (;;) {
        weft_lock_acquire(&s.lock, WEFT_FOREVER);
        if (s.ready)
            break; /* keep the lock: the waiter is queued and asleep */
        weft_lock_release(&s.lock);
        sched_yield();
    }
    t_sleep(0.2); /* its deadline passes; it now waits for the lock */
    assert_non_null(s.cond._head);
    assert_int_equal(weft_cond_notify(&s.cond, 1), 0);
    assert_null(s.cond._head);
    weft_lock_release(&s.lock);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.rc, 0);
}

/* A waiter that timed out is gone: the next notify goes to a live waiter. */
static void test_timed_out_waiter_dequeued(void **state)
{
    struct late s = {.lock = WEFT_LOCK_INIT, .rc = 99};
    weft_cond_init(&s.cond, &s.lock);
    assert_int_equal(weft_lock_acquire(&s.lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_cond_wait(&s.cond, 0.01), -ETIMEDOUT);
    assert_int_equal(weft_lock_release(&s.lock), 0);

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, late_waiter, &s), 0);
    for (;;) {
        weft_lock_acquire(&s.lock, WEFT_FOREVER);
        if (s.ready)
            break;
        weft_lock_release(&s.lock);
        sched_yield();
    }
    /* late_waiter's wait has a 50 ms timeout; notify at once. */
    assert_int_equal(weft_cond_notify(&s.cond, 1), 0);
    weft_lock_release(&s.lock);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.rc, 0);
}

/* ---- RLock condition: depth restored after a notified wait ---- */

struct rshared {
    weft_rlock r;
    weft_cond c;
    int flag;
    int rc;
    unsigned depth_after;
    bool owned_after;
};

static void *rlock_waiter(void *arg)
{
    struct rshared *s = arg;
    for (int i = 0; i < 3; i++)
        weft_rlock_acquire(&s->r, WEFT_FOREVER);
    s->rc = weft_cond_wait_for(&s->c, flag_is_set, &s->flag, 30.0);
    s->depth_after = weft_rlock_depth(&s->r);
    s->owned_after = weft_rlock_is_owned(&s->r);
    for (int i = 0; i < 3; i++)
        weft_rlock_release(&s->r);
    return NULL;
}

static void test_rlock_wait_notify(void **state)
{
    struct rshared s = {.r = WEFT_RLOCK_INIT};
    weft_cond_init_rlock(&s.c, &s.r);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rlock_waiter, &s), 0);
    t_sleep(0.05);
    assert_int_equal(weft_rlock_acquire(&s.r, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&s.r, WEFT_FOREVER), 0);
    s.flag = 1;
    assert_int_equal(weft_cond_notify_all(&s.c), 0);
    assert_int_equal(weft_rlock_release(&s.r), 0);
    assert_int_equal(weft_rlock_release(&s.r), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.depth_after, 3);
    assert_true(s.owned_after);
    assert_int_equal(weft_rlock_owner(&s.r), 0);
}

/* ---- wait_for ---- */

static int calls;
static bool count_calls_false(void *arg)
{
    calls++;
    return false;
}

static void test_wait_for(void **state)
{
    weft_lock l = WEFT_LOCK_INIT;
    weft_cond c = WEFT_COND_INIT(&l);
    int flag = 1;
    assert_int_equal(weft_lock_acquire(&l, WEFT_FOREVER), 0);
    assert_int_equal(weft_cond_wait_for(&c, flag_is_set, &flag, WEFT_FOREVER), 0);
    calls = 0;
    assert_int_equal(weft_cond_wait_for(&c, count_calls_false, NULL, 0), -ETIMEDOUT);
    assert_int_equal(calls, 2); /* as Python: check, wait(0), check */
    double t0 = t_now();
    assert_int_equal(weft_cond_wait_for(&c, always_false, NULL, 0.05), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 2.0);
    assert_true(weft_lock_locked(&l));
    assert_int_equal(weft_lock_release(&l), 0);
}

/* wait_for keeps one overall deadline across wake-ups that leave pred false. */
struct nagger {
    weft_lock *l;
    weft_cond *c;
    int stop;
};

static void *nag(void *arg)
{
    struct nagger *n = arg;
    while (!__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE)) {
        weft_lock_acquire(n->l, WEFT_FOREVER);
        weft_cond_notify_all(n->c);
        weft_lock_release(n->l);
        t_sleep(0.005);
    }
    return NULL;
}

static void test_wait_for_one_deadline(void **state)
{
    weft_lock l = WEFT_LOCK_INIT;
    weft_cond c = WEFT_COND_INIT(&l);
    struct nagger n = {.l = &l, .c = &c};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, nag, &n), 0);
    weft_lock_acquire(&l, WEFT_FOREVER);
    double t0 = t_now();
    assert_int_equal(weft_cond_wait_for(&c, always_false, NULL, 0.1), -ETIMEDOUT);
    double dt = t_now() - t0;
    weft_lock_release(&l);
    __atomic_store_n(&n.stop, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(dt >= 0.095 && dt < 2.0);
}

/* ---- stress: bounded buffer, every item exactly once ---- */

#define CAP 16
#define PRODUCERS 3
#define CONSUMERS 3

struct buffer {
    weft_lock lock;
    weft_cond not_full, not_empty;
    long items[CAP];
    int head, count;
    long next;      /* next item to produce */
    long total;     /* items to move */
    long taken;     /* items consumed */
    unsigned char *seen;
    long long sum;
};

static void *producer(void *arg)
{
    struct buffer *b = arg;
    for (;;) {
        weft_lock_acquire(&b->lock, WEFT_FOREVER);
        while (b->count == CAP)
            assert_int_equal(weft_cond_wait(&b->not_full, WEFT_FOREVER), 0);
        if (b->next == b->total) {
            weft_lock_release(&b->lock);
            return NULL;
        }
        b->items[(b->head + b->count) % CAP] = b->next++;
        b->count++;
        assert_int_equal(weft_cond_notify(&b->not_empty, 1), 0);
        weft_lock_release(&b->lock);
    }
}

static bool has_item_or_done(void *arg)
{
    struct buffer *b = arg;
    return b->count > 0 || b->taken == b->total;
}

static void *consumer(void *arg)
{
    struct buffer *b = arg;
    for (;;) {
        weft_lock_acquire(&b->lock, WEFT_FOREVER);
        assert_int_equal(weft_cond_wait_for(&b->not_empty, has_item_or_done, b, WEFT_FOREVER), 0);
        if (b->count == 0) { /* everything taken */
            weft_lock_release(&b->lock);
            return NULL;
        }
        long item = b->items[b->head];
        b->head = (b->head + 1) % CAP;
        b->count--;
        assert_int_equal(b->seen[item], 0);
        b->seen[item] = 1;
        b->sum += item;
        if (++b->taken == b->total)
            weft_cond_notify_all(&b->not_empty); /* release the other consumers */
        assert_int_equal(weft_cond_notify(&b->not_full, 1), 0);
        weft_lock_release(&b->lock);
    }
}

static void test_stress_bounded_buffer(void **state)
{
    struct buffer b = {.lock = WEFT_LOCK_INIT, .total = 100000};
    weft_cond_init(&b.not_full, &b.lock);
    weft_cond_init(&b.not_empty, &b.lock);
    b.seen = calloc((size_t)b.total, 1);
    assert_non_null(b.seen);
    pthread_t th[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, producer, &b), 0);
    for (int i = 0; i < CONSUMERS; i++)
        assert_int_equal(pthread_create(&th[PRODUCERS + i], NULL, consumer, &b), 0);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(b.taken, b.total);
    for (long i = 0; i < b.total; i++)
        assert_int_equal(b.seen[i], 1);
    assert_true(b.sum == (long long)b.total * (b.total - 1) / 2);
    assert_null(b.not_full._head);
    assert_null(b.not_empty._head);
    free(b.seen);
}

/* ---- stress: notify(1) per token, timed waiters: tokens neither lost nor
 * duplicated ---- */

struct tokens {
    weft_lock lock;
    weft_cond cond;
    long available; /* guarded by lock */
    long consumed;  /* guarded by lock */
    long total;
};

static void *token_consumer(void *arg)
{
    struct tokens *t = arg;
    weft_lock_acquire(&t->lock, WEFT_FOREVER);
    for (;;) {
        while (t->available == 0 && t->consumed < t->total) {
            int rc = weft_cond_wait(&t->cond, 0.001); /* short: timeouts race notifies */
            assert_true(rc == 0 || rc == -ETIMEDOUT);
        }
        if (t->consumed == t->total)
            break;
        t->available--;
        t->consumed++;
    }
    weft_cond_notify_all(&t->cond);
    weft_lock_release(&t->lock);
    return NULL;
}

static void test_stress_timed_waiters(void **state)
{
    struct tokens t = {.lock = WEFT_LOCK_INIT, .total = SCALE(50000)};
    weft_cond_init(&t.cond, &t.lock);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, token_consumer, &t), 0);
    for (long i = 0; i < t.total; i++) {
        weft_lock_acquire(&t.lock, WEFT_FOREVER);
        t.available++;
        assert_int_equal(weft_cond_notify(&t.cond, 1), 0);
        weft_lock_release(&t.lock);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(t.consumed, t.total);
    assert_int_equal(t.available, 0);
    assert_null(t.cond._head);
    assert_null(t.cond._tail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_and_perm),
        cmocka_unit_test(test_rlock_perm_other_thread),
        cmocka_unit_test(test_timeout_lock),
        cmocka_unit_test(test_timeout_rlock_restores_depth),
        cmocka_unit_test(test_notify_exact_fifo),
        cmocka_unit_test(test_notify_n_and_all),
        cmocka_unit_test(test_notify_after_deadline_not_lost),
        cmocka_unit_test(test_timed_out_waiter_dequeued),
        cmocka_unit_test(test_rlock_wait_notify),
        cmocka_unit_test(test_wait_for),
        cmocka_unit_test(test_wait_for_one_deadline),
        cmocka_unit_test(test_stress_bounded_buffer),
        cmocka_unit_test(test_stress_timed_waiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
