/*
 * The lock-order checker with the real thing: weft_lock and weft_rlock, taken
 * by weft threads, reports made by the hooks the lock code calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/sync.h"
#include "weft/thread.h"

#include "lockdep_capture.h"


static void run(const char *name, weft_thread_fn fn, void *arg)
{
    weft_thread *t;
    assert_int_equal(weft_thread_start(&t, fn, arg, &(weft_thread_opts){.name = name}), 0);
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, NULL), 0);
    weft_thread_free(t);
}

/* ---- the tutorial's two scientists ---- */
static weft_lock noodles = WEFT_LOCK_INIT_NAMED("noodles");
static weft_lock chopsticks = WEFT_LOCK_INIT_NAMED("chopsticks");
static int line_a1, line_a2, line_b1, line_b2;

static void *scientist_a(void *arg)
{
    line_a1 = __LINE__ + 1;
    assert_int_equal(weft_lock_acquire(&noodles, WEFT_FOREVER), 0);
    line_a2 = __LINE__ + 1;
    assert_int_equal(weft_lock_acquire(&chopsticks, WEFT_FOREVER), 0);
    weft_lock_release(&chopsticks);
    weft_lock_release(&noodles);
    return NULL;
}

static void *scientist_b(void *arg)
{
    line_b1 = __LINE__ + 1;
    assert_int_equal(weft_lock_acquire(&chopsticks, WEFT_FOREVER), 0);
    line_b2 = __LINE__ + 1;
    assert_int_equal(weft_lock_acquire(&noodles, WEFT_FOREVER), 0);
    weft_lock_release(&noodles);
    weft_lock_release(&chopsticks);
    return NULL;
}

static void test_scientists_reported_without_deadlock(void **state)
{
    run("Scientist-A", scientist_a, NULL); /* one after the other */
    run("Scientist-B", scientist_b, NULL);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_int_equal(cap_n, 1);
    char want[256];
    snprintf(want, sizeof want,
             "thread \"Scientist-B\" takes \"noodles\" (test_lockdep_locks.c:%d) while "
             "holding \"chopsticks\" (test_lockdep_locks.c:%d)",
             line_b2, line_b1);
    assert_true(has(cap_text[0], want));
    snprintf(want, sizeof want,
             "thread \"Scientist-A\" took \"chopsticks\" (test_lockdep_locks.c:%d) while "
             "holding \"noodles\" (test_lockdep_locks.c:%d)",
             line_a2, line_a1);
    assert_true(has(cap_text[0], want));
    run("Scientist-A", scientist_a, NULL);
    run("Scientist-B", scientist_b, NULL);
    assert_int_equal(weft_lockdep_reports(), 1);
}

/* ---- RLock: re-entry is not an order; its orders with Locks are ---- */
static weft_rlock ledger = WEFT_RLOCK_INIT_NAMED("ledger");
static weft_lock audit = WEFT_LOCK_INIT_NAMED("audit");

static void *ledger_then_audit(void *arg)
{
    assert_int_equal(weft_rlock_acquire(&ledger, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&ledger, WEFT_FOREVER), 0); /* re-entry */
    assert_int_equal(weft_lock_acquire(&audit, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&ledger, WEFT_FOREVER), 0); /* re-entry */
    weft_rlock_release(&ledger);
    weft_lock_release(&audit);
    weft_rlock_release(&ledger);
    weft_rlock_release(&ledger);
    return NULL;
}

static void *audit_then_ledger(void *arg)
{
    assert_int_equal(weft_lock_acquire(&audit, WEFT_FOREVER), 0);
    assert_int_equal(weft_rlock_acquire(&ledger, WEFT_FOREVER), 0);
    weft_rlock_release(&ledger);
    weft_lock_release(&audit);
    return NULL;
}

static void test_rlock(void **state)
{
    run("clerk", ledger_then_audit, NULL);
    assert_int_equal(weft_lockdep_reports(), 0); /* re-entry is no self-deadlock */
    run("auditor", audit_then_ledger, NULL);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_true(has(cap_text[0], "\"ledger\"") && has(cap_text[0], "\"audit\""));
}

/* ---- a Lock released by another thread ---- */
static weft_lock gate = WEFT_LOCK_INIT_NAMED("gate");
static weft_lock data = WEFT_LOCK_INIT_NAMED("data");

