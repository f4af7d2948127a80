/*
 * The children of this process (Python's multiprocessing._children):
 * active_children, the exit rule, and the reaper for children nobody holds.
 *
 * `children_mu` guards the list (head/tail, every record's prev/next/listed),
 * the reaper's watch list (watch_head, wnext/wprev, watched) and the reaper's
 * start (reaper_ep, reaper_on). It is held only for list surgery, never across
 * a wait, a reap or a fork (the fork handlers take it, so a child never inherits
 * a list mid-change). Lock order: a record's mu before children_mu (reaping
 * unlinks the record).
 *
 * The reaper. A child whose last handle is freed while it runs must still be
 * reaped when it ends, or it would stay a zombie until the program exits. weft
 * starts one helper thread for that, the first time it is needed (most programs
 * join their children and never get it): it sleeps in epoll_wait() on the
 * waitfds of such children and reaps each as it ends. The alternative, reaping
 * them on later weft calls and at exit, leaves zombies for as long as the
 * program makes no call. A SIGCHLD handler would take the signal away from the
 * program. The thread blocks all signals, holds no lock while it sleeps (so a
 * fork() never copies a held lock of its), is not counted by AUTO, and does not
 * exist in a fork child, whose state starts empty.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "process/process_internal.h"
#include "weft/process.h"

static pthread_mutex_t children_mu = PTHREAD_MUTEX_INITIALIZER;
static weft_process *head, *tail; /* start order; guarded by children_mu */
/* Watched by the reaper (a reference each); guarded by children_mu. Kept in
 * memory rather than only in the kernel's epoll set so leak checkers see them. */
static weft_process *watch_head;
/* A fork child's copy of its parent's lists: never touched again, only kept
 * reachable (those records are the parent's business). */
static weft_process *inherited_head, *inherited_watch;

static int reaper_ep = -1;   /* guarded by children_mu */
static int reaper_wake = -1; /* eventfd in the epoll set; guarded by children_mu */
static bool reaper_on;       /* written under children_mu; read relaxed */
static bool reaper_sweeps;   /* some watched child has no waitfd; relaxed */

void weft__children_add(weft_process *p)
{
    weft__process_ref(p); /* the list's */
    pthread_mutex_lock(&children_mu);
    p->prev = tail;
    p->next = NULL;
    if (tail)
        tail->next = p;
    else
        head = p;
    tail = p;
    p->listed = true;
    pthread_mutex_unlock(&children_mu);
}

void weft__children_remove(weft_process *p)
{
    pthread_mutex_lock(&children_mu);
    bool was = p->listed;
    if (was) {
        if (p->prev)
            p->prev->next = p->next;
        else
            head = p->next;
        if (p->next)
            p->next->prev = p->prev;
        else
            tail = p->prev;
        p->prev = p->next = NULL;
        p->listed = false;
    }
    pthread_mutex_unlock(&children_mu);
    if (was)
        weft__process_unref(p);
}

/* New references to every listed record, in order; NULL with *n = 0 when the
 * list is empty or memory is short. */
static weft_process **snapshot(size_t *n)
{
    pthread_mutex_lock(&children_mu);
    size_t count = 0;
    for (weft_process *p = head; p; p = p->next)
        count++;
    weft_process **all = count ? malloc(count * sizeof *all) : NULL;
    *n = 0;
    if (all)
        for (weft_process *p = head; p; p = p->next) {
            weft__process_ref(p);
            all[(*n)++] = p;
        }
    pthread_mutex_unlock(&children_mu);
    return all;
}

WEFT_API size_t weft_active_children(weft_process **out, size_t cap)
{
    if (!out)
        cap = 0;
    size_t n, alive = 0;
    weft_process **all = snapshot(&n);
    for (size_t i = 0; i < n; i++) {
        if (weft__process_try_reap(all[i])) {
            weft__process_unref(all[i]);
            continue;
        }
        if (alive < cap) {
            weft__process_user_ref(all[i]);
            out[alive] = all[i]; /* the snapshot's reference becomes the caller's */
        } else
            weft__process_unref(all[i]);
        alive++;
    }
    free(all);
    return alive;
}

/* ---- the exit rule ---- */

void weft__children_at_exit(void)
{
    /* Children may be started while we wait (by threads still running): go on
     * until none is left. */
    size_t n;
    weft_process **all;
    while ((all = snapshot(&n)) != NULL) {
        for (size_t i = 0; i < n; i++)
            if (all[i]->daemon && !weft__process_try_reap(all[i]))
                weft_process_terminate(all[i]);
        for (size_t i = 0; i < n; i++) {
            weft_process_join(all[i], WEFT_FOREVER);
            weft__process_try_reap(all[i]); /* unlinks even an odd case */
            weft__process_unref(all[i]);
        }
        free(all);
    }
    weft__forkserver_stop();
}

/* ---- the reaper ---- */

bool weft__reaper_running(void)
{
    return __atomic_load_n(&reaper_on, __ATOMIC_RELAXED);
}

static void unwatch(weft_process *p)
{
    pthread_mutex_lock(&children_mu);
    bool was = p->watched;
    if (was) {
        if (p->wprev)
            p->wprev->wnext = p->wnext;
        else
            watch_head = p->wnext;
        if (p->wnext)
            p->wnext->wprev = p->wprev;
        p->wprev = p->wnext = NULL;
        p->watched = false;
        /* The reaper's reference; the last one frees the record. Under
         * children_mu, which the fork handler takes: the reaper is never
         * inside free() while another thread forks (glibc's malloc survives
         * that, but older sanitizer allocators leave the child a held lock). */
        weft__process_unref(p);
    }
    pthread_mutex_unlock(&children_mu);
}

