/* A pool inherited through fork() is refused in the child (its workers do not
 * exist there), and the parent's pool is untouched. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_refuses_inherited_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
