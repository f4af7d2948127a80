/* Pipe within one process: every call and code, framing, validation, crafted
 * and corrupt streams, timeouts in the middle of a message, poll and fileno,
 * end of file, broken pipe without SIGPIPE. (Across fork: test_pipe_fork.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include "ipc/test_pipe_util.h"

static void test_null_args(void **state)
{
    weft_conn *a, *b;
    char buf[4];
    size_t n;
    void *p;
    assert_int_equal(weft_pipe(NULL, &b, NULL), -EINVAL);
    assert_int_equal(weft_pipe(&a, NULL, NULL), -EINVAL);
    assert_int_equal(weft_conn_send_bytes(NULL, "x", 1, 0), -EINVAL);
    assert_int_equal(weft_conn_recv_bytes(NULL, buf, 4, &n, 0), -EINVAL);
    assert_int_equal(weft_conn_recv_alloc(NULL, &p, &n, 0), -EINVAL);
    assert_int_equal(weft_conn_poll(NULL, 0), -EINVAL);
    assert_int_equal(weft_conn_fileno(NULL), -EINVAL);
    assert_int_equal(weft_conn_close(NULL), -EINVAL);
    assert_false(weft_conn_readable(NULL));
    assert_false(weft_conn_writable(NULL));
    weft_conn_free(NULL);

    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    assert_int_equal(weft_conn_send_bytes(a, NULL, 1, 0), -EINVAL);
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, NAN), -EINVAL);
    assert_int_equal(weft_conn_recv_bytes(b, NULL, 4, &n, 0), -EINVAL);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 4, NULL, 0), -EINVAL);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 4, &n, NAN), -EINVAL);
    assert_int_equal(weft_conn_recv_alloc(b, NULL, &n, 0), -EINVAL);
    assert_int_equal(weft_conn_recv_alloc(b, &p, NULL, 0), -EINVAL);
    assert_int_equal(weft_conn_recv_alloc(b, &p, &n, NAN), -EINVAL);
    assert_int_equal(weft_conn_poll(b, NAN), -EINVAL);
    weft_conn_free(a);
    weft_conn_free(b);
}

static void test_bad_opts(void **state)
{
    weft_conn *a = (weft_conn *)1, *b = (weft_conn *)1;
    weft_pipe_opts o = {.max_message = WEFT_CONN_LIMIT + 1};
    assert_int_equal(weft_pipe(&a, &b, &o), -EINVAL);
    o.max_message = SIZE_MAX;
    assert_int_equal(weft_pipe(&a, &b, &o), -EINVAL);
    assert_ptr_equal(a, (weft_conn *)1); /* left alone on failure */
    assert_ptr_equal(b, (weft_conn *)1);
    o.max_message = WEFT_CONN_LIMIT; /* the limit itself is fine */
    assert_int_equal(weft_pipe(&a, &b, &o), 0);
    weft_conn_free(a);
    weft_conn_free(b);
}

static void roundtrip(weft_conn *from, weft_conn *to, const char *msg)
{
    char buf[64];
    size_t n = 99;
    assert_int_equal(weft_conn_send_bytes(from, msg, strlen(msg), 1.0), 0);
    assert_int_equal(weft_conn_recv_bytes(to, buf, sizeof buf, &n, 1.0), 0);
    assert_int_equal(n, strlen(msg));
    assert_memory_equal(buf, msg, n);
}

