/*
 * The calling process: current_process, parent_process, default names, the
 * start method and AUTO's thread check, pidfd support, and the fork and exit
 * handlers of the process module.
 *
 * Handler order. The fork handlers are installed on first use (the first
 * process object or forkserver start), so after the thread registry's, which a
 * constructor installs: prepare handlers run in reverse order, so the process
 * module's locks (forkserver channel, then children list) are always taken
 * before the registry's - also when the forkserver's own start forks while
 * holding the channel lock. One order, no deadlock between two forking threads.
 *
 * The atexit handler is registered by a constructor, before any
 * weft thread can have armed the thread registry's wait at exit; atexit runs
 * handlers in reverse, so (as in Python) non-daemon threads are waited for
 * first, then daemon children are terminated and every child is joined. The
 * handler acts only on children of the process running it: in a child, the
 * lists were emptied by the fork handler, so it sees only the child's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process/process_internal.h"

/* "MainProcess" in a program weft did not start. Static, never freed. */
static weft_process main_record = {
    .refs = 1,
    .kind = WEFT__PROC_SELF,
    .state = WEFT__PROC_RUNNING,
    .name = "MainProcess",
    .pidfd = -1,
    .waitfd = -1,
};
/* The calling process's record and its parent's. Written only in a new child
 * while it is single-threaded (weft__become_child), read freely after. */
static weft_process *self_record = &main_record;
static weft_process parent_record;
static bool have_parent;

/* Numbers for default names; relaxed, only uniqueness matters. Reset to 0 in a
 * new child, as Python numbers each process's children from 1. */
static unsigned long process_counter;

/* The default start method; relaxed, a plain setting. */
static int default_method = WEFT_START_AUTO;

weft_process *weft__self(void)
{
    return self_record;
}

WEFT_API weft_process *weft_current_process(void)
{
    return self_record;
}

WEFT_API weft_process *weft_parent_process(void)
{
    return have_parent ? &parent_record : NULL;
}

void weft__become_child(weft_process *self, pid_t parent_pid, int parent_pidfd, pid_t live_ppid)
{
    memcpy(parent_record.name, self_record->name, sizeof parent_record.name);
    parent_record.kind = WEFT__PROC_PARENT;
    parent_record.state = WEFT__PROC_RUNNING;
    parent_record.pid = parent_pid;
    parent_record.pidfd = parent_pidfd;
    parent_record.live_ppid = live_ppid;
    parent_record.waitfd = -1;
    have_parent = true;
    self->kind = WEFT__PROC_SELF; /* the child's own copy of the record */
    self->pid = getpid();
    self->state = WEFT__PROC_RUNNING;
    self_record = self;
    process_counter = 0;
}

void weft__next_default_name(char *name, size_t nsize, char *ident, size_t isize)
{
    unsigned long n = __atomic_add_fetch(&process_counter, 1, __ATOMIC_RELAXED);
    const char *mine = self_record->ident;
    if (mine[0])
        snprintf(ident, isize, "%.*s:%lu", (int)(isize / 2), mine, n);
    else
        snprintf(ident, isize, "%lu", n);
    snprintf(name, nsize, "Process-%s", ident);
}

/* ---- start method ---- */

/* Threads of this process, from /proc/self/stat (field 20), or -1. */
static long count_threads(void)
{
    char buf[512];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *s = strrchr(buf, ')'); /* the command name may hold spaces */
    for (int field = 2; s && field < 20; field++)
        s = strchr(s + 1, ' ');
    return s ? strtol(s + 1, NULL, 10) : -1;
}

static bool other_threads_run(void)
{
    /* glibc clears this when the process first creates a thread, and never
     * sets it again: free, and exact for programs that stay single-threaded. */
    if (__libc_single_threaded)
        return false;
    long n = count_threads();
    if (n < 0)
        return true; /* no /proc: the safe choice */
    if (weft__reaper_running())
        n--;
    return n > 1;
}

weft_start_method weft__resolve_method(weft_start_method m, bool pointer_arg)
{
    if (m == WEFT_START_AUTO)
        m = (weft_start_method)__atomic_load_n(&default_method, __ATOMIC_RELAXED);
    if (m != WEFT_START_AUTO)
        return m;
    /* A plain pointer argument shares the caller's memory as it is now (a
     * queue, a Value, a struct on its stack): only fork can hand that over -
     * the forkserver's children see memory as it was when the server started. */
    if (pointer_arg)
        return WEFT_START_FORK;
    return other_threads_run() ? WEFT_START_FORKSERVER : WEFT_START_FORK;
}

WEFT_API int weft_set_start_method(weft_start_method method)
{
    if ((unsigned)method > WEFT_START_FORKSERVER)
        return -EINVAL;
    if (method == WEFT_START_FORKSERVER) {
        int rc = weft_forkserver_start();
        if (rc != 0)
            return rc;
    }
    __atomic_store_n(&default_method, (int)method, __ATOMIC_RELAXED);
    return 0;
}

WEFT_API weft_start_method weft_get_start_method(void)
{
    return (weft_start_method)__atomic_load_n(&default_method, __ATOMIC_RELAXED);
}

/* ---- pidfds ---- */

/* 0 unknown, 1 available, -1 not; relaxed: every thread finds the same answer. */
static int pidfd_support;

bool weft__have_pidfd(void)
{
    int s = __atomic_load_n(&pidfd_support, __ATOMIC_RELAXED);
    if (s == 0) {
        const char *off = getenv("WEFT_PROCESS_NO_PIDFD");
        int fd = off && off[0] == '1' ? -1 : (int)syscall(SYS_pidfd_open, getpid(), 0);
        s = fd >= 0 ? 1 : -1;
        if (fd >= 0)
            close(fd);
        __atomic_store_n(&pidfd_support, s, __ATOMIC_RELAXED);
    }
    return s > 0;
}

int weft__pidfd_open(pid_t pid)
{
    if (!weft__have_pidfd())
        return -1;
    return (int)syscall(SYS_pidfd_open, pid, 0); /* -1 (EMFILE...): fallback */
}

/* ---- fork and exit handlers ---- */

static void fork_prepare(void)
{
    weft__forkserver_fork_prepare();
    weft__children_fork_prepare();
}

static void fork_parent(void)
{
    weft__children_fork_parent();
    weft__forkserver_fork_parent();
}

static void fork_child(void)
{
    weft__children_fork_child();
    weft__forkserver_fork_child();
}

static void at_exit(void)
{
    weft__children_at_exit();
}

static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;

static void install_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void weft__process_arm_fork_handlers(void)
{
    pthread_once(&fork_handlers_once, install_fork_handlers);
}

__attribute__((constructor)) static void process_init(void)
{
    atexit(at_exit);
}
