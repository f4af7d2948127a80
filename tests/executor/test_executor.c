/* The pool: options, lazy workers and their names, initializer and a broken
 * pool, shutdown in all its forms, an idle pool's CPU use. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "executor/executor_internal.h" /* white box: idle_tokens */
#include "weft.h"
#include "weft_test.h"
#include "executor_test.h"


static void *my_name(void *arg)
{
    (void)arg;
    return (void *)weft_thread_name(weft_current_thread());
}

static void test_new_bad_args(void **state)
{
    assert_int_equal(weft_executor_new(NULL, NULL), -EINVAL);
    weft_executor *ex = NULL;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 1u << 30}),
                     -EINVAL);
    assert_null(ex);
    assert_int_equal(weft_executor_shutdown(NULL, true, false), -EINVAL);
    weft_executor_free(NULL);
    assert_int_equal(weft_executor_workers(NULL), 0);
}

static void test_default_workers_is_cpus(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, NULL), 0);
    assert_int_equal(weft_executor_workers(ex), 0); /* lazily */
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    unsigned cpus = (unsigned)CPU_COUNT(&set);
    /* Block every worker so each submission finds none idle. */
    weft_event go = WEFT_EVENT_INIT;
    weft_future *fs[64];
    unsigned n = cpus + 3 < 64 ? cpus + 3 : 64;
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[i]), 0);
    assert_true(weft_executor_workers(ex) >= 1);
    assert_true(weft_executor_workers(ex) <= cpus);
    weft_event_set(&go);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(weft_future_result(fs[i], WEFT_FOREVER, NULL), 0);
        weft_future_free(fs[i]);
    }
    assert_true(weft_executor_workers(ex) <= cpus);
    weft_executor_free(ex);
}

static void test_lazy_start_and_names(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 3,
                                                                  .thread_name_prefix = "dl"}),
                     0);
    assert_int_equal(weft_executor_workers(ex), 0);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *b[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_executor_submit(ex, block_on, &go, &b[i]), 0);
    /* Three blocking tasks, none idle: three workers. */
    double t0 = weft_test_now();
    while (!(weft_future_running(b[0]) && weft_future_running(b[1]) &&
             weft_future_running(b[2])))
        assert_true(weft_test_now() - t0 < 10);
    assert_int_equal(weft_executor_workers(ex), 3);
    weft_future *more;
    assert_int_equal(weft_executor_submit(ex, my_name, NULL, &more), 0);
    assert_int_equal(weft_executor_workers(ex), 3); /* never past max */
    weft_event_set(&go);
    void *name;
    assert_int_equal(weft_future_result(more, WEFT_FOREVER, &name), 0);
    assert_true(strcmp(name, "dl_0") == 0 || strcmp(name, "dl_1") == 0 ||
                strcmp(name, "dl_2") == 0);
    weft_future_free(more);
    for (int i = 0; i < 3; i++)
        weft_future_free(b[i]);
    weft_executor_free(ex);
}

static void test_default_prefix(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 1}), 0);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, my_name, NULL, &f), 0);
    void *name;
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &name), 0);
    assert_int_equal(strncmp(name, "ThreadPoolExecutor-", 19), 0);
    assert_string_equal((char *)name + strlen(name) - 2, "_0");
    weft_future_free(f);
    weft_executor_free(ex);
}

/* ---- Python's start rule: a submission starts a worker iff it cannot claim an
 * idle one and fewer than max_workers exist ---- */

static void test_one_submission_one_worker(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 4}), 0);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &f), 0);
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, NULL), 0);
    weft_future_free(f);
    assert_int_equal(weft_executor_workers(ex), 1);
    /* Once that worker is idle (asleep), later one-at-a-time submissions
     * claim it: still one. */
    for (int i = 0; i < 5; i++) {
        /* Wait until the worker has offered itself idle (a time bound, not a
         * fixed nap: on a loaded machine it may take a while to get there; a
         * submission before that rightly starts a second worker). */
        double until = weft_test_now() + 10.0;
        while (__atomic_load_n(&ex->idle_tokens, __ATOMIC_RELAXED) == 0 &&
               weft_test_now() < until)
            weft_test_sleep(0.001);
        assert_int_equal(weft_executor_submit(ex, identity, P(i), &f), 0);
        assert_int_equal(weft_future_result(f, WEFT_FOREVER, NULL), 0);
        weft_future_free(f);
        assert_int_equal(weft_executor_workers(ex), 1);
    }
    weft_executor_free(ex);
}

/* 100 blocking tasks at once on max_workers=10: all ten workers start (none
 * can be idle while tasks are queued), every round. */