/* The reaper's list of records to look at. Static rather than a local so that
 * a fork child, which has no reaper thread, still reaches what it inherits
 * (leak checkers would report it otherwise). Used by the reaper thread alone. */
static weft_process **sweep_buf;
static size_t sweep_cap;

/* Without pidfds (or when epoll refused one) some watched children cannot be
 * slept on: look at every watched child now and then. */
static void sweep(int ep)
{
    size_t n = 0;
    pthread_mutex_lock(&children_mu);
    size_t count = 0;
    for (weft_process *p = watch_head; p; p = p->wnext)
        count++;
    if (count > sweep_cap) {
        weft_process **bigger = realloc(sweep_buf, count * sizeof *bigger);
        if (bigger) {
            sweep_buf = bigger;
            sweep_cap = count;
        }
    }
    for (weft_process *p = watch_head; p && n < sweep_cap; p = p->wnext) {
        weft__process_ref(p);
        sweep_buf[n++] = p;
    }
    pthread_mutex_unlock(&children_mu);
    /* Reaping outside children_mu: the lock order is a record's mu first. */
    for (size_t i = 0; i < n; i++) {
        if (weft__process_try_reap(sweep_buf[i])) {
            if (sweep_buf[i]->waitfd >= 0) /* if it was added */
                epoll_ctl(ep, EPOLL_CTL_DEL, sweep_buf[i]->waitfd, NULL);
            unwatch(sweep_buf[i]);
        }
    }
    /* Frees under children_mu, as in unwatch(). */
    pthread_mutex_lock(&children_mu);
    for (size_t i = 0; i < n; i++)
        weft__process_unref(sweep_buf[i]);
    pthread_mutex_unlock(&children_mu);
}

static int reaper_wake_fd(void)
{
    pthread_mutex_lock(&children_mu);
    int fd = reaper_wake;
    pthread_mutex_unlock(&children_mu);
    return fd;
}

static void *reaper_main(void *arg)
{
    int ep = (int)(intptr_t)arg;
    struct epoll_event ev[16];
    for (;;) {
        bool sweeping = __atomic_load_n(&reaper_sweeps, __ATOMIC_RELAXED);
        int n = epoll_wait(ep, ev, 16, sweeping ? 10 : -1);
        for (int i = 0; i < n; i++) {
            weft_process *p = ev[i].data.ptr;
            if (!p) { /* woken: a child to sweep for */
                uint64_t v;
                (void)!read(reaper_wake_fd(), &v, sizeof v);
                continue;
            }
            if (!weft__process_try_reap(p))
                continue;
            epoll_ctl(ep, EPOLL_CTL_DEL, p->waitfd, NULL);
            unwatch(p);
        }
        if (sweeping)
            sweep(ep);
    }
    return NULL;
}

/* Under children_mu. */
static bool start_reaper(void)
{
    if (reaper_on)
        return true;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || wake < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, wake, &wev) != 0) {
        if (ep >= 0)
            close(ep);
        if (wake >= 0)
            close(wake);
        return false;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits: no signals */
    int rc = pthread_create(&t, &attr, reaper_main, (void *)(intptr_t)ep);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        close(ep);
        close(wake);
        return false;
    }
    pthread_setname_np(t, "weft-reaper");
    reaper_ep = ep;
    reaper_wake = wake;
    __atomic_store_n(&reaper_on, true, __ATOMIC_RELAXED);
    return true;
}

void weft__children_orphan(weft_process *p)
{
    pthread_mutex_lock(&children_mu);
    /* Not listed: reaped meanwhile. No reaper (no memory, no threads): the
     * child is still reaped by active_children() and at exit. */
    if (p->watched || !p->listed || !start_reaper()) {
        pthread_mutex_unlock(&children_mu);
        return;
    }
    weft__process_ref(p); /* the reaper's */
    p->watched = true;
    p->wprev = NULL;
    p->wnext = watch_head;
    if (watch_head)
        watch_head->wprev = p;
    watch_head = p;
    int ep = reaper_ep, wake = reaper_wake;
    pthread_mutex_unlock(&children_mu);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
    int fd = weft__process_waitfd(p); /* outside children_mu: takes p->mu */
    if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        /* Relaxed store, then the eventfd write wakes the reaper, which reads
         * the flag after epoll_wait returns (the syscalls order the two). */
        __atomic_store_n(&reaper_sweeps, true, __ATOMIC_RELAXED);
        uint64_t one = 1;
        (void)!write(wake, &one, sizeof one);
    }
}

/* ---- fork ---- */

void weft__children_fork_prepare(void)
{
    pthread_mutex_lock(&children_mu);
}

void weft__children_fork_parent(void)
{
    pthread_mutex_unlock(&children_mu);
}

void weft__children_fork_child(void)
{
    /* The parent's children are not ours; no reaper runs here. Only what
     * needs changing is written (each page written costs the child a copy). */
    if (head || watch_head) {
        inherited_head = head;
        inherited_watch = watch_head;
        head = tail = watch_head = NULL;
    }
    if (__atomic_load_n(&reaper_on, __ATOMIC_RELAXED)) {
        close(reaper_ep); /* our copies only; the parent's set is untouched */
        close(reaper_wake);
        reaper_ep = reaper_wake = -1;
        reaper_on = false;
        reaper_sweeps = false;
    }
    pthread_mutex_unlock(&children_mu);
}