static void test_duplex(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    assert_true(weft_conn_readable(a) && weft_conn_writable(a));
    assert_true(weft_conn_readable(b) && weft_conn_writable(b));
    roundtrip(a, b, "hello");
    roundtrip(b, a, "world");
    /* Both directions at once, in order per direction. */
    assert_int_equal(weft_conn_send_bytes(a, "a1", 2, 0), 0);
    assert_int_equal(weft_conn_send_bytes(b, "b1", 2, 0), 0);
    assert_int_equal(weft_conn_send_bytes(a, "a2", 2, 0), 0);
    char buf[8];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), 0);
    assert_memory_equal(buf, "a1", 2);
    assert_int_equal(weft_conn_recv_bytes(a, buf, 8, &n, 0), 0);
    assert_memory_equal(buf, "b1", 2);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), 0);
    assert_memory_equal(buf, "a2", 2);
    assert_int_equal(weft_conn_recv_bytes(a, buf, 8, &n, 0), -EAGAIN);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), -EAGAIN);
    /* Different fds for the two ends. */
    assert_true(weft_conn_fileno(a) >= 0 && weft_conn_fileno(b) >= 0);
    assert_int_not_equal(weft_conn_fileno(a), weft_conn_fileno(b));
    weft_conn_free(a);
    weft_conn_free(b);
}

static void test_one_way(void **state)
{
    weft_conn *r, *w;
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    assert_true(weft_conn_readable(r));
    assert_false(weft_conn_writable(r));
    assert_false(weft_conn_readable(w));
    assert_true(weft_conn_writable(w));
    roundtrip(w, r, "one way");
    char buf[8];
    size_t n;
    void *p;
    assert_int_equal(weft_conn_send_bytes(r, "x", 1, 0), -EBADF);
    assert_int_equal(weft_conn_recv_bytes(w, buf, 8, &n, 0), -EBADF);
    assert_int_equal(weft_conn_recv_alloc(w, &p, &n, 0), -EBADF);
    assert_int_equal(weft_conn_poll(w, 0), -EBADF);
    /* A send-only end's fd polls writable. */
    struct pollfd pf = {.fd = weft_conn_fileno(w), .events = POLLOUT};
    assert_true(pf.fd >= 0);
    assert_int_equal(poll(&pf, 1, 0), 1);
    assert_true(pf.revents & POLLOUT);
    weft_conn_free(r);
    weft_conn_free(w);
}

/* Empty messages are messages (Python's send_bytes(b'')); buf may be NULL. */
static void test_empty_message(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    assert_int_equal(weft_conn_send_bytes(a, NULL, 0, 0), 0);
    assert_int_equal(weft_conn_send_bytes(a, "", 0, 0), 0);
    assert_int_equal(weft_conn_send_bytes(a, "z", 1, 0), 0);
    size_t n = 99;
    assert_int_equal(weft_conn_recv_bytes(b, NULL, 0, &n, 0), 0);
    assert_int_equal(n, 0);
    void *p = NULL;
    n = 99;
    assert_int_equal(weft_conn_recv_alloc(b, &p, &n, 0), 0);
    assert_non_null(p);
    assert_int_equal(n, 0);
    free(p);
    /* A zero-capacity buffer cannot take a one-byte message. */
    assert_int_equal(weft_conn_recv_bytes(b, NULL, 0, &n, 0), -EMSGSIZE);
    assert_int_equal(n, 1);
    char c;
    assert_int_equal(weft_conn_recv_bytes(b, &c, 1, &n, 0), 0);
    assert_int_equal(c, 'z');
    weft_conn_free(a);
    weft_conn_free(b);
}

