/*
 * Named queues between unrelated programs.
 *
 * The queue's memory is a memfd: it has no path, in /dev/shm or anywhere, so
 * there is nothing to guess, pre-create or leave behind. Its name is an abstract
 * UNIX socket address, "\0weft-ipcq-<uid>-<name>", bound by the creating process
 * (bind is the exclusive creation: a name in use gives EADDRINUSE), with a small
 * thread that answers each connection by passing the memfd (SCM_RIGHTS) to peers
 * of the same user (SO_PEERCRED: what mode 0600 would allow) and hanging up.
 * Openers check the server's credentials the same way before trusting the block,
 * then check the block itself (weft__ipcq_adopt).
 *
 * Lifetime: the name lasts while the creator holds its handle; the kernel drops
 * an abstract address with its socket, so a creator that crashes takes the name
 * with it. The memory lasts while any process maps it. A fork child of the
 * creator keeps the queue but not the name: the fork handler closes the child's
 * copies of the listening sockets (a copy kept open would hold the name with
 * nobody answering), and the child's free leaves the parent's server alone.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/ipcq_internal.h"

#define NAME_MAX_LEN 64

struct ipcq_name {
    int listen_fd;       /* bound to the name; -1 once closed */
    int memfd;           /* the queue's block, handed to openers */
    pid_t owner;         /* the process whose thread serves the name */
    pthread_t server;
    struct ipcq_name *next; /* in `served`, guarded by served_lock */
};

/* Every name this process serves, so the fork handler can close the child's
 * copies of their sockets. served_lock guards the list; the fork prepare handler
 * takes it, so no fork copies the list half-changed. */
static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ipcq_name *served;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    pthread_mutex_lock(&served_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&served_lock);
}

static void fork_child(void)
{
    for (struct ipcq_name *n = served; n; n = n->next) {
        if (n->listen_fd >= 0)
            close(n->listen_fd); /* close, not shutdown: that would stop the parent's */
        n->listen_fd = -1;
    }
    pthread_mutex_unlock(&served_lock);
}

static void install_atfork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* The abstract address of a name; -EINVAL for an empty, too long or odd name. */
static int address(const char *name, struct sockaddr_un *a, socklen_t *len)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > NAME_MAX_LEN)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return -EINVAL;
    }
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int w = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "weft-ipcq-%u-%s",
                     (unsigned)geteuid(), name);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)w);
    return 0;
}

static bool same_user(int sock)
{
    struct ucred cr;
    socklen_t l = sizeof cr;
    return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && cr.uid == geteuid();
}

static void send_block(int sock, int memfd)
{
    char byte = 'Q';
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &memfd, sizeof memfd);
    (void)sendmsg(sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT); /* a peer gone is its loss */
}

/* The server thread: answer connections until the listening socket is shut
 * down (accept then fails with EINVAL). */
static void *serve(void *arg)
{
    struct ipcq_name *n = arg;
    for (;;) {
        int c = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                usleep(10000); /* out of descriptors or memory: try again soon */
                continue;
            }
            return NULL;
        }
        if (same_user(c))
            send_block(c, n->memfd);
        close(c);
    }
}

/* Start the server thread with every signal blocked (signals are for the
 * program's own threads). */
static int start_server(struct ipcq_name *n)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&n->server, NULL, serve, n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

static void forget(struct ipcq_name *n);

int weft__ipcq_new_named(weft_ipc_queue **out, const weft_ipc_queue_opts *opts)
{
    struct sockaddr_un a;
    socklen_t alen;
    int rc = address(opts->name, &a, &alen);
    if (rc != 0 || !out)
        return rc ? rc : -EINVAL;
    pthread_once(&atfork_once, install_atfork);
    struct ipcq_name *n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    n->memfd = -1;
    n->owner = getpid();
    /* The socket is made and listed under served_lock, which the fork handler
     * takes too: no fork() can copy it before the child's handler knows it. */
    pthread_mutex_lock(&served_lock);
    n->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (n->listen_fd < 0 || bind(n->listen_fd, (struct sockaddr *)&a, alen) != 0 ||
        listen(n->listen_fd, 64) != 0) {
        rc = errno == EADDRINUSE ? -EEXIST : -errno;
        if (n->listen_fd >= 0)
            close(n->listen_fd);
        pthread_mutex_unlock(&served_lock);
        free(n);
        return rc;
    }
    n->next = served;
    served = n;
    pthread_mutex_unlock(&served_lock);
    weft_ipc_queue *q;
    if ((rc = weft__ipcq_make(&q, opts, &n->memfd)) != 0 || (rc = start_server(n)) != 0) {
        if (n->memfd >= 0)
            weft_ipc_queue_free(q);
        n->owner = 0; /* no server thread to stop */
        forget(n);
        return rc;
    }
    q->name = n;
    *out = q;
    return 0;
}

