/* weft/process.h: every call and error code, exit codes and signals, names,
 * arguments, data isolation, terminate/kill, join timeouts - each for fork and
 * for forkserver children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "process/process_test.h"

static void test_bad_input(void **state)
{
    weft_process *p = (weft_process *)0x1;
    int code = 12345;
    assert_int_equal(weft_process_new(NULL, pt_return_arg, NULL, NULL), -EINVAL);
    assert_int_equal(weft_process_new(&p, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(weft_process_new(&p, pt_return_arg, NULL, &(weft_process_opts){.arg_size = 4}),
                     -EINVAL);
    assert_int_equal(weft_process_new(&p, pt_return_arg, NULL,
                                      &(weft_process_opts){.method = (weft_start_method)7}),
                     -EINVAL);
    assert_int_equal(weft_process_spawn(&p, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(weft_process_spawn(NULL, pt_return_arg, NULL, NULL), -EINVAL);
    assert_ptr_equal(p, (weft_process *)0x1); /* untouched on failure */
    assert_int_equal(weft_process_start(NULL), -EINVAL);
    assert_int_equal(weft_process_join(NULL, 1.0), -EINVAL);
    assert_int_equal(weft_process_exitcode(NULL, &code), -EINVAL);
    assert_int_equal(weft_process_terminate(NULL), -EINVAL);
    assert_int_equal(weft_process_kill(NULL), -EINVAL);
    assert_false(weft_process_is_alive(NULL));
    assert_int_equal(weft_process_pid(NULL), 0);
    assert_string_equal(weft_process_name(NULL), "");
    assert_false(weft_process_daemon(NULL));
    assert_int_equal(weft_process_start_method(NULL), WEFT_START_AUTO);
    assert_null(weft_process_ref(NULL));
    weft_process_free(NULL);
    assert_int_equal(weft_set_start_method((weft_start_method)9), -EINVAL);
    assert_int_equal(code, 12345);
}

/* Never started: clear codes, no signal sent anywhere. */
static void test_not_started(void **state)
{
    weft_process *p;
    int code = 7;
    assert_int_equal(weft_process_new(&p, pt_return_arg, NULL, NULL), 0);
    assert_int_equal(weft_process_join(p, 0), -WEFT_ENOTSTARTED);
    assert_int_equal(weft_process_join(p, WEFT_FOREVER), -WEFT_ENOTSTARTED);
    assert_int_equal(weft_process_join(p, NAN), -EINVAL);
    assert_int_equal(weft_process_exitcode(p, &code), -WEFT_ENOTSTARTED);
    assert_int_equal(weft_process_exitcode(p, NULL), -EINVAL);
    assert_int_equal(weft_process_terminate(p), -WEFT_ENOTSTARTED);
    assert_int_equal(weft_process_kill(p), -WEFT_ENOTSTARTED);
    assert_false(weft_process_is_alive(p));
    assert_int_equal(weft_process_pid(p), 0);
    assert_int_equal(weft_process_start_method(p), WEFT_START_AUTO);
    assert_int_equal(code, 7);
    weft_process_free(p); /* never started: just freed */
}

static void test_exit_codes(void **state)
{
    weft_start_method m = PT_METHOD(state);
    const int values[] = {0, 1, 42, 255, 256, -1};
    const int expect[] = {0, 1, 42, 255, 0, 255}; /* exit() keeps the low 8 bits */
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        weft_process *p;
        assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)(intptr_t)values[i],
                                            &(weft_process_opts){.method = m}),
                         0);
        assert_int_equal(weft_process_start_method(p), m);
        assert_true(weft_process_pid(p) > 0);
        assert_int_equal(weft_process_join(p, 30.0), 0);
        assert_false(weft_process_is_alive(p));
        int code = -1000;
        assert_int_equal(weft_process_exitcode(p, &code), 0);
        assert_int_equal(code, expect[i]);
        /* Join again: same answer; start again: refused. */
        assert_int_equal(weft_process_join(p, WEFT_FOREVER), 0);
        assert_int_equal(weft_process_join(p, 0), 0);
        assert_int_equal(weft_process_start(p), -EALREADY);
        /* Signals to a reaped child go nowhere and say 0. */
        assert_int_equal(weft_process_terminate(p), 0);
        assert_int_equal(weft_process_kill(p), 0);
        assert_true(weft_process_pid(p) > 0);
        weft_process_free(p);
    }
}

static void test_segfault(void **state)
{
    weft_process *p;
    assert_int_equal(
        weft_process_spawn(&p, pt_segv, NULL, &(weft_process_opts){.method = PT_METHOD(state)}), 0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    int code = 0;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, -SIGSEGV);
    weft_process_free(p);
}

