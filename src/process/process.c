/*
 * Making, starting and freeing process objects (Python's Process), and the
 * child's side of a start: name, parent-death signal, fn, exit.
 *
 * The fork path is kept lean: no /proc reads (the thread check is free in a
 * program that never had a second thread), one pidfd_open() after fork() and
 * nothing else beyond what fork() and waitid() cost: the child's pidfd is only
 * opened when something needs it (a timed join, a signal, the reaper). fork()
 * itself is glibc's, not clone3(CLONE_PIDFD) through syscall(): a raw clone
 * would skip glibc's fork bookkeeping (atfork handlers - weft's own registry
 * among them - and the reset of malloc and stdio locks). pidfd_open() any time
 * before the reap is race-free: the pid cannot be reused before the child is
 * reaped, only weft reaps it, and it opens the pidfd under the lock that
 * reaping takes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "internal/forkgen.h"
#include "thread/thread_internal.h"
#include "process/process_internal.h"

void weft__process_ref(weft_process *p)
{
    /* Relaxed: the caller already holds a reference; nothing to order. */
    __atomic_fetch_add(&p->refs, 1, __ATOMIC_RELAXED);
}

void weft__process_user_ref(weft_process *p)
{
    /* Relaxed: as for refs. */
    __atomic_fetch_add(&p->users, 1, __ATOMIC_RELAXED);
}

void weft__process_unref(weft_process *p)
{
    /* Release on the way down, acquire for the last owner, so every other
     * holder's use of the record happens before it is freed. */
    if (__atomic_fetch_sub(&p->refs, 1, __ATOMIC_ACQ_REL) != 1 || p->kind != WEFT__PROC_CHILD)
        return;
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->waitfd >= 0 && p->waitfd != p->pidfd)
        close(p->waitfd);
    pthread_mutex_destroy(&p->mu);
    free(p->arg_copy);
    free(p);
}

WEFT_API weft_process *weft_process_ref(weft_process *p)
{
    if (p && p->kind == WEFT__PROC_CHILD) {
        weft__process_user_ref(p);
        weft__process_ref(p);
    }
    return p;
}

static weft_process *new_record(weft_process_fn fn, void *arg, const weft_process_opts *o)
{
    weft_process *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (o->arg_bytes) {
        p->arg_copy = malloc(o->arg_size ? o->arg_size : 1);
        if (!p->arg_copy) {
            free(p);
            return NULL;
        }
        memcpy(p->arg_copy, o->arg_bytes, o->arg_size);
        p->arg_size = o->arg_size;
    }
    p->refs = p->users = 1;
    p->kind = WEFT__PROC_CHILD;
    p->state = WEFT__PROC_NEW;
    p->method = (uint8_t)o->method;
    p->daemon = o->daemon;
    p->survive_parent = o->survive_parent;
    p->fn = fn;
    p->arg = arg;
    p->pidfd = p->waitfd = -1;
    pthread_mutex_init(&p->mu, NULL);
    /* Python numbers every Process, named or not. */
    weft__next_default_name(p->name, sizeof p->name, p->ident, sizeof p->ident);
    if (o->name)
        snprintf(p->name, sizeof p->name, "%s", o->name);
    return p;
}

WEFT_API int weft_process_new(weft_process **out, weft_process_fn fn, void *arg,
                              const weft_process_opts *opts)
{
    static const weft_process_opts defaults;
    const weft_process_opts *o = opts ? opts : &defaults;
    if (!out || !fn || (o->arg_size && !o->arg_bytes) ||
        (unsigned)o->method > WEFT_START_FORKSERVER)
        return -EINVAL;
    weft__process_arm_fork_handlers();
    weft_process *p = new_record(fn, arg, o);
    if (!p)
        return -ENOMEM;
    *out = p;
    return 0;
}

/* ---- the child's side ---- */

/* The calls a new child makes that its parent may never have made, through
 * pointers bound when the library is loaded: with lazy binding, a call through
 * the PLT would make every child look the symbol up and write its own copy of
 * the GOT page (measured: a few microseconds per spawn). */
static int (*const prctl_fn)(int, ...) = prctl;
static pid_t (*const getppid_fn)(void) = getppid;
static void (*const exit_fn)(int) __attribute__((noreturn)) = _exit;

void weft__process_set_os_name(const char *name)
{
    char os_name[16]; /* the kernel keeps 15 bytes (TASK_COMM_LEN) */
    size_t n = 0;
    while (n < sizeof os_name - 1 && name[n])
        n++;
    memcpy(os_name, name, n);
    os_name[n] = '\0';
    prctl_fn(PR_SET_NAME, os_name, 0, 0, 0);
}

