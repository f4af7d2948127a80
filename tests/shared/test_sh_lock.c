/* Shared Lock and RLock: every call and code, within one process (threads) and
 * across processes (fork), owner death (SIGKILL, thread exit), recovery. */
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

static void test_null_args(void **state)
{
    assert_int_equal(weft_shared_lock_init(NULL), -EINVAL);
    assert_int_equal(weft_shared_lock_destroy(NULL), -EINVAL);
    assert_int_equal(weft_shared_lock_acquire(NULL, WEFT_FOREVER), -EINVAL);
    assert_int_equal(weft_shared_lock_try(NULL), -EINVAL);
    assert_int_equal(weft_shared_lock_release(NULL), -EINVAL);
    assert_int_equal(weft_shared_lock_consistent(NULL), -EINVAL);
    assert_false(weft_shared_lock_locked(NULL));
    assert_int_equal(weft_shared_rlock_init(NULL), -EINVAL);
    assert_int_equal(weft_shared_rlock_destroy(NULL), -EINVAL);
    assert_int_equal(weft_shared_rlock_acquire(NULL, 0), -EINVAL);
    assert_int_equal(weft_shared_rlock_try(NULL), -EINVAL);
    assert_int_equal(weft_shared_rlock_release(NULL), -EINVAL);
    assert_int_equal(weft_shared_rlock_consistent(NULL), -EINVAL);
    assert_false(weft_shared_rlock_is_owned(NULL));
    assert_int_equal(weft_shared_rlock_owner(NULL), 0);
    assert_int_equal(weft_shared_rlock_depth(NULL), 0);
}

static void test_lock_basic(void **state)
{
    weft_shared_lock *l = sh_map(sizeof *l);
    assert_int_equal(weft_shared_lock_init(l), 0);
    assert_false(weft_shared_lock_locked(l));
    assert_int_equal(weft_shared_lock_release(l), -EPERM);
    assert_int_equal(weft_shared_lock_consistent(l), -EPERM);
    assert_int_equal(weft_shared_lock_acquire(l, WEFT_FOREVER), 0);
    assert_true(weft_shared_lock_locked(l));
    assert_int_equal(weft_shared_lock_consistent(l), -EINVAL); /* not owner-died */
    assert_int_equal(weft_shared_lock_try(l), -EBUSY);
    assert_int_equal(weft_shared_lock_acquire(l, 0), -EBUSY);
    assert_int_equal(weft_shared_lock_acquire(l, NAN), -EINVAL);
    assert_int_equal(weft_shared_lock_destroy(l), -EBUSY);
    double t0 = t_now();
    assert_int_equal(weft_shared_lock_acquire(l, 0.05), -ETIMEDOUT); /* own lock: waits */
    double dt = t_now() - t0;
    assert_true(dt >= 0.045 && dt < 5.0);
    assert_int_equal(weft_shared_lock_release(l), 0);
    assert_int_equal(weft_shared_lock_release(l), -EPERM);
    assert_int_equal(weft_shared_lock_try(l), 0);
    assert_int_equal(weft_shared_lock_release(l), 0);
    assert_int_equal(weft_shared_lock_acquire(l, 1.0), 0);
    assert_int_equal(weft_shared_lock_release(l), 0);
    assert_int_equal(weft_shared_lock_destroy(l), 0);
    sh_unmap(l, sizeof *l);
}

