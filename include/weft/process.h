/*
 * weft/process.h - Python's multiprocessing.Process, current_process,
 * parent_process, active_children and set_start_method, in C.
 *
 *     static int send_mail(void *arg) { ...; return 0; }   // return = exit code
 *
 *     weft_process *p;
 *     weft_process_spawn(&p, send_mail, "a@example.org",
 *                        &(weft_process_opts){.name = "mailer"});
 *     weft_process_join(p, WEFT_FOREVER);
 *     int code;
 *     weft_process_exitcode(p, &code);        // 0
 *     weft_process_free(p);
 *
 * The child. A child runs fn(arg) in its own process and then ends as Python's
 * children do (the target returns, then os._exit): it waits for the non-daemon
 * threads it started, terminates its daemon children and joins its other
 * children, flushes stdout and stderr, and leaves with _exit() of fn's return
 * value - so its exit code is that value's low 8 bits (0..255); a child killed
 * by signal S reports -S (Python's convention). No atexit handler runs in the
 * child: not those the program registered before the start (they belong to the
 * parent: a handler that removes a temporary file must not run in every child),
 * nor any the child registered. Streams other than stdout and stderr that fn
 * opened are not flushed for it: close them (or call exit() yourself, which
 * gives C's full exit, handlers and all). The parent flushes stdout and stderr
 * before each start so buffered output is not printed twice.
 *
 * The argument. By default fn receives `arg` itself, a pointer into the parent's
 * memory as it was at the fork (the child has its own copy: its writes are never
 * seen by the parent). With opts.arg_bytes/opts.arg_size the bytes are copied
 * by weft_process_new() and fn receives a pointer to the child's own copy (arg
 * is then ignored); this is the way to pass data to forkserver children.
 *
 * Start methods (Python's set_start_method):
 *   WEFT_START_FORK        fork() the caller. Fast (spawn+join ~90 us here).
 *                          The child has only the thread that called start; with
 *                          other threads running, locks they held at that moment
 *                          stay locked in the child - why AUTO avoids it then.
 *   WEFT_START_FORKSERVER  ask weft's forkserver, a single-threaded helper
 *                          process forked from the program the first time it is
 *                          needed (or earlier: weft_forkserver_start()), to fork
 *                          the child. Safe in a program with many threads. The
 *                          child runs the same binary, so fn is valid, but it sees
 *                          the program's memory as it was when the forkserver
 *                          started, not as it is now: pass data with arg_bytes. A
 *                          plain `arg` pointer is handed over unchanged, so it is
 *                          only meaningful if it points to something that existed,
 *                          with the contents the child should see, when the
 *                          forkserver started (a string literal, a static table).
 *                          The same holds for descriptors and signal
 *                          dispositions: those of the program at that moment.
 *                          The forkserver leaves when the program exits or dies
 *                          (it sees end-of-file on its socket) and is started
 *                          anew if it was killed. A child whose forkserver died
 *                          before reporting ends with -EPIPE from exitcode().
 *   WEFT_START_AUTO        (default) FORK while the calling program has a single
 *                          thread (weft's own internal helper thread not
 *                          counted), FORKSERVER as soon as other threads run -
 *                          unless the child is given a plain `arg` pointer
 *                          (not NULL, no arg_bytes): that shares the caller's
 *                          memory as it is now (a weft_ipc_queue, a Value, a
 *                          struct), which only FORK can hand over, so AUTO
 *                          forks then. Pass arg_bytes (or NULL) to let AUTO use
 *                          the forkserver in a threaded program; choose FORK or
 *                          FORKSERVER explicitly to decide yourself.
 *                          Checked at every start: free while the program has
 *                          never had a second thread, one read of /proc/self/stat
 *                          afterwards.
 * Exit codes and signals are reported identically for both methods.
 *
 * Reaping (no zombies). A finished child is reaped by the first of join(),
 * is_alive(), exitcode(), active_children() to see it finished. A handle freed
 * while its child still runs is handed to weft's reaper, a helper thread started
 * the first time that happens, which reaps the child as soon as it ends. The
 * program must leave weft's children alone: no waitpid(-1, ...) loop and no
 * SIGCHLD set to SIG_IGN (either would take exit codes away from weft; such a
 * child then reports -ECHILD from weft_process_exitcode()).
 *
 * Exit rule (Python's). When the program returns from main() or calls exit(),
 * after weft has waited for non-daemon threads, it sends SIGTERM to every daemon
 * child still running, then waits for every child, daemon or not (so a non-daemon
 * child that never ends keeps the parent from exiting, as in Python), then stops
 * the forkserver. _exit() and quick_exit() skip this.
 *
 * Parent death (no orphans). Every child asks the kernel to SIGKILL it when its
 * parent dies (PR_SET_PDEATHSIG), so a parent killed by a signal takes its
 * children with it, daemon or not; a child whose parent died before it could
 * ask exits at once. Unlike Python, where non-daemon children live on as orphans;
 * set opts.survive_parent for that behaviour. The kernel ties PDEATHSIG to the
 * *thread* that forked: so weft sets it only for children forked by the main
 * thread and for forkserver children (the forkserver has one thread, for the
 * life of the program). A child started with WEFT_START_FORK from another thread
 * does not get it (it would die when that thread ends) and outlives a parent
 * killed by a signal; AUTO picks the forkserver in such a program anyway.
 *
 * Signals and pid reuse. No polling loop, no SIGCHLD handler: joining a fork
 * child without a timeout sleeps in one waitid() (which leaves the child to be
 * reaped under a lock); with a timeout, in ppoll() on the child's pidfd (a
 * descriptor for the process itself, opened when first needed); a forkserver
 * child's join sleeps in ppoll() on its status pipe. terminate() and kill() of
 * a fork child send through the pidfd, under the lock that reaping takes, so a
 * signal can never reach another process that reused the pid. Forkserver children are signalled by
 * the forkserver, their only reaper, in the thread that reaps them (same guarantee); each one costs
 * the program a single descriptor while it runs. On kernels without pidfds (before Linux 5.3) weft
 * uses kill() under the reaping lock (equally safe); only a join with a finite timeout then checks
 * every few milliseconds. fork() is glibc's fork (not a raw
 * clone3 with CLONE_PIDFD, which would skip the atfork handlers and glibc's own
 * lock resets); the pidfd opened afterwards is just as exact, since the pid
 * cannot be reused before weft reaps it.
 *
 * Handles. weft_process_new/spawn give the caller a reference, released with
 * weft_process_free(). weft_active_children() hands out new references; the
 * handles from weft_current_process() and weft_parent_process() are borrowed
 * (weft_process_free() ignores them). Every call is thread-safe. A handle
 * inherited by a child (through fork) does not belong to it: calls that would
 * act on the process answer -ECHILD there.
 */