/* Too big for the buffer: -EMSGSIZE with the size, the message kept. */
static void test_msgsize_retry(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    static unsigned char big[60000], got[60000]; /* fits the pipe's 64 KiB */
    p_fill(big, sizeof big, 5);
    assert_int_equal(weft_conn_send_bytes(a, big, sizeof big, 5.0), 0);
    assert_int_equal(weft_conn_send_bytes(a, "next", 4, 5.0), 0);
    size_t n = 0;
    assert_int_equal(weft_conn_recv_bytes(b, got, 10, &n, 1.0), -EMSGSIZE);
    assert_int_equal(n, sizeof big);
    assert_int_equal(weft_conn_recv_bytes(b, got, sizeof big - 1, &n, 1.0), -EMSGSIZE);
    assert_int_equal(weft_conn_poll(b, 0), 0);
    assert_int_equal(weft_conn_recv_bytes(b, got, sizeof got, &n, 1.0), 0);
    assert_int_equal(n, sizeof big);
    assert_true(p_check(got, n, 5));
    /* recv_alloc needs no size. */
    void *p;
    assert_int_equal(weft_conn_recv_alloc(b, &p, &n, 1.0), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(p, "next", 4);
    free(p);
    weft_conn_free(a);
    weft_conn_free(b);
}

/* Lengths above max_message, including those near 2^32 and 2^64 and those
 * whose sum with the header would overflow, are refused before anything is
 * sent; max_message itself is accepted. */
static void test_length_validation(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, &(weft_pipe_opts){.max_message = 1000}), 0);
    char buf[1001] = {0};
    const size_t bad[] = {1001,
                          UINT32_MAX,
                          (size_t)UINT32_MAX + 1,
                          SIZE_MAX,
                          SIZE_MAX - 7,
                          SIZE_MAX - WEFT__CONN_HDR + 1,
                          (size_t)INT32_MAX + 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(weft_conn_send_bytes(a, buf, bad[i], 0), -EMSGSIZE);
    assert_int_equal(weft_conn_poll(b, 0), -EAGAIN); /* nothing went out */
    assert_int_equal(weft_conn_send_bytes(a, buf, 1000, 0), 0);
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(b, buf, sizeof buf, &n, 0), 0);
    assert_int_equal(n, 1000);
    weft_conn_free(a);
    weft_conn_free(b);

    /* The default max_message: 64 MiB accepted, one more refused. */
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    assert_int_equal(weft_conn_send_bytes(a, buf, WEFT_CONN_DEFAULT_MAX + 1, 0), -EMSGSIZE);
    assert_int_equal(weft_conn_send_bytes(a, buf, UINT32_MAX, 0), -EMSGSIZE);
    assert_int_equal(weft_conn_send_bytes(a, buf, SIZE_MAX, 0), -EMSGSIZE);
    weft_conn_free(a);
    weft_conn_free(b);
}

/* A header announcing more than max_message breaks the connection with -EPROTO
 * at once: no allocation, no wait for a body that would never fit. */
static void test_crafted_oversized_header(void **state)
{
    const uint32_t lens[] = {1025, UINT32_MAX, (uint32_t)WEFT_CONN_LIMIT};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        weft_conn *r, *w;
        assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true, .max_message = 1024}),
                         0);
        weft__conn_hdr h = p_hdr(lens[i]);
        assert_true(p_write_raw(weft_conn_fileno(w), &h, sizeof h));
        assert_int_equal(weft_conn_poll(r, 0), 0); /* ready: recv reports at once */
        char buf[16];
        size_t n;
        void *p = NULL;
        double t0 = weft_test_now();
        if (i % 2)
            assert_int_equal(weft_conn_recv_alloc(r, &p, &n, 5.0), -EPROTO);
        else
            assert_int_equal(weft_conn_recv_bytes(r, buf, sizeof buf, &n, 5.0), -EPROTO);
        assert_true(weft_test_now() - t0 < 2.0); /* did not wait for a body */
        assert_null(p);
        /* Sticky: later messages are not trusted. */
        assert_int_equal(weft_conn_send_bytes(w, "ok", 2, 0), 0);
        assert_int_equal(weft_conn_recv_bytes(r, buf, sizeof buf, &n, 0), -EPROTO);
        assert_int_equal(weft_conn_recv_alloc(r, &p, &n, 0), -EPROTO);
        weft_conn_free(r);
        weft_conn_free(w);
    }
}