static void test_static_init(void **state)
{
    static weft_shared_lock l = WEFT_SHARED_LOCK_INIT;
    static weft_shared_rlock r = WEFT_SHARED_RLOCK_INIT;
    assert_int_equal(weft_shared_lock_acquire(&l, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_rlock_acquire(&r, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_rlock_release(&r), 0);
    assert_int_equal(weft_shared_lock_release(&l), 0);
}

/* Several locks held at once, released in any order (robust list links). */
static void test_many_held(void **state)
{
    enum { N = 8 };
    weft_shared_lock *l = sh_map(N * sizeof *l);
    for (int i = 0; i < N; i++)
        assert_int_equal(weft_shared_lock_init(&l[i]), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(weft_shared_lock_acquire(&l[i], WEFT_FOREVER), 0);
    int order[N] = {3, 0, 7, 5, 1, 6, 2, 4};
    for (int i = 0; i < N; i++)
        assert_int_equal(weft_shared_lock_release(&l[order[i]]), 0);
    for (int i = 0; i < N; i++)
        assert_false(weft_shared_lock_locked(&l[i]));
    /* And interleaved with a glibc robust mutex in the same thread's list. */
    pthread_mutexattr_t a;
    pthread_mutex_t m;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    assert_int_equal(pthread_mutex_init(&m, &a), 0);
    assert_int_equal(weft_shared_lock_acquire(&l[0], WEFT_FOREVER), 0);
    assert_int_equal(pthread_mutex_lock(&m), 0);
    assert_int_equal(weft_shared_lock_acquire(&l[1], WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_lock_release(&l[0]), 0);
    assert_int_equal(pthread_mutex_unlock(&m), 0);
    assert_int_equal(weft_shared_lock_release(&l[1]), 0);
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);
    sh_unmap(l, N * sizeof *l);
}

/* ---- threads ---- */

struct tctx {
    weft_shared_lock *l;
    int rc;
    int flag;
};

static void *release_other(void *arg)
{
    struct tctx *c = arg;
    c->rc = weft_shared_lock_release(c->l);
    return NULL;
}

static void *acquire_and_exit(void *arg)
{
    struct tctx *c = arg;
    c->rc = weft_shared_lock_acquire(c->l, WEFT_FOREVER);
    return NULL; /* ends holding the lock */
}

static void *acquire_blocked(void *arg)
{
    struct tctx *c = arg;
    sh_bump(&c->flag);
    c->rc = weft_shared_lock_acquire(c->l, 10.0);
    if (c->rc == 0)
        weft_shared_lock_release(c->l);
    return NULL;
}

static void test_threads(void **state)
{
    weft_shared_lock *l = sh_map(sizeof *l);
    weft_shared_lock_init(l);
    struct tctx c = {.l = l};
    pthread_t th;
    /* Owned: another thread may not release it. */
    assert_int_equal(weft_shared_lock_acquire(l, WEFT_FOREVER), 0);
    assert_int_equal(pthread_create(&th, NULL, release_other, &c), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(c.rc, -EPERM);
    /* A sleeping acquirer is woken by the release. */
    assert_int_equal(pthread_create(&th, NULL, acquire_blocked, &c), 0);
    assert_true(sh_await(&c.flag, 1));
    t_sleep(0.05);
    assert_int_equal(weft_shared_lock_release(l), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(c.rc, 0);
    /* A thread that exits holding the lock: the next acquirer is told. */
    assert_int_equal(pthread_create(&th, NULL, acquire_and_exit, &c), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(c.rc, 0);
    assert_int_equal(weft_shared_lock_acquire(l, 1.0), -EOWNERDEAD);
    assert_int_equal(weft_shared_lock_consistent(l), 0);
    assert_int_equal(weft_shared_lock_release(l), 0);
    assert_int_equal(weft_shared_lock_try(l), 0);
    assert_int_equal(weft_shared_lock_release(l), 0);
    sh_unmap(l, sizeof *l);
}

/* ---- processes ---- */

struct shm {
    weft_shared_lock lock;
    weft_shared_rlock rlock;
    int held;     /* the holder child has the lock */
    int waiting;  /* the waiter child is about to acquire */
    int rc;       /* the waiter's result */
    double t_got; /* when the waiter got it (CLOCK_MONOTONIC, system-wide) */
    long counter; /* guarded by lock */
    long iters;
};

static struct shm *shm_new(void)
{
    struct shm *s = sh_map(sizeof *s);
    weft_shared_lock_init(&s->lock);
    weft_shared_rlock_init(&s->rlock);
    return s;
}

static int child_hold_forever(void *arg)
{
    struct shm *s = arg;
    CHILD_CHECK(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER) == 0);
    CHILD_CHECK(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER) == 0);
    CHILD_CHECK(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER) == 0); /* depth 2 */
    sh_bump(&s->held);
    for (;;)
        pause();
}

static int child_wait_lock(void *arg)
{
    struct shm *s = arg;
    sh_bump(&s->waiting);
    s->rc = weft_shared_lock_acquire(&s->lock, 10.0);
    s->t_got = t_now();
    return 0; /* leaves holding it (if it got it): its death is a second test */
}

/* Kill the holder; returns the time its death was confirmed (after waitpid). */
static double kill_holder(pid_t holder)
{
    assert_int_equal(kill(holder, SIGKILL), 0);
    assert_int_equal(sh_reap(holder), 128 + SIGKILL);
    return t_now();
}

static void test_sigkill_then_acquire(void **state)
{
    struct shm *s = shm_new();
    pid_t holder = sh_spawn(child_hold_forever, s);
    assert_true(sh_await(&s->held, 1));
    assert_true(weft_shared_lock_locked(&s->lock));
    assert_int_equal(weft_shared_lock_try(&s->lock), -EBUSY);
    assert_int_equal(weft_shared_rlock_try(&s->rlock), -EBUSY);
    assert_int_equal(weft_shared_lock_release(&s->lock), -EPERM); /* not ours */
    assert_int_equal(weft_shared_rlock_owner(&s->rlock), holder);
    double dead = kill_holder(holder);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), -EOWNERDEAD);
    double dt = t_now() - dead;
    assert_true(dt < 0.1); /* issue 5: within 100 ms of the holder's death */
    /* Repaired: a normal lock again. */
    assert_int_equal(weft_shared_lock_consistent(&s->lock), 0);
    assert_int_equal(weft_shared_lock_consistent(&s->lock), -EINVAL);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, 0), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    /* The RLock: taken once (depth 1) after the death, then recoverable. */
    assert_int_equal(weft_shared_rlock_try(&s->rlock), -EOWNERDEAD);
    assert_int_equal(weft_shared_rlock_depth(&s->rlock), 1);
    assert_true(weft_shared_rlock_is_owned(&s->rlock));
    assert_int_equal(weft_shared_rlock_acquire(&s->rlock, 0), 0); /* re-enter */
    assert_int_equal(weft_shared_rlock_consistent(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), -EPERM);
    assert_int_equal(weft_shared_rlock_try(&s->rlock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    sh_unmap(s, sizeof *s);
}

/* A waiter already asleep in another process is woken by the kernel. */
static void test_sigkill_wakes_waiter(void **state)
{
    struct shm *s = shm_new();
    pid_t holder = sh_spawn(child_hold_forever, s);
    assert_true(sh_await(&s->held, 1));
    pid_t waiter = sh_spawn(child_wait_lock, s);
    assert_true(sh_await(&s->waiting, 1));
    t_sleep(0.1); /* let it go to sleep on the futex */
    double dead = kill_holder(holder);
    assert_int_equal(sh_reap(waiter), 0);
    assert_int_equal(s->rc, -EOWNERDEAD);
    assert_true(s->t_got - dead < 0.1); /* (woken before waitpid returned: <= 0) */
    /* The waiter exited holding it, still inconsistent: owner died again. */
    assert_int_equal(weft_shared_lock_acquire(&s->lock, 1.0), -EOWNERDEAD);
    /* Released without consistent(): not recoverable, for everyone. */
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), -ENOTRECOVERABLE);
    assert_int_equal(weft_shared_lock_try(&s->lock), -ENOTRECOVERABLE);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, 0), -ENOTRECOVERABLE);
    assert_false(weft_shared_lock_locked(&s->lock));
    assert_int_equal(weft_shared_lock_release(&s->lock), -EPERM);
    s->waiting = 0;
    waiter = sh_spawn(child_wait_lock, s);
    assert_int_equal(sh_reap(waiter), 0);
    assert_int_equal(s->rc, -ENOTRECOVERABLE);
    /* init makes it usable again. */
    assert_int_equal(weft_shared_lock_init(&s->lock), 0);
    assert_int_equal(weft_shared_lock_try(&s->lock), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    sh_unmap(s, sizeof *s);
}

