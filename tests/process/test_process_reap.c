/* No zombies: start/join cycles, children freed without a join (the reaper),
 * active_children listing and reaping, concurrent joiners. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "process/process_test.h"

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* 1,000 start/join cycles (under the sanitizers too: a few seconds): every
 * exit code right, no zombie, no descriptor left behind. */
static void test_cycles_leave_no_zombie(void **state)
{
    weft_start_method m = PT_METHOD(state);
    int cycles = 1000;
    weft_process *warm;
    assert_int_equal(
        weft_process_spawn(&warm, pt_return_arg, NULL, &(weft_process_opts){.method = m}),
        0); /* the forkserver's socket is in place before we count */
    assert_int_equal(weft_process_join(warm, 30.0), 0);
    weft_process_free(warm);
    int fds = count_fds();
    for (int i = 0; i < cycles; i++) {
        weft_process *p;
        assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)(intptr_t)(i & 127),
                                            &(weft_process_opts){.method = m}),
                         0);
        assert_int_equal(weft_process_join(p, 30.0), 0);
        int code = -1;
        assert_int_equal(weft_process_exitcode(p, &code), 0);
        assert_int_equal(code, i & 127);
        weft_process_free(p);
    }
    assert_int_equal(pt_zombies_of(getpid()), 0);
    assert_int_equal(count_fds(), fds);
    assert_int_equal(weft_active_children(NULL, 0), 0);
}

static int sleep_a_bit(void *arg)
{
    weft_test_sleep((double)(intptr_t)arg / 1000.0);
    return 0;
}

/* Freed while running: reaped by weft when it ends, without further calls. */
static void test_free_without_join(void **state)
{
    weft_start_method m = PT_METHOD(state);
    enum { N = 20 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        weft_process *p;
        assert_int_equal(weft_process_spawn(&p, sleep_a_bit, (void *)(intptr_t)(10 * i),
                                            &(weft_process_opts){.method = m}),
                         0);
        pids[i] = weft_process_pid(p);
        weft_process_free(p);
    }
    /* Gone entirely: neither running nor a zombie. */
    double t0 = weft_test_now();
    for (int i = 0; i < N; i++)
        while (pt_proc_state(pids[i], NULL) != 0 && weft_test_now() - t0 < 30)
            weft_test_sleep(0.005);
    for (int i = 0; i < N; i++)
        assert_int_equal(pt_proc_state(pids[i], NULL), 0);
    assert_int_equal(pt_zombies_of(getpid()), 0);
    assert_int_equal(weft_active_children(NULL, 0), 0);
}

/* A child that ended unreaped and was then freed is reaped at free. */
static void test_free_after_end(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, NULL,
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    pid_t pid = weft_process_pid(p);
    if (PT_METHOD(state) == WEFT_START_FORK)
        assert_true(pt_wait_gone(pid, 30.0)); /* a zombie now */
    else
        weft_test_sleep(0.05);
    weft_process_free(p);
    double t0 = weft_test_now();
    while (pt_proc_state(pid, NULL) != 0 && weft_test_now() - t0 < 30)
        weft_test_sleep(0.005);
    assert_int_equal(pt_proc_state(pid, NULL), 0);
}

