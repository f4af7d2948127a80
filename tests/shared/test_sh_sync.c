/* Shared Semaphore, Event, Condition and Barrier: every call and code, within one
 * process and across fork() children. */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>

#include "shared/test_sh_util.h"
#include "weft/shared.h"

struct shm {
    weft_shared_sem sem;
    weft_shared_event ev;
    weft_shared_lock lock;
    weft_shared_rlock rlock;
    weft_shared_cond cond;  /* on lock */
    weft_shared_cond rcond; /* on rlock */
    weft_shared_barrier bar;
    int started;
    int inside;     /* processes inside the semaphore now; atomic */
    int max_inside; /* the most seen at once; atomic */
    int ready;      /* guarded by lock (condition tests) */
    int woken;      /* atomic */
    int actions;    /* barrier actions run; guarded by bar's lock */
    int per_round[64];
    long iters;
    int rc;
    int use_rlock; /* test_cond_owner_death_rlock */
};

static struct shm *shm_new(void)
{
    struct shm *s = sh_map(sizeof *s);
    weft_shared_event_init(&s->ev);
    weft_shared_lock_init(&s->lock);
    weft_shared_rlock_init(&s->rlock);
    weft_shared_cond_init(&s->cond, &s->lock);
    weft_shared_cond_init_rlock(&s->rcond, &s->rlock);
    return s;
}

/* ---- Semaphore ---- */

