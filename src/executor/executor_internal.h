/*
 * How the executor is put together.
 *
 *   executor.c  the pool: creation, lazy workers, submit, shutdown, the worker
 *               loop and the search for work (own deque, injection queue, steal);
 *   inject.c    the injection queue: submissions from threads outside the pool;
 *   future.c    futures: states, completion, callbacks, references, task
 *               failure (frames);
 *   wait.c      waiting on one or many futures (helping the pool when the caller
 *               is one of its tasks), weft_wait, as_completed;
 *   parallel.c  map and parallel_for.
 *
 * A future is also the task: it carries fn and arg, and it is what the queues
 * hold. A queued or running task owns one reference to its future (the pool's);
 * the submitter owns another.
 *
 * The future's state word. Bits 0-2 hold the state (pending, running, finished,
 * failed, cancelled); above them, wake-up requests set by waiters:
 *   F_SLEEP   a thread sleeps on this word's futex (one-future waits);
 *   F_HELPER  a thread helping this future's pool sleeps on the pool's
 *             eventcount waiting for this future;
 *   F_MULTI   a thread waiting on several futures sleeps on the global
 *             eventcount (weft__wait_ec);
 *   F_CALLBACKS  done-callbacks were added: the completer must take the list.
 * Completion exchanges the final state in (seq_cst), which reads every bit set
 * before it; a waiter sets its bit with a seq_cst RMW after preparing its
 * eventcount and re-checks the state from the RMW's result, so one of the two
 * sees the other (the eventcount argument, see internal/eventcount.h). Bits set
 * after completion are ignored: readers mask them off.
 */
#ifndef WEFT_EXECUTOR_INTERNAL_H
#define WEFT_EXECUTOR_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>

#include "internal/clock.h"
#include "internal/deque.h"
#include "internal/eventcount.h"
#include "internal/forkgen.h"
#include "weft/executor.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define WEFT__CACHELINE 64

/* Ask for the line holding p with the intent to write it (x86 PREFETCHW; a
 * plain prefetch elsewhere). A line another core wrote then arrives owned, so
 * the write that follows neither misses nor needs a second transfer to upgrade
 * a shared copy. Never faults, orders nothing: any address, even a stale one,
 * is harmless. (PREFETCHW executes as a no-op on x86 CPUs without it.) */
static inline void weft__prefetch_write(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}

enum {
    F_PENDING = 0,
    F_RUNNING = 1,
    F_FINISHED = 2,
    F_FAILED = 3,
    F_CANCELLED = 4,
    F_STATE_MASK = 7,
    F_SLEEP = 8,
    F_HELPER = 16,
    F_MULTI = 32,
    F_CALLBACKS = 64,
};

static inline bool f_is_done(uint32_t s)
{
    return (s & F_STATE_MASK) >= F_FINISHED;
}

struct weft_future;
/* True in a child created by fork() for a future of a pool made before the
 * fork: the pool's workers are not in this process, so if the future is not
 * done it never will be here. Reads only the future's own immutable field, so
 * it is safe while another thread may complete the future and free its pool. */
static inline bool weft__future_orphaned(const struct weft_future *f);

struct weft__callback {
    void (*fn)(weft_future *f, void *arg);
    void *arg;
    struct weft__callback *next;
};

/* The callback list after completion has taken it. */
#define WEFT__CB_TAKEN ((struct weft__callback *)(uintptr_t)1)

/* One future in two cache lines, by who touches what per task. The first
 * holds everything a worker reads or writes to run and complete a task and
 * everything the submitter reads for its result, so one line travels each
 * way per task; the second is written by the submitter at creation and
 * otherwise read only on rare paths (failure, internal tasks, orphan checks),
 * so it stays in the submitter's cache. (Allocated aligned: future.c.) */
