/* Python's exit rule: exit() waits for non-daemon threads, not for daemons;
 * weft_thread_wait_at_exit(false) and _exit() opt out. Each case runs in a
 * child process, whose thread reports through a pipe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft_test.h"

static int report_fd;

static void *late_reporter(void *arg)
{
    weft_test_sleep(*(double *)arg);
    (void)!write(report_fd, "done", 4);
    return NULL;
}

enum ending { END_EXIT, END_RETURN_FROM_THREAD_EXIT, END_NO_WAIT, END_UNDERSCORE_EXIT };

static void *call_exit(void *arg)
{
    exit(0); /* from a non-main thread: waits for the others, not itself */
}

/* Run a child that starts one thread (daemon or not) sleeping `delay` before it
 * reports, then ends as `how` says. Returns what the parent read (0 or 4 bytes)
 * and the child's exit status through *status. */
static int run_child(bool daemon, double delay, enum ending how, int *status)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        report_fd = fds[1];
        weft_thread *t;
        if (weft_thread_start(&t, late_reporter, &delay,
                              &(weft_thread_opts){.name = "late", .daemon = daemon}) != 0)
            _exit(3);
        switch (how) {
        case END_EXIT:
            exit(0);
        case END_RETURN_FROM_THREAD_EXIT: {
            weft_thread *e;
            weft_thread_start(&e, call_exit, NULL, &(weft_thread_opts){.name = "exiter"});
            for (;;)
                pause();
        }
        case END_NO_WAIT:
            weft_thread_wait_at_exit(false);
            exit(0);
        case END_UNDERSCORE_EXIT:
            _exit(0);
        }
    }
    close(fds[1]);
    char buf[8] = {0};
    ssize_t n, total = 0;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0)
        total += n;
    close(fds[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
    return (int)total;
}

static void test_exit_waits_for_non_daemon(void **state)
{
    int st;
    double t0 = weft_test_now();
    assert_int_equal(run_child(false, 0.2, END_EXIT, &st), 4);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(weft_test_now() - t0 >= 0.19);
}

static void test_exit_does_not_wait_for_daemon(void **state)
{
    int st;
    double t0 = weft_test_now();
    assert_int_equal(run_child(true, 5.0, END_EXIT, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(weft_test_now() - t0 < 4.0);
}

static void test_exit_from_a_thread_waits_for_the_others(void **state)
{
    int st;
    assert_int_equal(run_child(false, 0.2, END_RETURN_FROM_THREAD_EXIT, &st), 4);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_opt_outs(void **state)
{
    int st;
    double t0 = weft_test_now();
    assert_int_equal(run_child(false, 5.0, END_NO_WAIT, &st), 0);
    assert_int_equal(run_child(false, 5.0, END_UNDERSCORE_EXIT, &st), 0);
    assert_true(weft_test_now() - t0 < 4.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_waits_for_non_daemon),
        cmocka_unit_test(test_exit_does_not_wait_for_daemon),
        cmocka_unit_test(test_exit_from_a_thread_waits_for_the_others),
        cmocka_unit_test(test_opt_outs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
