/*
 * weft/thread.h - Python's threading.Thread, current_thread, enumerate,
 * active_count, Timer and local, in C.
 *
 *     weft_thread *t;
 *     weft_thread_start(&t, download, "a.zip",
 *                       &(weft_thread_opts){.name = "dl-a", .daemon = false});
 *     void *result;
 *     weft_thread_join(t, WEFT_FOREVER, &result);
 *     weft_thread_free(t);
 *
 * Handles. A weft_thread is a reference-counted handle. weft_thread_start() gives the
 * caller one reference, released by weft_thread_free(); the thread itself and the
 * registry hold their own, so freeing a handle never stops or detaches anything the
 * caller can observe: a running thread keeps running (and a non-daemon one is still
 * waited for at exit). Handles returned by weft_current_thread() and
 * weft_main_thread() are borrowed; those filled in by weft_enumerate() are new
 * references.
 *
 * Exit rule (as in Python). When the program returns from main() or calls exit(),
 * weft waits for every non-daemon thread it started before the process ends; daemon
 * threads are not waited for and simply vanish with the process. To opt out, mark
 * threads daemon, call weft_thread_wait_at_exit(false), or leave with _exit() or
 * quick_exit(), which skip the wait (as os._exit() does in Python).
 *
 * Fork. In a child created by fork() the registry holds only the thread that
 * forked, which becomes the child's main thread; handles of the other threads
 * report them finished.
 */
#ifndef WEFT_THREAD_H
#define WEFT_THREAD_H

#include <sys/types.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_thread weft_thread;

/* The body of a thread: its return value is what weft_thread_join() hands back. */
typedef void *(*weft_thread_fn)(void *arg);

/* Longest name kept, including the terminating NUL; longer names are cut. */
#define WEFT_THREAD_NAME_MAX 64

typedef struct weft_thread_opts {
    /* Thread name; NULL gives Python's default "Thread-N (fn)" form, "Thread-N".
     * The full name is kept (up to WEFT_THREAD_NAME_MAX-1 bytes); the first 15
     * bytes become the OS-visible name that ps -L and top -H show. */
    const char *name;
    /* Daemon threads are not waited for at exit. */
    bool daemon;
    /* Stack size in bytes; 0 means the system default. Values below
     * PTHREAD_STACK_MIN are rejected with -EINVAL. */
    size_t stack_size;
} weft_thread_opts;

/*
 * Start a thread running fn(arg) and store its handle in *out.
 * opts may be NULL for all defaults. The thread is alive, listed by
 * weft_enumerate() and counted by weft_active_count() as soon as this returns.
 * Returns 0, -EINVAL (out or fn NULL, bad stack size), -EAGAIN (the system
 * cannot create another thread), -ENOMEM. On failure *out is left unchanged.
 * Thread-safe. Does not block.
 */
WEFT_API int weft_thread_start(weft_thread **out, weft_thread_fn fn, void *arg,
                               const weft_thread_opts *opts);

/*
 * Wait until the thread has finished, at most timeout seconds (WEFT_FOREVER: no
 * limit, 0: just check). On success stores fn's return value in *result when
 * result is not NULL. As in Python, join may be called again, from any thread and
 * any number of times, and returns the same result once the thread has finished.
 * Returns 0, -ETIMEDOUT (still running; call again), -EINVAL (t NULL, timeout NaN),
 * -EDEADLK (a thread joining itself). The main thread never finishes while the
 * process lives, so joining it only ever times out.
 * Thread-safe. Blocks up to timeout.
 */
WEFT_API int weft_thread_join(weft_thread *t, double timeout, void **result);

/* True from weft_thread_start() until fn has returned. False for NULL.
 * Thread-safe, never blocks. */
WEFT_API bool weft_thread_is_alive(const weft_thread *t);

/* The thread's full name ("" for NULL). Valid as long as the handle is held.
 * Thread-safe, never blocks. */
WEFT_API const char *weft_thread_name(const weft_thread *t);

/* True for daemon threads (false for NULL). Thread-safe, never blocks. */
WEFT_API bool weft_thread_daemon(const weft_thread *t);

/* Python's ident: the pthread_t of the thread as an integer, unique among live
 * threads; 0 for NULL. Thread-safe, never blocks. */
WEFT_API unsigned long weft_thread_ident(const weft_thread *t);

/* Python's native_id: the kernel's thread id (what ps -L shows as LWP); -1 for
 * NULL. May wait, very briefly, for a just-started thread to reach the CPU.
 * Thread-safe. */
WEFT_API pid_t weft_thread_native_id(const weft_thread *t);

