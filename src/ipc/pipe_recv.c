/*
 * Receiving: read ahead into the connection's buffer (one read usually brings a
 * whole short message, often several), parse and check the header, then bring
 * the payload into its destination: copied out of the buffer, or, for the rest
 * of a long message, read straight into it.
 *
 * State between calls (all under recv_lock): have_hdr/msg_len say a message's
 * header was consumed but the message not delivered (too big for the caller's
 * buffer, or a timeout came first). If a timeout came after part of its payload
 * had been read, that part sits in `part` (heap, msg_len bytes), and the next
 * receive continues it. So no call ever leaves the stream between two bytes of
 * a message without remembering where it is.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/pipe_internal.h"

/* One read into p (at most n bytes), waiting by d for the first byte. Returns
 * the count (> 0), or 0 at end of file, or a negative code. */
static ssize_t rx_read(weft_conn *c, void *p, size_t n, const weft__deadline *d)
{
    for (;;) {
        if (!d->forever) { /* blocking read would ignore the deadline */
            int rc = weft__conn_wait_fd(c->rfd, POLLIN, d);
            if (rc != 0)
                return rc;
        }
        ssize_t got = read(c->rfd, p, n);
        if (got >= 0)
            return got;
        if (errno != EINTR && errno != EAGAIN)
            return -errno;
    }
}

/* Read more into rbuf, keeping what is unread. Returns > 0, 0 (end of file) or
 * a negative code. */
static ssize_t rx_fill(weft_conn *c, const weft__deadline *d)
{
    if (c->rpos == c->rend) {
        c->rpos = c->rend = 0;
    } else if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rend - c->rpos);
        c->rend -= c->rpos;
        c->rpos = 0;
    }
    ssize_t n = rx_read(c, c->rbuf + c->rend, sizeof c->rbuf - c->rend, d);
    if (n > 0)
        c->rend += (size_t)n;
    return n;
}

/* End of file seen at a read: clean between messages, torn inside one. */
static int rx_eof(weft_conn *c)
{
    bool torn = c->have_hdr || c->rend > c->rpos;
    free(c->part);
    c->part = NULL;
    c->have_hdr = false;
    c->rpos = c->rend = 0;
    c->rx_err = -WEFT_EEOF; /* whatever this call says, later ones say EOF */
    return torn ? -WEFT_ETORN : -WEFT_EEOF;
}

/* Check a header: its check word, and its length against max_message. */
static bool hdr_ok(const weft_conn *c, const weft__conn_hdr *h)
{
    return (h->len ^ WEFT__CONN_MAGIC) == h->check && h->len <= c->max_message;
}

/* Make the next message's header current (have_hdr, msg_len). */
static int rx_header(weft_conn *c, const weft__deadline *d)
{
    while (!c->have_hdr) {
        if (c->rend - c->rpos >= WEFT__CONN_HDR) {
            weft__conn_hdr h;
            memcpy(&h, c->rbuf + c->rpos, sizeof h);
            if (!hdr_ok(c, &h)) /* corrupt, or more than we may allocate */
                return c->rx_err = -EPROTO;
            c->rpos += WEFT__CONN_HDR;
            c->have_hdr = true;
            c->msg_len = h.len;
            break;
        }
        ssize_t n = rx_fill(c, d);
        if (n == 0)
            return rx_eof(c);
        if (n < 0)
            return (int)n;
    }
    return 0;
}

/* Bring the current message's payload into dst (msg_len bytes of room) from
 * byte *got on. On failure *got says how far it came. */
static int rx_body(weft_conn *c, unsigned char *dst, size_t *got, const weft__deadline *d)
{
    size_t need = c->msg_len;
    while (*got < need) {
        size_t avail = c->rend - c->rpos;
        if (avail) {
            size_t k = avail < need - *got ? avail : need - *got;
            memcpy(dst + *got, c->rbuf + c->rpos, k);
            c->rpos += k;
            *got += k;
            continue;
        }
        /* A short rest is read ahead (it may bring the next messages too); a
         * long one straight into place. */
        ssize_t n;
        if (need - *got < sizeof c->rbuf / 2) {
            n = rx_fill(c, d);
        } else {
            n = rx_read(c, dst + *got, need - *got, d);
            if (n > 0)
                *got += (size_t)n;
        }
        if (n == 0)
            return rx_eof(c);
        if (n < 0)
            return (int)n;
    }
    return 0;
}

