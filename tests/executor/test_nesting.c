/* How deep helping waits nest: parallel_for with grain 1 over a million
 * indices, fib with every call a task, chains of nested waits - each bounded
 * in stack use and in task frames per thread (WEFT_EXECUTOR_NEST_MAX). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft_test.h"
#include "executor_test.h"


static weft_executor *pool(unsigned workers)
{
    weft_executor *ex = NULL;
    assert_int_equal(weft_executor_new(&ex, &(weft_executor_opts){.max_workers = workers}), 0);
    return ex;
}

/* ---- stack use: the highest address of the calling thread's stack, once per
 * thread, and the deepest point any measured thread reached below it ---- */

static _Thread_local uintptr_t stack_top;
static size_t max_stack_used; /* bytes; CAS max */

static void note_stack(void)
{
    if (!stack_top) {
        pthread_attr_t a;
        void *lo;
        size_t size;
        assert_int_equal(pthread_getattr_np(pthread_self(), &a), 0);
        assert_int_equal(pthread_attr_getstack(&a, &lo, &size), 0);
        pthread_attr_destroy(&a);
        stack_top = (uintptr_t)lo + size;
    }
    size_t used = stack_top - (uintptr_t)__builtin_frame_address(0);
    size_t m = __atomic_load_n(&max_stack_used, __ATOMIC_RELAXED);
    while (used > m && !__atomic_compare_exchange_n(&max_stack_used, &m, used, true,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Generous: what 256 small frames plus the tests' own need, even under ASan.
 * Without a bound the reproducer needed more than the 8 MiB default stack. */
#define STACK_BOUND ((size_t)4 << 20)

/* ---- parallel_for with grain 1 ---- */

static long covered;
static void count(long lo, long hi, void *arg)
{
    (void)arg;
    if ((lo & 255) == 0)
        note_stack();
    __atomic_fetch_add(&covered, hi - lo, __ATOMIC_RELAXED);
}

static void test_parallel_for_grain_one(void **state)
{
#ifdef WEFT_TSAN
    const long n = 200000;
#else
    const long n = 1000000;
#endif
    weft_executor *ex = pool(2);
    max_stack_used = 0;
    covered = 0;
    assert_int_equal(weft_parallel_for(ex, 0, n, 1, count, NULL), 0);
    assert_int_equal(covered, n);
    print_message("parallel_for grain 1 over %ld: deepest stack %zu KiB\n", n,
                  max_stack_used >> 10);
    assert_true(max_stack_used < STACK_BOUND);
    /* And on more workers than CPUs, where steals are frequent. */
    weft_executor_free(ex);
    ex = pool(4);
    covered = 0;
    assert_int_equal(weft_parallel_for(ex, 0, n / 4, 1, count, NULL), 0);
    assert_int_equal(covered, n / 4);
    assert_true(max_stack_used < STACK_BOUND);
    weft_executor_free(ex);
}

/* ---- fib, every call a task ---- */

static weft_executor *fib_ex;
static _Thread_local unsigned task_depth; /* fib/chain tasks nested on this thread */
static unsigned max_task_depth;           /* CAS max */

static void enter(void)
{
    unsigned d = ++task_depth;
    unsigned m = __atomic_load_n(&max_task_depth, __ATOMIC_RELAXED);
    while (d > m && !__atomic_compare_exchange_n(&max_task_depth, &m, d, true, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
    note_stack();
}

static void *fib(void *arg)
{
    long n = (long)I(arg);
    if (n < 2)
        return arg;
    enter();
    weft_future *a, *b;
    assert_int_equal(weft_executor_submit(fib_ex, fib, P(n - 1), &a), 0);
    assert_int_equal(weft_executor_submit(fib_ex, fib, P(n - 2), &b), 0);
    void *ra = NULL, *rb = NULL;
    assert_int_equal(weft_future_result(b, WEFT_FOREVER, &rb), 0);
    assert_int_equal(weft_future_result(a, WEFT_FOREVER, &ra), 0);
    weft_future_free(a);
    weft_future_free(b);
    task_depth--;
    return P(I(ra) + I(rb));
}

static void test_fib_deep(void **state)
{
#ifdef WEFT_TSAN
    const long n = 21, expect = 10946;
#else
    const long n = 30, expect = 832040;
#endif
    fib_ex = pool(2);
    max_stack_used = 0;
    max_task_depth = 0;
    weft_future *f;
    assert_int_equal(weft_executor_submit(fib_ex, fib, P(n), &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, WEFT_FOREVER, &r), 0);
    assert_int_equal(I(r), expect);
    weft_future_free(f);
    weft_executor_free(fib_ex);
    print_message("fib(%ld): deepest nesting %u tasks, stack %zu KiB\n", n, max_task_depth,
                  max_stack_used >> 10);
    assert_true(max_task_depth <= WEFT_EXECUTOR_NEST_MAX);
    assert_true(max_stack_used < STACK_BOUND);
}

/* ---- chains: task d submits task d-1 and waits for it ---- */

static weft_executor *chain_ex;

static void *chain(void *arg)
{
    uintptr_t d = I(arg);
    if (d == 0)
        return P(0);
    enter();
    weft_future *f;
    void *r = NULL;
    int rc = weft_executor_submit(chain_ex, chain, P(d - 1), &f);
    if (rc == 0) {
        rc = weft_future_result(f, WEFT_FOREVER, &r);
        weft_future_free(f);
    }
    task_depth--;
    if (rc) {
        weft_task_fail(rc, "link %zu", (size_t)d);
        return NULL;
    }
    return P(I(r) + 1);
}

/* Longer than one thread may nest: the rest continues on the other workers,
 * and no thread holds more than WEFT_EXECUTOR_NEST_MAX task frames. */
static void test_chain_past_one_thread(void **state)
{
    const uintptr_t len = 2 * WEFT_EXECUTOR_NEST_MAX + WEFT_EXECUTOR_NEST_MAX / 2;
    chain_ex = pool(4);
    max_stack_used = 0;
    max_task_depth = 0;
    weft_future *f;
    assert_int_equal(weft_executor_submit(chain_ex, chain, P(len), &f), 0);
    void *r;
    assert_int_equal(weft_future_result(f, 120, &r), 0);
    assert_int_equal(I(r), len);
    weft_future_free(f);
    weft_executor_free(chain_ex);
    print_message("chain of %zu: deepest nesting %u tasks, stack %zu KiB, %s\n", (size_t)len,
                  max_task_depth, max_stack_used >> 10, "workers 4");
    assert_true(max_task_depth <= WEFT_EXECUTOR_NEST_MAX);
    assert_true(max_task_depth >= WEFT_EXECUTOR_NEST_MAX / 2); /* it did nest */
    assert_true(max_stack_used < STACK_BOUND);
}

/* A chain of 100000 nested waits on two workers is past what the pool's stacks
 * can hold (documented): it must not crash - each thread stops nesting at the
 * limit and blocks - so the wait for it times out. Run in a child process,
 * since the pool can then never be shut down. */
static void test_chain_100000_does_not_overflow(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        chain_ex = pool(2);
        weft_future *f;
        if (weft_executor_submit(chain_ex, chain, P(100000), &f))
            _exit(2);
        int rc = weft_future_result(f, 2.0, NULL);
        unsigned depth = __atomic_load_n(&max_task_depth, __ATOMIC_RELAXED);
        _exit(rc == -ETIMEDOUT && depth <= WEFT_EXECUTOR_NEST_MAX ? 0 : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("the chain's child died of signal %d", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First, while the process has no other threads to fork with. */
        cmocka_unit_test(test_chain_100000_does_not_overflow),
        cmocka_unit_test(test_parallel_for_grain_one),
        cmocka_unit_test(test_fib_deep),
        cmocka_unit_test(test_chain_past_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
