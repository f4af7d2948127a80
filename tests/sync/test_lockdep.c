/*
 * White-box tests of the lock-order checker: the hooks of internal/lockdep.h are
 * called directly, as the lock code calls them, with fake lock addresses (or
 * real pthread mutexes), from the main thread and from raw pthreads.
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
#include <unistd.h>

#include "internal/lockdep.h"
#include "sync/lockdep_internal.h"
#include "weft/sync.h"
#include "weft/thread.h"

/* ---- fake locks: only their addresses matter ---- */
static char fake[64];
#define NOODLES (&fake[0])
#define CHOPSTICKS (&fake[1])
#define LA (&fake[2])
#define LB (&fake[3])
#define LC (&fake[4])
#define LD (&fake[5])

#include "lockdep_capture.h"

/* ---- acquisitions as the lock code makes them ---- */
static void take(const void *l, const char *name, int line)
{
    if (weft__lockdep_active())
        weft__lockdep_before(l, name, "scientists.c", line);
    if (weft__lockdep_active())
        weft__lockdep_acquired(l, name, "scientists.c", line);
}

static void take_try(const void *l, const char *name, int line)
{
    if (weft__lockdep_active())
        weft__lockdep_acquired(l, name, "scientists.c", line);
}

static void give(const void *l)
{
    if (weft__lockdep_active())
        weft__lockdep_released(l);
}

/* ---- running a step in its own named weft thread ---- */
typedef struct step {
    const char *os_name; /* the weft thread's name */
    void (*fn)(struct step *s);
    char name[WEFT__LOCKDEP_THREAD_NAME_MAX]; /* as lockdep names this thread */
    size_t reports_seen;                      /* scratch for fn */
} step;

static void *step_main(void *arg)
{
    step *s = arg;
    weft__lockdep_thread_name(s->name, sizeof s->name);
    s->fn(s);
    return NULL;
}

static void run_step(step *s)
{
    weft_thread *t;
    assert_int_equal(weft_thread_start(&t, step_main, s,
                                       &(weft_thread_opts){.name = s->os_name}), 0);
    assert_int_equal(weft_thread_join(t, WEFT_FOREVER, NULL), 0);
    weft_thread_free(t);
}


/* ------------------------------------------------------------------------ */

static void sci_a(step *s)
{
    take(NOODLES, "noodles", 28);
    take(CHOPSTICKS, "chopsticks", 30);
    give(CHOPSTICKS);
    give(NOODLES);
}

static void sci_b(step *s)
{
    take(CHOPSTICKS, "chopsticks", 39);
    /* The report must come from before(), i.e. before the thread would sleep. */
    weft__lockdep_before(NOODLES, "noodles", "scientists.c", 41);
    s->reports_seen = weft_lockdep_reports();
    weft__lockdep_acquired(NOODLES, "noodles", "scientists.c", 41);
    give(NOODLES);
    give(CHOPSTICKS);
}

static void test_opposite_orders_one_report(void **state)
{
    step a = {.os_name = "Scientist-A", .fn = sci_a};
    step b = {.os_name = "Scientist-B", .fn = sci_b};
    run_step(&a); /* one after the other: no deadlock on this run */
    assert_int_equal(weft_lockdep_reports(), 0);
    run_step(&b);
    assert_int_equal(b.reports_seen, 1);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_int_equal(cap_n, 1);
    const char *r = cap_text[0];
    assert_true(has(r, "opposite orders"));
    assert_true(has(r, "\"noodles\""));
    assert_true(has(r, "\"chopsticks\""));
    static const int lines[] = {28, 30, 39, 41};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "scientists.c:%d", lines[i]);
        assert_true(has(r, want));
    }
    char want[256];
    snprintf(want, sizeof want, "thread \"%s\" takes \"noodles\" (scientists.c:41) "
             "while holding \"chopsticks\" (scientists.c:39)", b.name);
    assert_true(has(r, want));
    snprintf(want, sizeof want, "thread \"%s\" took \"chopsticks\" (scientists.c:30) "
             "while holding \"noodles\" (scientists.c:28)", a.name);
    assert_true(has(r, want));
    /* The weft thread names are what reports show. */
    assert_string_equal(a.name, "Scientist-A");
    assert_string_equal(b.name, "Scientist-B");

    /* The same pair again, in both orders: nothing new. */
    run_step(&a);
    run_step(&b);
    run_step(&a);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_int_equal(cap_n, 1);
}

