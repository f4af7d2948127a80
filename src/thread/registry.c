/*
 * The thread registry: which threads are alive (Python's threading._active),
 * the calling thread's record, the main thread, threads weft did not start,
 * the wait for non-daemon threads at exit, and the state after fork().
 *
 * `registry_mu` guards the list (head/tail and every record's prev/next/listed)
 * and nothing else. It is a pthread mutex, not a weft_lock, so the lock-order
 * checker never sees - or recurses into - weft's own bookkeeping. It is only held
 * for list surgery and copying, never across a wait or a user callback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/clock.h"
#include "internal/flag.h"
#include "internal/forkgen.h"
#include "thread/thread_internal.h"

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static weft_thread *head, *tail; /* start order; guarded by registry_mu */

/* The calling thread's record; NULL until a weft thread starts or a foreign
 * thread first asks. Thread-local, so no ordering is involved. */
static _Thread_local weft_thread *current;

/* The main thread's record lives in static storage and is never freed. After
 * fork() in a thread other than main, the child's main thread is that thread's
 * record instead; `main_thread` points to whichever it is. Written at start-up
 * and in the fork child (single-threaded then); read with acquire after. */
static weft_thread main_record = {.refs = 1, .kind = WEFT__THREAD_MAIN, .name = "MainThread"};
static weft_thread *main_thread = &main_record;

/* Numbers for default names: Thread-N, Dummy-N (Python numbers both from one
 * counter). Relaxed: only uniqueness matters. */
static unsigned long thread_counter;

/* Whether exit() waits for non-daemon threads; relaxed, a plain switch. */
static int wait_at_exit = 1;

/* Foreign threads get a key whose destructor drops their dummy record. */
static pthread_key_t dummy_key;
static pthread_once_t dummy_key_once = PTHREAD_ONCE_INIT;

unsigned long weft__next_thread_number(void)
{
    return __atomic_add_fetch(&thread_counter, 1, __ATOMIC_RELAXED);
}

void weft__set_current(weft_thread *t)
{
    current = t;
}

static void link_tail(weft_thread *t)
{
    t->prev = tail;
    t->next = NULL;
    if (tail)
        tail->next = t;
    else
        head = t;
    tail = t;
    t->listed = true;
}

static void unlink_record(weft_thread *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        tail = t->prev;
    t->prev = t->next = NULL;
    t->listed = false;
}

void weft__registry_add(weft_thread *t)
{
    pthread_mutex_lock(&registry_mu);
    link_tail(t);
    pthread_mutex_unlock(&registry_mu);
}

void weft__registry_finish(weft_thread *t)
{
    /* Both under registry_mu, so fork_child sees the record either listed (and
     * marks it finished itself) or already finished: never gone but "alive". */
    pthread_mutex_lock(&registry_mu);
    bool was = t->listed;
    if (was)
        unlink_record(t);
    weft__flag_set(&t->finished);
    pthread_mutex_unlock(&registry_mu);
    if (was)
        weft__thread_unref(t); /* the registry's reference */
}

/* ---- the main thread ---- */

static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