#ifndef WEFT_PROCESS_H
#define WEFT_PROCESS_H

#include <sys/types.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_process weft_process;

/* The body of a child: its return value becomes the exit code (low 8 bits). */
typedef int (*weft_process_fn)(void *arg);

/* Longest name kept, including the terminating NUL; longer names are cut. */
#define WEFT_PROCESS_NAME_MAX 64

/* Readable names for the two states Python reports as None or an assertion:
 *   WEFT_ENOTSTARTED  the process was never started (join, terminate, exitcode).
 *   WEFT_ERUNNING     weft_process_exitcode() of a child still running. */
#define WEFT_ENOTSTARTED ESRCH
#define WEFT_ERUNNING EBUSY

typedef enum weft_start_method {
    WEFT_START_AUTO = 0,
    WEFT_START_FORK = 1,
    WEFT_START_FORKSERVER = 2,
} weft_start_method;

typedef struct weft_process_opts {
    /* Name; NULL gives Python's "Process-N" ("Process-1:N" for the children of
     * Process-1, and so on). The first 15 bytes become the child's OS name
     * (ps, /proc/<pid>/comm). */
    const char *name;
    /* Daemon children are sent SIGTERM when the parent exits (then reaped). */
    bool daemon;
    /* Do not ask to be killed when the parent dies (Python's orphan behaviour). */
    bool survive_parent;
    /* When arg_bytes is not NULL, arg_size bytes from it are copied at
     * weft_process_new() and fn gets a pointer to the child's copy. */
    const void *arg_bytes;
    size_t arg_size;
    /* Start method for this process; AUTO means the default that
     * weft_set_start_method() chose (itself AUTO unless changed). */
    weft_start_method method;
} weft_process_opts;

/*
 * Make a process object that will run fn(arg) (Python's Process(target=...)),
 * not started yet. opts may be NULL for all defaults.
 * Returns 0, -EINVAL (out or fn NULL, arg_bytes NULL with arg_size > 0, unknown
 * method), -ENOMEM. On failure *out is left unchanged. Thread-safe, no blocking.
 */
WEFT_API int weft_process_new(weft_process **out, weft_process_fn fn, void *arg,
                              const weft_process_opts *opts);

/*
 * Start the child. Returns 0; -EINVAL (p NULL, or not a process made by
 * weft_process_new); -EALREADY (already started, even if finished since,
 * or being started by another thread right now); -EAGAIN,
 * -ENOMEM (fork failed), or the error that kept the forkserver from starting or
 * answering. After a failure the object may be started again.
 * Thread-safe. Blocks only for the fork (or the forkserver's round trip).
 */
WEFT_API int weft_process_start(weft_process *p);

/* weft_process_new() then weft_process_start(); on failure nothing is left
 * behind and *out is unchanged. Returns the error codes of both. */
WEFT_API int weft_process_spawn(weft_process **out, weft_process_fn fn, void *arg,
                                const weft_process_opts *opts);