static void test_sem_basic(void **state)
{
    weft_shared_sem s;
    assert_int_equal(weft_shared_sem_init(NULL, 1), -EINVAL);
    assert_int_equal(weft_shared_sem_init(&s, -1), -EINVAL);
    assert_int_equal(weft_shared_sem_acquire(NULL, 0), -EINVAL);
    assert_int_equal(weft_shared_sem_release(NULL, 1), -EINVAL);
    assert_int_equal(weft_shared_sem_value(NULL), 0);
    assert_int_equal(weft_shared_sem_init(&s, 2), 0);
    assert_int_equal(weft_shared_sem_acquire(&s, NAN), -EINVAL);
    assert_int_equal(weft_shared_sem_acquire(&s, 0), 0);
    assert_int_equal(weft_shared_sem_acquire(&s, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_sem_value(&s), 0);
    assert_int_equal(weft_shared_sem_acquire(&s, 0), -EBUSY);
    double t0 = t_now();
    assert_int_equal(weft_shared_sem_acquire(&s, 0.05), -ETIMEDOUT);
    assert_true(t_now() - t0 >= 0.045);
    assert_int_equal(weft_shared_sem_release(&s, 0), -EINVAL);
    assert_int_equal(weft_shared_sem_release(&s, 3), 0); /* unbounded */
    assert_int_equal(weft_shared_sem_value(&s), 3);
    weft_shared_sem b = WEFT_SHARED_BOUNDED_SEM_INIT(1);
    assert_int_equal(weft_shared_sem_release(&b, 1), -EOVERFLOW);
    assert_int_equal(weft_shared_sem_acquire(&b, 0), 0);
    assert_int_equal(weft_shared_sem_release(&b, 2), -EOVERFLOW);
    assert_int_equal(weft_shared_sem_value(&b), 0); /* nothing released */
    assert_int_equal(weft_shared_sem_release(&b, 1), 0);
    assert_int_equal(weft_shared_sem_init_bounded(&b, 2), 0);
    assert_int_equal(weft_shared_sem_release(&b, 1), -EOVERFLOW);
    weft_shared_sem u = WEFT_SHARED_SEM_INIT(0);
    assert_int_equal(weft_shared_sem_acquire(&u, 0), -EBUSY);
}

/* Up to `value` processes inside at once, and that many are reached. */
static int child_sem(void *arg)
{
    struct shm *s = arg;
    for (long i = 0; i < s->iters; i++) {
        CHILD_CHECK(weft_shared_sem_acquire(&s->sem, 30.0) == 0);
        int now = __atomic_add_fetch(&s->inside, 1, __ATOMIC_ACQ_REL);
        int seen = __atomic_load_n(&s->max_inside, __ATOMIC_RELAXED);
        while (now > seen && !__atomic_compare_exchange_n(&s->max_inside, &seen, now, true,
                                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        for (int k = 0; k < 200; k++) /* stay inside a little */
            __atomic_load_n(&s->inside, __ATOMIC_RELAXED);
        if (i % 16 == 0)
            sched_yield();
        __atomic_sub_fetch(&s->inside, 1, __ATOMIC_ACQ_REL);
        CHILD_CHECK(weft_shared_sem_release(&s->sem, 1) == 0);
    }
    return 0;
}

static void test_sem_processes(void **state)
{
    struct shm *s = shm_new();
    assert_int_equal(weft_shared_sem_init_bounded(&s->sem, 2), 0);
    s->iters = SH_SCALE(20000);
    pid_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = sh_spawn(child_sem, s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sh_reap(p[i]), 0);
    assert_int_equal(s->max_inside, 2);
    assert_int_equal(weft_shared_sem_value(&s->sem), 2);
    sh_unmap(s, sizeof *s);
}

static int child_sem_wait(void *arg)
{
    struct shm *s = arg;
    sh_bump(&s->started);
    CHILD_CHECK(weft_shared_sem_acquire(&s->sem, 10.0) == 0);
    return 0;
}

/* A unit taken by a process that dies is lost; release wakes a sleeper. */
static void test_sem_death_and_wake(void **state)
{
    struct shm *s = shm_new();
    assert_int_equal(weft_shared_sem_init(&s->sem, 1), 0);
    pid_t c = sh_spawn(child_sem_wait, s);
    assert_int_equal(sh_reap(c), 0); /* took the unit and exited */
    assert_int_equal(weft_shared_sem_value(&s->sem), 0);
    assert_int_equal(weft_shared_sem_acquire(&s->sem, 0), -EBUSY);
    c = sh_spawn(child_sem_wait, s);
    assert_true(sh_await(&s->started, 2));
    t_sleep(0.05);
    assert_int_equal(weft_shared_sem_release(&s->sem, 1), 0);
    assert_int_equal(sh_reap(c), 0);
    sh_unmap(s, sizeof *s);
}

/* ---- Event ---- */

static void test_event_basic(void **state)
{
    weft_shared_event e = WEFT_SHARED_EVENT_INIT;
    assert_int_equal(weft_shared_event_init(NULL), -EINVAL);
    assert_int_equal(weft_shared_event_set(NULL), -EINVAL);
    assert_int_equal(weft_shared_event_clear(NULL), -EINVAL);
    assert_false(weft_shared_event_is_set(NULL));
    assert_int_equal(weft_shared_event_wait(NULL, 0), -EINVAL);
    assert_int_equal(weft_shared_event_wait(&e, NAN), -EINVAL);
    assert_false(weft_shared_event_is_set(&e));
    assert_int_equal(weft_shared_event_wait(&e, 0), -ETIMEDOUT);
    double t0 = t_now();
    assert_int_equal(weft_shared_event_wait(&e, 0.05), -ETIMEDOUT);
    assert_true(t_now() - t0 >= 0.045);
    assert_int_equal(weft_shared_event_set(&e), 0);
    assert_int_equal(weft_shared_event_set(&e), 0);
    assert_true(weft_shared_event_is_set(&e));
    assert_int_equal(weft_shared_event_wait(&e, 0), 0);
    assert_int_equal(weft_shared_event_clear(&e), 0);
    assert_false(weft_shared_event_is_set(&e));
    assert_int_equal(weft_shared_event_init(&e), 0);
}

static int child_event_wait(void *arg)
{
    struct shm *s = arg;
    sh_bump(&s->started);
    CHILD_CHECK(weft_shared_event_wait(&s->ev, 10.0) == 0);
    sh_bump(&s->woken);
    return 0;
}

static void test_event_processes(void **state)
{
    struct shm *s = shm_new();
    pid_t p[3];
    for (int i = 0; i < 3; i++)
        p[i] = sh_spawn(child_event_wait, s);
    assert_true(sh_await(&s->started, 3));
    t_sleep(0.1); /* asleep on the futex */
    assert_int_equal(s->woken, 0);
    /* A pulse (set then clear at once) still releases every waiter. */
    assert_int_equal(weft_shared_event_set(&s->ev), 0);
    assert_int_equal(weft_shared_event_clear(&s->ev), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sh_reap(p[i]), 0);
    assert_int_equal(s->woken, 3);
    sh_unmap(s, sizeof *s);
}

/* ---- Condition ---- */

static void test_cond_basic(void **state)
{
    struct shm *s = shm_new();
    assert_int_equal(weft_shared_cond_init(NULL, &s->lock), -EINVAL);
    assert_int_equal(weft_shared_cond_init(&s->cond, NULL), -EINVAL);
    assert_int_equal(weft_shared_cond_init_rlock(&s->rcond, NULL), -EINVAL);
    assert_int_equal(weft_shared_cond_init(&s->cond, &s->lock), 0);
    assert_int_equal(weft_shared_cond_wait(NULL, 0), -EINVAL);
    assert_int_equal(weft_shared_cond_notify(NULL, 1), -EINVAL);
    /* Lock not held. */
    assert_int_equal(weft_shared_cond_wait(&s->cond, 0), -EPERM);
    assert_int_equal(weft_shared_cond_notify(&s->cond, 1), -EPERM);
    assert_int_equal(weft_shared_cond_notify_all(&s->cond), -EPERM);
    assert_int_equal(weft_shared_cond_wait(&s->rcond, 0), -EPERM);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_cond_wait(&s->cond, NAN), -EINVAL);
    assert_int_equal(weft_shared_cond_wait(&s->cond, 0), -ETIMEDOUT);
    double t0 = t_now();
    assert_int_equal(weft_shared_cond_wait(&s->cond, 0.05), -ETIMEDOUT);
    assert_true(t_now() - t0 >= 0.045);
    assert_true(weft_shared_lock_locked(&s->lock));                   /* held again */
    assert_int_equal(weft_shared_cond_notify(&s->cond, 5), 0);        /* nobody: no-op */
    assert_int_equal(weft_shared_cond_wait(&s->cond, 0), -ETIMEDOUT); /* no token kept */
    assert_int_equal(weft_shared_cond_wait_for(&s->cond, NULL, NULL, 0), -EINVAL);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    /* On an RLock held twice: released fully, depth restored. */
    assert_int_equal(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_cond_wait(&s->rcond, 0.01), -ETIMEDOUT);
    assert_int_equal(weft_shared_rlock_depth(&s->rlock), 2);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    sh_unmap(s, sizeof *s);
}

static bool ready_pred(void *arg)
{
    return ((struct shm *)arg)->ready != 0;
}

static int child_cond_wait(void *arg)
{
    struct shm *s = arg;
    CHILD_CHECK(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER) == 0);
    sh_bump(&s->started);
    int rc = weft_shared_cond_wait(&s->cond, 10.0);
    CHILD_CHECK(rc == 0);
    sh_bump(&s->woken);
    CHILD_CHECK(weft_shared_lock_release(&s->lock) == 0);
    return 0;
}

/* notify(n) wakes exactly n of the waiters in other processes; notify_all the
 * rest. */
static void test_cond_notify_processes(void **state)
{
    struct shm *s = shm_new();
    pid_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = sh_spawn(child_cond_wait, s);
    assert_true(sh_await(&s->started, 4));
    /* Each child registered under the lock before releasing it in wait. */
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_cond_notify(&s->cond, 1), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_true(sh_await(&s->woken, 1));
    t_sleep(0.1);
    assert_int_equal(__atomic_load_n(&s->woken, __ATOMIC_ACQUIRE), 1);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_cond_notify(&s->cond, 2), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_true(sh_await(&s->woken, 3));
    t_sleep(0.1);
    assert_int_equal(__atomic_load_n(&s->woken, __ATOMIC_ACQUIRE), 3);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_cond_notify_all(&s->cond), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sh_reap(p[i]), 0);
    assert_int_equal(s->woken, 4);
    sh_unmap(s, sizeof *s);
}

