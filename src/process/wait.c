/*
 * Reaping, join, is_alive, exitcode, terminate and kill.
 *
 * Exactly one caller reaps a child: the reap (waitid of a fork child, reading
 * the status a forkserver child's status pipe carries) and the move to FINISHED
 * happen together under the record's mutex. Waiting happens outside it: join
 * sleeps in ppoll() on the record's waitfd (the pidfd, readable once the child
 * has exited; the status pipe, readable once the forkserver reported), then
 * reaps without blocking. Without a pidfd a fork child is waited for with
 * waitid(WNOWAIT), which leaves it to be reaped under the mutex; kill() takes
 * the same mutex and checks FINISHED first, so it can never hit a reused pid.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal/clock.h"
#include "internal/forkgen.h"
#include "process/process_internal.h"

int weft__process_code_of_status(int status)
{
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

static uint32_t state_of(const weft_process *p)
{
    /* Acquire: pairs with the release stores of RUNNING and FINISHED. */
    return __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
}

/* Under p->mu. */
static void finish(weft_process *p, int code, enum weft__proc_end end)
{
    p->exitcode = code;
    p->end = (uint8_t)end;
    /* Release: publishes exitcode and end to lock-free readers of state. */
    __atomic_store_n(&p->state, WEFT__PROC_FINISHED, __ATOMIC_RELEASE);
}

/* Under p->mu: waitid without blocking. True when reaped (or lost). */
static bool reap_fork_child(weft_process *p)
{
    siginfo_t si;
    si.si_pid = 0;
    if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG) < 0) {
        if (errno != ECHILD)
            return false;             /* EINTR: try again later */
        finish(p, 0, WEFT__END_LOST); /* reaped behind weft's back */
        return true;
    }
    if (si.si_pid == 0)
        return false; /* still running */
    finish(p, si.si_code == CLD_EXITED ? si.si_status : -si.si_status, WEFT__END_CODE);
    return true;
}

/* Under p->mu: the forkserver writes the code (4 bytes, one write, so never
 * split) into the non-blocking status pipe, then closes it. */
static bool reap_forkserver_child(weft_process *p)
{
    int code;
    ssize_t n = read(p->waitfd, &code, sizeof code); /* set before RUNNING */
    if (n == (ssize_t)sizeof code)
        finish(p, code, WEFT__END_CODE);
    else if (n == 0)
        finish(p, 0, WEFT__END_NOFS); /* forkserver gone without a word */
    else
        return false; /* EAGAIN: not yet */
    return true;
}

bool weft__process_try_reap(weft_process *p)
{
    uint32_t s = state_of(p);
    if (s != WEFT__PROC_RUNNING)
        return s == WEFT__PROC_FINISHED;
    pthread_mutex_lock(&p->mu);
    bool done = state_of(p) == WEFT__PROC_FINISHED ||
                (p->used == WEFT_START_FORK ? reap_fork_child(p) : reap_forkserver_child(p));
    pthread_mutex_unlock(&p->mu);
    if (done)
        weft__children_remove(p); /* idempotent */
    return done;
}

/* The record's waitfd (acquire: it may have been opened lazily by another
 * thread, under p->mu, after start). */
static int waitfd_of(const weft_process *p)
{
    return __atomic_load_n(&p->waitfd, __ATOMIC_ACQUIRE);
}

/* Under p->mu: the pidfd of a fork child, opened on first need. Opening it
 * now is as safe as right after fork(): the child is not reaped (reaping takes
 * p->mu), so its pid is still its own. -1 when finished or without pidfds. */
static int pidfd_locked(weft_process *p)
{
    if (p->pidfd < 0 && p->used == WEFT_START_FORK && state_of(p) != WEFT__PROC_FINISHED) {
        int fd = weft__pidfd_open(p->pid);
        if (fd >= 0) {
            p->pidfd = fd;
            /* Release: joiners polling waitfd without the lock see the fd. */
            __atomic_store_n(&p->waitfd, fd, __ATOMIC_RELEASE);
        }
    }
    return p->pidfd;
}

int weft__process_waitfd(weft_process *p)
{
    int fd = waitfd_of(p);
    if (fd >= 0 || p->used != WEFT_START_FORK)
        return fd;
    pthread_mutex_lock(&p->mu);
    fd = pidfd_locked(p);
    pthread_mutex_unlock(&p->mu);
    return fd;
}

/* 0 when p is a started child of the calling process, else the error. */
static int check_ours(const weft_process *p)
{
    if (p->kind != WEFT__PROC_CHILD)
        return -ECHILD;
    if (state_of(p) < WEFT__PROC_RUNNING)
        return -WEFT_ENOTSTARTED;
    if (p->gen != weft__fork_generation())
        return -ECHILD; /* inherited through fork */
    return 0;
}