_Noreturn void weft__process_child_run(weft_process *self, pid_t expect_parent, bool deathsig,
                                       void *arg)
{
    weft__process_set_os_name(self->name);
    if (deathsig) {
        prctl_fn(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        /* The parent may have died before the line above: then we were
         * reparented already and the kernel will never send the signal. */
        if (getppid_fn() != expect_parent)
            raise(SIGKILL);
    }
    int code = self->fn(arg);
    /* Python's end of a child (BaseProcess._bootstrap, then os._exit): wait for
     * the non-daemon threads the child started, terminate its daemon children
     * and join the others, flush stdout and stderr - and run no atexit handler,
     * neither those the program registered before the fork (they belong to the
     * parent) nor the child's own. */
    weft__registry_wait_non_daemon();
    weft__children_at_exit();
    weft__flush_std_streams();
    exit_fn(code);
}

/* ---- start through fork() ---- */

void weft__flush_std_streams(void)
{
    /* __fpending() reads without taking the stream's lock: with nothing
     * buffered (the usual case) the fork path writes nothing - every page the
     * parent writes between forks costs a copy-on-write fault. */
    if (__fpending(stdout) > 0)
        fflush(stdout);
    if (__fpending(stderr) > 0)
        fflush(stderr);
}

static int fork_spawn(weft_process *p)
{
    pid_t parent = getpid();
    /* PDEATHSIG follows the forking thread: only the main thread lives as long
     * as the process (see the header). */
    bool deathsig = !p->survive_parent && gettid() == parent;
    /* Python flushes sys.stdout and sys.stderr before forking, so buffered
     * output is not written twice. Not fflush(NULL): that would wait for the
     * lock of every stream, stdin's too, which a reading thread may hold. */
    weft__flush_std_streams();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        weft__become_child(p, parent, -1, parent);
        weft__process_child_run(p, parent, deathsig, p->arg_copy ? p->arg_copy : p->arg);
    }
    p->pid = pid; /* the pidfd is opened when first needed (see wait.c) */
    return 0;
}

WEFT_API int weft_process_start(weft_process *p)
{
    if (!p || p->kind != WEFT__PROC_CHILD)
        return -EINVAL;
    uint32_t expected = WEFT__PROC_NEW;
    /* Acquire/relaxed: the winner alone writes the start fields below. */
    if (!__atomic_compare_exchange_n(&p->state, &expected, WEFT__PROC_STARTING, false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return -EALREADY;
    weft_start_method m =
        weft__resolve_method((weft_start_method)p->method, !p->arg_copy && p->arg);
    int rc = m == WEFT_START_FORKSERVER ? weft__forkserver_spawn(p) : fork_spawn(p);
    if (rc != 0) {
        __atomic_store_n(&p->state, WEFT__PROC_NEW, __ATOMIC_RELEASE);
        return rc;
    }
    p->used = (uint8_t)m;
    p->gen = weft__fork_generation();
    weft__children_add(p);
    /* Release: publishes pid, fds, used and gen to whoever sees RUNNING. */
    __atomic_store_n(&p->state, WEFT__PROC_RUNNING, __ATOMIC_RELEASE);
    return 0;
}

WEFT_API int weft_process_spawn(weft_process **out, weft_process_fn fn, void *arg,
                                const weft_process_opts *opts)
{
    if (!out)
        return -EINVAL;
    weft_process *p;
    int rc = weft_process_new(&p, fn, arg, opts);
    if (rc != 0)
        return rc;
    rc = weft_process_start(p);
    if (rc != 0) {
        weft__process_unref(p);
        return rc;
    }
    *out = p;
    return 0;
}

WEFT_API void weft_process_free(weft_process *p)
{
    if (!p || p->kind != WEFT__PROC_CHILD)
        return; /* NULL, or borrowed (current / parent process) */
    /* The last user handle: exactly one free sees 0 (acq_rel, so it comes
     * after the other handles' last uses). */
    if (__atomic_sub_fetch(&p->users, 1, __ATOMIC_ACQ_REL) == 0 &&
        __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == WEFT__PROC_RUNNING &&
        p->gen == weft__fork_generation() && !weft__process_try_reap(p))
        weft__children_orphan(p);
    weft__process_unref(p);
}

/* ---- accessors ---- */

WEFT_API pid_t weft_process_pid(const weft_process *p)
{
    if (!p)
        return 0;
    if (p->kind == WEFT__PROC_SELF)
        return getpid(); /* right even after a plain fork() */
    if (p->kind == WEFT__PROC_PARENT)
        return p->pid;
    /* Acquire: pid is published by the move to RUNNING. */
    return __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) >= WEFT__PROC_RUNNING ? p->pid : 0;
}

WEFT_API const char *weft_process_name(const weft_process *p)
{
    return p ? p->name : "";
}

WEFT_API bool weft_process_daemon(const weft_process *p)
{
    return p && p->daemon;
}

WEFT_API weft_start_method weft_process_start_method(const weft_process *p)
{
    if (!p || p->kind != WEFT__PROC_CHILD ||
        __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) < WEFT__PROC_RUNNING)
        return WEFT_START_AUTO;
    return (weft_start_method)p->used;
}