static void test_active_children(void **state)
{
    weft_start_method m = PT_METHOD(state);
    assert_int_equal(weft_active_children(NULL, 0), 0);
    weft_process *sleepers[3], *quick[2];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(weft_process_spawn(&sleepers[i], pt_sleep_long, NULL,
                                            &(weft_process_opts){.method = m}),
                         0);
        if (i < 2)
            assert_int_equal(weft_process_spawn(&quick[i], pt_return_arg, (void *)9,
                                                &(weft_process_opts){.method = m}),
                             0);
    }
    /* Let the quick ones end (unreaped, for fork children still zombies). */
    for (int i = 0; i < 2; i++)
        assert_true(pt_wait_gone(weft_process_pid(quick[i]), 30.0));
    weft_test_sleep(0.05); /* forkserver: its report travels too */
    weft_process *out[8];
    assert_int_equal(weft_active_children(out, 8), 3);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(out[i], sleepers[i]); /* start order */
        weft_process_free(out[i]);
    }
    /* The finished ones were reaped by that call. */
    for (int i = 0; i < 2; i++) {
        int code = -1;
        assert_int_equal(weft_process_exitcode(quick[i], &code), 0);
        assert_int_equal(code, 9);
        weft_process_free(quick[i]);
    }
    assert_int_equal(pt_zombies_of(getpid()), 0);
    /* Fewer slots than children: the count is still the whole. */
    assert_int_equal(weft_active_children(out, 1), 3);
    assert_ptr_equal(out[0], sleepers[0]);
    weft_process_free(out[0]);
    /* A freed handle is still listed while its child runs. */
    pid_t last = weft_process_pid(sleepers[2]);
    weft_process_free(sleepers[2]);
    assert_int_equal(weft_active_children(out, 8), 3);
    assert_int_equal(weft_process_pid(out[2]), last);
    assert_int_equal(weft_process_kill(out[2]), 0);
    for (int i = 0; i < 3; i++)
        weft_process_free(out[i]);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(weft_process_kill(sleepers[i]), 0);
        assert_int_equal(weft_process_join(sleepers[i], 30.0), 0);
        weft_process_free(sleepers[i]);
    }
    double t0 = weft_test_now();
    while (weft_active_children(NULL, 0) != 0 && weft_test_now() - t0 < 30)
        weft_test_sleep(0.005);
    assert_int_equal(weft_active_children(NULL, 0), 0);
    assert_true(pt_wait_gone(last, 30.0));
}

/* Many children at once: each running fork child costs no descriptor, each
 * forkserver child one (its status pipe); all are joined, none is left. */
static void test_many_at_once(void **state)
{
    weft_start_method m = PT_METHOD(state);
    int n = WEFT_TEST_SCALE(400);
    if (n < 100)
        n = 100;
    weft_process **all = calloc((size_t)n, sizeof *all);
    assert_non_null(all);
    int fds = count_fds();
    for (int i = 0; i < n; i++)
        assert_int_equal(weft_process_spawn(&all[i], sleep_a_bit, (void *)300,
                                            &(weft_process_opts){.method = m}),
                         0);
    int during = count_fds() - fds;
    assert_true(during <= (m == WEFT_START_FORK ? 0 : n) + 1);
    assert_int_equal(weft_active_children(NULL, 0), (size_t)n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(weft_process_join(all[i], 60.0), 0);
        int code = -1;
        assert_int_equal(weft_process_exitcode(all[i], &code), 0);
        assert_int_equal(code, 0);
        weft_process_free(all[i]);
    }
    free(all);
    assert_int_equal(count_fds(), fds);
    assert_int_equal(pt_zombies_of(getpid()), 0);
}

struct joiner {
    weft_process *p;
    int rc, code;
};

static void *join_it(void *arg)
{
    struct joiner *j = arg;
    j->rc = weft_process_join(j->p, 30.0);
    if (j->rc == 0)
        j->rc = weft_process_exitcode(j->p, &j->code);
    return NULL;
}

/* Several threads join one child: all see it end, with the same code. */
static void test_concurrent_joiners(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, sleep_a_bit, (void *)100,
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    enum { T = 4 };
    pthread_t th[T];
    struct joiner j[T];
    for (int i = 0; i < T; i++) {
        j[i] = (struct joiner){.p = p, .rc = -1, .code = -1};
        assert_int_equal(pthread_create(&th[i], NULL, join_it, &j[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(j[i].rc, 0);
        assert_int_equal(j[i].code, 0);
    }
    weft_process_free(p);
    assert_int_equal(pt_zombies_of(getpid()), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        PT_BOTH(test_cycles_leave_no_zombie), PT_BOTH(test_free_without_join),
        PT_BOTH(test_free_after_end),         PT_BOTH(test_active_children),
        PT_BOTH(test_concurrent_joiners),     PT_BOTH(test_many_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