/* Waiters asleep when the lock turns not recoverable are all woken. */
static void test_notrec_wakes_all(void **state)
{
    struct shm *s = shm_new();
    pid_t holder = sh_spawn(child_hold_forever, s);
    assert_true(sh_await(&s->held, 1));
    kill_holder(holder);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), -EOWNERDEAD);
    pid_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = sh_spawn(child_wait_lock, s);
    assert_true(sh_await(&s->waiting, 3));
    t_sleep(0.1);
    double t0 = t_now();
    assert_int_equal(weft_shared_lock_release(&s->lock), 0); /* not consistent */
    for (int i = 0; i < 3; i++)
        assert_int_equal(sh_reap(w[i]), 0);
    assert_int_equal(s->rc, -ENOTRECOVERABLE);
    assert_true(t_now() - t0 < 5.0);
    sh_unmap(s, sizeof *s);
}

/* exec() ends the threads of the old program: a lock held across it is marked
 * owner-died while the process itself lives on (sleep 5). */
static int child_hold_then_exec(void *arg)
{
    struct shm *s = arg;
    CHILD_CHECK(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER) == 0);
    sh_bump(&s->held);
    execl("/bin/sleep", "sleep", "5", (char *)NULL);
    return 99; /* exec failed */
}

static void test_exec_counts_as_death(void **state)
{
    struct shm *s = shm_new();
    pid_t c = sh_spawn(child_hold_then_exec, s);
    assert_true(sh_await(&s->held, 1));
    assert_int_equal(weft_shared_lock_acquire(&s->lock, 10.0), -EOWNERDEAD);
    assert_int_equal(kill(c, 0), 0); /* still running (the new program) */
    assert_int_equal(weft_shared_lock_consistent(&s->lock), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_int_equal(kill(c, SIGKILL), 0);
    assert_int_equal(sh_reap(c), 128 + SIGKILL);
    sh_unmap(s, sizeof *s);
}

/* A child inherits the memory, not the ownership, of a held lock. */
static int child_inherited(void *arg)
{
    struct shm *s = arg;
    CHILD_CHECK(weft_shared_lock_locked(&s->lock));
    CHILD_CHECK(weft_shared_lock_try(&s->lock) == -EBUSY);
    CHILD_CHECK(weft_shared_lock_release(&s->lock) == -EPERM);
    CHILD_CHECK(!weft_shared_rlock_is_owned(&s->rlock));
    CHILD_CHECK(weft_shared_rlock_release(&s->rlock) == -EPERM);
    CHILD_CHECK(weft_shared_rlock_try(&s->rlock) == -EBUSY);
    sh_bump(&s->held);
    /* Blocks until the parent releases. */
    CHILD_CHECK(weft_shared_lock_acquire(&s->lock, 10.0) == 0);
    CHILD_CHECK(weft_shared_lock_release(&s->lock) == 0);
    return 0;
}

static void test_fork_inherits_held(void **state)
{
    struct shm *s = shm_new();
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER), 0);
    pid_t c = sh_spawn(child_inherited, s);
    assert_true(sh_await(&s->held, 1));
    t_sleep(0.05);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_int_equal(sh_reap(c), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    assert_false(weft_shared_lock_locked(&s->lock));
    sh_unmap(s, sizeof *s);
}