static void t_ab(step *s) { take(LA, "A", 1); take(LB, "B", 2); give(LB); give(LA); }
static void t_bc(step *s) { take(LB, "B", 3); take(LC, "C", 4); give(LC); give(LB); }
static void t_ca(step *s) { take(LC, "C", 5); take(LA, "A", 6); give(LA); give(LC); }

static void test_three_lock_cycle(void **state)
{
    step s1 = {.os_name = "t-ab", .fn = t_ab};
    step s2 = {.os_name = "t-bc", .fn = t_bc};
    step s3 = {.os_name = "t-ca", .fn = t_ca};
    run_step(&s1);
    run_step(&s2);
    assert_int_equal(weft_lockdep_reports(), 0);
    run_step(&s3);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_int_equal(cap_n, 1);
    const char *r = cap_text[0];
    assert_true(has(r, "3 locks taken in a cycle"));
    assert_true(has(r, "thread \"t-ca\" takes \"A\" (scientists.c:6) while holding \"C\" "
                       "(scientists.c:5)"));
    assert_true(has(r, "thread \"t-ab\" took \"B\" (scientists.c:2) while holding \"A\" "
                       "(scientists.c:1)"));
    assert_true(has(r, "thread \"t-bc\" took \"C\" (scientists.c:4) while holding \"B\" "
                       "(scientists.c:3)"));
    assert_true(has(r, "cycle: \"C\" -> \"A\" -> \"B\" -> \"C\""));
    /* The chain is listed in order: A->B before B->C. */
    assert_true(strstr(r, "t-ab") < strstr(r, "t-bc"));

    run_step(&s3);
    run_step(&s1);
    assert_int_equal(weft_lockdep_reports(), 1);
}

/* Holding B and C, taking A where A->B was seen: the direct inversion (A, B)
 * is reported; the longer chain A->B->C through C adds no second report. */
static void t_bca(step *s)
{
    take(LB, "B", 10);
    take(LC, "C", 11);
    take(LA, "A", 12);
    give(LA);
    give(LC);
    give(LB);
}

static void test_no_second_report_through_held_lock(void **state)
{
    step s1 = {.os_name = "t-ab", .fn = t_ab};
    step s2 = {.os_name = "t-bca", .fn = t_bca};
    run_step(&s1);
    run_step(&s2);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_true(has(cap_text[0], "opposite orders"));
    assert_true(has(cap_text[0], "takes \"A\" (scientists.c:12) while holding \"B\""));
}

/* Two distinct inverted pairs in one acquisition are two reports. */
static void t_ca_cb(step *s)
{
    take(LC, "C", 20);
    take(LA, "A", 21);
    give(LA);
    take(LB, "B", 22);
    give(LB);
    give(LC);
}

static void t_ab_takes_c(step *s)
{
    take(LA, "A", 23);
    take_try(LB, "B", 24); /* a try: no order A->B checked or recorded */
    take(LC, "C", 25);
    give(LC);
    give(LB);
    give(LA);
}

static void test_two_pairs_two_reports(void **state)
{
    step s1 = {.os_name = "t1", .fn = t_ca_cb};
    step s2 = {.os_name = "t2", .fn = t_ab_takes_c};
    run_step(&s1);
    run_step(&s2);
    assert_int_equal(weft_lockdep_reports(), 2);
    assert_int_equal(cap_n, 2);
    assert_true(has(cap_text[0], "takes \"C\" (scientists.c:25) while holding \"A\""));
    assert_true(has(cap_text[1], "takes \"C\" (scientists.c:25) while holding \"B\""));
}

/* ---- consistent order, many threads at once, real mutexes ---- */
static pthread_mutex_t real[3] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                                  PTHREAD_MUTEX_INITIALIZER};
static const char *real_names[3] = {"first", "second", "third"};

static void *consistent_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int it = 0; it < 300; it++) {
        /* Any subset, always in index order; sometimes a try. */
        int mask = (int)(rand_r(&seed) % 7) + 1;
        for (int i = 0; i < 3; i++) {
            if (!(mask & (1 << i)))
                continue;
            if (rand_r(&seed) % 4 == 0 && pthread_mutex_trylock(&real[i]) == 0) {
                weft__lockdep_acquired(&real[i], real_names[i], "w.c", 100 + i);
                continue;
            }
            weft__lockdep_before(&real[i], real_names[i], "w.c", 200 + i);
            pthread_mutex_lock(&real[i]);
            weft__lockdep_acquired(&real[i], real_names[i], "w.c", 200 + i);
        }
        for (int i = 2; i >= 0; i--) {
            if (mask & (1 << i)) {
                pthread_mutex_unlock(&real[i]);
                weft__lockdep_released(&real[i]);
            }
        }
    }
    return NULL;
}

