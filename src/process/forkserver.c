/*
 * The forkserver: a single-threaded helper process, forked from the program the
 * first time it is needed, that forks children on request - so a program with
 * many threads never forks itself (after the forkserver's own start).
 *
 * Channel: one AF_UNIX stream socket. The client sends a request (struct
 * fs_req, then arg_size argument bytes); the server forks and answers with the
 * pid (or -errno) and one descriptor passed with SCM_RIGHTS: the read end of
 * a status pipe. When the child has ended the server reaps it and writes its
 * exitcode (4 bytes, Python's convention) into the pipe, then closes it; the
 * client's join sleeps in poll() on that pipe. terminate/kill are requests to
 * the server, which reaps and signals in its one thread, so it never signals
 * a reaped pid. (The server could also pass a pidfd it opened before reaping;
 * the protocol allows a second descriptor. It does not: that would double the
 * descriptors a program holds per running forkserver child - 500 children
 * would need 1000 and hit the usual limit of 1024 - for no gain in safety.)
 * Lifetime: the server leaves (_exit, never running the program's atexit
 * handlers) when it reads end-of-file, which happens when the program exits or
 * dies - every other copy of the client's socket is closed by the fork handler
 * or by exec (CLOEXEC). Its children asked for SIGKILL at its death
 * (PR_SET_PDEATHSIG: the server has one thread, so that is its whole life).
 * At a normal exit the program joins its children first, then closes the
 * socket and reaps the server.
 *
 * `fs_mu` guards fs_sock, fs_pid and the channel itself (one request and its
 * answer at a time). The fork handler takes it, so no fork() copies a channel
 * mid-request; the thread starting the server forks while holding it, which
 * `holding_fs_mu` tells the handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process/process_internal.h"

enum { FS_SPAWN = 1, FS_SIGNAL = 2 };
enum { FS_DAEMON = 1, FS_DEATHSIG = 2, FS_BYTES = 4 };

struct fs_req {
    uint32_t type, flags;
    weft_process_fn fn; /* same binary image: valid in the server's children */
    void *arg;          /* handed over unchanged */
    uint64_t arg_size;  /* bytes following the request (FS_BYTES) */
    int32_t pid, sig;   /* FS_SIGNAL */
    char name[WEFT_PROCESS_NAME_MAX];
    char ident[WEFT__IDENT_MAX];
};

struct fs_rep {
    int32_t rc; /* pid, or -errno */
    int32_t nfds;
};

static pthread_mutex_t fs_mu = PTHREAD_MUTEX_INITIALIZER;
static int fs_sock = -1; /* guarded by fs_mu */
static pid_t fs_pid;     /* guarded by fs_mu; also read relaxed */
static _Thread_local bool holding_fs_mu, prepare_locked;

/* ---- I/O helpers (both sides) ---- */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == ECONNRESET ? -EPIPE : -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 || errno == ECONNRESET ? -EPIPE : -errno;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Send the answer with up to two descriptors (-1: none). */
static void send_reply(int sock, int rc, int fd1, int fd2)
{
    int fds[2], n = 0;
    if (fd1 >= 0)
        fds[n++] = fd1;
    if (fd2 >= 0)
        fds[n++] = fd2;
    struct fs_rep rep = {.rc = rc, .nfds = n};
    struct iovec iov = {.iov_base = &rep, .iov_len = sizeof rep};
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n > 0) {
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
    }
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* Receive an answer; fds[] gets up to two descriptors, -1 for missing ones. */
static int recv_reply(int sock, struct fs_rep *rep, int fds[2])
{
    fds[0] = fds[1] = -1;
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = rep, .iov_len = sizeof *rep};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t r;
    while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (r <= 0)
        return r == 0 || errno == ECONNRESET ? -EPIPE : -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds, CMSG_DATA(c), (n > 2 ? 2 : n) * sizeof(int));
        }
    if ((size_t)r < sizeof *rep) /* the rest of a split answer */
        return read_all(sock, (char *)rep + r, sizeof *rep - (size_t)r);
    return 0;
}

/* ---- the server ---- */

/* Server state: one thread, so no locks. Static, so that the children (which
 * run with leak checkers in test builds) still reach what they inherit. */
struct fs_entry {
    pid_t pid;
    int wfd; /* write end of the child's status pipe */
};
static struct fs_entry *srv_table;
static size_t srv_len, srv_cap;
static int srv_sock = -1, srv_sigfd = -1, srv_client_pidfd = -1;
static pid_t srv_client, srv_self;
static sigset_t srv_orig_mask;
static struct sigaction srv_orig_int, srv_orig_pipe, srv_orig_chld;
static weft_process srv_child_record; /* the current process of a server child */

static void restore_signals(void)
{
    sigaction(SIGINT, &srv_orig_int, NULL);
    sigaction(SIGPIPE, &srv_orig_pipe, NULL);
    sigaction(SIGCHLD, &srv_orig_chld, NULL);
    sigprocmask(SIG_SETMASK, &srv_orig_mask, NULL);
}