static void *open_gate(void *arg)
{
    assert_int_equal(weft_lock_release(&gate), 0);
    return NULL;
}

static void *data_then_gate(void *arg)
{
    assert_int_equal(weft_lock_acquire(&data, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_acquire(&gate, WEFT_FOREVER), 0);
    weft_lock_release(&gate);
    weft_lock_release(&data);
    return NULL;
}

static void test_lock_released_by_other_thread(void **state)
{
    assert_int_equal(weft_lock_acquire(&gate, WEFT_FOREVER), 0);
    run("opener", open_gate, NULL);
    assert_int_equal(weft_lock_acquire(&data, WEFT_FOREVER), 0); /* gate not held */
    weft_lock_release(&data);
    run("worker", data_then_gate, NULL);
    assert_int_equal(weft_lockdep_reports(), 0);
}

/* ---- self re-acquire, with a timeout so the test goes on ---- */
static void test_self_reacquire(void **state)
{
    weft_lock l;
    assert_int_equal(weft_lock_init(&l, "mine"), 0);
    assert_int_equal(weft_lock_acquire(&l, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_acquire(&l, 0.01), -ETIMEDOUT);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_true(has(cap_text[0], "self-deadlock"));
    assert_true(has(cap_text[0], "thread \"MainThread\" takes \"mine\""));
    /* A try cannot deadlock: not reported. */
    assert_int_equal(weft_lock_try(&l), -EBUSY);
    assert_int_equal(weft_lock_release(&l), 0);
    assert_int_equal(weft_lock_destroy(&l), 0);
    assert_int_equal(weft_lockdep_reports(), 1);
}

/* ---- try records no order; destroy forgets ---- */
static void test_try_and_destroy(void **state)
{
    weft_lock a, b;
    assert_int_equal(weft_lock_init(&a, "a"), 0);
    assert_int_equal(weft_lock_init(&b, "b"), 0);
    assert_int_equal(weft_lock_acquire(&a, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_try(&b), 0); /* cannot deadlock: no order a -> b */
    weft_lock_release(&b);
    weft_lock_release(&a);
    assert_int_equal(weft_lock_acquire(&b, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_acquire(&a, WEFT_FOREVER), 0); /* b -> a */
    weft_lock_release(&a);
    weft_lock_release(&b);
    assert_int_equal(weft_lockdep_reports(), 0);

    /* Destroyed and made again at the same address, same name: a new lock. */
    assert_int_equal(weft_lock_destroy(&a), 0);
    assert_int_equal(weft_lock_init(&a, "a"), 0);
    assert_int_equal(weft_lock_acquire(&a, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_acquire(&b, WEFT_FOREVER), 0); /* a -> b, new a */
    weft_lock_release(&b);
    weft_lock_release(&a);
    assert_int_equal(weft_lockdep_reports(), 0);
    /* Not destroyed: b -> a again inverts the new a -> b. */
    assert_int_equal(weft_lock_acquire(&b, WEFT_FOREVER), 0);
    assert_int_equal(weft_lock_acquire(&a, WEFT_FOREVER), 0);
    weft_lock_release(&a);
    weft_lock_release(&b);
    assert_int_equal(weft_lockdep_reports(), 1);
    weft_lock_destroy(&a);
    weft_lock_destroy(&b);
}

/* A lock destroyed, or re-initialised, while checking is off must not hand its
 * recorded orders to the next lock at its address. */
static void test_forget_while_off(void **state)
{
    weft_lock first, second;
    weft_lock_init(&first, "first");
    weft_lock_init(&second, "second");
    weft_lock_acquire(&first, WEFT_FOREVER);
    weft_lock_acquire(&second, WEFT_FOREVER); /* records first -> second */
    weft_lock_release(&second);
    weft_lock_release(&first);
    weft_lockdep_enable(false);
    assert_int_equal(weft_lock_destroy(&first), 0);
    weft_lock_init(&first, "first"); /* a new lock at the same address */
    weft_lockdep_enable(true);
    weft_lock_acquire(&second, WEFT_FOREVER);
    weft_lock_acquire(&first, WEFT_FOREVER); /* second -> first: no old order left */
    weft_lock_release(&first);
    weft_lock_release(&second);
    assert_int_equal(cap_n, 0);
    weft_lock_destroy(&first);
    weft_lock_destroy(&second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scientists_reported_without_deadlock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rlock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_released_by_other_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_reacquire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_try_and_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget_while_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
