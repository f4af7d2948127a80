/* The fallback for kernels without pidfds (WEFT_PROCESS_NO_PIDFD=1 makes weft
 * pretend): join, timeouts, signals (through the forkserver for its children),
 * reaping of freed children - the same answers as with pidfds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "process/process_test.h"

static void test_codes_and_signals(void **state)
{
    weft_start_method m = PT_METHOD(state);
    weft_process *p;
    int code = -1;
    assert_int_equal(
        weft_process_spawn(&p, pt_return_arg, (void *)77, &(weft_process_opts){.method = m}), 0);
    assert_int_equal(weft_process_join(p, WEFT_FOREVER), 0);
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 77);
    assert_int_equal(weft_process_terminate(p), 0); /* reaped: nothing sent */
    weft_process_free(p);

    assert_int_equal(weft_process_spawn(&p, pt_segv, NULL, &(weft_process_opts){.method = m}), 0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, -SIGSEGV);
    weft_process_free(p);

    const int sigs[2] = {SIGTERM, SIGKILL};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            weft_process_spawn(&p, pt_sleep_long, NULL, &(weft_process_opts){.method = m}), 0);
        double t0 = weft_test_now();
        assert_int_equal(weft_process_join(p, 0.1), -ETIMEDOUT);
        double dt = weft_test_now() - t0;
        assert_true(dt >= 0.09 && dt < 5.0);
        assert_int_equal(i ? weft_process_kill(p) : weft_process_terminate(p), 0);
        assert_int_equal(weft_process_join(p, 30.0), 0);
        assert_int_equal(weft_process_exitcode(p, &code), 0);
        assert_int_equal(code, -sigs[i]);
        assert_int_equal(weft_process_kill(p), 0);
        weft_process_free(p);
    }
}

static int sleep_ms(void *arg)
{
    weft_test_sleep((double)(intptr_t)arg / 1000.0);
    return 0;
}

static void test_free_without_join(void **state)
{
    enum { N = 8 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        weft_process *p;
        assert_int_equal(weft_process_spawn(&p, sleep_ms, (void *)(intptr_t)(20 * i),
                                            &(weft_process_opts){.method = PT_METHOD(state)}),
                         0);
        pids[i] = weft_process_pid(p);
        weft_process_free(p);
    }
    double t0 = weft_test_now();
    for (int i = 0; i < N; i++) {
        while (pt_proc_state(pids[i], NULL) != 0 && weft_test_now() - t0 < 30)
            weft_test_sleep(0.005);
        assert_int_equal(pt_proc_state(pids[i], NULL), 0);
    }
    assert_int_equal(pt_zombies_of(getpid()), 0);
}

static void *join_forever(void *arg)
{
    return (void *)(intptr_t)weft_process_join(arg, WEFT_FOREVER);
}

/* Blocking joiners in several threads (waitid without reaping, then one reap). */
static void test_concurrent_joiners(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, sleep_ms, (void *)100,
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, join_forever, p), 0);
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_int_equal((intptr_t)r, 0);
    }
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    weft_process_free(p);
}

static int parent_alive(void *arg)
{
    weft_process *parent = weft_parent_process();
    return parent && weft_process_is_alive(parent) &&
                   weft_process_pid(parent) == (pid_t)(intptr_t)arg
               ? 0
               : 1;
}

static void test_parent_alive(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, parent_alive, (void *)(intptr_t)getpid(),
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    weft_process_free(p);
}

int main(void)
{
    setenv("WEFT_PROCESS_NO_PIDFD", "1", 1); /* read at the first start */
    const struct CMUnitTest tests[] = {
        PT_BOTH(test_codes_and_signals),
        PT_BOTH(test_free_without_join),
        PT_BOTH(test_concurrent_joiners),
        PT_BOTH(test_parent_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
