/*
 * Sending: header and payload go out with one write (short messages, copied
 * next to the header) or a writev loop (long ones) on the O_NONBLOCK write end,
 * under the connection's send lock so that messages from threads sharing the
 * end never interleave. SIGPIPE is blocked around it (pipe_sigpipe.c).
 */
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc/pipe_internal.h"

/* Header plus payload in one write of at most PIPE_BUF bytes: the kernel puts
 * it in the pipe whole or refuses it (EAGAIN), so the deadline is exact. */
static int send_small(weft_conn *c, const weft__conn_hdr *h, const void *buf, size_t len,
                      const weft__deadline *d)
{
    unsigned char out[WEFT__CONN_HDR + WEFT_CONN_ATOMIC];
    memcpy(out, h, WEFT__CONN_HDR);
    if (len)
        memcpy(out + WEFT__CONN_HDR, buf, len);
    for (;;) {
        ssize_t n = write(c->wfd, out, WEFT__CONN_HDR + len);
        if (n >= 0) /* n is all of it: nothing less is possible here */
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = weft__conn_wait_fd(c->wfd, POLLOUT, d);
        if (rc != 0)
            return rc;
    }
}

/* The rest of header+payload from byte `sent` on, as at most two iovecs. */
static int iov_from(struct iovec iov[2], const weft__conn_hdr *h, const void *buf, size_t len,
                    size_t sent)
{
    int n = 0;
    if (sent < WEFT__CONN_HDR) {
        iov[n].iov_base = (unsigned char *)h + sent;
        iov[n++].iov_len = WEFT__CONN_HDR - sent;
        sent = WEFT__CONN_HDR;
    }
    iov[n].iov_base = (unsigned char *)buf + (sent - WEFT__CONN_HDR);
    iov[n++].iov_len = len - (sent - WEFT__CONN_HDR);
    return n;
}

/* A message longer than WEFT_CONN_ATOMIC: waits by d for room for its first
 * bytes; once some are in the pipe, finishes it whatever the deadline says
 * (see "Blocking and timeouts" in weft/ipc.h). */
static int send_large(weft_conn *c, const weft__conn_hdr *h, const void *buf, size_t len,
                      const weft__deadline *d)
{
    static const weft__deadline forever = {.forever = true};
    size_t total = WEFT__CONN_HDR + len, sent = 0;
    while (sent < total) {
        struct iovec iov[2];
        int niov = iov_from(iov, h, buf, len, sent);
        ssize_t n = writev(c->wfd, iov, niov);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        int rc = n < 0 ? -errno : -EIO; /* writev never returns 0 for a non-empty write */
        if (rc == -EINTR)
            continue;
        if (rc == -EAGAIN)
            rc = weft__conn_wait_fd(c->wfd, POLLOUT, sent ? &forever : d);
        if (rc == 0)
            continue;
        /* Half a message in the pipe: the peer would misread what follows. A
         * peer that is gone (EPIPE) reads nothing more anyway. */
        if (sent > 0 && rc != -EPIPE)
            c->tx_err = -EPROTO;
        return rc;
    }
    return 0;
}

WEFT_API int weft_conn_send_bytes(weft_conn *c, const void *buf, size_t len, double timeout)
{
    if (!c || (!buf && len) || weft__timeout_invalid(timeout))
        return -EINVAL;
    if (c->wfd < 0)
        return -EBADF;
    if (len > c->max_message) /* also every length whose header sum would overflow */
        return -EMSGSIZE;
    weft__deadline d = weft__deadline_in(timeout);
    int rc = weft__conn_lock(&c->send_lock, &d);
    if (rc != 0)
        return rc;
    rc = c->tx_err;
    if (rc == 0) {
        weft__conn_hdr h = {.len = (uint32_t)len, .check = (uint32_t)len ^ WEFT__CONN_MAGIC};
        weft__sigpipe_guard g;
        weft__sigpipe_block(&g);
        rc = len <= WEFT_CONN_ATOMIC ? send_small(c, &h, buf, len, &d)
                                     : send_large(c, &h, buf, len, &d);
        weft__sigpipe_restore(&g, rc == -EPIPE);
    }
    weft_lock_release(&c->send_lock);
    return rc == -EPIPE ? -WEFT_EBROKEN : rc;
}