/* Release the caller's reference. Never stops or waits for the thread.
 * NULL is ignored. Thread-safe; the handle must not be used afterwards. */
WEFT_API void weft_thread_free(weft_thread *t);

/* Take one more reference to t (returned for convenience); release it with
 * weft_thread_free(). Thread-safe. */
WEFT_API weft_thread *weft_thread_ref(weft_thread *t);

/*
 * The calling thread's handle: works in every thread. The main thread is named
 * "MainThread"; a thread not started by weft gets a daemon entry named
 * "Dummy-N" the first time it asks, dropped when that thread exits.
 * Borrowed: valid until the calling thread exits; never NULL unless memory ran out.
 * Thread-safe, never blocks.
 */
WEFT_API weft_thread *weft_current_thread(void);

/* The main thread's handle (borrowed, valid for the life of the process).
 * Thread-safe, never blocks. */
WEFT_API weft_thread *weft_main_thread(void);

/*
 * Python's enumerate(): fill out[0..cap) with new references to the threads alive
 * now (main thread, weft threads still running, dummies), in start order, and return
 * how many are alive, which may exceed cap (then only cap are filled). Call with
 * cap 0 to size an array. Release each filled handle with weft_thread_free().
 * Thread-safe. Does not block beyond a short internal lock.
 */
WEFT_API size_t weft_enumerate(weft_thread **out, size_t cap);

/* Python's active_count(): the number weft_enumerate() would return.
 * Thread-safe, never blocks beyond a short internal lock. */
WEFT_API size_t weft_active_count(void);

/* Whether exit() waits for non-daemon threads (default true). Returns the
 * previous setting. Thread-safe. */
WEFT_API bool weft_thread_wait_at_exit(bool on);

/* ---------------------------------------------------------------------------
 * Timer: run fn(arg) once, after a delay, in its own thread, unless cancelled.
 */
typedef struct weft_timer weft_timer;

/*
 * Start a timer that calls fn(arg) after `delay` seconds (0 or more) in a new
 * thread (its name from opts, or "Timer-N"). opts.daemon and opts.stack_size apply.
 * Returns 0, -EINVAL (out or fn NULL, delay negative or NaN), -EAGAIN, -ENOMEM.
 * Thread-safe. Does not block.
 */
WEFT_API int weft_timer_start(weft_timer **out, double delay, void (*fn)(void *arg),
                              void *arg, const weft_thread_opts *opts);

/*
 * Stop the timer if fn has not started yet. Returns true if this call prevented
 * fn from running, false if fn already ran or is running, or an earlier cancel won.
 * Thread-safe. Does not block.
 */
WEFT_API bool weft_timer_cancel(weft_timer *t);

/* Wait for the timer thread to end (after fn ran or the cancel took effect).
 * Returns 0, -ETIMEDOUT, -EINVAL, -EDEADLK (called from fn). Thread-safe. */
WEFT_API int weft_timer_join(weft_timer *t, double timeout);

/* True once fn has returned. Thread-safe, never blocks. */
WEFT_API bool weft_timer_fired(const weft_timer *t);

/* Release the timer handle. A pending timer is not cancelled (as in Python, a
 * Timer that nobody references still fires). NULL is ignored. Thread-safe. */
WEFT_API void weft_timer_free(weft_timer *t);

/* ---------------------------------------------------------------------------
 * Thread-local values: Python's threading.local.
 *
 * A weft_local is one slot that holds a separate void * in every thread (NULL
 * until that thread sets it). When a thread exits, the destructor given at
 * creation is called on its non-NULL value - for weft threads before join returns,
 * for other threads when pthreads runs its key destructors.
 */
typedef struct weft_local weft_local;

/* Make a slot. dtor may be NULL. Returns 0, -EINVAL (out NULL), -ENOMEM.
 * Thread-safe. */
WEFT_API int weft_local_new(weft_local **out, void (*dtor)(void *value));

/* The calling thread's value, NULL when unset or loc is NULL. Lock-free,
 * never blocks. */
WEFT_API void *weft_local_get(const weft_local *loc);

/* Set the calling thread's value; the previous value, if any, is not destroyed
 * (it is returned through *old when old is not NULL). Returns 0, -EINVAL,
 * -ENOMEM. Never blocks. */
WEFT_API int weft_local_set(weft_local *loc, void *value, void **old);

/*
 * Free the slot. The calling thread's value is destroyed now. Values that other
 * live threads still hold are NOT destroyed (the slot's destructor is no longer
 * known to them): free a slot once the threads using it have ended, or have them
 * clear their values first. NULL is ignored. No other thread may use loc during
 * or after this call.
 */
WEFT_API void weft_local_free(weft_local *loc);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_THREAD_H */