static void test_consistent_order_no_report(void **state)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, consistent_worker, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(weft_lockdep_reports(), 0);
    assert_int_equal(cap_n, 0);

    /* The orders were recorded, though: the reverse pair is reported. */
    weft__lockdep_before(&real[2], "third", "w.c", 300);
    weft__lockdep_acquired(&real[2], "third", "w.c", 300);
    weft__lockdep_before(&real[0], "first", "w.c", 301);
    weft__lockdep_acquired(&real[0], "first", "w.c", 301);
    weft__lockdep_released(&real[0]);
    weft__lockdep_released(&real[2]);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_true(has(cap_text[0], "\"first\"") && has(cap_text[0], "\"third\""));
    /* Threads weft did not start are named as in Python: "Dummy-N". */
    assert_true(has(cap_text[0], "thread \"MainThread\" takes \"first\" (w.c:301)"));
    assert_true(has(cap_text[0], "thread \"Dummy-"));
}

static void test_off_records_nothing(void **state)
{
    assert_true(weft_lockdep_enabled());
    assert_true(weft_lockdep_enable(false));
    assert_false(weft_lockdep_enabled());
    assert_false(weft__lockdep_active());
    step a = {.os_name = "off-A", .fn = sci_a};
    run_step(&a);
    /* Even hooks called directly record nothing while off. */
    weft__lockdep_before(CHOPSTICKS, "chopsticks", "x.c", 1);
    weft__lockdep_acquired(CHOPSTICKS, "chopsticks", "x.c", 1);
    weft__lockdep_before(NOODLES, "noodles", "x.c", 2);
    weft__lockdep_acquired(NOODLES, "noodles", "x.c", 2);
    weft__lockdep_released(NOODLES);
    weft__lockdep_released(CHOPSTICKS);
    assert_false(weft_lockdep_enable(true));
    assert_int_equal(weft_lockdep_reports(), 0);

    /* On again: only the reverse order is seen, which alone is no inversion. */
    step b = {.os_name = "on-B", .fn = sci_b};
    run_step(&b);
    assert_int_equal(weft_lockdep_reports(), 0);
    /* And from now on the first order is: the inversion shows. */
    run_step(&a);
    assert_int_equal(weft_lockdep_reports(), 1);
}

static void test_forget_clears(void **state)
{
    step s = {.os_name = "t-ab", .fn = t_ab};
    run_step(&s);
    weft__lockdep_forget(LA); /* A destroyed; a new lock at its address */
    take(LB, "B", 1);
    take(LA, "new A", 2);
    give(LA);
    give(LB);
    assert_int_equal(weft_lockdep_reports(), 0);

    /* Forgetting a lock that is the target of an edge (B -> C) clears too. */
    step c = {.os_name = "t-bc", .fn = t_bc};
    run_step(&c); /* B->C */
    weft__lockdep_forget(LC);
    weft__lockdep_forget(LC); /* twice is harmless */
    take(LC, "new C", 3);
    take(LB, "B", 4);
    give(LB);
    give(LC);
    assert_int_equal(weft_lockdep_reports(), 0);
    /* What was not forgotten still counts: new A was taken after B above. */
    take(LA, "new A", 5);
    take(LB, "B", 6);
    give(LB);
    give(LA);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_true(has(cap_text[0], "\"new A\""));
}

/* A lock need not be destroyed (a stack lock goes out of scope): a lock with a
 * different name at a known address is a new lock with no orders yet. */
static void test_new_name_at_same_address_starts_clean(void **state)
{
    step s = {.os_name = "t-ab", .fn = t_ab}; /* A -> B, A at LA */
    run_step(&s);
    take(LB, "B", 1);
    take(LA, "not A", 2); /* another lock, now at LA's address */
    give(LA);
    give(LB);
    assert_int_equal(weft_lockdep_reports(), 0);
    /* The same name again is the same lock: its new order B -> "not A" holds. */
    take(LA, "not A", 3);
    take(LB, "B", 4);
    give(LB);
    give(LA);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_true(has(cap_text[0], "\"not A\""));
}

/* ---- a Lock released by another thread than its taker ---- */
static void release_l(step *s) { give(LA); }
static void m_then_l(step *s)
{
    take(LB, "M", 30);
    take(LA, "L", 31);
    give(LA);
    give(LB);
}

