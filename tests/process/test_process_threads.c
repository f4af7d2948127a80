/* Starting processes from a program with many threads: AUTO picks the
 * forkserver, which never hangs however busy the threads are, and its children
 * report exit codes and signals exactly as fork children do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "process/process_test.h"

/* weft's own reaper thread does not make AUTO leave fork. Runs first, while
 * the program has no other thread. */
static void test_reaper_not_counted(void **state)
{
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_sleep_long, NULL, NULL), 0);
    assert_int_equal(weft_process_start_method(p), WEFT_START_FORK);
    pid_t pid = weft_process_pid(p);
    weft_process *all[4];
    weft_process_free(p); /* running: handed to the reaper thread */
    assert_int_equal(weft_active_children(all, 4), 1);
    assert_int_equal(weft_process_kill(all[0]), 0);
    weft_process_free(all[0]);
    assert_true(pt_wait_gone(pid, 30.0));
    /* NULL argument: a pointer would make AUTO fork whatever the threads */
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, NULL, NULL), 0);
#ifndef WEFT_TSAN /* TSan starts a helper thread of its own with the first thread */
    assert_int_equal(weft_process_start_method(p), WEFT_START_FORK);
#endif
    assert_int_equal(weft_process_join(p, 30.0), 0);
    weft_process_free(p);
}

static weft_lock hammer_lock = WEFT_LOCK_INIT;
static int stop_hammer;
static unsigned long hammer_count;

static void *hammer(void *arg)
{
    /* Relaxed: a plain stop switch. */
    size_t size = 64;
    while (!__atomic_load_n(&stop_hammer, __ATOMIC_RELAXED)) {
        void *m = malloc(size);
        size = 64 + (size * 7 + 13) % 1024;
        weft_lock_acquire(&hammer_lock, WEFT_FOREVER);
        hammer_count++; /* guarded by hammer_lock */
        weft_lock_release(&hammer_lock);
        free(m);
    }
    return NULL;
}

enum { HAMMERS = 8 };
static pthread_t hammers[HAMMERS];

static void start_hammers(void)
{
    __atomic_store_n(&stop_hammer, 0, __ATOMIC_RELAXED);
    for (int i = 0; i < HAMMERS; i++)
        assert_int_equal(pthread_create(&hammers[i], NULL, hammer, NULL), 0);
}

static void stop_hammers(void)
{
    __atomic_store_n(&stop_hammer, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < HAMMERS; i++)
        pthread_join(hammers[i], NULL);
}

/* A child that uses malloc and stdio: a lock inherited held would hang it. */
static int busy_child(void *arg)
{
    char *s = malloc(100);
    if (!s)
        return 1;
    snprintf(s, 100, "%d", *(const int *)arg);
    int v = atoi(s);
    free(s);
    return v;
}

static void test_many_starts_with_busy_threads(void **state)
{
#ifdef WEFT_ASAN
    /* GCC 12's AddressSanitizer allocator does not survive fork() while
     * another thread is inside it (glibc's malloc does): start the forkserver
     * early, as the header recommends, before the threads. */
    assert_int_equal(weft_forkserver_start(), 0);
#endif
    start_hammers();
    int n = WEFT_TEST_SCALE(400);
    if (n < 100)
        n = 100;
    double t0 = weft_test_now();
    for (int i = 0; i < n; i++) {
        weft_process *p;
        int v = i % 200; /* by value (copied bytes), so AUTO may use the forkserver */
        assert_int_equal(weft_process_spawn(&p, busy_child, NULL,
                                            &(weft_process_opts){.arg_bytes = &v,
                                                                 .arg_size = sizeof v}),
                         0);
        assert_int_equal(weft_process_start_method(p), WEFT_START_FORKSERVER);
        assert_int_equal(weft_process_join(p, 60.0), 0);
        int code = -1;
        assert_int_equal(weft_process_exitcode(p, &code), 0);
        assert_int_equal(code, i % 200);
        weft_process_free(p);
    }
    double took = weft_test_now() - t0;
    /* A plain pointer shares the caller's memory as it is now: AUTO forks even
     * with threads running (the forkserver could not hand it over). */
    static int shared_value = 42;
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, busy_child, &shared_value, NULL), 0);
    assert_int_equal(weft_process_start_method(p), WEFT_START_FORK);
    int code = -1;
    assert_int_equal(weft_process_join(p, 60.0), 0);
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 42);
    weft_process_free(p);
    stop_hammers();
    assert_true(took < 120.0);
    assert_true(hammer_count > 0);
    assert_int_equal(pt_zombies_of(getpid()), 0);
}