/* Sleep until the child looks finished or d passes; -ETIMEDOUT then. */
static int wait_ready(weft_process *p, const weft__deadline *d)
{
    /* Forever, fork child: one blocking waitid() that leaves the reaping to
     * the caller, and no pidfd to open. A finite wait sleeps in ppoll() on
     * the pidfd (opened now, if it was not). */
    int fd = waitfd_of(p);
    if (fd < 0 && !d->forever)
        fd = weft__process_waitfd(p);
    if (fd >= 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        struct timespec r = {0, 0};
        if (!d->forever)
            weft__deadline_left(d, &r);
        int n = ppoll(&pfd, 1, d->forever ? NULL : &r, NULL);
        return n == 0 ? -ETIMEDOUT : 0; /* EINTR: the caller looks again */
    }
    if (d->forever) { /* wait for the exit, leave the reaping */
        siginfo_t si;
        waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOWAIT);
        return 0;
    }
    if (weft__deadline_passed(d))
        return -ETIMEDOUT;
    struct timespec r, step = {0, 2000000}; /* 2 ms */
    weft__deadline_left(d, &r);
    if (r.tv_sec > 0 || r.tv_nsec > step.tv_nsec)
        r = step;
    nanosleep(&r, NULL);
    return 0;
}

WEFT_API int weft_process_join(weft_process *p, double timeout)
{
    if (!p || weft__timeout_invalid(timeout))
        return -EINVAL;
    int rc = check_ours(p);
    if (rc != 0)
        return rc;
    if (state_of(p) == WEFT__PROC_FINISHED)
        return 0;
    weft__deadline d = weft__deadline_in(timeout);
    if (d.nonblock)
        return weft__process_try_reap(p) ? 0 : -ETIMEDOUT;
    for (;;) {
        rc = wait_ready(p, &d);
        if (weft__process_try_reap(p))
            return 0;
        if (rc == -ETIMEDOUT)
            return rc;
    }
}

static bool parent_alive(const weft_process *p)
{
    if (p->pidfd >= 0) { /* forkserver child: the forkserver's pidfd of it */
        struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
        return poll(&pfd, 1, 0) == 0;
    }
    return getppid() == p->live_ppid; /* a child is reparented when it dies */
}

WEFT_API bool weft_process_is_alive(weft_process *p)
{
    if (!p)
        return false;
    if (p->kind == WEFT__PROC_SELF)
        return true;
    if (p->kind == WEFT__PROC_PARENT)
        return parent_alive(p);
    if (check_ours(p) != 0)
        return false;
    return !weft__process_try_reap(p);
}

WEFT_API int weft_process_exitcode(weft_process *p, int *code)
{
    if (!p || !code)
        return -EINVAL;
    if (p->kind == WEFT__PROC_SELF)
        return -WEFT_ERUNNING;
    if (p->kind == WEFT__PROC_PARENT)
        return parent_alive(p) ? -WEFT_ERUNNING : -ECHILD;
    int rc = check_ours(p);
    if (rc != 0)
        return rc;
    if (!weft__process_try_reap(p))
        return -WEFT_ERUNNING;
    switch (p->end) {
    case WEFT__END_CODE:
        *code = p->exitcode;
        return 0;
    case WEFT__END_LOST:
        return -ECHILD;
    default:
        return -EPIPE;
    }
}

static int send_signal(weft_process *p, int sig)
{
    if (!p)
        return -EINVAL;
    int rc = check_ours(p);
    if (rc != 0)
        return rc;
    if (state_of(p) == WEFT__PROC_FINISHED)
        return 0;
    if (p->used == WEFT_START_FORKSERVER) {
        if (p->pidfd < 0) /* the server signals: it alone reaps */
            return weft__forkserver_signal(p, sig);
        /* The pidfd names this very process, reaped or not: a reused pid is
         * out of reach. ESRCH: it has been reaped meanwhile. */
        if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) == 0 || errno == ESRCH)
            return 0;
        return -errno;
    }
    /* A fork child: under p->mu it cannot be reaped, so it is still there
     * (perhaps a zombie, which ignores signals) and its pid its own. */
    pthread_mutex_lock(&p->mu);
    if (state_of(p) != WEFT__PROC_FINISHED) {
        int fd = pidfd_locked(p);
        long r = fd >= 0 ? syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) : kill(p->pid, sig);
        if (r < 0 && errno != ESRCH)
            rc = -errno;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

WEFT_API int weft_process_terminate(weft_process *p)
{
    return send_signal(p, SIGTERM);
}

WEFT_API int weft_process_kill(weft_process *p)
{
    return send_signal(p, SIGKILL);
}