static _Noreturn void server_child(const struct fs_req *r, void *bytes, const int pfd[2])
{
    close(srv_sock);
    close(srv_sigfd);
    close(pfd[0]);
    close(pfd[1]);
    for (size_t i = 0; i < srv_len; i++)
        close(srv_table[i].wfd); /* the siblings' status pipes */
    srv_len = 0;
    restore_signals();
    weft_process *self = &srv_child_record;
    self->refs = 1;
    self->fn = r->fn;
    self->arg = r->arg;
    self->arg_copy = bytes;
    self->arg_size = (size_t)r->arg_size;
    self->daemon = r->flags & FS_DAEMON;
    self->survive_parent = !(r->flags & FS_DEATHSIG);
    self->used = WEFT_START_FORKSERVER;
    self->pidfd = self->waitfd = -1;
    memcpy(self->name, r->name, sizeof self->name);
    memcpy(self->ident, r->ident, sizeof self->ident);
    self->name[sizeof self->name - 1] = self->ident[sizeof self->ident - 1] = '\0';
    weft__become_child(self, srv_client, srv_client_pidfd, srv_self);
    weft__process_child_run(self, srv_self, r->flags & FS_DEATHSIG, bytes ? bytes : r->arg);
}

static void server_spawn(int sock, const struct fs_req *r, void *bytes)
{
    int pfd[2];
    if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC) < 0) {
        send_reply(sock, -errno, -1, -1);
        return;
    }
    if (srv_len == srv_cap) {
        size_t cap = srv_cap ? 2 * srv_cap : 64;
        struct fs_entry *t = realloc(srv_table, cap * sizeof *t);
        if (!t) {
            close(pfd[0]);
            close(pfd[1]);
            send_reply(sock, -ENOMEM, -1, -1);
            return;
        }
        srv_table = t;
        srv_cap = cap;
    }
    pid_t pid = fork();
    if (pid == 0)
        server_child(r, bytes, pfd);
    if (pid < 0) {
        int err = -errno;
        close(pfd[0]);
        close(pfd[1]);
        send_reply(sock, err, -1, -1);
        return;
    }
    srv_table[srv_len++] = (struct fs_entry){.pid = pid, .wfd = pfd[1]};
    send_reply(sock, pid, pfd[0], -1);
    close(pfd[0]);
}

static void server_reap(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        for (size_t i = 0; i < srv_len; i++)
            if (srv_table[i].pid == pid) {
                int code = weft__process_code_of_status(st);
                (void)!write(srv_table[i].wfd, &code, sizeof code); /* atomic: < PIPE_BUF */
                close(srv_table[i].wfd);
                srv_table[i] = srv_table[--srv_len];
                break;
            }
}

static int server_signal(pid_t pid, int sig)
{
    for (size_t i = 0; i < srv_len; i++)
        if (srv_table[i].pid == pid) /* not reaped yet: still this child */
            return kill(pid, sig) < 0 ? -errno : 0;
    return 0; /* ended: nothing to signal */
}

/* One request; -1 when the client is gone (or speaks nonsense). */
static int server_serve(int sock)
{
    struct fs_req r;
    if (read_all(sock, &r, sizeof r) != 0)
        return -1;
    if (r.type == FS_SIGNAL) {
        send_reply(sock, server_signal(r.pid, r.sig), -1, -1);
        return 0;
    }
    if (r.type != FS_SPAWN)
        return -1;
    void *bytes = NULL;
    if (r.flags & FS_BYTES) {
        bytes = malloc(r.arg_size ? (size_t)r.arg_size : 1);
        if (!bytes || read_all(sock, bytes, (size_t)r.arg_size) != 0)
            return -1; /* cannot stay in step with the client: leave */
    }
    server_spawn(sock, &r, bytes);
    free(bytes);
    return 0;
}

static _Noreturn void server_main(int sock, pid_t client)
{
    weft__process_set_os_name("weft-forkserver");
    srv_sock = sock;
    srv_client = client;
    srv_self = getpid();
    srv_client_pidfd = weft__pidfd_open(client);
    if (getppid() != client)
        _exit(0); /* the program is gone already (the pidfd may be stale) */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &srv_orig_mask);
    struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGINT, &ign, &srv_orig_int);   /* Ctrl-C is for the program */
    sigaction(SIGPIPE, &ign, &srv_orig_pipe); /* a client that closed a pipe */
    sigaction(SIGCHLD, &dfl, &srv_orig_chld); /* SIG_IGN would auto-reap */
    srv_sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (srv_sigfd < 0)
        _exit(1);
    for (;;) {
        struct pollfd pf[2] = {{.fd = sock, .events = POLLIN}, {.fd = srv_sigfd, .events = POLLIN}};
        if (poll(pf, 2, -1) < 0)
            continue; /* EINTR */
        if (pf[1].revents) {
            struct signalfd_siginfo si;
            while (read(srv_sigfd, &si, sizeof si) > 0)
                ;
            server_reap();
        }
        if (pf[0].revents && server_serve(sock) != 0)
            _exit(0); /* children with PDEATHSIG follow */
    }
}

/* ---- the client ---- */

