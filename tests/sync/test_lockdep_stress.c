/*
 * The lock-order checker under concurrency: many threads calling the hooks at
 * once around real locks (pthread mutexes, and POSIX semaphores used as a
 * Python Lock that another thread releases), plus fork() while others are
 * inside the checker. Invariant checked: a program that respects one lock order
 * gets no report, however its locks change hands.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal/lockdep.h"
#include "weft/sync.h"
#include "weft_test.h"

#define NW 4 /* workers */
#define NM 4 /* mutexes */

static pthread_mutex_t mu[NM];
static const char *mu_name[NM] = {"m0", "m1", "m2", "m3"};
/* baton[i]: a Lock (binary semaphore) taken only by worker i and released by
 * worker (i + 1) % NW, never by its taker. */
static sem_t baton[NW];
static const char *baton_name[NW] = {"baton0", "baton1", "baton2", "baton3"};
/* pending[i]: 1 while baton i waits to be released by worker i+1. Stored with
 * release after the releasing hook ran, loaded with acquire by worker i: so
 * worker i's later hooks see that release recorded. */
static int pending[NW];
/* Workers that finished their iterations (they keep serving their
 * predecessor's baton until all have). */
static int done;
static int iterations;

static void mu_take(int m, int line)
{
    weft__lockdep_before(&mu[m], mu_name[m], "stress.c", line);
    pthread_mutex_lock(&mu[m]);
    weft__lockdep_acquired(&mu[m], mu_name[m], "stress.c", line);
}

static void mu_give(int m)
{
    pthread_mutex_unlock(&mu[m]);
    weft__lockdep_released(&mu[m]);
}

/* Release the predecessor's baton if it is waiting for us. */
static void serve(int i)
{
    int p = (i + NW - 1) % NW;
    if (__atomic_load_n(&pending[p], __ATOMIC_ACQUIRE)) {
        sem_post(&baton[p]);
        weft__lockdep_released(&baton[p]);
        __atomic_store_n(&pending[p], 0, __ATOMIC_RELEASE);
    }
}

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    unsigned seed = (unsigned)i * 7919u + 1;
    for (int it = 0; it < iterations; it++) {
        serve(i);
        /* The one order of this program: mutexes by index, then batons. */
        int mask = (int)(rand_r(&seed) % ((1u << NM) - 1)) + 1;
        for (int m = 0; m < NM; m++)
            if (mask & (1 << m))
                mu_take(m, 10 + m);
        bool with_baton = rand_r(&seed) % 2;
        if (with_baton) {
            weft__lockdep_before(&baton[i], baton_name[i], "stress.c", 20);
            sem_wait(&baton[i]);
            weft__lockdep_acquired(&baton[i], baton_name[i], "stress.c", 20);
        }
        for (int m = NM - 1; m >= 0; m--)
            if (mask & (1 << m))
                mu_give(m);
        if (with_baton) {
            /* Hand the baton over and wait until it is released... */
            __atomic_store_n(&pending[i], 1, __ATOMIC_RELEASE);
            while (__atomic_load_n(&pending[i], __ATOMIC_ACQUIRE))
                serve(i);
            /* ... after which mutexes taken now are NOT taken while holding
             * it: a stale entry would record baton -> mutex, the inverse of
             * the orders above, and report a correct program. */
            int m = (int)(rand_r(&seed) % NM);
            mu_take(m, 30);
            mu_give(m);
        }
    }
    __atomic_add_fetch(&done, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < NW)
        serve(i);
    serve(i);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    weft_lockdep_enable(true);
    weft_lockdep_reset();
    for (int m = 0; m < NM; m++)
        pthread_mutex_init(&mu[m], NULL);
    for (int i = 0; i < NW; i++) {
        sem_init(&baton[i], 0, 1);
        pending[i] = 0;
    }
    done = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NW; i++) {
        weft__lockdep_forget(&baton[i]);
        sem_destroy(&baton[i]);
    }
    for (int m = 0; m < NM; m++) {
        weft__lockdep_forget(&mu[m]);
        pthread_mutex_destroy(&mu[m]);
    }
    weft_lockdep_set_reporter(NULL, NULL);
    return 0;
}

static int reports_seen;
static void count_report(const char *text, void *arg)
{
    (void)text;
    (void)arg;
    __atomic_add_fetch(&reports_seen, 1, __ATOMIC_RELAXED);
}

static void test_batons_change_hands_no_report(void **state)
{
    iterations = WEFT_TEST_SCALE(4000);
    reports_seen = 0;
    weft_lockdep_set_reporter(count_report, NULL);
    pthread_t t[NW];
    for (intptr_t i = 0; i < NW; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < NW; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(weft_lockdep_reports(), 0);
    assert_int_equal(reports_seen, 0);

    /* Control: the mutex -> baton orders were recorded, so really holding a
     * baton while taking a mutex is reported. */
    int b = -1;
    for (int i = 0; i < NW && b < 0; i++) {
        weft__lockdep_before(&baton[i], baton_name[i], "stress.c", 40);
        sem_wait(&baton[i]);
        weft__lockdep_acquired(&baton[i], baton_name[i], "stress.c", 40);
        for (int m = 0; m < NM; m++) {
            mu_take(m, 41);
            mu_give(m);
        }
        sem_post(&baton[i]);
        weft__lockdep_released(&baton[i]);
        if (weft_lockdep_reports() > 0)
            b = i;
    }
    assert_true(b >= 0);
    assert_int_equal(reports_seen, (int)weft_lockdep_reports());
}

/* ---- fork while other threads are inside the checker ---- */
static int stop;
static void *hammer(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        mu_take(0, 50);
        mu_take(1, 51);
        mu_give(1);
        mu_give(0);
        weft__lockdep_forget(&mu[2]);
    }
    return NULL;
}

static void test_fork_child_can_check(void **state)
{
    pthread_t t[2];
    stop = 0;
    mu_take(0, 49); /* the order m0 -> m1 is known before the first fork */
    mu_take(1, 49);
    mu_give(1);
    mu_give(0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int round = 0; round < 20; round++) {
        weft_test_sleep(0.001);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* In the child: the checker works (its mutex was not left held by
             * a thread that no longer exists) and still knows m0 -> m1. */
            weft_lockdep_set_reporter(count_report, NULL);
            reports_seen = 0;
            /* Hooks only: a hammer thread may have held the mutexes
             * themselves at the fork, and they stay locked in the child. */
            weft__lockdep_acquired(&mu[1], mu_name[1], "stress.c", 60);
            weft__lockdep_before(&mu[0], mu_name[0], "stress.c", 61);
            weft__lockdep_acquired(&mu[0], mu_name[0], "stress.c", 61);
            weft__lockdep_released(&mu[0]);
            weft__lockdep_released(&mu[1]);
            _exit(reports_seen == 1 && weft_lockdep_reports() == 1 ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(weft_lockdep_reports(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batons_change_hands_no_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_can_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
