/* A pool inherited through fork() is refused in the child (its workers do not
 * exist there): submit and shutdown say -ECHILD, free leaves it alone, waiting
 * for one of its unfinished futures says -ECHILD instead of hanging; the
 * parent's pool is untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft_test.h"
#include "executor_test.h"

static void test_child_refuses_inherited_pool(void **state)
{
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 2}), 0);
    weft_future *f;
    assert_int_equal(weft_executor_submit(ex, identity, (void *)1, &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &r), 0);
    weft_future_free(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_future *g = NULL;
        int rc = weft_executor_submit(ex, identity, (void *)2, &g);
        int ok = rc == -ECHILD && g == NULL;
#ifndef WEFT_TSAN /* TSan cannot start threads in a child of a threaded fork */
        /* A new pool in the child works. */
        weft_executor *mine;
        ok = ok && weft_executor_new(&mine, &(weft_executor_opts){.max_workers = 1}) == 0 &&
             weft_executor_submit(mine, identity, (void *)3, &g) == 0 &&
             weft_future_result(g, 10.0, &r) == 0 && r == (void *)3;
#endif
        _exit(ok ? 0 : 1);
    }
    int st = -1;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* The parent's pool still works. */
    assert_int_equal(weft_executor_submit(ex, identity, (void *)4, &f), 0);
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &r), 0);
    assert_ptr_equal(r, (void *)4);
    weft_future_free(f);
    weft_executor_free(ex);
}

static weft_event gate = WEFT_EVENT_INIT;

static void *wait_gate(void *arg)
{
    weft_event_wait(&gate, WEFT_FOREVER);
    return arg;
}

/* Futures running and queued at the fork: in the child every way of waiting
 * for them ends with -ECHILD (a done one still gives its result); the parent
 * gets all of them once the gate opens. */
static void test_child_waits_end_with_echild(void **state)
{
    (void)state;
    weft_executor *ex;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 1}), 0);
    weft_future *done, *running, *queued;
    void *r = NULL;
    assert_int_equal(weft_executor_submit(ex, identity, (void *)1, &done), 0);
    assert_int_equal(weft_future_result(done, WEFT_FOREVER, &r), 0);
    assert_int_equal(weft_executor_submit(ex, wait_gate, (void *)2, &running), 0);
    assert_int_equal(weft_executor_submit(ex, identity, (void *)3, &queued), 0);
    double t0 = weft_test_now();
    while (!weft_future_running(running) && weft_test_now() - t0 < 30)
        weft_test_sleep(0.001);
    assert_true(weft_future_running(running));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        void *cr = NULL;
        bad |= (weft_future_result(done, WEFT_FOREVER, &cr) != 0 || cr != (void *)1) << 0;
        bad |= (weft_future_result(running, WEFT_FOREVER, NULL) != -ECHILD) << 1;
        bad |= (weft_future_result(queued, 30.0, NULL) != -ECHILD) << 2;
        bad |= (weft_future_result(queued, 0, NULL) != -ETIMEDOUT) << 3; /* never sleeps */
        weft_future *both[2] = {running, queued};
        bad |= (weft_wait(both, 2, WEFT_FIRST_COMPLETED, WEFT_FOREVER, NULL, NULL) != -ECHILD)
               << 4;
        weft_as_completed *it;
        weft_future *got;
        if (weft_as_completed_new(&it, both, 2, WEFT_FOREVER) == 0) {
            bad |= (weft_as_completed_next(it, &got, NULL) != -ECHILD) << 5;
            weft_as_completed_free(it);
        } else {
            bad |= 1 << 6;
        }
        bad |= (weft_executor_shutdown(ex, true, true) != -ECHILD) << 7;
        weft_executor_free(ex); /* returns without touching the parent's copy */
        _exit(bad);
    }
    int st = -1;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    weft_event_set(&gate);
    assert_int_equal(weft_future_result(running, WEFT_FOREVER, &r), 0);
    assert_ptr_equal(r, (void *)2);
    assert_int_equal(weft_future_result(queued, WEFT_FOREVER, &r), 0);
    assert_ptr_equal(r, (void *)3);
    weft_future_free(done);
    weft_future_free(running);
    weft_future_free(queued);
    weft_executor_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_refuses_inherited_pool),
        cmocka_unit_test(test_child_waits_end_with_echild),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