/* A header with a bad check word (a corrupt or foreign stream) is -EPROTO. */
static void test_corrupt_header(void **state)
{
    weft_conn *r, *w;
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    assert_int_equal(weft_conn_send_bytes(w, "good", 4, 0), 0);
    weft__conn_hdr h = p_hdr(4);
    h.check ^= 0x100;
    assert_true(p_write_raw(weft_conn_fileno(w), &h, sizeof h));
    assert_true(p_write_raw(weft_conn_fileno(w), "evil", 4));
    char buf[8];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(r, buf, sizeof buf, &n, 1.0), 0);
    assert_memory_equal(buf, "good", 4);
    assert_int_equal(weft_conn_recv_bytes(r, buf, sizeof buf, &n, 1.0), -EPROTO);
    assert_int_equal(weft_conn_recv_bytes(r, buf, sizeof buf, &n, 1.0), -EPROTO);
    weft_conn_free(r);
    weft_conn_free(w);
}

static void test_timeouts(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    char buf[8];
    size_t n;
    void *p;
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), -EAGAIN);
    assert_int_equal(weft_conn_recv_alloc(b, &p, &n, 0), -EAGAIN);
    assert_int_equal(weft_conn_poll(b, 0), -EAGAIN);
    double t0 = weft_test_now();
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0.1), -ETIMEDOUT);
    double dt = weft_test_now() - t0;
    assert_true(dt >= 0.09 && dt < 5.0);
    t0 = weft_test_now();
    assert_int_equal(weft_conn_recv_alloc(b, &p, &n, 0.05), -ETIMEDOUT);
    assert_int_equal(weft_conn_poll(b, 0.05), -ETIMEDOUT);
    dt = weft_test_now() - t0;
    assert_true(dt >= 0.09 && dt < 5.0);

    /* A full pipe: send with timeout 0 / positive. */
    unsigned char chunk[1000] = {0};
    int sent = 0;
    while (weft_conn_send_bytes(a, chunk, sizeof chunk, 0) == 0)
        sent++;
    assert_true(sent > 10);
    assert_int_equal(weft_conn_send_bytes(a, chunk, sizeof chunk, 0), -EAGAIN);
    t0 = weft_test_now();
    assert_int_equal(weft_conn_send_bytes(a, chunk, sizeof chunk, 0.1), -ETIMEDOUT);
    dt = weft_test_now() - t0;
    assert_true(dt >= 0.09 && dt < 5.0);
    /* A long message that cannot start: nothing of it goes out. */
    static unsigned char big[200000];
    assert_int_equal(weft_conn_send_bytes(a, big, sizeof big, 0), -EAGAIN);
    assert_int_equal(weft_conn_send_bytes(a, big, sizeof big, 0.05), -ETIMEDOUT);
    /* Every message that was accepted is there, whole, and nothing else. */
    for (int i = 0; i < sent; i++) {
        unsigned char got[1000];
        assert_int_equal(weft_conn_recv_bytes(b, got, sizeof got, &n, 0), 0);
        assert_int_equal(n, sizeof chunk);
    }
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), -EAGAIN);
    weft_conn_free(a);
    weft_conn_free(b);
}

/* A timeout in the middle of a message keeps the part received; the next call
 * (either kind of receive) continues it, and what follows stays in step. */
static void partial_case(bool alloc_first, bool alloc_second, uint32_t len, uint32_t first)
{
    weft_conn *r, *w;
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    int fd = weft_conn_fileno(w);
    unsigned char *msg = malloc(len), *got = malloc(len);
    assert_non_null(msg);
    assert_non_null(got);
    p_fill(msg, len, len);
    weft__conn_hdr h = p_hdr(len);
    assert_true(p_write_raw(fd, &h, sizeof h));
    assert_true(p_write_raw(fd, msg, first));
    size_t n = 0;
    void *p = NULL;
    int rc = alloc_first ? weft_conn_recv_alloc(r, &p, &n, 0.05)
                         : weft_conn_recv_bytes(r, got, len, &n, 0.05);
    assert_int_equal(rc, -ETIMEDOUT);
    /* The caller's buffer may be reused for anything meanwhile. */
    memset(got, 0xee, len);
    assert_int_equal(weft_conn_recv_bytes(r, got, len, &n, 0), -EAGAIN);
    assert_int_equal(weft_conn_poll(r, 0), -EAGAIN);
    assert_true(p_write_raw(fd, msg + first, len - first));
    assert_int_equal(weft_conn_send_bytes(w, "after", 5, 0), 0);
    memset(got, 0, len);
    if (alloc_second) {
        assert_int_equal(weft_conn_recv_alloc(r, &p, &n, 5.0), 0);
        assert_int_equal(n, len);
        assert_true(p_check(p, n, len));
        free(p);
    } else {
        assert_int_equal(weft_conn_recv_bytes(r, got, 2, &n, 0), -EMSGSIZE);
        assert_int_equal(n, len);
        assert_int_equal(weft_conn_recv_bytes(r, got, len, &n, 5.0), 0);
        assert_int_equal(n, len);
        assert_true(p_check(got, n, len));
    }
    char buf[8];
    assert_int_equal(weft_conn_recv_bytes(r, buf, sizeof buf, &n, 5.0), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "after", 5);
    free(msg);
    free(got);
    weft_conn_free(r);
    weft_conn_free(w);
}