/* Close the listening socket and drop n from `served`, both under
 * served_lock, so that no fork() copies the socket once the list forgets it;
 * then free n. */
static void forget(struct ipcq_name *n)
{
    pthread_mutex_lock(&served_lock);
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    n->listen_fd = -1;
    for (struct ipcq_name **p = &served; *p; p = &(*p)->next)
        if (*p == n) {
            *p = n->next;
            break;
        }
    pthread_mutex_unlock(&served_lock);
    if (n->memfd >= 0)
        close(n->memfd);
    free(n);
}

void weft__ipcq_unname(weft_ipc_queue *q)
{
    struct ipcq_name *n = q->name;
    if (!n)
        return;
    q->name = NULL;
    /* In a fork child the server thread does not exist and the listening
     * socket was closed by the fork handler (listen_fd is -1 there). */
    if (n->owner == getpid()) {
        shutdown(n->listen_fd, SHUT_RDWR); /* wakes accept(): the server returns */
        pthread_join(n->server, NULL);
    }
    forget(n);
}

/* Receive the block's descriptor from a server, within the deadline. */
static int receive_block(int s, const weft__deadline *d, int *memfd)
{
    struct pollfd p = {.fd = s, .events = POLLIN};
    for (;;) {
        struct timespec left;
        if (!d->forever)
            weft__deadline_left(d, &left);
        int r = ppoll(&p, 1, d->forever ? NULL : &left, NULL);
        if (r > 0)
            break;
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    ssize_t got = recvmsg(s, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    int fd = -1, extra = 0;
    for (struct cmsghdr *c = got > 0 ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
            if (fd < 0 && byte == 'Q')
                fd = f;
            else
                close(f), extra++; /* more than we asked for: not ours to keep */
        }
    }
    if (got <= 0 || fd < 0 || extra || (m.msg_flags & MSG_CTRUNC)) {
        if (fd >= 0)
            close(fd);
        return got < 0 ? -errno : -EPROTO;
    }
    *memfd = fd;
    return 0;
}

int weft_ipc_queue_open(weft_ipc_queue **out, const char *name, double timeout)
{
    struct sockaddr_un a;
    socklen_t alen;
    if (!out || weft__timeout_invalid(timeout))
        return -EINVAL;
    int rc = address(name, &a, &alen);
    if (rc != 0)
        return rc;
    weft__deadline d = weft__deadline_in(timeout);
    if (d.nonblock) /* the server needs a moment to answer: give it one second */
        d = weft__deadline_in(1.0);
    /* Non-blocking: a connect to a full backlog (a stuck server) says EAGAIN
     * instead of sleeping without limit; retry until the deadline. */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -errno;
    while (connect(s, (struct sockaddr *)&a, alen) != 0) {
        rc = errno == ECONNREFUSED || errno == ENOENT ? -ENOENT : -errno;
        if (errno == EAGAIN && !weft__deadline_passed(&d)) {
            usleep(1000);
            continue;
        }
        close(s);
        return rc == -EAGAIN ? -ETIMEDOUT : rc;
    }
    if (!same_user(s)) {
        close(s);
        return -EACCES;
    }
    int memfd = -1;
    rc = receive_block(s, &d, &memfd);
    close(s);
    if (rc != 0)
        return rc;
    rc = weft__ipcq_adopt(out, memfd);
    close(memfd);
    return rc;
}