static int child_cond_wait_for(void *arg)
{
    struct shm *s = arg;
    CHILD_CHECK(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER) == 0);
    sh_bump(&s->started);
    CHILD_CHECK(weft_shared_cond_wait_for(&s->cond, ready_pred, s, 10.0) == 0);
    CHILD_CHECK(s->ready == 1);
    CHILD_CHECK(weft_shared_lock_release(&s->lock) == 0);
    return 0;
}

static void test_cond_wait_for_processes(void **state)
{
    struct shm *s = shm_new();
    pid_t c = sh_spawn(child_cond_wait_for, s);
    assert_true(sh_await(&s->started, 1));
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_cond_notify(&s->cond, 1), 0); /* pred still false */
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    t_sleep(0.05);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    s->ready = 1;
    assert_int_equal(weft_shared_cond_notify_all(&s->cond), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_int_equal(sh_reap(c), 0);
    /* wait_for with a predicate already true does not wait. */
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_cond_wait_for(&s->cond, ready_pred, s, 0), 0);
    s->ready = 0;
    assert_int_equal(weft_shared_cond_wait_for(&s->cond, ready_pred, s, 0.02), -ETIMEDOUT);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    sh_unmap(s, sizeof *s);
}

/* The lock's owner dies while a waiter sleeps: the waiter's re-acquire reports
 * it. A child takes the lock inside the parent's wait, notifies and hangs
 * holding it; a second child kills it. */