/* Under fs_mu. */
static int start_locked(void)
{
    if (fs_sock >= 0)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    weft__flush_std_streams(); /* else the children would print it again */
    pid_t client = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    if (pid == 0) {
        close(sv[0]);
        server_main(sv[1], client);
    }
    close(sv[1]);
    fs_sock = sv[0];
    __atomic_store_n(&fs_pid, pid, __ATOMIC_RELAXED);
    return 0;
}

/* Under fs_mu: the server died; reap it, so the next request starts anew. */
static void lost_locked(void)
{
    close(fs_sock);
    fs_sock = -1;
    while (waitpid(fs_pid, NULL, 0) < 0 && errno == EINTR)
        ;
    __atomic_store_n(&fs_pid, 0, __ATOMIC_RELAXED);
}

static void lock_channel(void)
{
    weft__process_arm_fork_handlers(); /* before any fork of ours */
    pthread_mutex_lock(&fs_mu);
    holding_fs_mu = true;
}

static void unlock_channel(void)
{
    holding_fs_mu = false;
    pthread_mutex_unlock(&fs_mu);
}

/* Under fs_mu: one request and its answer, with a fresh server if the old one
 * is gone (once). */
static int request_locked(const struct fs_req *r, const void *bytes, struct fs_rep *rep, int fds[2])
{
    int rc = -EPIPE;
    for (int attempt = 0; attempt < 2 && rc == -EPIPE; attempt++) {
        rc = start_locked();
        if (rc != 0)
            return rc;
        rc = write_all(fs_sock, r, sizeof *r);
        if (rc == 0 && bytes)
            rc = write_all(fs_sock, bytes, (size_t)r->arg_size);
        if (rc == 0)
            rc = recv_reply(fs_sock, rep, fds);
        if (rc == -EPIPE)
            lost_locked();
    }
    return rc;
}

int weft__forkserver_spawn(weft_process *p)
{
    struct fs_req r = {.type = FS_SPAWN, .fn = p->fn, .arg = p->arg};
    r.flags = (p->daemon ? FS_DAEMON : 0) | (p->survive_parent ? 0 : FS_DEATHSIG) |
              (p->arg_copy ? FS_BYTES : 0);
    r.arg_size = p->arg_copy ? p->arg_size : 0;
    memcpy(r.name, p->name, sizeof r.name);
    memcpy(r.ident, p->ident, sizeof r.ident);
    struct fs_rep rep;
    int fds[2];
    lock_channel();
    int rc = request_locked(&r, p->arg_copy, &rep, fds);
    if (rc == 0 && rep.rc > 0 && fds[0] < 0) {
        /* No status pipe (descriptors ran out here): a child we could never
         * join. Have it killed; the server reaps it. */
        struct fs_req k = {.type = FS_SIGNAL, .pid = rep.rc, .sig = SIGKILL};
        struct fs_rep krep;
        int kfds[2];
        if (fds[1] >= 0)
            close(fds[1]);
        request_locked(&k, NULL, &krep, kfds);
        rep.rc = -EMFILE;
    }
    unlock_channel();
    if (rc != 0)
        return rc;
    if (rep.rc < 0)
        return rep.rc;
    p->pid = rep.rc;
    p->waitfd = fds[0];
    p->pidfd = fds[1];
    return 0;
}

int weft__forkserver_signal(weft_process *p, int sig)
{
    struct fs_req r = {.type = FS_SIGNAL, .pid = p->pid, .sig = sig};
    struct fs_rep rep;
    int fds[2];
    lock_channel();
    /* No server (it died): neither is the child (PDEATHSIG) - or it is no
     * longer anyone's to signal safely. */
    int rc = fs_sock < 0 ? 0 : request_locked(&r, NULL, &rep, fds);
    unlock_channel();
    return rc == 0 ? (fs_sock < 0 ? 0 : rep.rc) : rc;
}

WEFT_API int weft_forkserver_start(void)
{
    lock_channel();
    int rc = start_locked();
    unlock_channel();
    return rc;
}

WEFT_API pid_t weft_forkserver_pid(void)
{
    return __atomic_load_n(&fs_pid, __ATOMIC_RELAXED);
}

void weft__forkserver_stop(void)
{
    lock_channel();
    if (fs_sock >= 0)
        lost_locked(); /* the server reads end-of-file and leaves */
    unlock_channel();
}

/* ---- fork ---- */

void weft__forkserver_fork_prepare(void)
{
    if (holding_fs_mu)
        return; /* starting the server: this thread holds it already */
    pthread_mutex_lock(&fs_mu);
    prepare_locked = true;
}

void weft__forkserver_fork_parent(void)
{
    if (prepare_locked) {
        prepare_locked = false;
        pthread_mutex_unlock(&fs_mu);
    }
}

void weft__forkserver_fork_child(void)
{
    /* The program's server is not ours: drop our copy of the channel (so the
     * server still sees end-of-file when the program goes). */
    if (fs_sock >= 0) {
        close(fs_sock);
        fs_sock = -1;
        fs_pid = 0;
    }
    prepare_locked = holding_fs_mu = false;
    pthread_mutex_unlock(&fs_mu); /* held by this thread, one way or the other */
}