/* ---- stress: 4 processes x N increments, mixed acquisitions ---- */

static int child_count(void *arg)
{
    struct shm *s = arg;
    for (long i = 0; i < s->iters; i++) {
        int rc;
        switch (i % 3) {
        case 0:
            rc = weft_shared_lock_acquire(&s->lock, WEFT_FOREVER);
            break;
        case 1:
            rc = weft_shared_lock_acquire(&s->lock, 30.0);
            break;
        default:
            while ((rc = weft_shared_lock_try(&s->lock)) == -EBUSY)
                sched_yield();
        }
        CHILD_CHECK(rc == 0);
        s->counter++;
        CHILD_CHECK(weft_shared_lock_release(&s->lock) == 0);
    }
    return 0;
}

static void test_stress_4procs(void **state)
{
    struct shm *s = shm_new();
    s->iters = SH_SCALE(200000);
    pid_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = sh_spawn(child_count, s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sh_reap(p[i]), 0);
    assert_int_equal(s->counter, 4 * s->iters);
    assert_false(weft_shared_lock_locked(&s->lock));
    sh_unmap(s, sizeof *s);
}

/* The same in threads of one process (what ThreadSanitizer can check): the
 * lock orders the plain counter, mixed with the RLock re-entered. */
static void *thread_count(void *arg)
{
    struct shm *s = arg;
    for (long i = 0; i < s->iters; i++) {
        assert_int_equal(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER), 0);
        assert_int_equal(weft_shared_rlock_acquire(&s->rlock, 0), 0);
        assert_int_equal(weft_shared_lock_acquire(&s->lock, i % 2 ? 30.0 : WEFT_FOREVER), 0);
        s->counter++;
        assert_int_equal(weft_shared_lock_release(&s->lock), 0);
        assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
        assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    }
    return NULL;
}