static void test_batch_starts_max_workers(void **state)
{
    for (int round = 0; round < WEFT_TEST_SCALE(100); round++) {
        weft_executor *ex;
        assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 10}), 0);
        weft_event go = WEFT_EVENT_INIT;
        weft_future *fs[100];
        for (int i = 0; i < 100; i++)
            assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[i]), 0);
        assert_int_equal(weft_executor_workers(ex), 10);
        /* And ten of them really run at once. */
        double t0 = weft_test_now();
        for (;;) {
            int running = 0;
            for (int i = 0; i < 100; i++)
                running += weft_future_running(fs[i]);
            assert_true(running <= 10);
            if (running == 10)
                break;
            assert_true(weft_test_now() - t0 < 30);
            weft_test_sleep(0.001);
        }
        weft_event_set(&go);
        for (int i = 0; i < 100; i++) {
            assert_int_equal(weft_future_result(fs[i], WEFT_FOREVER, NULL), 0);
            weft_future_free(fs[i]);
        }
        assert_int_equal(weft_executor_workers(ex), 10);
        weft_executor_free(ex);
    }
}

/* ---- initializer ---- */

static int init_calls;
static __thread int initialised_here;

static int good_init(void *arg)
{
    __atomic_fetch_add(&init_calls, 1, __ATOMIC_RELAXED);
    initialised_here = (int)I(arg);
    return 0;
}

static void *read_init(void *arg)
{
    (void)arg;
    return P(initialised_here);
}

static void test_initializer_once_per_worker(void **state)
{
    init_calls = 0;
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2,
                                                                  .initializer = good_init,
                                                                  .initarg = P(31)}),
                     0);
    weft_future *fs[200];
    for (int i = 0; i < 200; i++)
        assert_int_equal(weft_executor_submit(ex, read_init, NULL, &fs[i]), 0);
    for (int i = 0; i < 200; i++) {
        void *r;
        assert_int_equal(weft_future_result(fs[i], WEFT_FOREVER, &r), 0);
        assert_int_equal(I(r), 31);
        weft_future_free(fs[i]);
    }
    unsigned w = weft_executor_workers(ex);
    weft_executor_free(ex);
    assert_int_equal(init_calls, (int)w);
}

static int bad_init(void *arg)
{
    (void)arg;
    return -EACCES;
}

static void test_initializer_failure_breaks_pool(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2,
                                                                  .initializer = bad_init}),
                     0);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &f), 0);
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, NULL), -EACCES);
    assert_true(strstr(weft_future_error(f), "initializer") != NULL);
    weft_future_free(f);
    /* Later submissions are refused with the code. */
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &f), -EACCES);
    weft_executor_free(ex);
}

/* ---- shutdown ---- */

static void test_submit_after_shutdown(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2}), 0);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, P(1), &f), 0);
    assert_int_equal(weft_executor_shutdown(ex, true, false), 0);
    assert_true(weft_future_done(f)); /* wait: everything ran */
    weft_future *g = NULL;
    assert_int_equal(weft_executor_submit(ex, identity, P(2), &g), -WEFT_ESHUTDOWN);
    assert_null(g);
    assert_int_equal(weft_executor_shutdown(ex, true, false), 0); /* again: fine */
    weft_future_free(f);
    weft_executor_free(ex);
}

static void test_shutdown_on_unused_pool(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, NULL), 0);
    assert_int_equal(weft_executor_shutdown(ex, true, true), 0);
    assert_int_equal(weft_executor_workers(ex), 0);
    weft_executor_free(ex);
}

static void test_shutdown_wait_runs_queued(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 1}), 0);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *b, *fs[50];
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &b), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(weft_executor_submit(ex, identity, P(i), &fs[i]), 0);
    /* No wait: returns at once, the queued tasks still run. */
    assert_int_equal(weft_executor_shutdown(ex, false, false), 0);
    assert_false(weft_future_done(fs[49]));
    weft_event_set(&go);
    assert_int_equal(weft_executor_shutdown(ex, true, false), 0);
    for (int i = 0; i < 50; i++) {
        void *r;
        assert_int_equal(weft_future_result(fs[i], 0, &r), 0);
        assert_int_equal(I(r), i);
        weft_future_free(fs[i]);
    }
    weft_future_free(b);
    weft_executor_free(ex);
}

static void test_shutdown_cancel_futures(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 1}), 0);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *b, *fs[50];
    assert_int_equal(weft_executor_submit(ex, block_on, &go, &b), 0);
    double t0 = weft_test_now();
    while (!weft_future_running(b))
        assert_true(weft_test_now() - t0 < 10);
    for (int i = 0; i < 50; i++)
        assert_int_equal(weft_executor_submit(ex, identity, P(i), &fs[i]), 0);
    assert_int_equal(weft_executor_shutdown(ex, false, true), 0);
    /* Cancelled before shutdown returned; the running one is untouched. */
    for (int i = 0; i < 50; i++)
        assert_true(weft_future_cancelled(fs[i]));
    assert_true(weft_future_running(b));
    weft_event_set(&go);
    assert_int_equal(weft_executor_shutdown(ex, true, false), 0);
    void *r;
    assert_int_equal(weft_future_result(b, 0, &r), 0);
    assert_int_equal(I(r), 77);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(weft_future_result(fs[i], 0, NULL), -WEFT_ECANCELLED);
        weft_future_free(fs[i]);
    }
    weft_future_free(b);
    weft_executor_free(ex);
}

struct self_arg {
    weft_executor *ex;
    int wait_rc, nowait_rc;
};