static int check_parent(void *arg)
{
    weft_process *parent = weft_parent_process();
    if (!parent || weft_process_pid(parent) != (pid_t)(intptr_t)arg)
        return 1;
    if (!weft_process_is_alive(parent))
        return 2;
    if (strcmp(weft_process_name(weft_current_process()), "fs-kid") != 0)
        return 3;
    return 0;
}

/* Forkserver children with threads running: codes, signals, names. */
static void test_forkserver_reports_like_fork(void **state)
{
    start_hammers();
    weft_process *p;
    int code;
    assert_int_equal(weft_process_spawn(&p, pt_segv, NULL, NULL), 0);
    assert_int_equal(weft_process_start_method(p), WEFT_START_FORKSERVER);
    assert_int_equal(weft_process_join(p, 60.0), 0);
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, -SIGSEGV);
    weft_process_free(p);
    const int sigs[2] = {SIGTERM, SIGKILL};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(weft_process_spawn(&p, pt_sleep_long, NULL, NULL), 0);
        assert_int_equal(weft_process_join(p, 0.05), -ETIMEDOUT);
        assert_int_equal(i ? weft_process_kill(p) : weft_process_terminate(p), 0);
        assert_int_equal(weft_process_join(p, 60.0), 0);
        assert_false(weft_process_is_alive(p));
        assert_int_equal(weft_process_exitcode(p, &code), 0);
        assert_int_equal(code, -sigs[i]);
        weft_process_free(p);
    }
    assert_int_equal(weft_process_spawn(&p, check_parent, (void *)(intptr_t)getpid(),
                                        &(weft_process_opts){.name = "fs-kid"}),
                     0);
    assert_true(pt_wait_comm(weft_process_pid(p), "fs-kid", 30.0) || !weft_process_is_alive(p));
    assert_int_equal(weft_process_join(p, 60.0), 0);
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    weft_process_free(p);
    stop_hammers();
}

/* The forkserver died: the next start brings up a new one. */
static void test_forkserver_restarts(void **state)
{
    weft_process *p;
    assert_int_equal(weft_forkserver_start(), 0);
    pid_t fs = weft_forkserver_pid();
    assert_true(fs > 0);
    assert_int_equal(kill(fs, SIGKILL), 0);
    weft_test_sleep(0.05);
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)6,
                                        &(weft_process_opts){.method = WEFT_START_FORKSERVER}),
                     0);
    assert_true(weft_forkserver_pid() > 0);
    assert_true(weft_forkserver_pid() != fs);
    assert_int_equal(weft_process_join(p, 60.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 6);
    weft_process_free(p);
    assert_int_equal(pt_zombies_of(getpid()), 0); /* the old server was reaped */
}

static weft_event release_thread = WEFT_EVENT_INIT;

static void *wait_for_release(void *arg)
{
    weft_event_wait(&release_thread, WEFT_FOREVER);
    return arg;
}

/* A fork child's exit() does not wait for the parent's non-daemon threads
 * (they do not exist there); the parent's exit rule is untouched. */
static void test_child_exit_ignores_parent_threads(void **state)
{
    weft_thread *t;
    assert_int_equal(weft_thread_start(&t, wait_for_release, NULL,
                                       &(weft_thread_opts){.name = "held", .daemon = false}),
                     0);
    weft_process *p;
    assert_int_equal(weft_process_spawn(&p, pt_return_arg, (void *)5,
                                        &(weft_process_opts){.method = WEFT_START_FORK}),
                     0);
    assert_int_equal(weft_process_join(p, 60.0), 0);
    int code = -1;
    assert_int_equal(weft_process_exitcode(p, &code), 0);
    assert_int_equal(code, 5);
    weft_process_free(p);
    weft_event_set(&release_thread);
    assert_int_equal(weft_thread_join(t, 60.0, NULL), 0);
    weft_thread_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reaper_not_counted),
        cmocka_unit_test(test_many_starts_with_busy_threads),
        cmocka_unit_test(test_forkserver_reports_like_fork),
        cmocka_unit_test(test_forkserver_restarts),
        cmocka_unit_test(test_child_exit_ignores_parent_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