static void test_stress_threads(void **state)
{
    struct shm *s = shm_new();
    s->iters = SH_SCALE(100000);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_count, s), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(s->counter, 4 * s->iters);
    assert_false(weft_shared_lock_locked(&s->lock));
    assert_false(weft_shared_lock_locked(&s->rlock._lock));
    sh_unmap(s, sizeof *s);
}

/* ---- RLock ---- */

static void test_rlock_basic(void **state)
{
    weft_shared_rlock *r = sh_map(sizeof *r);
    assert_int_equal(weft_shared_rlock_init(r), 0);
    assert_int_equal(weft_shared_rlock_release(r), -EPERM);
    assert_int_equal(weft_shared_rlock_owner(r), 0);
    assert_int_equal(weft_shared_rlock_acquire(r, NAN), -EINVAL);
    assert_int_equal(weft_shared_rlock_acquire(r, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_rlock_try(r), 0);
    assert_int_equal(weft_shared_rlock_acquire(r, 0), 0);
    assert_int_equal(weft_shared_rlock_depth(r), 3);
    assert_true(weft_shared_rlock_is_owned(r));
    assert_int_equal(weft_shared_rlock_owner(r), gettid());
    assert_int_equal(weft_shared_rlock_destroy(r), -EBUSY);
    assert_int_equal(weft_shared_rlock_consistent(r), -EINVAL);
    r->_depth = UINT32_MAX; /* white box: the overflow check */
    assert_int_equal(weft_shared_rlock_acquire(r, 0), -EOVERFLOW);
    assert_int_equal(weft_shared_rlock_try(r), -EOVERFLOW);
    r->_depth = 3;
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_shared_rlock_release(r), 0);
    assert_int_equal(weft_shared_rlock_release(r), -EPERM);
    assert_false(weft_shared_rlock_is_owned(r));
    assert_int_equal(weft_shared_rlock_depth(r), 0);
    assert_int_equal(weft_shared_rlock_consistent(r), -EPERM);
    assert_int_equal(weft_shared_rlock_destroy(r), 0);
    sh_unmap(r, sizeof *r);
}

static int child_rlock_timeout(void *arg)
{
    struct shm *s = arg;
    CHILD_CHECK(weft_shared_rlock_try(&s->rlock) == -EBUSY);
    CHILD_CHECK(weft_shared_rlock_acquire(&s->rlock, 0) == -EBUSY);
    double t0 = t_now();
    CHILD_CHECK(weft_shared_rlock_acquire(&s->rlock, 0.05) == -ETIMEDOUT);
    CHILD_CHECK(t_now() - t0 >= 0.045);
    CHILD_CHECK(weft_shared_lock_acquire(&s->lock, 0.05) == -ETIMEDOUT);
    return 0;
}

static void test_timeouts_across_processes(void **state)
{
    struct shm *s = shm_new();
    assert_int_equal(weft_shared_rlock_acquire(&s->rlock, WEFT_FOREVER), 0);
    assert_int_equal(weft_shared_lock_acquire(&s->lock, WEFT_FOREVER), 0);
    assert_int_equal(sh_reap(sh_spawn(child_rlock_timeout, s)), 0);
    assert_int_equal(weft_shared_lock_release(&s->lock), 0);
    assert_int_equal(weft_shared_rlock_release(&s->rlock), 0);
    sh_unmap(s, sizeof *s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_lock_basic),
        cmocka_unit_test(test_static_init),
        cmocka_unit_test(test_many_held),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_sigkill_then_acquire),
        cmocka_unit_test(test_sigkill_wakes_waiter),
        cmocka_unit_test(test_notrec_wakes_all),
        cmocka_unit_test(test_exec_counts_as_death),
        cmocka_unit_test(test_fork_inherits_held),
        cmocka_unit_test(test_stress_4procs),
        cmocka_unit_test(test_stress_threads),
        cmocka_unit_test(test_rlock_basic),
        cmocka_unit_test(test_timeouts_across_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
