/* Review regressions for thread start/registry and thread-local slots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft_test.h"

/* ---- a failed weft_thread_start must not free a record others may hold ---- */

static int stop_enum;
static size_t doomed_seen;  /* enumerate returned the failing record */
static size_t doomed_alive; /* ... and it still reported itself running */

static void *enumerate_loop(void *arg)
{
    (void)arg;
    weft_thread *list[16];
    while (!__atomic_load_n(&stop_enum, __ATOMIC_ACQUIRE)) {
        size_t n = weft_enumerate(list, 16);
        if (n > 16)
            n = 16;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(weft_thread_name(list[i]), "doomed") == 0) {
                __atomic_fetch_add(&doomed_seen, 1, __ATOMIC_RELAXED);
                /* Give the failing start time to mark it finished: a generous
                 * time bound, not a count of yields, since the starter may be
                 * descheduled for a while on a loaded machine. */
                double until = weft_test_now() + 10.0;
                while (weft_thread_is_alive(list[i]) && weft_test_now() < until)
                    sched_yield();
                if (weft_thread_is_alive(list[i]))
                    doomed_alive++;
            }
            weft_thread_free(list[i]); /* use-after-free before the fix */
        }
    }
    return NULL;
}

static void *never_runs(void *arg)
{
    return arg;
}

static void test_failed_start_keeps_enumerated_handles_valid(void **state)
{
    weft_thread *en;
    assert_int_equal(weft_thread_start(&en, enumerate_loop, NULL,
                                       &(weft_thread_opts){.name = "enumerator"}), 0);
    /* A stack no mmap can give: pthread_create fails after the record is listed. */
    weft_thread_opts bad = {.name = "doomed", .daemon = true, .stack_size = (size_t)1 << 60};
    double end = weft_test_now() + 3.0;
    int failures = 0;
    while (weft_test_now() < end && (failures < 200 || __atomic_load_n(&doomed_seen, __ATOMIC_RELAXED) == 0)) {
        weft_thread *t = (weft_thread *)0x1;
        int rc = weft_thread_start(&t, never_runs, NULL, &bad);
        assert_true(rc == -EAGAIN || rc == -ENOMEM);
        assert_ptr_equal(t, (weft_thread *)0x1); /* *out left unchanged */
        failures++;
    }
    __atomic_store_n(&stop_enum, 1, __ATOMIC_RELEASE);
    assert_int_equal(weft_thread_join(en, WEFT_FOREVER, NULL), 0);
    weft_thread_free(en);
    /* A handle to a thread that never ran reports it finished. */
    assert_int_equal(doomed_alive, 0);
    assert_int_equal(weft_active_count(), 1);
}

/* ---- thread-local slots stay usable in a child of fork() ---- */

static int stop_churn, churn_ready;

static void *local_churn(void *arg)
{
    (void)arg;
    /* Many live slots make every new slot scan a long table under the table's
     * lock, so fork() often finds it held. */
    enum { KEEP = 4096 };
    static weft_local *keep[KEEP];
    for (int i = 0; i < KEEP; i++)
        assert_int_equal(weft_local_new(&keep[i], NULL), 0);
    __atomic_store_n(&churn_ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&stop_churn, __ATOMIC_ACQUIRE)) {
        weft_local *l;
        if (weft_local_new(&l, NULL) == 0)
            weft_local_free(l);
    }
    for (int i = 0; i < KEEP; i++)
        weft_local_free(keep[i]);
    return NULL;
}

static void test_local_usable_after_fork(void **state)
{
    weft_thread *churn;
    assert_int_equal(weft_thread_start(&churn, local_churn, NULL,
                                       &(weft_thread_opts){.name = "churn"}), 0);
    while (!__atomic_load_n(&churn_ready, __ATOMIC_ACQUIRE))
        weft_test_sleep(0.001);
    int hung = 0;
    for (int i = 0; i < WEFT_TEST_SCALE(200) && !hung; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(5); /* a child stuck on the slot table dies of SIGALRM */
            weft_local *l;
            int ok = weft_local_new(&l, NULL) == 0 && weft_local_set(l, &ok, NULL) == 0 &&
                     weft_local_get(l) == &ok;
            weft_local_free(l);
            _exit(ok ? 0 : 1);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            hung = 1;
    }
    __atomic_store_n(&stop_churn, 1, __ATOMIC_RELEASE);
    assert_int_equal(weft_thread_join(churn, WEFT_FOREVER, NULL), 0);
    weft_thread_free(churn);
    assert_int_equal(hung, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_start_keeps_enumerated_handles_valid),
        cmocka_unit_test(test_local_usable_after_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
