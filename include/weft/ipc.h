/*
 * weft/ipc.h - Python's multiprocessing.Queue and Pipe for C: messages between
 * processes.
 */
#ifndef WEFT_IPC_H
#define WEFT_IPC_H

#include "weft/common.h"
#include "weft/queue.h" /* WEFT_EEMPTY, WEFT_EFULL */

#ifdef __cplusplus
extern "C" {
#endif

/* ===========================================================================
 * Queue between processes: multiprocessing.Queue.
 *
 *     weft_ipc_queue *q;
 *     weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.maxsize = 5});
 *     if (fork() == 0) {                       // or weft_process_spawn
 *         weft_ipc_queue_put(q, "A", 1, WEFT_FOREVER);
 *         _exit(0);
 *     }
 *     char buf[64]; size_t len;
 *     weft_ipc_queue_get(q, buf, sizeof buf, &len, WEFT_FOREVER);
 *
 * Messages are byte strings of 0 to max_message bytes, copied in by put and out
 * by get; the queue never looks inside them (Python pickles objects: here the
 * caller chooses the encoding). The queue lives in memory shared by every process
 * that inherited it through fork() (a handle made before the fork works in the
 * child as it is). Any number of producers and consumers, in any number of
 * processes and threads, may use it at once: every call is thread-safe and
 * process-safe. Messages come out in the order their puts completed.
 *
 * Named queues, for unrelated programs of the same user: make one with
 * `.name = "jobs"`, and other programs open it with weft_ipc_queue_open(&q,
 * "jobs", timeout). The memory has no path anywhere (nothing in /dev/shm to guess,
 * pre-create or leave behind); the name exists while the creating process holds
 * its handle - it is served by a small thread of that process, answering only
 * processes of the same user - and vanishes with it, even if it crashes. The
 * memory lasts while any process has the queue open. A fork child of the creator
 * keeps the queue but does not serve the name.
 *
 * Capacity. A queue holds at most `maxsize` messages (0: no count limit) and at
 * most `capacity` bytes of records (each message takes 8 bytes plus its length
 * rounded up to 8). A message longer than max_message (at most capacity - 8) is
 * refused with -EMSGSIZE: large messages are not split or carried elsewhere -
 * choose a capacity that fits the largest message you send.
 *
 * Crash safety. A process killed at any instant - holding an internal lock,
 * half-way through copying - leaves the queue usable by the others: a put that
 * returned 0 is delivered exactly once; a put interrupted before it returned is
 * delivered once or not at all, never torn. A get interrupted before it returned
 * leaves its message in the queue, unless it had already taken it.
 *
 * Corruption. Every index and length read from shared memory is checked before
 * use; a queue whose shared state is found inconsistent (a wild write by some
 * process) is marked broken, and every later call on it returns
 * -WEFT_ECORRUPT. It never reads or writes out of bounds because of it.
 *
 * Codes shared by the calls below (besides 0):
 *   -WEFT_EEMPTY    get with timeout 0 found the queue empty (Python's Empty)
 *   -WEFT_EFULL     put with timeout 0 found no room (Python's Full)
 *   -ETIMEDOUT      a positive timeout expired
 *   -EMSGSIZE       put: the message is longer than max_message;
 *                   get: the next message is longer than the buffer (it stays
 *                   queued; *len says how long it is)
 *   -EBADF          the handle was closed with weft_ipc_queue_close()
 *   -WEFT_ECORRUPT  the shared state was found corrupt (see above)
 *   -EINVAL         a NULL queue or pointer, a NaN timeout, a bad option
 */

/* The queue's shared state failed a consistency check. */
#define WEFT_ECORRUPT EBADMSG

typedef struct weft_ipc_queue weft_ipc_queue;

typedef struct weft_ipc_queue_opts {
    /* Most messages held at once; 0 (the default) limits by bytes only, as
     * Python's Queue() with no maxsize is limited only by its pipe. At most
     * 2^27. */
    size_t maxsize;
    /* Bytes of records the queue holds; rounded up to a power of two, at least
     * 64, at most 2^30. 0: 1 MiB. */
    size_t capacity;
    /* Longest message accepted; 0: the most that fits (capacity - 8). */
    size_t max_message;
    /* NULL: an anonymous queue, shared through fork(). Otherwise a name of 1 to
     * 64 characters from [A-Za-z0-9._-] under which other programs of the same
     * user can open the queue while this handle lives. */
    const char *name;
} weft_ipc_queue_opts;

/*
 * Make a queue in fresh shared memory; opts may be NULL. The memory stays until
 * the last process that holds a handle (or a copy of one through fork) frees it
 * or exits. Returns 0, -EINVAL (bad option or name), -EEXIST (a process serves
 * that name already), -ENOMEM, -EMFILE, or another negative errno from the
 * system. Thread-safe.
 */
WEFT_API int weft_ipc_queue_new(weft_ipc_queue **out, const weft_ipc_queue_opts *opts);

/*
 * Open the named queue another process made, waiting up to timeout seconds for
 * its answer (0: up to one second, the time a busy server may need). Returns 0,
 * -ENOENT (no process serves that name), -EACCES (the server belongs to another
 * user), -ETIMEDOUT, -WEFT_ECORRUPT (what came back is not a valid queue),
 * -EPROTO, -EINVAL (bad name, NaN timeout), -ENOMEM. Thread-safe. Blocks.
 */
WEFT_API int weft_ipc_queue_open(weft_ipc_queue **out, const char *name, double timeout);

/*
 * Append a copy of msg[0..len) (msg may be NULL when len is 0), waiting up to
 * timeout seconds for room. Returns 0, -WEFT_EFULL (timeout 0), -ETIMEDOUT,
 * -EMSGSIZE, -EBADF, -WEFT_ECORRUPT, -EINVAL. Blocks while the queue is full.
 */
WEFT_API int weft_ipc_queue_put(weft_ipc_queue *q, const void *msg, size_t len, double timeout);

/*
 * Take the oldest message, copying it into buf[0..cap) and its length into *len,
 * waiting up to timeout seconds for one. Returns 0, -WEFT_EEMPTY (timeout 0),
 * -ETIMEDOUT, -EMSGSIZE (cap too small: *len is the message's length and the
 * message stays queued), -EBADF, -WEFT_ECORRUPT, -EINVAL (q or len NULL, buf
 * NULL with cap > 0). Blocks while the queue is empty.
 */
WEFT_API int weft_ipc_queue_get(weft_ipc_queue *q, void *buf, size_t cap, size_t *len,
                                double timeout);

/* Messages in the queue now (a snapshot, as Python's qsize()); 0 for NULL. */
WEFT_API size_t weft_ipc_queue_qsize(const weft_ipc_queue *q);
/* True when it holds no message (a snapshot). */
WEFT_API bool weft_ipc_queue_empty(const weft_ipc_queue *q);
/* True when maxsize messages are queued, or not even an empty message fits. */
WEFT_API bool weft_ipc_queue_full(const weft_ipc_queue *q);
/* The geometry the queue was made with (after rounding). */
WEFT_API size_t weft_ipc_queue_capacity(const weft_ipc_queue *q);
WEFT_API size_t weft_ipc_queue_max_message(const weft_ipc_queue *q);

/*
 * Python's close(): this handle will be used no more; later put and get on it
 * return -EBADF. Other handles and other processes are not affected. Returns 0 or
 * -EINVAL. Must not race with calls on the same handle.
 */
WEFT_API int weft_ipc_queue_close(weft_ipc_queue *q);

/* Release this process's handle and its mapping. Not thread-safe with other calls
 * on the same handle. NULL is ignored. */
WEFT_API void weft_ipc_queue_free(weft_ipc_queue *q);

/* --- end of the queue section --- */

#ifdef __cplusplus
}
#endif

#endif /* WEFT_IPC_H */