/* Child checks of its own view; the exit code says which check failed. */
static int check_self(void *arg)
{
    const char *want = arg;
    weft_process *me = weft_current_process();
    if (strcmp(weft_process_name(me), want) != 0)
        return 10;
    if (weft_process_pid(me) != getpid())
        return 11;
    if (!weft_process_is_alive(me))
        return 12;
    if (weft_process_join(me, 0) != -ECHILD)
        return 13;
    int c;
    if (weft_process_exitcode(me, &c) != -WEFT_ERUNNING)
        return 14;
    weft_process *parent = weft_parent_process();
    if (!parent || strcmp(weft_process_name(parent), "MainProcess") != 0)
        return 15;
    if (!weft_process_is_alive(parent))
        return 16;
    if (weft_process_daemon(me) != true)
        return 17;
    weft_process_free(me); /* borrowed: ignored */
    weft_process_free(parent);
    if (strcmp(weft_process_name(weft_current_process()), want) != 0)
        return 18;
    return 0;
}

static void test_current_and_parent(void **state)
{
    weft_process *main_p = weft_current_process();
    assert_non_null(main_p);
    assert_string_equal(weft_process_name(main_p), "MainProcess");
    assert_int_equal(weft_process_pid(main_p), getpid());
    assert_true(weft_process_is_alive(main_p));
    assert_null(weft_parent_process());
    assert_int_equal(weft_process_join(main_p, 0), -ECHILD);
    assert_int_equal(weft_process_terminate(main_p), -ECHILD);
    assert_int_equal(weft_process_start(main_p), -EINVAL);
    weft_process *p;
    assert_int_equal(
        weft_process_spawn(
            &p, check_self, "worker-7",
            &(weft_process_opts){.name = "worker-7", .daemon = true, .method = PT_METHOD(state)}),
        0);
    assert_true(weft_process_daemon(p));
    assert_string_equal(weft_process_name(p), "worker-7");
    assert_int_equal(weft_process_join(p, 30.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    weft_process_free(p);
}

static void test_default_names(void **state)
{
    weft_process *a, *b;
    assert_int_equal(weft_process_new(&a, pt_return_arg, NULL, NULL), 0);
    assert_int_equal(weft_process_new(&b, pt_return_arg, NULL, NULL), 0);
    unsigned na, nb;
    assert_int_equal(sscanf(weft_process_name(a), "Process-%u", &na), 1);
    assert_int_equal(sscanf(weft_process_name(b), "Process-%u", &nb), 1);
    assert_int_equal(nb, na + 1);
    assert_false(weft_process_daemon(a));
    weft_process_free(a);
    weft_process_free(b);
}

/* The OS name is the first 15 bytes of the name. */
static void test_comm(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_sleep_long, NULL,
                                        &(weft_process_opts){.name = "a-rather-long-process-name",
                                                             .method = PT_METHOD(state)}),
                     0);
    assert_true(pt_wait_comm(weft_process_pid(p), "a-rather-long-p", 30.0));
    assert_string_equal(weft_process_name(p), "a-rather-long-process-name");
    assert_int_equal(weft_process_kill(p), 0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    weft_process_free(p);
}

#define BLOB 100000

/* Checks the copied bytes: 0 when intact. */
static int check_blob(void *arg)
{
    const unsigned char *b = arg;
    for (size_t i = 0; i < BLOB; i++)
        if (b[i] != (unsigned char)(i * 7 + 3))
            return 1;
    return 0;
}

static void test_bytes_argument(void **state)
{
    unsigned char *blob = malloc(BLOB);
    assert_non_null(blob);
    for (size_t i = 0; i < BLOB; i++)
        blob[i] = (unsigned char)(i * 7 + 3);
    weft_process *p;
    assert_int_equal(
        weft_process_new(
            &p, check_blob, NULL,
            &(weft_process_opts){.arg_bytes = blob, .arg_size = BLOB, .method = PT_METHOD(state)}),
        0);
    memset(blob, 0, BLOB); /* copied at new(): later changes do not travel */
    free(blob);
    assert_int_equal(weft_process_start(p), 0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    weft_process_free(p);
}

/* A zero-length copy still gives fn a non-NULL pointer. */
static int is_non_null(void *arg)
{
    return arg != NULL ? 0 : 1;
}

static void test_empty_bytes(void **state)
{
    weft_process *p;
    assert_int_equal(
        weft_process_spawn(
            &p, is_non_null, NULL,
            &(weft_process_opts){.arg_bytes = "", .arg_size = 0, .method = PT_METHOD(state)}),
        0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    weft_process_free(p);
}

static int num = 100;

static int change_num(void *arg)
{
    num = 999;
    return num == 999 ? 0 : 1;
}

static void test_data_isolation(void **state)
{
    weft_process *p;
    assert_int_equal(
        weft_process_spawn(&p, change_num, NULL, &(weft_process_opts){.method = PT_METHOD(state)}),
        0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(num, 100);
    weft_process_free(p);
}

/* Pointer mode with fork: the child sees the parent's memory as of the fork. */
static int read_struct(void *arg)
{
    const int *v = arg;
    return v[0] + v[1];
}

static void test_pointer_argument_fork(void **state)
{
    int v[2] = {20, 22};
    weft_process *p;
    assert_int_equal(
        weft_process_spawn(&p, read_struct, v, &(weft_process_opts){.method = WEFT_START_FORK}), 0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 42);
    weft_process_free(p);
}

static void test_terminate_kill(void **state)
{
    weft_start_method m = PT_METHOD(state);
    const int sigs[2] = {SIGTERM, SIGKILL};
    for (int i = 0; i < 2; i++) {
        weft_process *p;
        assert_int_equal(
            weft_process_spawn(&p, pt_sleep_long, NULL, &(weft_process_opts){.method = m}), 0);
        assert_true(weft_process_is_alive(p));
        int code = 0;
        assert_int_equal(weft_process_exitcode(p, &code), -WEFT_ERUNNING);
        assert_int_equal(code, 0);
        assert_int_equal(i == 0 ? weft_process_terminate(p) : weft_process_kill(p), 0);
        assert_int_equal(weft_process_join(p, 30.0), 0);
        assert_false(weft_process_is_alive(p));
        assert_int_equal(weft_process_exitcode(p, &code), 0);
        assert_int_equal(code, -sigs[i]);
        weft_process_free(p);
    }
}

/* is_alive turns false soon after terminate, without an explicit join. */
static void test_terminate_then_is_alive(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_sleep_long, NULL,
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    assert_int_equal(weft_process_terminate(p), 0);
    double t0 = weft_test_now();
    while (weft_process_is_alive(p) && weft_test_now() - t0 < 30)
        weft_test_sleep(0.001);
    assert_false(weft_process_is_alive(p));
    int code = 0;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, -SIGTERM);
    assert_int_equal(weft_process_join(p, 0), 0);
    weft_process_free(p);
}

static void test_join_timeout(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_sleep_long, NULL,
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    assert_int_equal(weft_process_join(p, 0), -ETIMEDOUT);
    assert_int_equal(weft_process_join(p, NAN), -EINVAL);
    double t0 = weft_test_now();
    assert_int_equal(weft_process_join(p, 0.1), -ETIMEDOUT);
    double dt = weft_test_now() - t0;
    assert_true(dt >= 0.09);
    assert_true(dt < 5.0);
    assert_true(weft_process_is_alive(p));
    assert_int_equal(weft_process_kill(p), 0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    weft_process_free(p);
}

/* A start that cannot happen leaves the object startable. */
static void test_spawn_then_ref(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)3,
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    weft_process *q = weft_process_ref(p);
    assert_ptr_equal(p, q);
    weft_process_free(p);
    assert_int_equal(weft_process_join(q, 30.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(q, &code), 0);
    assert_int_equal(code, 3);
    weft_process_free(q);
}

static void test_start_method_setting(void **state)
{
    assert_int_equal(weft_get_start_method(), WEFT_START_AUTO);
    assert_int_equal(weft_set_start_method(WEFT_START_FORKSERVER), 0);
    assert_true(weft_forkserver_pid() > 0);
    assert_int_equal(weft_get_start_method(), WEFT_START_FORKSERVER);
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)5, NULL), 0);
    assert_int_equal(weft_process_start_method(p), WEFT_START_FORKSERVER);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    weft_process_free(p);
    assert_int_equal(weft_set_start_method(WEFT_START_FORK), 0);
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)5, NULL), 0);
    assert_int_equal(weft_process_start_method(p), WEFT_START_FORK);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    weft_process_free(p);
    assert_int_equal(weft_set_start_method(WEFT_START_AUTO), 0);
    /* This program is single-threaded: AUTO forks. (Under TSan, whose own
     * helper thread is running once any thread was started, it may not be.) */
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)5, NULL), 0);
#ifndef WEFT_TSAN
    assert_int_equal(weft_process_start_method(p), WEFT_START_FORK);