struct weft_future {
    _Alignas(WEFT__CACHELINE) uint32_t state; /* see above; futex word for F_SLEEP waiters */
    uint32_t refs;               /* references; the last one frees */
    void *(*fn)(void *arg);      /* the task; set before queueing, then read-only */
    void *arg;
    weft_executor *ex;           /* the pool; only used while not done */
    struct weft_future *next;    /* link in the injection queue (and the free cache) */
    struct weft__callback *cbs;  /* Treiber stack of callbacks, or WEFT__CB_TAKEN */
    /* Outcome: written by the completer before the state exchange (release),
     * read after an acquire load of a done state. */
    void *result;
    /* The injection queue's push count when this future was pushed: where
     * the futures pushed after it sit in the queue's hint ring (inject.c).
     * Written by the pusher before the push publishes the node. */
    uint32_t seq;
    /* ---- second line ---- */
    _Alignas(WEFT__CACHELINE) char *msg; /* failure message (malloc'd) or NULL */
    int code;                    /* failure code, or 0 */
    uint32_t fork_gen;           /* weft__fork_generation() of the pool; immutable */
    /* Internal tasks (map, parallel_for): their own arguments, and what to do
     * with job when the future is freed (may be NULL). */
    void *job;
    void (*job_free)(void *job);
    long lo, hi;
};
_Static_assert(sizeof(struct weft_future) == 2 * WEFT__CACHELINE, "future: two lines");

static inline bool weft__future_orphaned(const struct weft_future *f)
{
    return f->fork_gen != weft__fork_generation();
}

/* Entries of the injection queue's hint ring: more than a submitter usually
 * has queued, so the hints for the oldest queued futures are still there. */
#define WEFT__INJECT_HINTS 2048

/* The injection queue (inject.c): an intrusive multi-producer queue of futures
 * (D. Vyukov's node-based MPSC design) whose consumer side is guarded by a
 * try-lock, so any worker may take from it. */
struct weft__inject {
    _Alignas(WEFT__CACHELINE) weft_future *head; /* newest; exchanged by producers */
    _Alignas(WEFT__CACHELINE) weft_future *tail; /* oldest; under `lock` */
    uint32_t lock;                               /* consumer try-lock: 0 free, 1 held */
    uint32_t batches;  /* batches moved to deques; written under `lock` (release) */
    weft_future stub;                            /* placeholder node: only `next` used */
    /* Prefetch hints: the last WEFT__INJECT_HINTS futures pushed, indexed by
     * a racy relaxed push counter. Only ever prefetched, never dereferenced
     * (see inject.c). */
    _Alignas(WEFT__CACHELINE) unsigned hint_pos;
    weft_future *hints[WEFT__INJECT_HINTS];
};

void weft__inject_init(struct weft__inject *q);
/* Any thread. Ends with a seq_cst store (see inject.c). */
void weft__inject_push(struct weft__inject *q, weft_future *f);
/* Any thread. The oldest future, or NULL: *busy is set when another consumer
 * held the lock (the queue may hold items). Not strict: may answer NULL from a
 * relaxed look at the ends; strict: a real attempt, for a check before sleeping. */
weft_future *weft__inject_pop(struct weft__inject *q, bool strict, bool *busy);
/* As weft__inject_pop, and more: with gen (a value of `batches` the caller read
 * with acquire before it looked in the deques), answers NULL with *busy when a
 * batch was moved since; with dest (the caller's own deque, empty), also
 * pushes up to max - 1 of the next oldest on dest, oldest first, under the
 * lock, and counts the batch in `batches`. See executor.c. */
weft_future *weft__inject_take(struct weft__inject *q, bool strict, bool *busy,
                               const uint32_t *gen, weft__deque *dest, size_t max);
/* Whether anything looks queued (a snapshot). */
bool weft__inject_nonempty(struct weft__inject *q);

/* One worker: its deque and thread. */
struct weft__worker {
    _Alignas(WEFT__CACHELINE) weft__deque deque;
    weft_executor *ex;
    unsigned index;
    uint32_t rng;            /* victim choice; owner only */
    unsigned ticks;          /* searches so far; owner only */
    int64_t batch_end;       /* deque positions below it hold injected tasks;
                              * written by the owner under the injection lock */
    weft_thread *thread;     /* written by the spawner under spawn_lock */
};