static int child_notify_and_hang(void *arg)
{
    struct shm *s = arg;
    if (s->use_rlock) {
        CHILD_CHECK(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER) == 0);
        CHILD_CHECK(weft_shared_cond_notify(&s->rcond, 1) == 0);
    } else {
        CHILD_CHECK(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER) == 0);
        CHILD_CHECK(weft_shared_cond_notify(&s->cond, 1) == 0);
    }
    sh_bump(&s->woken);
    for (;;)
        pause();
}

static pid_t victim;

static int child_killer(void *arg)
{
    struct shm *s = arg;
    CHILD_CHECK(sh_await(&s->woken, 1));
    t_sleep(0.05); /* the waiter is back asleep on the lock */
    CHILD_CHECK(kill(victim, SIGKILL) == 0);
    return 0;
}

static void test_cond_owner_death(void **state)
{
    struct shm *s = shm_new();
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    victim = sh_spawn(child_notify_and_hang, s); /* blocks until we wait */
    pid_t killer = sh_spawn(child_killer, s);
    int rc = weft_shared_cond_wait(&s->cond, 10.0);
    assert_int_equal(rc, -EOWNERDEAD); /* held again, owner died meanwhile */
    assert_int_equal(sh_reap(victim), 128 + SIGKILL);
    assert_int_equal(sh_reap(killer), 0);
    assert_int_equal(weft_shared_lock_consistent(&s->lock), 0);
    assert_int_equal(weft_shared_cond_wait(&s->cond, 0), -ETIMEDOUT); /* token used */
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    sh_unmap(s, sizeof *s);
}

/* The same on an RLock held twice: the waiter gets its own depth back. */
static void test_cond_owner_death_rlock(void **state)
{
    struct shm *s = shm_new();
    s->use_rlock = 1;
    assert_int_equal(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER), 0);
    victim = sh_spawn(child_notify_and_hang, s);
    pid_t killer = sh_spawn(child_killer, s);
    assert_int_equal(weft_shared_cond_wait(&s->rcond, 10.0), -EOWNERDEAD);
    assert_int_equal(sh_reap(victim), 128 + SIGKILL);
    assert_int_equal(sh_reap(killer), 0);
    assert_int_equal(weft_shared_rlock_depth(&s->rlock), 2);
    assert_int_equal(weft_shared_rlock_consistent(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), -EPERM);
    assert_int_equal(weft_shared_rlock_try(&s->rlock), 0); /* normal again */
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    sh_unmap(s, sizeof *s);
}

/* ---- Barrier ---- */

static int count_action(void *arg)
{
    struct shm *s = arg;
    s->actions++; /* under the barrier's lock */
    return 0;
}

static int fail_action(void *arg)
{
    return -ECANCELED;
}