/*
 * Wait until the child has ended, at most timeout seconds (WEFT_FOREVER: no
 * limit, 0: just check), and reap it. May be called again, from any thread,
 * any number of times. Returns 0; -ETIMEDOUT (still running); -EINVAL (p NULL,
 * timeout NaN); WEFT_ENOTSTARTED (-ESRCH: never started); -ECHILD (not a child
 * of the calling process: an inherited handle, weft_current_process(),
 * weft_parent_process()). Thread-safe. Blocks up to timeout.
 */
WEFT_API int weft_process_join(weft_process *p, double timeout);

/*
 * Python's exitcode. When the child has ended (it is reaped now if needed)
 * stores its code in *code and returns 0: fn's return value (0..255), or -S
 * when signal S killed it. Otherwise returns WEFT_ERUNNING (-EBUSY: still
 * running, also for weft_current_process()), WEFT_ENOTSTARTED (-ESRCH),
 * -EINVAL (p or code NULL), -ECHILD (not our child; or someone else reaped it,
 * so its code is unknown), -EPIPE (forkserver child whose forkserver died
 * before reporting). *code is written only on success. Thread-safe, never blocks.
 */
WEFT_API int weft_process_exitcode(weft_process *p, int *code);

/* True from a successful start until the child is seen to have ended (reaping
 * it then). True for weft_current_process(); for weft_parent_process(), whether
 * the parent still runs. False for NULL. Thread-safe, never blocks. */
WEFT_API bool weft_process_is_alive(weft_process *p);

/* The child's pid; 0 before start (and for NULL). The pid stays readable after
 * the child has ended. Thread-safe, never blocks. */
WEFT_API pid_t weft_process_pid(const weft_process *p);

/* The full name ("" for NULL). Valid while the handle is held. */
WEFT_API const char *weft_process_name(const weft_process *p);

/* The daemon flag (false for NULL). */
WEFT_API bool weft_process_daemon(const weft_process *p);

/* The start method a started child was made with (WEFT_START_FORK or
 * WEFT_START_FORKSERVER); WEFT_START_AUTO before start and for NULL. */
WEFT_API weft_start_method weft_process_start_method(const weft_process *p);

/*
 * Send SIGTERM (terminate) or SIGKILL (kill) to the child. A child that has
 * already ended, reaped or not, is not signalled and the call returns 0 - never
 * can another process that reused the pid receive the signal. Returns 0,
 * -EINVAL (p NULL), WEFT_ENOTSTARTED (-ESRCH), -ECHILD (not our child), or the
 * error of the signal call (-EPERM). Thread-safe, never blocks.
 */
WEFT_API int weft_process_terminate(weft_process *p);
WEFT_API int weft_process_kill(weft_process *p);

/*
 * Release the caller's reference (Python's close()). Never stops or waits for
 * the child: one still running is reaped by weft when it ends, is still listed
 * by weft_active_children(), and is still waited for (or terminated, if a
 * daemon) at exit. NULL and borrowed handles are ignored. The handle must not be
 * used afterwards. Thread-safe.
 */
WEFT_API void weft_process_free(weft_process *p);

/* Take one more reference (returned); release it with weft_process_free(). */
WEFT_API weft_process *weft_process_ref(weft_process *p);

/*
 * The calling process's own object: named "MainProcess" in the program, the
 * child's own name, pid and daemon flag in a weft child. Borrowed, valid for the
 * life of the process; never NULL. Thread-safe, never blocks.
 */
WEFT_API weft_process *weft_current_process(void);

/* Python's parent_process(): in a weft child, the process that started it
 * (name and pid; is_alive says whether it still runs); NULL in a program not
 * started by weft. Borrowed. Thread-safe, never blocks. */
WEFT_API weft_process *weft_parent_process(void);

/*
 * Python's active_children(): reap the children of this process that have
 * ended, then fill out[0..cap) with new references to those still running (in
 * start order) and return how many run, which may exceed cap. Children whose
 * handles were freed are included. Release each with weft_process_free().
 * Thread-safe; does not block beyond short internal locks.
 */
WEFT_API size_t weft_active_children(weft_process **out, size_t cap);

/*
 * Python's set_start_method(): the method used by processes whose opts say
 * WEFT_START_AUTO. Setting WEFT_START_FORKSERVER starts the forkserver now, if
 * it is not running. Returns 0, -EINVAL (unknown method), or the forkserver's
 * start error (the method is then unchanged). Thread-safe.
 */
WEFT_API int weft_set_start_method(weft_start_method method);

/* The default start method (WEFT_START_AUTO unless set). Thread-safe. */
WEFT_API weft_start_method weft_get_start_method(void);

/*
 * Start the forkserver now if it is not running. Forkserver children see the
 * program as it was at this moment, so call it early - before threads start -
 * when the program will use the forkserver. Returns 0, -EAGAIN, -ENOMEM, -EMFILE.
 * Thread-safe. Blocks for one fork.
 */
WEFT_API int weft_forkserver_start(void);

/* The forkserver's pid, 0 when it is not running. Thread-safe, never blocks. */
WEFT_API pid_t weft_forkserver_pid(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_PROCESS_H */