static void test_foreign_release_leaves_no_stale_order(void **state)
{
    take(LA, "L", 1);   /* main takes L ... */
    step r = {.os_name = "releaser", .fn = release_l};
    run_step(&r);       /* ... another thread releases it (Python allows it) */
    take(LB, "M", 2);   /* main now takes M, not holding L */
    give(LB);
    step o = {.os_name = "m-then-l", .fn = m_then_l};
    run_step(&o);       /* M then L is no inversion */
    assert_int_equal(weft_lockdep_reports(), 0);

    /* Control: when main really holds L while taking M, it is one. */
    weft_lockdep_reset();
    take(LA, "L", 3);
    take(LB, "M", 4);
    give(LB);
    run_step(&o);
    assert_int_equal(weft_lockdep_reports(), 1);
    give(LA);
}

/* Checking switched off while a lock is held: its release is never seen. */
static void test_release_missed_while_off(void **state)
{
    take(LA, "L", 1);
    weft_lockdep_enable(false);
    give(LA); /* not seen */
    weft_lockdep_enable(true);
    take(LB, "M", 2);
    give(LB);
    step o = {.os_name = "m-then-l", .fn = m_then_l};
    run_step(&o);
    assert_int_equal(weft_lockdep_reports(), 0);

    /* And a lock taken while off and released while on leaves the counts
     * usable: L is tracked normally afterwards. */
    weft_lockdep_enable(false);
    take(LA, "L", 3);
    weft_lockdep_enable(true);
    give(LA); /* a release of an acquisition never seen */
    take(LA, "L", 4);
    take(LB, "M", 5); /* L -> M, against M -> L above */
    give(LB);
    give(LA);
    assert_int_equal(weft_lockdep_reports(), 1);
}

static void test_self_reacquire_reported(void **state)
{
    take(LA, "plain", 50);
    weft__lockdep_before(LA, "plain", "scientists.c", 51);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_int_equal(cap_n, 1);
    const char *r = cap_text[0];
    assert_true(has(r, "self-deadlock"));
    assert_true(has(r, "for ever if none does and there is no timeout"));
    assert_true(has(r, "takes \"plain\" (scientists.c:51) while already holding it "
                       "(scientists.c:50)"));
    char me[WEFT__LOCKDEP_THREAD_NAME_MAX + 16];
    char name[WEFT__LOCKDEP_THREAD_NAME_MAX];
    weft__lockdep_thread_name(name, sizeof name);
    snprintf(me, sizeof me, "thread \"%s\"", name);
    assert_true(has(r, me));
    assert_string_equal(name, "MainThread");
    /* Reported once per lock. */
    weft__lockdep_before(LA, "plain", "scientists.c", 52);
    assert_int_equal(weft_lockdep_reports(), 1);
    give(LA);
    /* Taken again normally after the release: no report. */
    take(LA, "plain", 53);
    give(LA);
    assert_int_equal(weft_lockdep_reports(), 1);
}

static void test_unnamed_lock_shown_by_address(void **state)
{
    take(LA, NULL, 1);
    take(LB, "named", 2);
    give(LB);
    give(LA);
    take(LB, "named", 3);
    take(LA, NULL, 4);
    give(LA);
    give(LB);
    assert_int_equal(cap_n, 1);
    char addr[64];
    snprintf(addr, sizeof addr, "unnamed lock %p", (void *)LA);
    assert_true(has(cap_text[0], addr));
    assert_true(has(cap_text[0], "\"named\""));
}

/* ---- reporter and stderr ---- */
static void test_reporter_receives_text_and_stderr_default(void **state)
{
    /* Reporter: covered above; here the default, stderr, in one write. */
    weft_lockdep_set_reporter(NULL, NULL);
    char path[] = "/tmp/weft_lockdep_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    step a = {.os_name = "Scientist-A", .fn = sci_a};
    step b = {.os_name = "Scientist-B", .fn = sci_b};
    run_step(&a);
    run_step(&b);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    char buf[2048] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(n > 0);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_int_equal(cap_n, 0);
    assert_true(strncmp(buf, "weft lockdep: possible deadlock", 31) == 0);
    assert_true(has(buf, "\"noodles\"") && has(buf, "\"chopsticks\""));
    assert_true(has(buf, "scientists.c:41"));
}

/* A reporter that takes locks itself (and calls back in) must not deadlock,
 * and its own locks are not checked. */
static size_t seen_in_reporter;
static void reporter_taking_locks(const char *text, void *arg)
{
    (void)text;
    seen_in_reporter = weft_lockdep_reports();
    take(LD, "reporter's", 90);
    take(NOODLES, "noodles", 91); /* would invert with sci_a's order if checked */
    give(NOODLES);
    give(LD);
    *(int *)arg += 1;
}