static void test_barrier_basic(void **state)
{
    struct shm *s = shm_new();
    weft_shared_barrier *b = &s->bar;
    assert_int_equal(weft_shared_barrier_init(NULL, 1, NULL), -EINVAL);
    assert_int_equal(weft_shared_barrier_init(b, 0, NULL), -EINVAL);
    assert_int_equal(weft_shared_barrier_init(b, 1, &(weft_barrier_opts){.timeout = NAN}), -EINVAL);
    assert_int_equal(weft_shared_barrier_wait(NULL, NULL), -EINVAL);
    assert_int_equal(weft_shared_barrier_wait_timeout(b, NAN, NULL), -EINVAL);
    assert_int_equal(weft_shared_barrier_reset(NULL), -EINVAL);
    assert_int_equal(weft_shared_barrier_abort(NULL), -EINVAL);
    assert_int_equal(weft_shared_barrier_parties(NULL), 0);
    assert_int_equal(weft_shared_barrier_n_waiting(NULL), 0);
    assert_false(weft_shared_barrier_broken(NULL));
    /* One party: every wait completes a round and runs the action. */
    assert_int_equal(weft_shared_barrier_init(
                         b, 1, &(weft_barrier_opts){.action = count_action, .action_arg = s}),
                     0);
    unsigned idx = 99;
    assert_int_equal(weft_shared_barrier_wait(b, &idx), 0);
    assert_int_equal(idx, 0);
    assert_int_equal(weft_shared_barrier_wait(b, NULL), 0);
    assert_int_equal(s->actions, 2);
    assert_int_equal(weft_shared_barrier_parties(b), 1);
    /* Two parties, one comes: its timeout breaks the barrier. */
    assert_int_equal(weft_shared_barrier_init(b, 2, &(weft_barrier_opts){.timeout = 0.05}), 0);
    double t0 = t_now();
    assert_int_equal(weft_shared_barrier_wait(b, NULL), -ETIMEDOUT);
    assert_true(t_now() - t0 >= 0.045);
    assert_true(weft_shared_barrier_broken(b));
    assert_int_equal(weft_shared_barrier_wait_timeout(b, 1.0, NULL), -WEFT_EBROKEN);
    assert_int_equal(weft_shared_barrier_reset(b), 0);
    assert_false(weft_shared_barrier_broken(b));
    assert_int_equal(weft_shared_barrier_n_waiting(b), 0);
    assert_int_equal(weft_shared_barrier_abort(b), 0);
    assert_true(weft_shared_barrier_broken(b));
    assert_int_equal(weft_shared_barrier_reset(b), 0);
    /* A failing action breaks it; its caller gets the code. */
    assert_int_equal(weft_shared_barrier_init(b, 1, &(weft_barrier_opts){.action = fail_action}),
                     0);
    assert_int_equal(weft_shared_barrier_wait(b, NULL), -ECANCELED);
    assert_true(weft_shared_barrier_broken(b));
    sh_unmap(s, sizeof *s);
}

#define BAR_PARTIES 3

/* Many rounds: each round's indices are a permutation of 0..2, every round's
 * action ran once before its parties leave. */
static int child_barrier(void *arg)
{
    struct shm *s = arg;
    for (long r = 0; r < s->iters; r++) {
        unsigned idx = 99;
        CHILD_CHECK(weft_shared_barrier_wait_timeout(&s->bar, 30.0, &idx) == 0);
        CHILD_CHECK(idx < BAR_PARTIES);
        __atomic_fetch_or(&s->per_round[r % 64], 1 << idx, __ATOMIC_ACQ_REL);
        /* The last arrival runs the action before anyone leaves: this loop's
         * first round has been counted. */
        CHILD_CHECK(__atomic_load_n(&s->actions, __ATOMIC_ACQUIRE) >= 4 * r + 1);
        CHILD_CHECK(weft_shared_barrier_wait_timeout(&s->bar, 30.0, NULL) == 0);
        /* Second wait of the pair: round r's index bits are all in. */
        CHILD_CHECK(__atomic_load_n(&s->per_round[r % 64], __ATOMIC_ACQUIRE) == 7);
        CHILD_CHECK(weft_shared_barrier_wait_timeout(&s->bar, 30.0, NULL) == 0);
        if (idx == 0)
            __atomic_store_n(&s->per_round[r % 64], 0, __ATOMIC_RELEASE);
        CHILD_CHECK(weft_shared_barrier_wait_timeout(&s->bar, 30.0, NULL) == 0);
    }
    return 0;
}