static void test_timeout_mid_message(void **state)
{
    for (int k = 0; k < 4; k++) {
        partial_case(k & 1, k & 2, 1000, 0);      /* header only */
        partial_case(k & 1, k & 2, 1000, 500);    /* read ahead into rbuf */
        partial_case(k & 1, k & 2, 60000, 30000); /* body read straight in */
        partial_case(k & 1, k & 2, 60000, 59999); /* one byte missing */
    }
    /* Half a header, then the rest. */
    weft_conn *r, *w;
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    weft__conn_hdr h = p_hdr(3);
    int fd = weft_conn_fileno(w);
    assert_true(p_write_raw(fd, &h, 5));
    char buf[8];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(r, buf, 8, &n, 0), -EAGAIN);
    assert_true(p_write_raw(fd, (char *)&h + 5, 3));
    assert_true(p_write_raw(fd, "abc", 3));
    assert_int_equal(weft_conn_recv_bytes(r, buf, 8, &n, 1.0), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "abc", 3);
    weft_conn_free(r);
    weft_conn_free(w);
}

/* The peer closing: messages already sent are still received, then -WEFT_EEOF
 * at once, every time; a message cut short by the close is -WEFT_ETORN. */
static void test_eof(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    assert_int_equal(weft_conn_send_bytes(a, "last", 4, 0), 0);
    weft_conn_free(a);
    char buf[8];
    size_t n;
    void *p;
    assert_int_equal(weft_conn_poll(b, 0), 0);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, WEFT_FOREVER), 0);
    assert_memory_equal(buf, "last", 4);
    assert_int_equal(weft_conn_poll(b, 0), 0); /* EOF is "ready" */
    double t0 = weft_test_now();
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, WEFT_FOREVER), -WEFT_EEOF);
    assert_int_equal(weft_conn_recv_alloc(b, &p, &n, 10.0), -WEFT_EEOF);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), -WEFT_EEOF);
    assert_true(weft_test_now() - t0 < 2.0);
    weft_conn_free(b);

    /* Torn: header and half the body, then the writer closes. */
    weft_conn *r, *w;
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    weft__conn_hdr h = p_hdr(100);
    assert_true(p_write_raw(weft_conn_fileno(w), &h, sizeof h));
    assert_true(p_write_raw(weft_conn_fileno(w), "0123456789", 10));
    assert_int_equal(weft_conn_close(w), 0);
    assert_int_equal(weft_conn_close(w), 0); /* again: harmless */
    assert_int_equal(weft_conn_recv_alloc(r, &p, &n, WEFT_FOREVER), -WEFT_ETORN);
    assert_int_equal(weft_conn_recv_bytes(r, buf, 8, &n, WEFT_FOREVER), -WEFT_EEOF);
    weft_conn_free(r);
    weft_conn_free(w);

    /* Torn inside the header. */
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    assert_true(p_write_raw(weft_conn_fileno(w), &h, 3));
    weft_conn_free(w);
    assert_int_equal(weft_conn_recv_bytes(r, buf, 8, &n, 1.0), -WEFT_ETORN);
    assert_int_equal(weft_conn_recv_bytes(r, buf, 8, &n, 1.0), -WEFT_EEOF);
    weft_conn_free(r);
}