static void test_reporter_may_take_locks(void **state)
{
    int calls = 0;
    weft_lockdep_set_reporter(reporter_taking_locks, &calls);
    step a = {.os_name = "Scientist-A", .fn = sci_a};
    step b = {.os_name = "Scientist-B", .fn = sci_b};
    run_step(&a);
    run_step(&b);
    assert_int_equal(calls, 1);
    assert_int_equal(seen_in_reporter, 1);
    assert_int_equal(weft_lockdep_reports(), 1);
    /* noodles -> reporter's was not recorded from inside the reporter. */
    take(LD, "reporter's", 92);
    take(NOODLES, "noodles", 93);
    give(NOODLES);
    give(LD);
    take(NOODLES, "noodles", 94);
    take(LD, "reporter's", 95);
    give(LD);
    give(NOODLES);
    assert_int_equal(calls, 2); /* this inversion is the first for that pair */
}

static void test_reset(void **state)
{
    step a = {.os_name = "Scientist-A", .fn = sci_a};
    step b = {.os_name = "Scientist-B", .fn = sci_b};
    run_step(&a);
    run_step(&b);
    assert_int_equal(weft_lockdep_reports(), 1);
    weft_lockdep_reset();
    assert_int_equal(weft_lockdep_reports(), 0);
    run_step(&b); /* the old order noodles -> chopsticks is forgotten */
    assert_int_equal(weft_lockdep_reports(), 0);
    run_step(&a); /* and reported again when seen again */
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_int_equal(cap_n, 2);
    /* The reporter survives a reset. */
    assert_true(has(cap_text[1], "opposite orders"));
}

/* ---- a thread holding more locks than the held set has room for ---- */
static char many[WEFT__LOCKDEP_HELD_MAX + 2];
static void hold_too_many(step *s)
{
    for (int i = 0; i < WEFT__LOCKDEP_HELD_MAX + 2; i++)
        take(&many[i], NULL, 100 + i);
    /* No longer checked: an inversion in this thread goes unreported. */
    take(LB, "B", 7);
    take(LA, "A", 8);
    give(LA);
    give(LB);
    for (int i = WEFT__LOCKDEP_HELD_MAX + 1; i >= 0; i--)
        give(&many[i]);
}

static void test_overflow_stops_tracking_that_thread(void **state)
{
    step s1 = {.os_name = "t-ab", .fn = t_ab};
    run_step(&s1);
    char path[] = "/tmp/weft_lockdep_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    step s = {.os_name = "hoarder", .fn = hold_too_many};
    run_step(&s);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    char buf[1024] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(n > 0);
    assert_true(has(buf, "thread \"hoarder\" holds more than 48 locks"));
    /* Said once. */
    assert_null(strstr(strstr(buf, "holds more") + 1, "holds more"));
    assert_int_equal(weft_lockdep_reports(), 0);
    /* Other threads are still checked. */
    step s2 = {.os_name = "t-ca", .fn = t_ca};
    step s3 = {.os_name = "t-bc", .fn = t_bc};
    run_step(&s3);
    run_step(&s2);
    assert_int_equal(weft_lockdep_reports(), 1);
}

/* A long chain of orders: one report for the closing edge, all listed. */
static char chain[40];
static void test_long_chain(void **state)
{
    static char names[40][8];
    for (int i = 0; i < 40; i++)
        snprintf(names[i], sizeof names[i], "L%d", i);
    for (int i = 0; i + 1 < 40; i++) {
        take(&chain[i], names[i], 2 * i);
        take(&chain[i + 1], names[i + 1], 2 * i + 1);
        give(&chain[i + 1]);
        give(&chain[i]);
    }
    assert_int_equal(weft_lockdep_reports(), 0);
    take(&chain[39], names[39], 1000);
    take(&chain[0], names[0], 1001);
    give(&chain[0]);
    give(&chain[39]);
    assert_int_equal(weft_lockdep_reports(), 1);
    assert_true(has(cap_text[0], "40 locks taken in a cycle"));
    assert_true(has(cap_text[0], "took \"L20\" (scientists.c:39) while holding \"L19\" "
                                 "(scientists.c:38)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opposite_orders_one_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_lock_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_second_report_through_held_lock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_pairs_two_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consistent_order_no_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_records_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_name_at_same_address_starts_clean, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_release_leaves_no_stale_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_release_missed_while_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_reacquire_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unnamed_lock_shown_by_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reporter_receives_text_and_stderr_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reporter_may_take_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_stops_tracking_that_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
