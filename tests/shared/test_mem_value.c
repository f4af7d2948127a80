/* Value and Array: typed shared memory with a process-shared recursive lock,
 * as Python's multiprocessing.Value / Array (and RawValue / RawArray). */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "shared/mem_internal.h"
#include "shared/test_mem_util.h"
#include "weft/shared.h"

static void test_args(void **state)
{
    weft_value *v = (weft_value *)1;
    weft_array *a = (weft_array *)1;
    assert_int_equal(weft_value_new(NULL, 8, NULL, NULL), -EINVAL);
    assert_int_equal(weft_value_new(&v, 0, NULL, NULL), -EINVAL);
    assert_int_equal(weft_value_new(&v, SIZE_MAX, NULL, NULL), -EOVERFLOW);
    assert_ptr_equal(v, (weft_value *)1);
    assert_int_equal(weft_array_new(NULL, 4, 10, NULL, NULL), -EINVAL);
    assert_int_equal(weft_array_new(&a, 0, 10, NULL, NULL), -EINVAL);
    assert_int_equal(weft_array_new(&a, 4, SIZE_MAX / 2, NULL, NULL), -EOVERFLOW);
    assert_int_equal(weft_array_new(&a, 1, SIZE_MAX - 10, NULL, NULL), -EOVERFLOW);
    assert_int_equal(weft_array_new(&a, 1, (SIZE_MAX >> 1) - 4096, NULL, NULL), -ENOMEM);
    assert_ptr_equal(a, (weft_array *)1);

    int64_t x;
    assert_null(weft_value_ptr(NULL));
    assert_int_equal(weft_value_size(NULL), 0);
    assert_int_equal(weft_value_get(NULL, &x), -EINVAL);
    assert_int_equal(weft_value_set(NULL, &x), -EINVAL);
    assert_int_equal(weft_value_acquire(NULL, 0), -EINVAL);
    assert_int_equal(weft_value_release(NULL), -EINVAL);
    assert_int_equal(weft_value_add_i64(NULL, 1, &x), -EINVAL);
    assert_int_equal(weft_value_load_i64(NULL, &x), -EINVAL);
    assert_int_equal(weft_value_store_i64(NULL, 1), -EINVAL);
    weft_value_free(NULL);
    assert_null(weft_array_ptr(NULL));
    assert_int_equal(weft_array_len(NULL), 0);
    assert_int_equal(weft_array_elem_size(NULL), 0);
    assert_int_equal(weft_array_get(NULL, 0, &x), -EINVAL);
    assert_int_equal(weft_array_set(NULL, 0, &x), -EINVAL);
    assert_int_equal(weft_array_acquire(NULL, 0), -EINVAL);
    assert_int_equal(weft_array_release(NULL), -EINVAL);
    weft_array_free(NULL);

    assert_int_equal(weft_value_new(&v, 8, NULL, NULL), 0);
    assert_int_equal(weft_value_get(v, NULL), -EINVAL);
    assert_int_equal(weft_value_set(v, NULL), -EINVAL);
    assert_int_equal(weft_value_load_i64(v, NULL), -EINVAL);
    assert_int_equal(weft_value_acquire(v, NAN), -EINVAL);
    weft_value_free(v);
}

static void test_value_basic(void **state)
{
    weft_value *num, *z;
    assert_int_equal(weft_value_new(&num, sizeof(double), &(double){2.5}, NULL), 0);
    assert_int_equal(weft_value_size(num), sizeof(double));
    assert_int_equal((uintptr_t)weft_value_ptr(num) % WEFT_SHM_ALIGN, 0);
    assert_true(WEFT_VALUE(num, double) == 2.5);
    assert_int_equal(weft_value_set(num, &(double){3.14159}), 0);
    double d = 0;
    assert_int_equal(weft_value_get(num, &d), 0);
    assert_true(d == 3.14159);
    WEFT_VALUE(num, double) = -1.0;
    assert_int_equal(weft_value_get(num, &d), 0);
    assert_true(d == -1.0);
    /* A struct as a Value; NULL init gives zeros. */
    struct pt {
        int x, y;
    } p = {1, 2};
    assert_int_equal(weft_value_new(&z, sizeof p, NULL, NULL), 0);
    assert_int_equal(WEFT_VALUE(z, struct pt).x, 0);
    assert_int_equal(weft_value_set(z, &p), 0);
    assert_int_equal(WEFT_VALUE(z, struct pt).y, 2);
    /* The i64 calls want an 8-byte Value. */
    assert_int_equal(weft_value_add_i64(z, 1, NULL), 0); /* sizeof p == 8 */
    weft_value_free(z);
    weft_value *small;
    assert_int_equal(weft_value_new(&small, 4, NULL, NULL), 0);
    int64_t x;
    assert_int_equal(weft_value_add_i64(small, 1, &x), -EINVAL);
    assert_int_equal(weft_value_load_i64(small, &x), -EINVAL);
    assert_int_equal(weft_value_store_i64(small, 1), -EINVAL);
    weft_value_free(small);
    weft_value_free(num);
}