static bool sigpipe_pending(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigpending(&s);
    return sigismember(&s, SIGPIPE) == 1;
}

static bool sigpipe_blocked(void)
{
    sigset_t s;
    pthread_sigmask(SIG_BLOCK, NULL, &s);
    return sigismember(&s, SIGPIPE) == 1;
}

/* Send to a closed peer: -WEFT_EBROKEN, short or long, and no SIGPIPE (its
 * default action would kill this test program). The caller's mask and pending
 * signals are left as they were. */
static void test_broken_no_sigpipe(void **state)
{
    static unsigned char big[300000];
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    weft_conn_free(b);
    assert_false(sigpipe_blocked());
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, WEFT_FOREVER), -WEFT_EBROKEN);
    assert_int_equal(weft_conn_send_bytes(a, big, sizeof big, WEFT_FOREVER), -WEFT_EBROKEN);
    assert_int_equal(weft_conn_send_bytes(a, NULL, 0, 0), -WEFT_EBROKEN);
    assert_false(sigpipe_blocked());
    assert_false(sigpipe_pending());
    /* The receive side of the same end sees EOF. */
    char buf[4];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(a, buf, 4, &n, 1.0), -WEFT_EEOF);

    /* Caller blocks SIGPIPE itself: still blocked after, ours not left pending. */
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, 0), -WEFT_EBROKEN);
    assert_true(sigpipe_blocked());
    assert_false(sigpipe_pending());
    /* ... and one of its own pending stays pending. */
    raise(SIGPIPE);
    assert_true(sigpipe_pending());
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, 0), -WEFT_EBROKEN);
    assert_true(sigpipe_pending());
    const struct timespec zero = {0, 0};
    assert_int_equal(sigtimedwait(&pipe_set, NULL, &zero), SIGPIPE);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    weft_conn_free(a);

    /* One-way: the writer sees the reader's close. */
    weft_conn *r, *w;
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    weft_conn_free(r);
    assert_int_equal(weft_conn_send_bytes(w, "x", 1, 0), -WEFT_EBROKEN);
    weft_conn_free(w);
}

/* opts.sigpipe_ignored: refused unless SIGPIPE is ignored; then a send to a
 * closed peer is still -WEFT_EBROKEN (and the ignored signal harmless). */
static void test_sigpipe_ignored_opt(void **state)
{
    weft_conn *a, *b;
    weft_pipe_opts o = {.sigpipe_ignored = true};
    assert_int_equal(weft_pipe(&a, &b, &o), -EINVAL); /* SIGPIPE has its default */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
    assert_int_equal(weft_pipe(&a, &b, &o), 0);
    roundtrip(a, b, "no guard");
    weft_conn_free(b);
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, 0), -WEFT_EBROKEN);
    assert_false(sigpipe_pending());
    weft_conn_free(a);
    assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

/* After close: -EBADF everywhere. */
static void test_closed_end(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    assert_int_equal(weft_conn_send_bytes(a, "unread", 6, 0), 0);
    assert_int_equal(weft_conn_close(b), 0);
    char buf[8];
    size_t n;
    void *p;
    assert_false(weft_conn_readable(b));
    assert_false(weft_conn_writable(b));
    assert_int_equal(weft_conn_fileno(b), -EBADF);
    assert_int_equal(weft_conn_send_bytes(b, "x", 1, 0), -EBADF);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), -EBADF);
    assert_int_equal(weft_conn_recv_alloc(b, &p, &n, 0), -EBADF);
    assert_int_equal(weft_conn_poll(b, 0), -EBADF);
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, 0), -WEFT_EBROKEN);
    assert_int_equal(weft_conn_recv_bytes(a, buf, 8, &n, 0), -WEFT_EEOF);
    weft_conn_free(a);
    weft_conn_free(b);
}

