/*
 * The process record shared by process.c (new, start, accessors), wait.c (reap,
 * join, signals), children.c (the list of children, active_children, the exit
 * rule, the reaper thread), forkserver.c and self.c (current and parent process,
 * start method, fork handling).
 */
#ifndef WEFT_PROCESS_INTERNAL_H
#define WEFT_PROCESS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/process.h"

enum weft__proc_kind {
    WEFT__PROC_CHILD,  /* made by weft_process_new */
    WEFT__PROC_SELF,   /* the calling process (current_process) */
    WEFT__PROC_PARENT, /* parent_process() in a weft child */
};

/* Life of a child record; atomic, moves only forward (STARTING may fall back
 * to NEW when the start fails). */
enum weft__proc_state {
    WEFT__PROC_NEW,
    WEFT__PROC_STARTING,
    WEFT__PROC_RUNNING,
    WEFT__PROC_FINISHED,
};

/* How a finished child's code is known. */
enum weft__proc_end {
    WEFT__END_CODE, /* exitcode holds it */
    WEFT__END_LOST, /* someone else reaped it: -ECHILD */
    WEFT__END_NOFS, /* its forkserver died before reporting: -EPIPE */
};

#define WEFT__IDENT_MAX 48

struct weft_process {
    /* References: the caller's, the children list's while listed, the reaper's
     * while it watches the record. Atomic; the last unref frees the record. */
    uint32_t refs;
    /* How many of those are user handles (new, ref, active_children); the
     * free that takes it to 0 hands a running child to the reaper. Atomic. */
    uint32_t users;
    uint32_t state;              /* enum weft__proc_state; atomic (acquire/release) */
    uint8_t kind;                /* enum weft__proc_kind, immutable */
    uint8_t method;              /* requested, immutable */
    uint8_t used;                /* method actually used; written before state RUNNING */
    bool daemon, survive_parent; /* immutable */
    weft_process_fn fn;          /* immutable */
    void *arg;                   /* immutable */
    void *arg_copy;              /* owned copy of opts.arg_bytes, or NULL */
    size_t arg_size;
    char name[WEFT_PROCESS_NAME_MAX];
    char ident[WEFT__IDENT_MAX]; /* "3" for Process-3, "3:1" for its child... */
    /* pid: written by start before state becomes RUNNING (release), then
     * immutable. waitfd is what join polls: the status pipe of a forkserver
     * child (set at start, like its pidfd, which is -1 without pidfds); the
     * pidfd of a fork child, opened on first need (a timed join, a signal,
     * the reaper) under mu, published with a release store - a spawn+join
     * with no timeout never needs one. Closed only when the record dies. */
    pid_t pid;
    pid_t live_ppid; /* PARENT records only: see weft__become_child */
    int pidfd, waitfd;
    uint32_t gen; /* fork generation at start: another value = not our child */
    /* Guards reaping (the waitid or status read and the move to FINISHED) and,
     * without pidfds, kill() against reaping. A pthread mutex, kept away from
     * the lock-order checker. */
    pthread_mutex_t mu;
    int exitcode; /* valid once FINISHED (written under mu, before release) */
    uint8_t end;  /* enum weft__proc_end, as exitcode */
    /* Children list links; guarded by children_mu (children.c). */
    struct weft_process *prev, *next;
    bool listed;
    /* Reaper's watch list; guarded by children_mu. */
    struct weft_process *wprev, *wnext;
    bool watched; /* handed to the reaper */
};

/* ---- process.c ---- */
void weft__process_ref(weft_process *p);
void weft__process_unref(weft_process *p);
void weft__process_user_ref(weft_process *p); /* one more user handle */
/* Flush stdout and stderr if they hold output (before a fork: else the child
 * would write it again), without touching them otherwise. */
void weft__flush_std_streams(void);
/* Kernel-visible name from a full name (first 15 bytes). */
void weft__process_set_os_name(const char *name);
/* In a new child (fork or forkserver): PDEATHSIG, parent check, run fn, exit. */
_Noreturn void weft__process_child_run(weft_process *self, pid_t expect_parent, bool deathsig,
                                       void *arg);

/* ---- wait.c ---- */
/* Non-blocking reap; true when the record is FINISHED (now or before). */
bool weft__process_try_reap(weft_process *p);
/* What to poll for p's end (opening a fork child's pidfd if needed); -1: none. */
int weft__process_waitfd(weft_process *p);
/* wait status (from waitpid) to Python's exitcode */
int weft__process_code_of_status(int status);

/* ---- children.c ---- */
void weft__children_add(weft_process *p);    /* takes the list's reference */
void weft__children_remove(weft_process *p); /* drops it, if listed */
/* A running child lost its last user handle: reap it when it ends. */
void weft__children_orphan(weft_process *p);
/* The calling process's reaper thread is running (AUTO does not count it). */
bool weft__reaper_running(void);
void weft__children_fork_prepare(void);
void weft__children_fork_parent(void);
void weft__children_fork_child(void);
/* Exit rule, run by the atexit handler (self.c). */
void weft__children_at_exit(void);

/* ---- forkserver.c ---- */
/* Start p through the forkserver; fills pid, pidfd, waitfd. 0 or -errno. */
int weft__forkserver_spawn(weft_process *p);
/* Signal a forkserver child that has no pidfd (old kernels). */
int weft__forkserver_signal(weft_process *p, int sig);
void weft__forkserver_fork_prepare(void);
void weft__forkserver_fork_parent(void);
void weft__forkserver_fork_child(void);
void weft__forkserver_stop(void); /* at exit, after the children */

/* ---- self.c ---- */
/* The calling process's record (MainProcess or a child's own). */
weft_process *weft__self(void);
/* In a new child, make `self` the current process and fill parent_process():
 * parent_pid is what it reports; it is alive while its pidfd (>= 0) is not
 * readable, or else while getppid() == live_ppid. */
void weft__become_child(weft_process *self, pid_t parent_pid, int parent_pidfd, pid_t live_ppid);
/* Next default name: "Process-N" or "Process-<ident>:N"; fills ident too. */
void weft__next_default_name(char *name, size_t nsize, char *ident, size_t isize);
/* The start method AUTO resolves to now. */
weft_start_method weft__resolve_method(weft_start_method m, bool pointer_arg);
/* Whether this kernel has pidfds (checked once; WEFT_PROCESS_NO_PIDFD=1 in
 * the environment pretends it has not, for tests). */
bool weft__have_pidfd(void);
/* Install the module's fork handlers (once; see self.c for why not earlier). */
void weft__process_arm_fork_handlers(void);
int weft__pidfd_open(pid_t pid);

#endif