/* The message is delivered: forget it. */
static void rx_done(weft_conn *c)
{
    c->have_hdr = false;
    c->part = NULL;
    c->part_got = 0;
}

/* A timeout (or other error) after got payload bytes went to dst, a buffer that
 * is not ours to keep: move them to the heap so the next call continues. */
static int rx_keep_part(weft_conn *c, const unsigned char *dst, size_t got, int rc)
{
    if (got == 0 || !c->have_hdr)
        return rc;
    c->part = malloc(c->msg_len);
    if (!c->part) { /* those bytes are lost: the stream is out of step */
        c->have_hdr = false;
        c->rx_err = -EPROTO;
        return -ENOMEM;
    }
    memcpy(c->part, dst, got);
    c->part_got = got;
    return rc;
}

/* Start or continue the current message into dst, a caller's buffer: first
 * finishing a kept part if there is one. */
static int rx_into(weft_conn *c, unsigned char *dst, const weft__deadline *d)
{
    if (c->part) { /* continue the kept part (rx_eof may free it), then copy it out */
        int rc = rx_body(c, c->part, &c->part_got, d);
        if (rc != 0)
            return rc;
        memcpy(dst, c->part, c->msg_len);
        free(c->part);
        c->part = NULL;
        return 0;
    }
    size_t got = 0;
    int rc = rx_body(c, dst, &got, d);
    return rc != 0 ? rx_keep_part(c, dst, got, rc) : 0;
}

/* Common start of both receives: check, lock, sticky error, header. On 0 the
 * lock is held. */
static int rx_begin(weft_conn *c, double timeout, weft__deadline *d)
{
    if (weft__timeout_invalid(timeout))
        return -EINVAL;
    if (c->rfd < 0)
        return -EBADF;
    *d = weft__deadline_in(timeout);
    int rc = weft__conn_lock(&c->recv_lock, d);
    if (rc != 0)
        return rc;
    rc = c->rx_err;
    if (rc == 0)
        rc = rx_header(c, d);
    if (rc != 0)
        weft_lock_release(&c->recv_lock);
    return rc;
}

WEFT_API int weft_conn_recv_bytes(weft_conn *c, void *buf, size_t cap, size_t *len, double timeout)
{
    if (!c || !len || (!buf && cap))
        return -EINVAL;
    weft__deadline d;
    int rc = rx_begin(c, timeout, &d);
    if (rc != 0)
        return rc;
    *len = c->msg_len;
    if (c->msg_len > cap)
        rc = -EMSGSIZE; /* kept: have_hdr stays set */
    else if ((rc = rx_into(c, buf, &d)) == 0)
        rx_done(c);
    weft_lock_release(&c->recv_lock);
    return rc;
}

WEFT_API int weft_conn_recv_alloc(weft_conn *c, void **ptr, size_t *len, double timeout)
{
    if (!c || !ptr || !len)
        return -EINVAL;
    weft__deadline d;
    int rc = rx_begin(c, timeout, &d);
    if (rc != 0)
        return rc;
    if (!c->part) { /* the message's own buffer, kept in c->part while it fills */
        c->part = malloc(c->msg_len ? c->msg_len : 1);
        c->part_got = 0;
    }
    if (!c->part) {
        rc = -ENOMEM; /* nothing of the payload read: the message waits */
    } else if ((rc = rx_body(c, c->part, &c->part_got, &d)) == 0) {
        *ptr = c->part; /* the caller's now */
        *len = c->msg_len;
        rx_done(c);
    }
    weft_lock_release(&c->recv_lock);
    return rc;
}

bool weft__conn_rx_ready(const weft_conn *c)
{
    if (c->rx_err)
        return true;
    size_t avail = c->rend - c->rpos;
    if (!c->have_hdr) {
        if (avail < WEFT__CONN_HDR)
            return false;
        weft__conn_hdr h;
        memcpy(&h, c->rbuf + c->rpos, sizeof h);
        /* A bad header is ready too: recv reports it at once. */
        return !hdr_ok(c, &h) || avail - WEFT__CONN_HDR >= h.len;
    }
    return avail >= c->msg_len - (c->part ? c->part_got : 0);
}
