/*
 * weft/ipc.h - messages between processes: Python's multiprocessing.Pipe and
 * multiprocessing.Queue (SimpleQueue is a Queue with no maxsize).
 *
 *     weft_conn *parent, *child;
 *     weft_pipe(&parent, &child, NULL);            // Pipe(): both ends duplex
 *     if (fork() == 0) {                           // the child keeps `child`
 *         weft_conn_free(parent);
 *         weft_conn_send_bytes(child, "60", 2, WEFT_FOREVER);
 *         weft_conn_free(child);
 *         _exit(0);
 *     }
 *     weft_conn_free(child);                       // the parent keeps `parent`
 *     char buf[64];
 *     size_t n;
 *     weft_conn_recv_bytes(parent, buf, sizeof buf, &n, 5.0);   // 0, n == 2
 *
 * Messages are byte strings of 0 to max_message bytes, delivered whole and in
 * order, or not at all: a receiver never sees part of a message, never two glued
 * together, and never a message whose sender died half-way through it.
 */
#ifndef WEFT_IPC_H
#define WEFT_IPC_H

#include "weft/common.h"
#include "weft/queue.h" /* WEFT_EEMPTY, WEFT_EFULL */

#ifdef __cplusplus
extern "C" {
#endif

/* ===========================================================================
 * Pipe: Python's multiprocessing.Pipe and its Connection objects.
 * (src/ipc/pipe*.c; tests/ipc/test_pipe*.c)
 *
 * Transport: one pipe(2) per direction (a duplex pair uses two), every message
 * framed by an 8-byte header (its length and a check word, so a corrupted or
 * foreign stream is detected). Pipes rather than a socketpair because they are
 * the faster transport on Linux: a raw 64-byte round trip between two
 * processes measured about 2 us over pipes and 3.5 us over an AF_UNIX
 * socketpair. The fds are O_CLOEXEC: inherited by fork(), closed by exec.
 *
 * Codes returned by the calls below (besides 0), each listed again per call:
 *   -EINVAL        NULL connection or out-pointer, NULL buffer with a non-zero
 *                  length, NaN timeout, bad options
 *   -EBADF         this end cannot do that (send on a receive-only end, receive
 *                  on a send-only end) or it was closed with weft_conn_close()
 *   -EAGAIN        timeout 0 and the call would have had to wait
 *   -ETIMEDOUT     a positive timeout expired
 *   -EMSGSIZE      send: longer than max_message (nothing sent);
 *                  recv_bytes: the next message is longer than the buffer (it is
 *                  kept for a retry, and its length reported)
 *   -WEFT_EEOF     recv: the peer closed its end (or exited, or was killed) and
 *                  every message it sent has been received (Python's EOFError)
 *   -WEFT_ETORN    recv: the peer went away in the middle of a message; the part
 *                  received is dropped, later receives give -WEFT_EEOF
 *   -WEFT_EBROKEN  send: the peer closed its end or died (Python's
 *                  BrokenPipeError). No SIGPIPE is ever raised: weft blocks it in
 *                  the sending thread for the duration of the call and discards
 *                  the one its own write caused (or, with opts.sigpipe_ignored,
 *                  relies on the program ignoring it).
 *   -EPROTO        recv: the stream is corrupt (bad header) or announces a
 *                  message longer than max_message; nothing is allocated for it
 *                  and the connection can no longer receive (every later receive
 *                  says -EPROTO). Also after an -ENOMEM that lost part of a
 *                  message.
 *   -ENOMEM        out of memory
 *   -EMFILE, -ENFILE  no file descriptors left (weft_pipe)
 *
 * Blocking and timeouts: timeouts follow weft/common.h (WEFT_FOREVER, 0, or
 * seconds; one deadline for the whole call).
 *   recv honours its timeout exactly, even in the middle of a large message: the
 *   part already received is kept inside the connection (copied to the heap if it
 *   was in the caller's buffer) and the next receive continues it, so a timeout
 *   never loses or splits a message.
 *   send: a message of up to WEFT_CONN_ATOMIC bytes goes into the pipe in one
 *   piece or not at all, so its timeout is exact too. A longer one that does not
 *   fit waits up to the timeout for its first bytes to go in; once part of it is
 *   in the pipe the call completes it (waiting for the peer to read as long as
 *   needed) or ends with -WEFT_EBROKEN when the peer goes away - it never leaves
 *   half a message behind for the peer to misread.
 *
 * Thread-safety: the two ends of one pipe are independent; two threads (or two
 * processes) may use one end each freely. One end may also be shared by threads
 * of its process: sends are serialised by a lock inside the connection (each
 * message goes out whole, never interleaved with another thread's), and so are
 * receives (each message goes to exactly one receiver). weft_conn_close() and
 * weft_conn_free() must not run while another thread is using that end.
 *
 * Processes and fork: create the pipe before fork(); each process then keeps one
 * end and frees the other (weft_conn_free() is safe in the child). An end must
 * be used by one process only: two processes using the same end interleave
 * bytes and corrupt the stream (usually reported as -EPROTO, but not
 * prevented). A peer counts as gone (-WEFT_EEOF / -WEFT_EBROKEN) only when
 * every copy of its end is closed in every process, as with Python: a process
 * that forks must free the ends it does not use. Forking while another thread
 * is inside a call on an end leaves that end unusable in the child (its
 * internal lock may be held); freeing it there is still safe.
 *
 * Reading ahead: a receive reads what the pipe holds (up to 16 KiB), so
 * messages can wait inside the connection after the fd stopped being
 * readable. See weft_conn_fileno() for what that means to a caller's own
 * poll/epoll loop.
 */

/* recv: the peer is gone and everything it sent was received (EOFError). */
#define WEFT_EEOF ENODATA
/* recv: the peer went away in the middle of a message. */
#define WEFT_ETORN ECONNRESET

/* Default max_message: 64 MiB. */
#define WEFT_CONN_DEFAULT_MAX ((size_t)64 << 20)
/* Largest max_message accepted: 2 GiB - 1 (the header holds a 32-bit length). */
#define WEFT_CONN_LIMIT ((size_t)0x7fffffff)
/* Messages of up to this many bytes are written to the pipe in one piece (the
 * header plus the payload fit in PIPE_BUF). */
#define WEFT_CONN_ATOMIC ((size_t)4088)

typedef struct weft_conn weft_conn;

typedef struct weft_pipe_opts {
    /* true: Python's Pipe(duplex=False), a (receive-only, send-only) pair like
     * Python's (r, w). false (the default): duplex, both ends send and receive.
     * Named for the non-default so that zeroed options mean Python's default. */
    bool one_way;
    /* The longest message either end may send or accept, in bytes; 0 (the
     * default) means WEFT_CONN_DEFAULT_MAX. At most WEFT_CONN_LIMIT. A receiver
     * never allocates more than this for one message. */
    size_t max_message;
    /* The program ignores SIGPIPE (SIG_IGN), as Python does from start-up, and
     * keeps it so while it uses these ends. Sends then skip blocking SIGPIPE
     * around their writes: two system calls fewer per send (about 0.2 us of a
     * 2.4 us round trip). weft_pipe checks it (-EINVAL if SIGPIPE is not
     * ignored); setting SIGPIPE back to its default later while an end is in
     * use lets a send to a dead peer kill the program. Default false. */
    bool sigpipe_ignored;
} weft_pipe_opts;

/*
 * Make a connected pair of ends, like Python's Pipe(): *a and *b. Duplex (the
 * default): both send and receive, what one sends the other receives. One-way
 * (opts->one_way): *a only receives, *b only sends. opts may be NULL (defaults).
 * Returns 0, -EINVAL (a or b NULL, max_message above WEFT_CONN_LIMIT,
 * sigpipe_ignored while SIGPIPE is not ignored), -ENOMEM,
 * -EMFILE, -ENFILE; on failure *a and *b are left alone. Never blocks.
 * Thread-safe.
 */
WEFT_API int weft_pipe(weft_conn **a, weft_conn **b, const weft_pipe_opts *opts);

/*
 * Send len bytes from buf as one message (len may be 0: an empty message; buf
 * may then be NULL). Returns 0, -EINVAL, -EBADF, -EMSGSIZE (len above
 * max_message), -EAGAIN, -ETIMEDOUT (nothing was sent in either case),
 * -WEFT_EBROKEN (peer gone; SIGPIPE never raised), -EPROTO (an earlier send on
 * this end failed half-way for a reason other than the peer going away, e.g. a
 * bad buffer: the stream can no longer be trusted). Blocks while the pipe is
 * full; see "Blocking and timeouts" above for long messages. Thread-safe.
 */
WEFT_API int weft_conn_send_bytes(weft_conn *c, const void *buf, size_t len, double timeout);

/*
 * Receive the next message into buf (cap bytes of room); *len receives its
 * length. When the message is longer than cap: -EMSGSIZE, *len receives the
 * length needed and the message stays first in line for a retry with a bigger
 * buffer (or weft_conn_recv_alloc). buf may be NULL when cap is 0. Returns 0,
 * -EINVAL, -EBADF, -EMSGSIZE, -EAGAIN, -ETIMEDOUT, -WEFT_EEOF, -WEFT_ETORN,
 * -EPROTO, -ENOMEM (a timeout in the middle of a message could not keep the
 * part received: that message is lost and the connection says -EPROTO from
 * then on). On failure the buffer's contents are unspecified. Blocks until a
 * message arrives. Thread-safe.
 */
WEFT_API int weft_conn_recv_bytes(weft_conn *c, void *buf, size_t cap, size_t *len, double timeout);

/*
 * Receive the next message into a buffer weft allocates with malloc: *ptr
 * receives it (never NULL on success, even for an empty message; release it
 * with free()) and *len its length. Returns 0, -EINVAL, -EBADF, -EAGAIN,
 * -ETIMEDOUT, -WEFT_EEOF, -WEFT_ETORN, -EPROTO, -ENOMEM (the message was not
 * touched and can be received later). Blocks until a message arrives.
 * Thread-safe.
 */
WEFT_API int weft_conn_recv_alloc(weft_conn *c, void **ptr, size_t *len, double timeout);

/*
 * Python's poll(timeout): wait up to timeout for something to receive - a
 * message already read into the connection, bytes in the pipe, the peer's end
 * of file, or a broken stream - so that a receive will not sleep for the first
 * byte. (It can still wait for the rest of a message the peer is writing.)
 * Returns 0 (ready), -EAGAIN (timeout 0, nothing), -ETIMEDOUT, -EINVAL, -EBADF.
 * Blocks up to timeout. Thread-safe (with several receivers the answer can be
 * stale at once).
 */
WEFT_API int weft_conn_poll(weft_conn *c, double timeout);

/*
 * The fd to watch in the caller's own poll/select/epoll: the read side for an
 * end that receives (wait for POLLIN), the write side for a send-only end (wait
 * for POLLOUT). Returns it (>= 0), or -EINVAL (NULL), -EBADF (closed). The fd
 * belongs to the connection: do not read, write or close it.
 * Because receives read ahead, the fd not being readable does not mean nothing
 * is waiting: after it polls readable, receive with timeout 0 until -EAGAIN (as
 * with edge-triggered epoll), or call weft_conn_poll(c, 0) before sleeping on
 * the fd again. Never blocks. Thread-safe.
 */
WEFT_API int weft_conn_fileno(const weft_conn *c);

/* Python's readable / writable: whether this end can receive / send (false
 * for NULL or a closed end). Never block. Thread-safe. */
WEFT_API bool weft_conn_readable(const weft_conn *c);
WEFT_API bool weft_conn_writable(const weft_conn *c);

/*
 * Python's close(): close this end's fds (in this process); messages read
 * ahead and not yet received are dropped. Later calls on it give -EBADF; closing
 * again is harmless. The peer sees -WEFT_EEOF / -WEFT_EBROKEN once no process
 * holds this end any more. Returns 0 or -EINVAL (NULL). No other thread may use
 * the end during or after the call. Never blocks.
 */
WEFT_API int weft_conn_close(weft_conn *c);

/* Close (if still open) and free the end. NULL is ignored. No other thread may
 * use the end during or after the call. Never blocks. Safe in a fork child. */
WEFT_API void weft_conn_free(weft_conn *c);

/* --- end of Pipe --- */

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
 * half-way through copying, between committing a message and waking a sleeper -
 * leaves the queue usable by the others: a put that returned 0 is delivered
 * exactly once; a put interrupted before it returned is delivered once or not at
 * all, never torn. A get interrupted before it returned leaves its message in
 * the queue, unless it had already taken it. (A sleeper whose wake-up died with
 * its sender looks again by itself within 50 ms.) The memory of a named queue is
 * sealed at its size, so no process holding it can shrink it under the others.
 *
 * Corruption. Every index and length read from shared memory is checked before
 * use; a queue whose shared state is found inconsistent (a wild write by some
 * process) is marked broken, and every later call on it returns
 * -WEFT_ECORRUPT. It never reads or writes out of bounds because of it.
 *
 * Codes shared by the calls below (besides 0):
 *   -WEFT_EEMPTY    get with timeout 0 found the queue empty (Python's Empty);
 *                   with another consumer copying a message out at that moment,
 *                   the call waits up to 10 ms for it before it decides
 *   -WEFT_EFULL     put with timeout 0 found no room (Python's Full); likewise
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

/* --- end of Queue between processes --- */

#ifdef __cplusplus
}
#endif

#endif /* WEFT_IPC_H */