static void test_array_basic(void **state)
{
    int init[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    weft_array *arr;
    assert_int_equal(weft_array_new(&arr, sizeof(int), 10, init, NULL), 0);
    assert_int_equal(weft_array_len(arr), 10);
    assert_int_equal(weft_array_elem_size(arr), sizeof(int));
    assert_int_equal((uintptr_t)weft_array_ptr(arr) % WEFT_SHM_ALIGN, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(WEFT_ARRAY(arr, int)[i], i);
    int x;
    assert_int_equal(weft_array_set(arr, 9, &(int){-9}), 0);
    assert_int_equal(weft_array_get(arr, 9, &x), 0);
    assert_int_equal(x, -9);
    assert_int_equal(weft_array_get(arr, 10, &x), -ERANGE);
    assert_int_equal(weft_array_set(arr, 10, &x), -ERANGE);
    assert_int_equal(weft_array_get(arr, SIZE_MAX, &x), -ERANGE);
    assert_int_equal(weft_array_get(arr, 0, NULL), -EINVAL);
    assert_int_equal(weft_array_set(arr, 0, NULL), -EINVAL);
    weft_array_free(arr);

    /* Array('i', 0): empty, and zero-filled without init. */
    assert_int_equal(weft_array_new(&arr, sizeof(int), 0, NULL, NULL), 0);
    assert_int_equal(weft_array_len(arr), 0);
    assert_non_null(weft_array_ptr(arr));
    assert_int_equal(weft_array_get(arr, 0, &x), -ERANGE);
    weft_array_free(arr);
    assert_int_equal(weft_array_new(&arr, 8, 1000, NULL, NULL), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(WEFT_ARRAY(arr, int64_t)[i], 0);
    weft_array_free(arr);
}

/* The tutorial: the child sets num and negates arr; the parent sees both. */
struct tut {
    weft_value *num;
    weft_array *arr;
};

static int tut_child(void *arg)
{
    struct tut *t = arg;
    weft_value_set(t->num, &(double){3.14159});
    for (size_t i = 0; i < weft_array_len(t->arr); i++)
        WEFT_ARRAY(t->arr, int)[i] = -WEFT_ARRAY(t->arr, int)[i];
    return 0;
}

static void test_tutorial_fork(void **state)
{
    struct tut t;
    int init[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(weft_value_new(&t.num, sizeof(double), &(double){0.0}, NULL), 0);
    assert_int_equal(weft_array_new(&t.arr, sizeof(int), 10, init, NULL), 0);
    assert_int_equal(t_wait(t_fork(tut_child, &t)), 0);
    double d;
    assert_int_equal(weft_value_get(t.num, &d), 0);
    assert_true(d == 3.14159);
    for (int i = 0; i < 10; i++)
        assert_int_equal(WEFT_ARRAY(t.arr, int)[i], -i);
    weft_value_free(t.num);
    weft_array_free(t.arr);
}

static void test_lock_same_thread(void **state)
{
    weft_value *v;
    assert_int_equal(weft_value_new(&v, 8, NULL, NULL), 0);
    assert_int_equal(weft_value_release(v), -EPERM);
    assert_int_equal(weft_value_acquire(v, WEFT_FOREVER), 0);
    assert_int_equal(weft_value_acquire(v, 0), 0); /* recursive, as Python's RLock */
    assert_int_equal(weft_value_acquire(v, 1.0), 0);
    /* get/set take it again too, so they work inside a critical section. */
    assert_int_equal(weft_value_set(v, &(int64_t){7}), 0);
    assert_int_equal(weft_value_release(v), 0);
    assert_int_equal(weft_value_release(v), 0);
    assert_int_equal(weft_value_release(v), 0);
    assert_int_equal(weft_value_release(v), -EPERM);
    /* Depth overflow (the count poked near its limit). */
    assert_int_equal(weft_value_acquire(v, 0), 0);
    weft__shobj *o = (weft__shobj *)v;
    o->lock.r._depth = UINT32_MAX;
    assert_int_equal(weft_value_acquire(v, 0), -EOVERFLOW);
    int64_t x;
    assert_int_equal(weft_value_get(v, &x), -EOVERFLOW);
    o->lock.r._depth = 1;
    assert_int_equal(weft_value_release(v), 0);
    assert_false(weft_shared_lock_locked(&o->lock.r._lock));
    weft_value_free(v);
}

static void *thread_try(void *arg)
{
    weft_array *a = arg;
    intptr_t r = weft_array_acquire(a, 0);
    intptr_t r2 = weft_array_release(a); /* not the holder */
    return (void *)(r * 1000 + r2);
}

/* Another thread of this process: excluded, and may not release. */
static void test_lock_other_thread(void **state)
{
    weft_array *a;
    assert_int_equal(weft_array_new(&a, 4, 4, NULL, NULL), 0);
    assert_int_equal(weft_array_acquire(a, WEFT_FOREVER), 0);
    pthread_t th;
    void *res;
    assert_int_equal(pthread_create(&th, NULL, thread_try, a), 0);
    assert_int_equal(pthread_join(th, &res), 0);
    assert_int_equal((intptr_t)res, -EBUSY * 1000 - EPERM);
    assert_int_equal(weft_array_release(a), 0);
    weft_array_free(a);
}

/* Another process: -EBUSY, -ETIMEDOUT in bounds, -EPERM on release; then a
 * blocking acquire that gets the lock once the parent lets go. */
struct xproc {
    weft_value *v;
    int go[2], done[2];
};

static int xproc_child(void *arg)
{
    struct xproc *x = arg;
    T_CHECK(1, weft_value_acquire(x->v, 0) == -EBUSY);
    double t0 = t_now();
    T_CHECK(2, weft_value_acquire(x->v, 0.1) == -ETIMEDOUT);
    double dt = t_now() - t0;
    T_CHECK(3, dt >= 0.095 && dt < 5.0);
    T_CHECK(4, weft_value_release(x->v) == -EPERM);
    t_post(x->done[1]);
    /* The parent releases after it hears from us; this waits for that. */
    T_CHECK(5, weft_value_acquire(x->v, WEFT_FOREVER) == 0);
    T_CHECK(6, WEFT_VALUE(x->v, int64_t) == 99); /* written before its release */
    WEFT_VALUE(x->v, int64_t) = 100;
    T_CHECK(7, weft_value_release(x->v) == 0);
    return 0;
}

static void test_lock_other_process(void **state)
{
    struct xproc x;
    assert_int_equal(pipe(x.done), 0);
    assert_int_equal(weft_value_new(&x.v, 8, NULL, NULL), 0);
    assert_int_equal(weft_value_acquire(x.v, WEFT_FOREVER), 0);
    pid_t pid = t_fork(xproc_child, &x);
    assert_true(t_take(x.done[0]));
    t_sleep(0.05); /* let the child go to sleep on the lock */
    WEFT_VALUE(x.v, int64_t) = 99;
    assert_int_equal(weft_value_release(x.v), 0);
    assert_int_equal(t_wait(pid), 0);
    assert_int_equal(weft_value_acquire(x.v, 0), 0);
    assert_int_equal(WEFT_VALUE(x.v, int64_t), 100);
    assert_int_equal(weft_value_release(x.v), 0);
    weft_value_free(x.v);
    close(x.done[0]);
    close(x.done[1]);
}

/* A process killed while holding a Value's lock hands it on: acquire gets
 * -EOWNERDEAD (and holds it), consistent() makes it normal again; get/set after
 * such a death report it once and leave the lock consistent. */
static void test_owner_death(void **state)
{
    for (int via_get = 0; via_get < 2; via_get++) {
        weft_value *v;
        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(weft_value_new(&v, 8, NULL, NULL), 0);
        pid_t pid = fork();
        if (pid == 0) {
            char c = weft_value_acquire(v, WEFT_FOREVER) == 0;
            WEFT_VALUE(v, int64_t) = 5; /* half-way through an update */
            (void)!write(p[1], &c, 1);
            pause();
            _exit(0);
        }
        char c = 0;
        assert_int_equal(read(p[0], &c, 1), 1);
        assert_true(c);
        kill(pid, SIGKILL);
        assert_int_equal(t_wait(pid), 128 + SIGKILL);
        if (via_get) {
            int64_t x = 0;
            assert_int_equal(weft_value_get(v, &x), -EOWNERDEAD);
            assert_int_equal(x, 5);
            assert_int_equal(weft_value_get(v, &x), 0);
        } else {
            assert_int_equal(weft_value_acquire(v, 1.0), -EOWNERDEAD);
            WEFT_VALUE(v, int64_t) = 6; /* repaired */
            assert_int_equal(weft_value_consistent(v), 0);
            assert_int_equal(weft_value_release(v), 0);
            assert_int_equal(weft_value_acquire(v, 0), 0);
            assert_int_equal(weft_value_release(v), 0);
        }
        assert_int_equal(weft_value_consistent(v), -EPERM);
        weft_value_free(v);
        close(p[0]);
        close(p[1]);
    }
}

static void test_raw(void **state)
{
    weft_value *v;
    weft_array *a;
    assert_int_equal(weft_value_new(&v, 4, &(int){5}, &(weft_value_opts){.raw = true}), 0);
    assert_int_equal(weft_value_acquire(v, WEFT_FOREVER), -ENOLCK);
    assert_int_equal(weft_value_release(v), -ENOLCK);
    int x;
    assert_int_equal(weft_value_get(v, &x), 0);
    assert_int_equal(x, 5);
    assert_int_equal(weft_value_set(v, &(int){6}), 0);
    assert_int_equal(WEFT_VALUE(v, int), 6);
    weft_value_free(v);
    assert_int_equal(weft_array_new(&a, 4, 3, NULL, &(weft_array_opts){.raw = true}), 0);
    assert_int_equal(weft_array_acquire(a, 0), -ENOLCK);
    assert_int_equal(weft_array_release(a), -ENOLCK);
    assert_int_equal(weft_array_set(a, 2, &(int){8}), 0);
    assert_int_equal(weft_array_get(a, 2, &x), 0);
    assert_int_equal(x, 8);
    weft_array_free(a);
}

static void test_i64(void **state)
{
    weft_value *v;
    assert_int_equal(weft_value_new(&v, sizeof(int64_t), &(int64_t){40}, NULL), 0);
    int64_t x;
    assert_int_equal(weft_value_add_i64(v, 2, &x), 0);
    assert_int_equal(x, 42);
    assert_int_equal(weft_value_add_i64(v, -50, NULL), 0);
    assert_int_equal(weft_value_load_i64(v, &x), 0);
    assert_int_equal(x, -8);
    assert_int_equal(weft_value_store_i64(v, INT64_MAX), 0);
    assert_int_equal(weft_value_add_i64(v, 1, &x), 0); /* wraps, no UB */
    assert_true(x == INT64_MIN);
    weft_value_free(v);
}

/* The bank/counter example: 4 processes x N increments of a plain int64 under
 * the Value's lock (and N atomic adds to another); both totals exact. */
#define N_PROCS 4
#define N_INCS WEFT_TEST_SCALE(200000)

struct counters {
    weft_value *locked, *atomic;
};

static int counter_child(void *arg)
{
    struct counters *c = arg;
    for (int i = 0; i < N_INCS; i++) {
        T_CHECK(1, weft_value_acquire(c->locked, WEFT_FOREVER) == 0);
        WEFT_VALUE(c->locked, int64_t) += 1;
        T_CHECK(2, weft_value_release(c->locked) == 0);
        T_CHECK(3, weft_value_add_i64(c->atomic, 1, NULL) == 0);
    }
    return 0;
}

static void test_counter_stress(void **state)
{
    struct counters c;
    assert_int_equal(weft_value_new(&c.locked, sizeof(int64_t), NULL, NULL), 0);
    assert_int_equal(weft_value_new(&c.atomic, sizeof(int64_t), NULL, NULL), 0);
    pid_t pids[N_PROCS];
    double t0 = t_now();
    for (int i = 0; i < N_PROCS; i++)
        pids[i] = t_fork(counter_child, &c);
    for (int i = 0; i < N_PROCS; i++)
        assert_int_equal(t_wait(pids[i]), 0);
    double dt = t_now() - t0;
    int64_t total;
    assert_int_equal(weft_value_get(c.locked, &total), 0);
    assert_int_equal(total, (int64_t)N_PROCS * N_INCS);
    assert_int_equal(weft_value_load_i64(c.atomic, &total), 0);
    assert_int_equal(total, (int64_t)N_PROCS * N_INCS);
    print_message("counter: %d processes x %d locked increments in %.3f s (%.0f ns each)\n",
                  N_PROCS, N_INCS, dt, dt * 1e9 / (N_PROCS * N_INCS));
    weft_value_free(c.locked);
    weft_value_free(c.atomic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_value_basic),
        cmocka_unit_test(test_array_basic),
        cmocka_unit_test(test_tutorial_fork),
        cmocka_unit_test(test_lock_same_thread),
        cmocka_unit_test(test_lock_other_thread),
        cmocka_unit_test(test_lock_other_process),
        cmocka_unit_test(test_owner_death),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_i64),
        cmocka_unit_test(test_counter_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
