/*
 * deadlock.c - ports the tutorials' deadlock program: two scientists share a
 * bowl of noodles and two chopsticks (two locks); one picks up the left stick
 * first, the other the right. When both grab their first stick at once, each
 * waits for ever for the other's.
 *
 * Shows: weft's lock-order checker (lockdep) sees the two opposite orders and
 * reports the inversion naming both locks - on a run that happened NOT to
 * deadlock, because here the scientists eat one after the other. The fix: treat
 * the pair as one resource, taken with a single lock; no order left to invert.
 */
#include <string.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

typedef struct chopstick {
    const char *name;
    weft_lock lock;
} chopstick;

typedef struct scientist {
    const char *name;
    chopstick *first, *second; /* picked up in this order */
} scientist;

#define CHOPSTICK(name) {(name), WEFT_LOCK_INIT_NAMED(name)}
static chopstick left = CHOPSTICK("left chopstick");
static chopstick right = CHOPSTICK("right chopstick");
static weft_lock pair = WEFT_LOCK_INIT_NAMED("chopstick pair");

/* The first lockdep report, kept for main; written by whichever thread reports
 * first (claimed atomically) and read by main after joining that thread. */
static char report[4096];
static int report_claimed;

static void keep_report(const char *text, void *arg)
{
    if (__atomic_exchange_n(&report_claimed, 1, __ATOMIC_RELAXED) == 0)
        snprintf(report, sizeof report, "%s", text);
}

static void *dine(void *arg)
{
    const scientist *s = arg;
    weft_lock_acquire(&s->first->lock, WEFT_FOREVER);
    weft_lock_acquire(&s->second->lock, WEFT_FOREVER);
    printf("%s picks up the %s, then the %s, and eats\n", s->name, s->first->name,
           s->second->name);
    weft_lock_release(&s->second->lock);
    weft_lock_release(&s->first->lock);
    return NULL;
}

static void *dine_with_pair(void *arg)
{
    const scientist *s = arg;
    weft_lock_acquire(&pair, WEFT_FOREVER);
    printf("%s eats, holding the pair\n", s->name);
    weft_lock_release(&pair);
    return NULL;
}

/* Start one thread per scientist; if one_at_a_time, join each before the next. */
static int dinner(weft_thread_fn fn, scientist *s, int n, bool one_at_a_time)
{
    weft_thread *t[2];
    int started = 0, rc = 0;
    for (; started < n; started++) {
        rc = weft_thread_start(&t[started], fn, &s[started],
                               &(weft_thread_opts){.name = s[started].name});
        if (rc != 0)
            break;
        if (one_at_a_time)
            weft_thread_join(t[started], WEFT_FOREVER, NULL);
    }
    for (int i = 0; i < started; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    return rc;
}

/* Print a multi-line report indented under the seed's output. */
static void print_indented(const char *text)
{
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        printf("  | %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

WEFT_SEED(deadlock, "two locks taken in opposite orders: lockdep reports it before it deadlocks")
{
    bool was_on = weft_lockdep_enable(true);
    weft_lockdep_set_reporter(keep_report, NULL);
    size_t before = weft_lockdep_reports();

    scientist opposite[2] = {{"Ada", &left, &right}, {"Grace", &right, &left}};
    int rc = dinner(dine, opposite, 2, true); /* one after the other: no deadlock */
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    size_t after = weft_lockdep_reports();
    printf("lockdep reports: %zu\n", after - before);
    if (__atomic_load_n(&report_claimed, __ATOMIC_RELAXED))
        print_indented(report);
    SEED_CHECK(after >= before + 1, "lockdep did not report the opposite lock orders");
    SEED_CHECK(strstr(report, "left chopstick") && strstr(report, "right chopstick"),
               "the report does not name both chopsticks");

    printf("the fix: one lock for the pair, both scientists at once\n");
    rc = dinner(dine_with_pair, opposite, 2, false);
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    size_t fixed = weft_lockdep_reports();
    printf("lockdep reports since: %zu\n", fixed - after);

    weft_lockdep_set_reporter(NULL, NULL);
    weft_lockdep_enable(was_on);
    weft_lock_destroy(&left.lock);
    weft_lock_destroy(&right.lock);
    weft_lock_destroy(&pair);
    SEED_CHECK(fixed == after, "lockdep reported %zu more inversions after the fix",
               fixed - after);
    return 0;
}