struct weft_executor {
    _Alignas(WEFT__CACHELINE) struct weft__inject inject;
    _Alignas(WEFT__CACHELINE) weft__ec ec; /* idle workers and helpers sleep here */
    _Alignas(WEFT__CACHELINE) uint32_t closed; /* set once by shutdown (seq_cst) */
    uint32_t idle_tokens;    /* offered by sleeping workers, claimed by submits */
    _Alignas(WEFT__CACHELINE) unsigned n_started; /* workers published (release) */
    unsigned max_workers;
    int broken;              /* initializer's failure code once broken, else 0 */
    uint32_t cancelling;     /* shutdown(cancel_futures): cancel what is dequeued */
    weft_lock spawn_lock;    /* serialises starting workers and reading handles */
    int (*initializer)(void *arg);
    void *initarg;
    uint32_t fork_gen;       /* weft__fork_generation() at creation; immutable */
    char prefix[48];
    struct weft__worker *workers; /* max_workers entries */
};

/* ---- future.c ---- */

/* A new pending future for fn(arg) with `refs` references. NULL on ENOMEM. */
weft_future *weft__future_new(weft_executor *ex, void *(*fn)(void *), void *arg, uint32_t refs);
/* Drop one reference (the last frees). */
void weft__future_unref(weft_future *f);
/* Run a dequeued task in the calling thread (or cancel/fail it if the pool says
 * so), complete it and drop the pool's reference. */
void weft__future_run(weft_future *f);
/* Run f in the calling thread if it is still pending (or cancel/fail it if the
 * pool says so), wherever its queue node is: a waiter runs what it waits for.
 * The pool's reference stays with the node; whoever dequeues it later finds it
 * done and drops it. The caller holds a reference. Returns whether this call
 * took f out of pending. */
bool weft__future_run_inline(weft_future *f);
/* Complete a pending future as cancelled (true) or leave it (false: not pending).
 * notify_pool: whether the caller keeps the pool alive, so helpers asleep on it
 * for f may be woken (otherwise the dequeuer wakes them). */
bool weft__future_cancel_pending(weft_future *f, bool notify_pool);
/* Complete a pending future as failed with (code, msg) without running it.
 * Returns false when it was not pending. */
bool weft__future_fail_pending(weft_future *f, int code, const char *msg, bool notify_pool);
/* The outcome of a done future: 0, its failure code, or -WEFT_ECANCELLED. */
int weft__future_outcome(weft_future *f);

/* A frame: one task running on this thread (tasks nest when waits help). */
struct weft__frame {
    struct weft__frame *up;
    weft_executor *ex;
    unsigned depth;      /* frames on this thread, this one included (1 = outermost) */
    bool failed;
    int code;
    char msg[256];
};
/* The innermost frame of the calling thread, or NULL outside tasks. */
struct weft__frame *weft__frame_current(void);
void weft__frame_push(struct weft__frame *fr, weft_executor *ex);
void weft__frame_pop(struct weft__frame *fr);
/* Whether the calling thread runs a task of ex (at any depth). */
bool weft__in_task_of(const weft_executor *ex);

/* ---- executor.c ---- */

/* Submit an internal task whose arg is the future itself (so it can read job,
 * lo, hi); job (non-NULL) is passed to job_free (if not NULL) when the future
 * is freed. Returns 0 / -WEFT_ESHUTDOWN / -ENOMEM / the broken code; *out holds
 * a reference. */
int weft__submit_internal(weft_executor *ex, void *(*fn)(void *), void *job,
                          void (*job_free)(void *), long lo, long hi, weft_future **out);
/* One task to run for a thread helping ex, or NULL; *maybe is set when some
 * queue could not be looked at (contention): try again before sleeping. */
weft_future *weft__find_work(weft_executor *ex, bool strict, bool *maybe);
/* The calling worker's newest own push, if it is a worker of ex (else NULL). */
weft_future *weft__pop_own_newest(weft_executor *ex);
/* Wake sleepers of ex if any (after making work or a completion visible with a
 * seq_cst write). */
void weft__pool_wake(weft_executor *ex);

/* ---- wait.c ---- */

/* The eventcount where threads waiting on several futures sleep. */
extern weft__ec weft__wait_ec;
/* Wait until fs[0..n) satisfy mode or the deadline passes; helps the pool when
 * the caller is one of its tasks. Returns 0 or -ETIMEDOUT; *n_done as weft_wait. */
int weft__wait_many(weft_future *const *fs, size_t n, weft_wait_mode mode,
                    const weft__deadline *d, size_t *n_done);

#endif
