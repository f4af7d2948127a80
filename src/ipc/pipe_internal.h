/*
 * Connection internals shared by src/ipc/pipe*.c.
 *
 * Wire format: each message is an 8-byte header followed by its payload.
 *   header.len    payload length (native byte order: both ends are on one host)
 *   header.check  len ^ WEFT__CONN_MAGIC, so a corrupted or foreign stream is
 *                 caught at the first bad header instead of being misread.
 *
 * fds: rfd is a pipe's read end, left blocking, so that a receive without a
 * timeout is one read(2) that sleeps in the kernel; receives with a timeout
 * first ppoll(2) for POLLIN (receives are serialised, and an end belongs to one
 * process, so a readable fd stays readable until our read). wfd is a pipe's
 * write end set O_NONBLOCK: a write takes what fits, and waiting for room is a
 * ppoll for POLLOUT with the call's deadline.
 */
#ifndef WEFT_IPC_PIPE_INTERNAL_H
#define WEFT_IPC_PIPE_INTERNAL_H

#include <signal.h>
#include <stdint.h>

#include "internal/clock.h"
#include "weft/ipc.h"
#include "weft/sync.h"

#define WEFT__CONN_MAGIC 0x57656674u /* "Weft" */
#define WEFT__CONN_HDR 8
/* Read-ahead buffer: big enough to take many small messages in one read, small
 * enough that a long message's body is read straight into its destination. */
#define WEFT__CONN_RBUF 16384
/* Payloads up to this size are copied behind their header and sent with one
 * write(2) (cheaper than writev for short messages). */
#define WEFT__CONN_COPY 256

typedef struct weft__conn_hdr {
    uint32_t len;
    uint32_t check;
} weft__conn_hdr;

struct weft_conn {
    int rfd;            /* read end, -1 if this end only sends or is closed */
    int wfd;            /* write end (O_NONBLOCK), -1 if it only receives or is closed */
    size_t max_message; /* longest message sent or accepted */
    bool guard_sigpipe; /* block SIGPIPE around writes (not opts.sigpipe_ignored) */

    /* Serialises senders, so one message's bytes are contiguous in the pipe;
     * also guards tx_err. */
    weft_lock send_lock;
    int tx_err; /* 0, or -EPROTO once a send stopped half-way (stream unusable) */

    /* Serialises receivers; guards every field below. */
    weft_lock recv_lock;
    int rx_err;          /* sticky: 0, -WEFT_EEOF, -EPROTO */
    bool have_hdr;       /* the current message's header has been consumed */
    uint32_t msg_len;    /* its payload length, when have_hdr */
    unsigned char *part; /* when have_hdr: heap buffer (msg_len bytes) holding the
                            part_got bytes received before a timeout, or NULL */
    size_t part_got;
    size_t rpos, rend; /* unread bytes are rbuf[rpos..rend) */
    unsigned char rbuf[WEFT__CONN_RBUF];
};

/* The remaining time in seconds for a weft timeout parameter. */
double weft__conn_left_s(const weft__deadline *d);

/* Take lock l by deadline d: 0, -EAGAIN (nonblock), -ETIMEDOUT. */
int weft__conn_lock(weft_lock *l, const weft__deadline *d);

/* Wait by d for fd to report events (POLLIN or POLLOUT; errors and hang-up
 * count as ready). Returns 0, -EAGAIN (nonblock), -ETIMEDOUT, or -errno. */
int weft__conn_wait_fd(int fd, short events, const weft__deadline *d);

/* Blocking SIGPIPE around a send. */
typedef struct weft__sigpipe_guard {
    sigset_t old;     /* the thread's mask before the call */
    bool was_blocked; /* SIGPIPE was already blocked: leave the mask alone */
    bool was_pending; /* ... and already pending: it is not ours to discard */
} weft__sigpipe_guard;

void weft__sigpipe_block(weft__sigpipe_guard *g);
/* Restore the mask; got_epipe: a write of ours failed with EPIPE, so the
 * SIGPIPE it raised (pending while blocked) is discarded first. */
void weft__sigpipe_restore(weft__sigpipe_guard *g, bool got_epipe);

/* A complete message is buffered (or an error is sticky): recv will not read.
 * Caller holds recv_lock. */
bool weft__conn_rx_ready(const weft_conn *c);

#endif
