/*
 * Pipe: making and closing connections, poll, fileno, and the waiting helpers
 * shared with pipe_send.c and pipe_recv.c.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "ipc/pipe_internal.h"

static weft_conn *conn_alloc(const weft_pipe_opts *o)
{
    weft_conn *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->rfd = -1;
    c->wfd = -1;
    c->max_message = o->max_message;
    c->guard_sigpipe = !o->sigpipe_ignored;
    weft_lock_init(&c->send_lock, "weft_conn.send");
    weft_lock_init(&c->recv_lock, "weft_conn.recv");
    c->tx_err = 0;
    c->rx_err = 0;
    c->have_hdr = false;
    c->msg_len = 0;
    c->part = NULL;
    c->part_got = 0;
    c->rpos = c->rend = 0;
    return c;
}

/* pipe2 with O_CLOEXEC, the write end made O_NONBLOCK (see pipe_internal.h). */
static int make_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    int fl = fcntl(fds[1], F_GETFL);
    if (fl < 0 || fcntl(fds[1], F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = -errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    return 0;
}

/* SIGPIPE's disposition is SIG_IGN (a handler, even one that does nothing,
 * would still be run). */
static bool sigpipe_is_ignored(void)
{
    struct sigaction sa;
    return sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
           sa.sa_handler == SIG_IGN;
}

WEFT_API int weft_pipe(weft_conn **a, weft_conn **b, const weft_pipe_opts *opts)
{
    if (!a || !b)
        return -EINVAL;
    weft_pipe_opts o = opts ? *opts : (weft_pipe_opts){0};
    if (o.max_message == 0)
        o.max_message = WEFT_CONN_DEFAULT_MAX;
    if (o.max_message > WEFT_CONN_LIMIT || (o.sigpipe_ignored && !sigpipe_is_ignored()))
        return -EINVAL;
    int ab[2] = {-1, -1}, ba[2] = {-1, -1}; /* a->b and, if duplex, b->a */
    weft_conn *ca = conn_alloc(&o), *cb = conn_alloc(&o);
    int rc = (ca && cb) ? 0 : -ENOMEM;
    if (rc == 0)
        rc = make_pipe(ab);
    if (rc == 0 && !o.one_way && (rc = make_pipe(ba)) != 0) {
        close(ab[0]);
        close(ab[1]);
    }
    if (rc != 0) {
        free(ca);
        free(cb);
        return rc;
    }
    if (o.one_way) { /* Python's (r, w) = Pipe(duplex=False) */
        ca->rfd = ab[0];
        cb->wfd = ab[1];
    } else {
        ca->wfd = ab[1];
        cb->rfd = ab[0];
        cb->wfd = ba[1];
        ca->rfd = ba[0];
    }
    *a = ca;
    *b = cb;
    return 0;
}

WEFT_API int weft_conn_close(weft_conn *c)
{
    if (!c)
        return -EINVAL;
    if (c->rfd >= 0)
        close(c->rfd);
    if (c->wfd >= 0)
        close(c->wfd);
    c->rfd = c->wfd = -1;
    free(c->part);
    c->part = NULL;
    c->have_hdr = false;
    c->rpos = c->rend = 0;
    return 0;
}

/* Takes no lock: no other thread may be using c, and in a fork child a lock
 * held by a thread of the parent must not stop the child from freeing. */
WEFT_API void weft_conn_free(weft_conn *c)
{
    if (!c)
        return;
    weft_conn_close(c);
    weft_lock_destroy(&c->send_lock);
    weft_lock_destroy(&c->recv_lock);
    free(c);
}

WEFT_API int weft_conn_fileno(const weft_conn *c)
{
    if (!c)
        return -EINVAL;
    if (c->rfd >= 0)
        return c->rfd;
    return c->wfd >= 0 ? c->wfd : -EBADF;
}

WEFT_API bool weft_conn_readable(const weft_conn *c)
{
    return c && c->rfd >= 0;
}

WEFT_API bool weft_conn_writable(const weft_conn *c)
{
    return c && c->wfd >= 0;
}

WEFT_API int weft_conn_poll(weft_conn *c, double timeout)
{
    if (!c || weft__timeout_invalid(timeout))
        return -EINVAL;
    if (c->rfd < 0)
        return -EBADF;
    weft__deadline d = weft__deadline_in(timeout);
    int rc = weft__conn_lock(&c->recv_lock, &d);
    if (rc != 0)
        return rc;
    bool ready = weft__conn_rx_ready(c);
    weft_lock_release(&c->recv_lock);
    /* The fd is watched without the lock, so a receiver is not held up by a
     * long poll; the fd itself never changes while c is in use. */
    return ready ? 0 : weft__conn_wait_fd(c->rfd, POLLIN, &d);
}

/* ---- waiting helpers ---- */

double weft__conn_left_s(const weft__deadline *d)
{
    if (d->forever)
        return WEFT_FOREVER;
    struct timespec ts;
    if (!weft__deadline_left(d, &ts))
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int weft__conn_lock(weft_lock *l, const weft__deadline *d)
{
    int rc = weft_lock_acquire(l, weft__conn_left_s(d));
    if (rc == -EBUSY) /* timeout 0, or a deadline already passed */
        rc = d->nonblock ? -EAGAIN : -ETIMEDOUT;
    return rc;
}

int weft__conn_wait_fd(int fd, short events, const weft__deadline *d)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        struct timespec ts;
        bool left = d->forever || weft__deadline_left(d, &ts);
        int n = ppoll(&p, 1, d->forever ? NULL : &ts, NULL);
        if (n > 0)
            return (p.revents & POLLNVAL) ? -EBADF : 0;
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n == 0 && !left) /* the zero-length look found nothing */
            return d->nonblock ? -EAGAIN : -ETIMEDOUT;
        if (n == 0 && !d->forever && weft__deadline_passed(d))
            return -ETIMEDOUT;
    }
}