/* fileno works in the caller's poll(); read-ahead is visible to
 * weft_conn_poll but not to the fd, as documented. */
static void test_fileno_poll(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    struct pollfd pf = {.fd = weft_conn_fileno(b), .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 0);
    assert_int_equal(weft_conn_send_bytes(a, "m1", 2, 0), 0);
    assert_int_equal(weft_conn_send_bytes(a, "m2", 2, 0), 0);
    assert_int_equal(weft_conn_send_bytes(a, "m3", 2, 0), 0);
    assert_int_equal(poll(&pf, 1, 1000), 1);
    assert_true(pf.revents & POLLIN);
    char buf[4];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(b, buf, 4, &n, 0), 0);
    assert_memory_equal(buf, "m1", 2);
    /* m2 and m3 were read ahead: the fd is quiet, the connection is not. */
    pf.revents = 0;
    assert_int_equal(poll(&pf, 1, 0), 0);
    assert_int_equal(weft_conn_poll(b, 0), 0);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 4, &n, 0), 0);
    assert_memory_equal(buf, "m2", 2);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 4, &n, 0), 0);
    assert_memory_equal(buf, "m3", 2);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 4, &n, 0), -EAGAIN);
    assert_int_equal(weft_conn_poll(b, 0), -EAGAIN);
    /* Peer's close makes the fd readable (hang-up) and poll ready. */
    weft_conn_free(a);
    assert_int_equal(poll(&pf, 1, 1000), 1);
    assert_true(pf.revents & (POLLIN | POLLHUP));
    assert_int_equal(weft_conn_poll(b, 1.0), 0);
    weft_conn_free(b);
}

/* weft_conn_poll with a positive timeout wakes when data comes. */
static void *late_sender(void *arg)
{
    weft_test_sleep(0.1);
    assert_int_equal(weft_conn_send_bytes(arg, "late", 4, WEFT_FOREVER), 0);
    return NULL;
}

static void test_poll_wakes(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, late_sender, a), 0);
    double t0 = weft_test_now();
    assert_int_equal(weft_conn_poll(b, 30.0), 0);
    double dt = weft_test_now() - t0;
    assert_true(dt >= 0.05 && dt < 20.0);
    char buf[8];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 0), 0);
    assert_memory_equal(buf, "late", 4);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* recv with a positive timeout also wakes. */
    assert_int_equal(pthread_create(&t, NULL, late_sender, a), 0);
    assert_int_equal(weft_conn_recv_bytes(b, buf, 8, &n, 30.0), 0);
    assert_memory_equal(buf, "late", 4);
    assert_int_equal(pthread_join(t, NULL), 0);
    weft_conn_free(a);
    weft_conn_free(b);
}

static void test_strerror(void **state)
{
    assert_string_equal(weft_strerror(-WEFT_EBROKEN), weft_strerror(-EPIPE));
    assert_true(strlen(weft_strerror(-WEFT_EEOF)) > 0);
    assert_true(strlen(weft_strerror(-WEFT_ETORN)) > 0);
    assert_int_not_equal(WEFT_EEOF, WEFT_ETORN);
    assert_int_not_equal(WEFT_EEOF, WEFT_EBROKEN);
    assert_int_not_equal(WEFT_EEOF, EAGAIN);
    assert_int_not_equal(WEFT_ETORN, EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_bad_opts),
        cmocka_unit_test(test_duplex),
        cmocka_unit_test(test_one_way),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_msgsize_retry),
        cmocka_unit_test(test_length_validation),
        cmocka_unit_test(test_crafted_oversized_header),
        cmocka_unit_test(test_corrupt_header),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_timeout_mid_message),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_broken_no_sigpipe),
        cmocka_unit_test(test_sigpipe_ignored_opt),
        cmocka_unit_test(test_closed_end),
        cmocka_unit_test(test_fileno_poll),
        cmocka_unit_test(test_poll_wakes),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
