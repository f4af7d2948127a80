/*
 * Sending: header and payload go out with one write (short payloads copied
 * behind the header) or writev (a loop of them for long messages) on the
 * O_NONBLOCK write end,
 * under the connection's send lock so that messages from threads sharing the
 * end never interleave. SIGPIPE is blocked around it (pipe_sigpipe.c).
 */
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc/pipe_internal.h"

/* What is left of head+body after `sent` bytes, as one or two iovecs. */
static int iov_from(struct iovec iov[2], const struct iovec *head, const struct iovec *body,
                    size_t sent)
{
    int n = 0;
    if (sent < head->iov_len) {
        iov[n].iov_base = (unsigned char *)head->iov_base + sent;
        iov[n++].iov_len = head->iov_len - sent;
        sent = 0;
    } else {
        sent -= head->iov_len;
    }
    if (sent < body->iov_len) { /* never for an empty body, whose base may be NULL */
        iov[n].iov_base = (unsigned char *)body->iov_base + sent;
        iov[n++].iov_len = body->iov_len - sent;
    }
    return n;
}

/* Write head then body, waiting by d for room for the first bytes; once some
 * are in the pipe, finish whatever the deadline says (see "Blocking and
 * timeouts" in weft/ipc.h). A write of at most PIPE_BUF bytes in all
 * (payload <= WEFT_CONN_ATOMIC) goes in whole or not at all (EAGAIN) - the
 * kernel's atomicity covers the whole iovec - so for those the deadline is
 * exact. */
static int send_msg(weft_conn *c, const struct iovec *head, const struct iovec *body,
                    const weft__deadline *d)
{
    static const weft__deadline forever = {.forever = true};
    size_t total = head->iov_len + body->iov_len, sent = 0;
    while (sent < total) {
        struct iovec iov[2];
        int niov = iov_from(iov, head, body, sent);
        /* write() when one piece is left: a little cheaper than writev(). */
        ssize_t n =
            niov == 1 ? write(c->wfd, iov[0].iov_base, iov[0].iov_len) : writev(c->wfd, iov, niov);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        int rc = n < 0 ? -errno : -EIO; /* never 0 for a non-empty write */
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

/* Header and payload as the two parts to write: a short payload is copied
 * behind the header in out (WEFT__CONN_HDR + WEFT__CONN_COPY bytes), so that
 * one write() carries the message. */
static void frame(const void *buf, size_t len, unsigned char *out, struct iovec *head,
                  struct iovec *body)
{
    weft__conn_hdr h = {.len = (uint32_t)len, .check = (uint32_t)len ^ WEFT__CONN_MAGIC};
    memcpy(out, &h, sizeof h);
    *head = (struct iovec){out, WEFT__CONN_HDR};
    *body = (struct iovec){(void *)buf, len};
    if (len <= WEFT__CONN_COPY) {
        if (len)
            memcpy(out + WEFT__CONN_HDR, buf, len);
        head->iov_len += len;
        body->iov_len = 0;
    }
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
        unsigned char out[WEFT__CONN_HDR + WEFT__CONN_COPY];
        struct iovec head, body;
        frame(buf, len, out, &head, &body);
        weft__sigpipe_guard g;
        if (c->guard_sigpipe)
            weft__sigpipe_block(&g);
        rc = send_msg(c, &head, &body, &d);
        if (c->guard_sigpipe)
            weft__sigpipe_restore(&g, rc == -EPIPE);
    }
    weft_lock_release(&c->send_lock);
    return rc == -EPIPE ? -WEFT_EBROKEN : rc;
}