static int action_count_atomic(void *arg)
{
    __atomic_fetch_add(&((struct shm *)arg)->actions, 1, __ATOMIC_ACQ_REL);
    return 0;
}

static void test_barrier_processes(void **state)
{
    struct shm *s = shm_new();
    s->iters = SH_SCALE(400);
    /* The action runs once per barrier round: four rounds per loop iteration. */
    assert_int_equal(weft_shared_barrier_init(
                         &s->bar, BAR_PARTIES,
                         &(weft_barrier_opts){.action = action_count_atomic, .action_arg = s}),
                     0);
    pid_t p[BAR_PARTIES];
    for (int i = 0; i < BAR_PARTIES; i++)
        p[i] = sh_spawn(child_barrier, s);
    for (int i = 0; i < BAR_PARTIES; i++)
        assert_int_equal(sh_reap(p[i]), 0);
    assert_int_equal(s->actions, 4 * s->iters);
    assert_false(weft_shared_barrier_broken(&s->bar));
    sh_unmap(s, sizeof *s);
}

/* A party that dies before arriving: the others' timeout breaks the barrier,
 * and they are not stuck. One that dies after arriving still counts for its
 * round. */
static int child_barrier_once(void *arg)
{
    struct shm *s = arg;
    int rc = weft_shared_barrier_wait_timeout(&s->bar, 0.3, NULL);
    CHILD_CHECK(rc == s->rc || (s->rc == -ETIMEDOUT && rc == -WEFT_EBROKEN));
    return 0;
}

static int child_barrier_hang(void *arg)
{
    struct shm *s = arg;
    weft_shared_barrier_wait_timeout(&s->bar, WEFT_FOREVER, NULL);
    return 0;
}

static void barrier_two_survivors(struct shm *s)
{
    pid_t p[2];
    double t0 = t_now();
    for (int i = 0; i < 2; i++)
        p[i] = sh_spawn(child_barrier_once, s);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sh_reap(p[i]), 0);
    assert_true(t_now() - t0 < 10.0);
}

static void test_barrier_dead_party(void **state)
{
    struct shm *s = shm_new();
    /* Dies before arriving (to the barrier the same as never coming). */
    assert_int_equal(weft_shared_barrier_init(&s->bar, 3, NULL), 0);
    s->rc = -ETIMEDOUT;
    barrier_two_survivors(s);
    assert_true(weft_shared_barrier_broken(&s->bar));
    /* Dies after arriving: the round completes with the two others. */
    assert_int_equal(weft_shared_barrier_init(&s->bar, 3, NULL), 0);
    pid_t dead = sh_spawn(child_barrier_hang, s);
    double end = t_now() + 10;
    while (weft_shared_barrier_n_waiting(&s->bar) < 1 && t_now() < end)
        sched_yield();
    assert_int_equal(weft_shared_barrier_n_waiting(&s->bar), 1);
    t_sleep(0.02); /* out of the barrier's lock, asleep */
    assert_int_equal(kill(dead, SIGKILL), 0);
    assert_int_equal(sh_reap(dead), 128 + SIGKILL);
    s->rc = 0;
    barrier_two_survivors(s);
    assert_false(weft_shared_barrier_broken(&s->bar));
    sh_unmap(s, sizeof *s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sem_basic),
        cmocka_unit_test(test_sem_processes),
        cmocka_unit_test(test_sem_death_and_wake),
        cmocka_unit_test(test_event_basic),
        cmocka_unit_test(test_event_processes),
        cmocka_unit_test(test_cond_basic),
        cmocka_unit_test(test_cond_notify_processes),
        cmocka_unit_test(test_cond_wait_for_processes),
        cmocka_unit_test(test_cond_owner_death),
        cmocka_unit_test(test_cond_owner_death_rlock),
        cmocka_unit_test(test_barrier_basic),
        cmocka_unit_test(test_barrier_processes),
        cmocka_unit_test(test_barrier_dead_party),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
