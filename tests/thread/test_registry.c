/* current_thread, main thread, dummies, enumerate, active_count, fork. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft_test.h"

static void test_main_thread(void **state)
{
    weft_thread *me = weft_current_thread();
    assert_non_null(me);
    assert_ptr_equal(me, weft_main_thread());
    assert_string_equal(weft_thread_name(me), "MainThread");
    assert_true(weft_thread_is_alive(me));
    assert_false(weft_thread_daemon(me));
    assert_int_equal(weft_active_count(), 1);
    weft_thread *list[4];
    assert_int_equal(weft_enumerate(list, 4), 1);
    assert_ptr_equal(list[0], me);
    weft_thread_free(list[0]);
}

static void *report_current(void *arg)
{
    *(weft_thread **)arg = weft_current_thread();
    return NULL;
}

static void test_current_in_weft_thread(void **state)
{
    weft_thread *seen = NULL, *t;
    assert_int_equal(weft_thread_start(&t, report_current, &seen, &(weft_thread_opts){.name = "me"}), 0);
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, NULL), 0);
    assert_ptr_equal(seen, t);
    weft_thread_free(t);
}

struct foreign {
    char name[WEFT_THREAD_NAME_MAX];
    bool daemon, alive, same_twice;
    size_t count_inside;
};

static void *foreign_body(void *arg)
{
    struct foreign *f = arg;
    weft_thread *me = weft_current_thread();
    strcpy(f->name, weft_thread_name(me));
    f->daemon = weft_thread_daemon(me);
    f->alive = weft_thread_is_alive(me);
    f->same_twice = weft_current_thread() == me;
    f->count_inside = weft_active_count();
    return NULL;
}

static void test_foreign_thread_gets_dummy(void **state)
{
    struct foreign f = {0};
    pthread_t pt;
    size_t before = weft_active_count();
    assert_int_equal(pthread_create(&pt, NULL, foreign_body, &f), 0);
    assert_int_equal(pthread_join(pt, NULL), 0);
    assert_int_equal(strncmp(f.name, "Dummy-", 6), 0);
    assert_true(f.daemon);
    assert_true(f.alive);
    assert_true(f.same_twice);
    assert_int_equal(f.count_inside, before + 1);
    /* Dropped from the registry when the thread ended. */
    assert_int_equal(weft_active_count(), before);
}

/* A gate the test opens; polled, so this test needs nothing from sync.h. */
static int go;

static void *wait_go(void *arg)
{
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        weft_test_sleep(0.001);
    return NULL;
}

static void test_enumerate_order_and_cap(void **state)
{
    const char *names[] = {"alpha", "beta", "gamma"};
    weft_thread *t[3];
    __atomic_store_n(&go, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_thread_start(&t[i], wait_go, NULL, &(weft_thread_opts){.name = names[i]}), 0);
    assert_int_equal(weft_active_count(), 4);
    assert_int_equal(weft_enumerate(NULL, 0), 4);
    weft_thread *list[2];
    assert_int_equal(weft_enumerate(list, 2), 4); /* only 2 filled */
    assert_string_equal(weft_thread_name(list[0]), "MainThread");
    assert_string_equal(weft_thread_name(list[1]), "alpha");
    weft_thread_free(list[0]);
    weft_thread_free(list[1]);
    weft_thread *all[8];
    assert_int_equal(weft_enumerate(all, 8), 4);
    for (int i = 0; i < 3; i++)
        assert_string_equal(weft_thread_name(all[i + 1]), names[i]);
    for (int i = 0; i < 4; i++)
        weft_thread_free(all[i]);
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(weft_thread_join(t[i], WEFT_FOREVER, NULL), 0);
        weft_thread_free(t[i]);
    }
    assert_int_equal(weft_active_count(), 1);
}

static void *fork_from_thread(void *arg)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* Child: only this thread exists, and it is the main thread now. */
        weft_thread *me = weft_current_thread();
        int ok = weft_active_count() == 1 && weft_main_thread() == me &&
                 strcmp(weft_thread_name(me), "forker") == 0 &&
                 weft_thread_native_id(me) == getpid() && weft_thread_is_alive(me);
        /* The parent's main thread is reported finished in the child. */
        ok = ok && weft_thread_join((weft_thread *)arg, 0, NULL) == 0;
        _exit(ok ? 0 : 1);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    return (void *)(intptr_t)st;
}

static void test_fork_child_registry(void **state)
{
    weft_thread *t, *blocked;
    __atomic_store_n(&go, 0, __ATOMIC_RELEASE);
    assert_int_equal(weft_thread_start(&blocked, wait_go, NULL, &(weft_thread_opts){.name = "blocked"}), 0);
    assert_int_equal(weft_thread_start(&t, fork_from_thread, weft_main_thread(),
                                       &(weft_thread_opts){.name = "forker"}), 0);
    void *st;
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, &st), 0);
    assert_true(WIFEXITED((int)(intptr_t)st));
    assert_int_equal(WEXITSTATUS((int)(intptr_t)st), 0);
    weft_thread_free(t);
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    assert_int_equal(weft_thread_join(blocked, WEFT_FOREVER, NULL), 0);
    weft_thread_free(blocked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main_thread),
        cmocka_unit_test(test_current_in_weft_thread),
        cmocka_unit_test(test_foreign_thread_gets_dummy),
        cmocka_unit_test(test_enumerate_order_and_cap),
        cmocka_unit_test(test_fork_child_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