static void *shutdown_self(void *arg)
{
    struct self_arg *a = arg;
    a->wait_rc = weft_executor_shutdown(a->ex, true, false);
    a->nowait_rc = weft_executor_shutdown(a->ex, false, false);
    return NULL;
}

static void test_shutdown_wait_from_task_is_edeadlk(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2}), 0);
    struct self_arg a = {ex, 1, 1};
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, shutdown_self, &a, &f), 0);
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, NULL), 0);
    assert_int_equal(a.wait_rc, -EDEADLK);
    assert_int_equal(a.nowait_rc, 0);
    assert_int_equal(weft_executor_submit(ex, identity, NULL, NULL), -WEFT_ESHUTDOWN);
    weft_future_free(f);
    weft_executor_free(ex);
}

/* Tasks submitted from inside a task after shutdown are refused too. */
static void *submit_inner(void *arg)
{
    weft_executor *ex = arg;
    weft_future *g = NULL;
    int rc = weft_executor_submit(ex, identity, P(1), &g);
    if (g) {
        weft_future_result(g, WEFT_FOREVER, NULL);
        weft_future_free(g);
    }
    return P(-rc);
}

static void test_inner_submit(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2}), 0);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, submit_inner, ex, &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &r), 0);
    assert_int_equal(I(r), 0);
    weft_future_free(f);
    weft_executor_free(ex);
}

/* ---- idle ---- */

static double cpu_seconds(void)
{
    FILE *fp = fopen("/proc/self/stat", "r");
    assert_non_null(fp);
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long ut = 0, st = 0;
    /* fields after the command: state(3) ... utime(14) stime(15) */
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st),
                     2);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void test_idle_pool_uses_no_cpu(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 4}), 0);
    weft_event go = WEFT_EVENT_INIT;
    weft_future *fs[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(weft_executor_submit(ex, block_on, &go, &fs[i]), 0);
    weft_event_set(&go);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(weft_future_result(fs[i], WEFT_FOREVER, NULL), 0);
        weft_future_free(fs[i]);
    }
    weft_test_sleep(0.05); /* let the workers finish spinning and sleep */
    double c0 = cpu_seconds(), t0 = weft_test_now();
    weft_test_sleep(0.3);
    double used = cpu_seconds() - c0, wall = weft_test_now() - t0;
    /* Four idle workers spinning would burn ~4x the wall time; asleep they
     * burn nothing (a tick or two of accounting noise). */
    assert_true(used < 0.1 * wall + 0.02);
    /* And they still wake for work. */
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, P(8), &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, 10, &r), 0);
    assert_int_equal(I(r), 8);
    weft_future_free(f);
    weft_executor_free(ex);
}

/* Outside submissions start in submission order even when workers take them
 * in batches: with one worker blocked (on a task submitted first, so it may
 * hold the others in its batch), the other starts the rest one by one, oldest
 * first (a thief taking the newest of a batch would break it). */
static weft_lock fifo_lock = WEFT_LOCK_INIT;
static int fifo_log[200];
static int fifo_n;

static void *log_start(void *arg)
{
    weft_lock_acquire(&fifo_lock, WEFT_FOREVER);
    fifo_log[fifo_n++] = (int)I(arg);
    weft_lock_release(&fifo_lock);
    return arg;
}

static void test_fifo_start_with_one_worker_blocked(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        weft_executor *ex;
        assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2}), 0);
        weft_event go;
        weft_event_init(&go);
        enum { N = 150 };
        weft_future *a, *fs[N];
        fifo_n = 0;
        assert_int_equal(weft_executor_submit(ex, block_on, &go, &a), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(weft_executor_submit(ex, log_start, P(i), &fs[i]), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(weft_future_result(fs[i], 10, NULL), 0);
        weft_lock_acquire(&fifo_lock, WEFT_FOREVER);
        assert_int_equal(fifo_n, N);
        for (int i = 0; i < N; i++)
            assert_int_equal(fifo_log[i], i);
        weft_lock_release(&fifo_lock);
        weft_event_set(&go);
        assert_int_equal(weft_future_result(a, 10, NULL), 0);
        for (int i = 0; i < N; i++)
            weft_future_free(fs[i]);
        weft_future_free(a);
        weft_executor_free(ex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_bad_args),
        cmocka_unit_test(test_default_workers_is_cpus),
        cmocka_unit_test(test_lazy_start_and_names),
        cmocka_unit_test(test_default_prefix),
        cmocka_unit_test(test_one_submission_one_worker),
        cmocka_unit_test(test_batch_starts_max_workers),
        cmocka_unit_test(test_initializer_once_per_worker),
        cmocka_unit_test(test_initializer_failure_breaks_pool),
        cmocka_unit_test(test_submit_after_shutdown),
        cmocka_unit_test(test_shutdown_on_unused_pool),
        cmocka_unit_test(test_shutdown_wait_runs_queued),
        cmocka_unit_test(test_shutdown_cancel_futures),
        cmocka_unit_test(test_shutdown_wait_from_task_is_edeadlk),
        cmocka_unit_test(test_inner_submit),
        cmocka_unit_test(test_idle_pool_uses_no_cpu),
        cmocka_unit_test(test_fifo_start_with_one_worker_blocked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
