/* Thread start, join, results, names, ids, options and bad input. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "weft.h"
#include "weft_test.h"

static void *return_arg(void *arg)
{
    return arg;
}

static void *sleep_then_return(void *arg)
{
    usleep(200 * 1000);
    return arg;
}

static void test_start_join_result(void **state)
{
    weft_thread *t;
    int token = 42;
    assert_int_equal(weft_thread_start(&t, return_arg, &token, NULL), 0);
    void *result = NULL;
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, &result), 0);
    assert_ptr_equal(result, &token);
    assert_false(weft_thread_is_alive(t));
    /* Python allows joining again: same result, at once. */
    result = NULL;
    assert_int_equal(weft_thread_join(t, 0, &result), 0);
    assert_ptr_equal(result, &token);
    weft_thread_free(t);
}

static void test_join_timeout_then_again(void **state)
{
    weft_thread *t;
    assert_int_equal(weft_thread_start(&t, sleep_then_return, (void *)7, NULL), 0);
    assert_true(weft_thread_is_alive(t));
    void *result = NULL;
    assert_int_equal(weft_thread_join(t, 0, &result), -ETIMEDOUT);
    assert_int_equal(weft_thread_join(t, NAN, &result), -EINVAL);
    double t0 = weft_test_now();
    assert_int_equal(weft_thread_join(t, 0.02, &result), -ETIMEDOUT);
    assert_true(weft_test_now() - t0 >= 0.015);
    assert_null(result);
    assert_int_equal(weft_thread_join(t, 10.0, &result), 0);
    assert_ptr_equal(result, (void *)7);
    weft_thread_free(t);
}

static void *join_self(void *arg)
{
    return (void *)(intptr_t)weft_thread_join(weft_current_thread(), 1.0, NULL);
}

static void test_join_self_is_edeadlk(void **state)
{
    weft_thread *t;
    assert_int_equal(weft_thread_start(&t, join_self, NULL, NULL), 0);
    void *result;
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, &result), 0);
    assert_int_equal((intptr_t)result, -EDEADLK);
    weft_thread_free(t);
    /* The main thread joining itself too. */
    assert_int_equal(weft_thread_join(weft_current_thread(), 0, NULL), -EDEADLK);
}

static void test_bad_input(void **state)
{
    weft_thread *t = (weft_thread *)0x1;
    assert_int_equal(weft_thread_start(NULL, return_arg, NULL, NULL), -EINVAL);
    assert_int_equal(weft_thread_start(&t, NULL, NULL, NULL), -EINVAL);
    assert_ptr_equal(t, (weft_thread *)0x1); /* untouched on failure */
    assert_int_equal(weft_thread_start(&t, return_arg, NULL, &(weft_thread_opts){.stack_size = 1}),
                     -EINVAL);
    assert_int_equal(weft_thread_join(NULL, 0, NULL), -EINVAL);
    assert_false(weft_thread_is_alive(NULL));
    assert_false(weft_thread_daemon(NULL));
    assert_string_equal(weft_thread_name(NULL), "");
    assert_int_equal(weft_thread_ident(NULL), 0);
    assert_int_equal(weft_thread_native_id(NULL), -1);
    weft_thread_free(NULL);
    assert_null(weft_thread_ref(NULL));
}

static void *report_os_name(void *arg)
{
    char *buf = arg;
    prctl(PR_GET_NAME, buf, 0, 0, 0);
    return NULL;
}

static void test_names(void **state)
{
    char os_name[17] = {0};
    weft_thread *t;
    const char *longname = "downloader-for-a-very-long-file-name";
    assert_int_equal(weft_thread_start(&t, report_os_name, os_name,
                                       &(weft_thread_opts){.name = longname}),
                     0);
    assert_string_equal(weft_thread_name(t), longname);
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, NULL), 0);
    assert_string_equal(os_name, "downloader-for-"); /* the kernel keeps 15 bytes */
    weft_thread_free(t);

    /* Default names are Python's "Thread-N", numbered upwards. */
    weft_thread *a, *b;
    assert_int_equal(weft_thread_start(&a, return_arg, NULL, NULL), 0);
    assert_int_equal(weft_thread_start(&b, return_arg, NULL, NULL), 0);
    unsigned long na = 0, nb = 0;
    assert_int_equal(sscanf(weft_thread_name(a), "Thread-%lu", &na), 1);
    assert_int_equal(sscanf(weft_thread_name(b), "Thread-%lu", &nb), 1);
    assert_true(nb > na);
    weft_thread_join(a, WEFT_FOREVER, NULL);
    weft_thread_join(b, WEFT_FOREVER, NULL);
    weft_thread_free(a);
    weft_thread_free(b);

    /* Names longer than WEFT_THREAD_NAME_MAX are cut, not overflowed. */
    char huge[200];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    assert_int_equal(weft_thread_start(&t, return_arg, NULL, &(weft_thread_opts){.name = huge}), 0);
    assert_int_equal(strlen(weft_thread_name(t)), WEFT_THREAD_NAME_MAX - 1);
    weft_thread_join(t, WEFT_FOREVER, NULL);
    weft_thread_free(t);
}

struct ids {
    pid_t tid;
    unsigned long self;
};

static void *report_ids(void *arg)
{
    struct ids *ids = arg;
    ids->tid = gettid();
    ids->self = (unsigned long)pthread_self();
    return NULL;
}