/* Runs at load time, in the main thread for programs linked with weft. */
__attribute__((constructor)) static void registry_init(void)
{
    if (gettid() == getpid()) {
        main_record.tid = gettid();
        main_record.ident = (unsigned long)pthread_self();
        current = &main_record;
    }
    /* Loaded by dlopen() in another thread: main's ident stays unknown (0). */
    /* Static: references to it are counted like any other, but the last one
     * never frees it (weft__thread_unref checks the kind). */
    main_record.started = WEFT__FLAG_SET;
    pthread_mutex_lock(&registry_mu);
    link_tail(&main_record);
    pthread_mutex_unlock(&registry_mu);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

WEFT_API weft_thread *weft_main_thread(void)
{
    return __atomic_load_n(&main_thread, __ATOMIC_ACQUIRE);
}

/* ---- threads weft did not start ---- */

static void drop_dummy(void *p)
{
    weft_thread *t = p;
    if (current == t)
        current = NULL;
    weft__registry_finish(t);
    weft__thread_unref(t); /* the thread's own reference */
}

static void make_dummy_key(void)
{
    if (pthread_key_create(&dummy_key, drop_dummy) != 0)
        abort(); /* only at the system's key limit; nothing sane to return */
}

static weft_thread *adopt_foreign_thread(void)
{
    pthread_once(&dummy_key_once, make_dummy_key);
    weft_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->refs = 2; /* the thread's own (dropped by drop_dummy), the registry's */
    t->kind = WEFT__THREAD_DUMMY;
    t->daemon = true; /* as Python's _DummyThread: never waited for */
    t->tid = gettid();
    t->ident = (unsigned long)pthread_self();
    t->started = WEFT__FLAG_SET;
    snprintf(t->name, sizeof t->name, "Dummy-%lu", weft__next_thread_number());
    if (pthread_setspecific(dummy_key, t) != 0) {
        free(t);
        return NULL;
    }
    weft__registry_add(t);
    current = t;
    return t;
}

WEFT_API weft_thread *weft_current_thread(void)
{
    weft_thread *t = current;
    if (t)
        return t;
    if (gettid() == getpid())
        return weft_main_thread(); /* main thread of a program that dlopen()ed us */
    return adopt_foreign_thread();
}

/* ---- enumerate, active_count ---- */

WEFT_API size_t weft_enumerate(weft_thread **out, size_t cap)
{
    if (!out)
        cap = 0;
    size_t n = 0;
    pthread_mutex_lock(&registry_mu);
    for (weft_thread *t = head; t; t = t->next, n++) {
        if (n < cap) {
            weft__thread_ref(t);
            out[n] = t;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    return n;
}

WEFT_API size_t weft_active_count(void)
{
    return weft_enumerate(NULL, 0);
}

/* ---- Python's exit rule: wait for non-daemon threads ---- */

WEFT_API bool weft_thread_wait_at_exit(bool on)
{
    return __atomic_exchange_n(&wait_at_exit, on ? 1 : 0, __ATOMIC_RELAXED) != 0;
}

/* A listed, still running, non-daemon weft thread other than the caller, with a
 * reference taken; NULL when none is left. */
static weft_thread *next_to_wait_for(void)
{
    weft_thread *found = NULL;
    pthread_mutex_lock(&registry_mu);
    for (weft_thread *t = head; t; t = t->next) {
        if (t->kind == WEFT__THREAD_STARTED && !t->daemon && t != current &&
            !weft__flag_is_set(&t->finished)) {
            weft__thread_ref(t);
            found = t;
            break;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    return found;
}

void weft__registry_wait_non_daemon(void)
{
    if (!__atomic_load_n(&wait_at_exit, __ATOMIC_RELAXED))
        return;
    weft_thread *t;
    /* Threads may start threads while we wait: loop until none is left. */
    while ((t = next_to_wait_for()) != NULL) {
        weft_thread_join(t, WEFT_FOREVER, NULL);
        weft__thread_unref(t);
    }
}

static pthread_once_t exit_wait_once = PTHREAD_ONCE_INIT;

static void install_exit_wait(void)
{
    atexit(weft__registry_wait_non_daemon);
}

void weft__registry_arm_exit_wait(void)
{
    pthread_once(&exit_wait_once, install_exit_wait);
}

/* ---- fork ---- */

/* Hold the registry across fork() so the child never inherits it mid-change. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&registry_mu);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&registry_mu);
}

/* In the child only the forking thread exists: it becomes the main thread, and
 * every other listed record is marked finished and dropped from the registry.
 * (A record leaves the list and is marked finished in one step under
 * registry_mu - weft__registry_finish - so none can be caught in between.) The
 * references those threads held on their own records die with them. */
uint32_t weft__fork_gen;

static void fork_child(void)
{
    __atomic_store_n(&weft__fork_gen, weft__fork_gen + 1, __ATOMIC_RELAXED);
    weft_thread *self = current ? current : &main_record;
    weft_thread *t = head;
    while (t) {
        weft_thread *next = t->next;
        if (t != self) {
            unlink_record(t);
            weft__thread_forget_pthread(t);
            weft__flag_set(&t->finished);
            if (t->kind != WEFT__THREAD_MAIN) {
                weft__thread_unref(t); /* the registry's reference */
                weft__thread_unref(t); /* the vanished thread's own */
            }
        }
        t = next;
    }
    self->tid = gettid();
    self->ident = (unsigned long)pthread_self();
    __atomic_store_n(&main_thread, self, __ATOMIC_RELEASE);
    current = self;
    pthread_mutex_unlock(&registry_mu);
}