#endif
    assert_int_equal(weft_process_join(p, 30.0), 0);
    weft_process_free(p);
}

/* A handle inherited through a plain fork() is not the child's to act on. */
static void test_inherited_handle(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_sleep_long, NULL,
                                        &(weft_process_opts){.method = PT_METHOD(state)}),
                     0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = 0, c;
        bad |= (weft_process_join(p, 0) != -ECHILD) << 0;
        bad |= (weft_process_terminate(p) != -ECHILD) << 1;
        bad |= (weft_process_kill(p) != -ECHILD) << 2;
        bad |= (weft_process_exitcode(p, &c) != -ECHILD) << 3;
        bad |= weft_process_is_alive(p) << 4;
        bad |= (weft_active_children(NULL, 0) != 0) << 5;
        _exit(bad);
    }
    int st = -1;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(weft_process_is_alive(p)); /* untouched */
    assert_int_equal(weft_process_kill(p), 0);
    assert_int_equal(weft_process_join(p, 30.0), 0);
    weft_process_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_not_started),
        PT_BOTH(test_exit_codes),
        PT_BOTH(test_segfault),
        PT_BOTH(test_current_and_parent),
        cmocka_unit_test(test_default_names),
        PT_BOTH(test_comm),
        PT_BOTH(test_bytes_argument),
        PT_BOTH(test_empty_bytes),
        PT_BOTH(test_data_isolation),
        cmocka_unit_test(test_pointer_argument_fork),
        PT_BOTH(test_terminate_kill),
        PT_BOTH(test_terminate_then_is_alive),
        PT_BOTH(test_join_timeout),
        PT_BOTH(test_spawn_then_ref),
        PT_BOTH(test_inherited_handle),
        cmocka_unit_test(test_start_method_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