static void test_ident_and_native_id(void **state)
{
    struct ids ids;
    weft_thread *t;
    assert_int_equal(weft_thread_start(&t, report_ids, &ids, NULL), 0);
    pid_t tid = weft_thread_native_id(t); /* may wait for the thread to start */
    unsigned long ident = weft_thread_ident(t);
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, NULL), 0);
    assert_int_equal(tid, ids.tid);
    assert_true(ident == ids.self);
    assert_int_not_equal(tid, getpid());
    weft_thread_free(t);
    assert_int_equal(weft_thread_native_id(weft_main_thread()), getpid());
    assert_true(weft_thread_ident(weft_main_thread()) == (unsigned long)pthread_self());
}

static void *use_big_stack(void *arg)
{
    volatile char buf[512 * 1024]; /* would overflow a small stack */
    buf[0] = 1;
    buf[sizeof buf - 1] = 2;
    return (void *)(intptr_t)(buf[0] + buf[sizeof buf - 1]);
}

static void test_stack_size_and_daemon(void **state)
{
    weft_thread *t;
    assert_int_equal(weft_thread_start(&t, use_big_stack, NULL,
                                       &(weft_thread_opts){.stack_size = 4 << 20, .daemon = true}),
                     0);
    assert_true(weft_thread_daemon(t));
    void *r;
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, &r), 0);
    assert_int_equal((intptr_t)r, 3);
    weft_thread_free(t);
}

static void *free_own_handle_later(void *arg)
{
    usleep(50 * 1000);
    return arg;
}

static void test_free_before_finish(void **state)
{
    /* Dropping the handle of a running thread neither stops nor breaks it. */
    weft_thread *t;
    size_t before = weft_active_count();
    assert_int_equal(weft_thread_start(&t, free_own_handle_later, NULL, NULL), 0);
    weft_thread *again = weft_thread_ref(t);
    weft_thread_free(t);
    assert_true(weft_thread_is_alive(again));
    assert_int_equal(weft_thread_join(again, WEFT_FOREVER, NULL), 0);
    weft_thread_free(again);
    assert_int_equal(weft_active_count(), before);
}

/* Many threads joining one thread at once all get its result. */
static weft_thread *shared_target;
static void *join_shared(void *arg)
{
    void *r = NULL;
    int rc = weft_thread_join(shared_target, WEFT_FOREVER, &r);
    return rc == 0 ? r : NULL;
}

static void test_many_joiners(void **state)
{
    assert_int_equal(weft_thread_start(&shared_target, sleep_then_return, (void *)99, NULL), 0);
    weft_thread *j[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(weft_thread_start(&j[i], join_shared, NULL, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *r;
        assert_int_equal(weft_thread_join(j[i], WEFT_FOREVER, &r), 0);
        assert_ptr_equal(r, (void *)99);
        weft_thread_free(j[i]);
    }
    weft_thread_free(shared_target);
}

static size_t count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    size_t n = 0;
    int c;
    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Threads whose handles are freed unjoined release their stacks as they end:
 * a thousand of them leave no thousand stacks behind. */
static void test_unjoined_threads_release_stacks(void **state)
{
    enum { N = 1000 };
    size_t before = count_mappings();
    for (int i = 0; i < N; i++) {
        weft_thread *t;
        assert_int_equal(weft_thread_start(&t, return_arg, NULL, NULL), 0);
        weft_thread_free(t);
        if (i % 50 == 49)
            while (weft_active_count() > 1)
                weft_test_sleep(0.001);
    }
    while (weft_active_count() > 1)
        weft_test_sleep(0.001);
    weft_test_sleep(0.05); /* the last ones finish exiting */
    size_t after = count_mappings();
    assert_true(after < before + N / 4);
}

static void test_strerror(void **state)
{
    assert_string_equal(weft_strerror(0), "success");
    assert_string_equal(weft_strerror(-ETIMEDOUT), "timed out");
    assert_non_null(weft_strerror(-ENOMEM));
    assert_non_null(weft_strerror(-99999));
}

/* Stress: many short threads; every result comes back exactly once. */
static void *square(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    return (void *)(v * v);
}

static void test_stress_spawn_join(void **state)
{
#ifdef WEFT_SANITIZER
    enum { ROUNDS = 100, WIDTH = 16 };
#else
    enum { ROUNDS = 500, WIDTH = 16 };
#endif
    uint64_t sum = 0, expect = 0;
    for (int r = 0; r < ROUNDS; r++) {
        weft_thread *t[WIDTH];
        for (uintptr_t i = 0; i < WIDTH; i++) {
            uintptr_t v = (uintptr_t)r * WIDTH + i;
            expect += v * v;
            assert_int_equal(weft_thread_start(&t[i], square, (void *)v, NULL), 0);
        }
        for (int i = 0; i < WIDTH; i++) {
            void *res;
            assert_int_equal(weft_thread_join(t[i], WEFT_FOREVER, &res), 0);
            sum += (uintptr_t)res;
            weft_thread_free(t[i]);
        }
    }
    assert_true(sum == expect);
    assert_int_equal(weft_active_count(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_join_result),
        cmocka_unit_test(test_join_timeout_then_again),
        cmocka_unit_test(test_join_self_is_edeadlk),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_ident_and_native_id),
        cmocka_unit_test(test_stack_size_and_daemon),
        cmocka_unit_test(test_free_before_finish),
        cmocka_unit_test(test_many_joiners),
        cmocka_unit_test(test_unjoined_threads_release_stacks),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_stress_spawn_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
