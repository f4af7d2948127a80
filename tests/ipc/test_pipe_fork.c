/* Pipe across fork(): messages of every size (up to 16 MiB, far beyond the
 * pipe's buffer) both ways with their content checked, the tutorial's
 * "evaluate 10+20+30 in a child", a peer that exits or is SIGKILLed (before or
 * in the middle of a message) giving a clear code and never a hang or a torn
 * message, and a stress of many messages in sequence. Children leave with
 * _exit(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>

#include "ipc/test_pipe_util.h"

static const size_t sizes[] = {1, 64, 64 << 10, 1 << 20, 16 << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define BIG (16u << 20)

/* Child: receive each size (alternating recv_bytes and recv_alloc), check it,
 * send it back. Exit code: 0, or 10 + the step that failed. */
static int echo_child(weft_conn *c)
{
    unsigned char *buf = malloc(BIG);
    if (!buf)
        return 9;
    for (size_t i = 0; i < NSIZES; i++) {
        size_t n = 0;
        void *p = NULL;
        int rc = (i % 2) ? weft_conn_recv_alloc(c, &p, &n, 60.0)
                         : weft_conn_recv_bytes(c, buf, BIG, &n, 60.0);
        const unsigned char *got = (i % 2) ? p : buf;
        if (rc != 0 || n != sizes[i] || !p_check(got, n, (uint32_t)i + 1))
            return 10 + (int)i;
        if (weft_conn_send_bytes(c, got, n, 60.0) != 0)
            return 20 + (int)i;
        free(p);
    }
    free(buf);
    return 0;
}

static void test_sizes_both_ways(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_conn_free(a);
        int code = echo_child(b);
        weft_conn_free(b);
        _exit(code);
    }
    weft_conn_free(b);
    unsigned char *out = malloc(BIG), *in = malloc(BIG);
    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < NSIZES; i++) {
        p_fill(out, sizes[i], (uint32_t)i + 1);
        assert_int_equal(weft_conn_send_bytes(a, out, sizes[i], 60.0), 0);
        size_t n = 0;
        memset(in, 0, sizes[i]);
        assert_int_equal(weft_conn_recv_bytes(a, in, BIG, &n, 60.0), 0);
        assert_int_equal(n, sizes[i]);
        assert_true(p_check(in, n, (uint32_t)i + 1));
    }
    assert_int_equal(p_wait(pid), 0);
    /* The child is gone: end of file, at once. */
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(a, in, BIG, &n, WEFT_FOREVER), -WEFT_EEOF);
    free(out);
    free(in);
    weft_conn_free(a);
}

/* One-way: Python's r, w = Pipe(duplex=False); the child writes every size. */
static void test_one_way_sizes(void **state)
{
    weft_conn *r, *w;
    assert_int_equal(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_conn_free(r);
        unsigned char *out = malloc(BIG);
        int code = out ? 0 : 9;
        for (size_t i = 0; code == 0 && i < NSIZES; i++) {
            p_fill(out, sizes[i], (uint32_t)i + 100);
            if (weft_conn_send_bytes(w, out, sizes[i], 60.0) != 0)
                code = 10 + (int)i;
        }
        free(out);
        weft_conn_free(w);
        _exit(code);
    }
    weft_conn_free(w);
    for (size_t i = 0; i < NSIZES; i++) {
        void *p = NULL;
        size_t n = 0;
        assert_int_equal(weft_conn_recv_alloc(r, &p, &n, 60.0), 0);
        assert_int_equal(n, sizes[i]);
        assert_true(p_check(p, n, (uint32_t)i + 100));
        free(p);
    }
    void *p;
    size_t n;
    assert_int_equal(weft_conn_recv_alloc(r, &p, &n, 60.0), -WEFT_EEOF);
    assert_int_equal(p_wait(pid), 0);
    weft_conn_free(r);
}

/* The tutorial: a child evaluates "10+20+30" and sends back 60. */
static long eval_sum(const char *s, size_t n)
{
    long total = 0, term = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            total += term;
            term = 0;
        } else {
            term = term * 10 + (s[i] - '0');
        }
    }
    return total + term;
}

static void test_tutorial_eval(void **state)
{
    weft_conn *parent, *child;
    assert_int_equal(weft_pipe(&parent, &child, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_conn_free(parent);
        char expr[64], out[32];
        size_t n;
        if (weft_conn_recv_bytes(child, expr, sizeof expr, &n, 30.0) != 0)
            _exit(1);
        int len = snprintf(out, sizeof out, "%ld", eval_sum(expr, n));
        int rc = weft_conn_send_bytes(child, out, (size_t)len, 30.0);
        weft_conn_free(child);
        _exit(rc == 0 ? 0 : 2);
    }
    weft_conn_free(child);
    const char *expr = "10+20+30";
    assert_int_equal(weft_conn_send_bytes(parent, expr, strlen(expr), 30.0), 0);
    char answer[32];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(parent, answer, sizeof answer - 1, &n, 30.0), 0);
    answer[n] = '\0';
    assert_string_equal(answer, "60");
    assert_int_equal(p_wait(pid), 0);
    weft_conn_free(parent);
}

/* A peer that exits without sending: -WEFT_EEOF at once; then sending to it is
 * -WEFT_EBROKEN with no SIGPIPE (which would kill this program). */
static void test_peer_exits(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_conn_free(a);
        weft_test_sleep(0.1); /* let the parent block in recv first */
        _exit(0);             /* the kernel closes b */
    }
    weft_conn_free(b);
    char buf[8];
    size_t n;
    double t0 = weft_test_now();
    assert_int_equal(weft_conn_recv_bytes(a, buf, 8, &n, WEFT_FOREVER), -WEFT_EEOF);
    assert_true(weft_test_now() - t0 < 20.0);
    assert_int_equal(weft_conn_poll(a, 0), 0);
    assert_int_equal(p_wait(pid), 0);
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, WEFT_FOREVER), -WEFT_EBROKEN);
    static unsigned char big[1 << 20];
    assert_int_equal(weft_conn_send_bytes(a, big, sizeof big, WEFT_FOREVER), -WEFT_EBROKEN);
    weft_conn_free(a);
}

/* The child writes a header and half a large message, then SIGKILLs itself.
 * raw: written to the fd directly (exactly half); else: the real send path,
 * stuck when the pipe is full, killed by the parent. Either way the reader gets
 * -WEFT_ETORN (not a hang, not a short message), then -WEFT_EEOF. */
static void killed_mid_message(bool raw, bool alloc)
{
    const size_t len = 4u << 20;
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    assert_int_equal(weft_conn_send_bytes(a, "before", 6, 0), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_conn_free(a);
        unsigned char *out = malloc(len);
        p_fill(out, len, 77);
        char buf[8];
        size_t n;
        if (weft_conn_recv_bytes(b, buf, 8, &n, 30.0) != 0) /* in step with the parent */
            _exit(1);
        if (weft_conn_send_bytes(b, "whole", 5, 30.0) != 0)
            _exit(2);
        if (raw) {
            weft__conn_hdr h = p_hdr((uint32_t)len);
            p_write_raw(b->wfd, &h, sizeof h);
            p_write_raw(b->wfd, out, len / 2); /* blocks until the parent reads */
            raise(SIGKILL);
        }
        weft_conn_send_bytes(b, out, len, WEFT_FOREVER); /* killed in here */
        _exit(3);
    }
    weft_conn_free(b);
    char buf[8];
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(a, buf, 8, &n, 30.0), 0);
    assert_memory_equal(buf, "whole", 5);
    if (!raw) { /* let the child fill the pipe and block, then kill it */
        struct pollfd pf = {.fd = weft_conn_fileno(a), .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 30000), 1);
        weft_test_sleep(0.2);
        kill(pid, SIGKILL);
    }
    unsigned char *in = malloc(len);
    void *p = NULL;
    double t0 = weft_test_now();
    int rc = alloc ? weft_conn_recv_alloc(a, &p, &n, WEFT_FOREVER)
                   : weft_conn_recv_bytes(a, in, len, &n, WEFT_FOREVER);
    assert_int_equal(rc, -WEFT_ETORN);
    assert_null(p);
    assert_true(weft_test_now() - t0 < 30.0);
    assert_int_equal(weft_conn_recv_bytes(a, in, len, &n, WEFT_FOREVER), -WEFT_EEOF);
    assert_int_equal(p_wait(pid), -2 - SIGKILL);
    /* The parent's own direction: the dead child's read end is gone. */
    assert_int_equal(weft_conn_send_bytes(a, "x", 1, 0), -WEFT_EBROKEN);
    free(in);
    weft_conn_free(a);
}

static void test_killed_mid_message(void **state)
{
    killed_mid_message(true, false);
    killed_mid_message(true, true);
    killed_mid_message(false, false);
    killed_mid_message(false, true);
}

/* The reader is SIGKILLed while we are in the middle of sending it 16 MiB: the
 * send ends with -WEFT_EBROKEN, not a hang, and no SIGPIPE. */
static void test_reader_killed_during_send(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_conn_free(a);
        char buf[64];
        ssize_t k = read(b->rfd, buf, sizeof buf); /* the first bytes, then die */
        (void)k;
        raise(SIGKILL);
        _exit(1);
    }
    weft_conn_free(b);
    unsigned char *big = calloc(1, BIG);
    assert_non_null(big);
    double t0 = weft_test_now();
    assert_int_equal(weft_conn_send_bytes(a, big, BIG, WEFT_FOREVER), -WEFT_EBROKEN);
    assert_true(weft_test_now() - t0 < 30.0);
    assert_int_equal(p_wait(pid), -2 - SIGKILL);
    free(big);
    weft_conn_free(a);
}

/* Stress: the child sends many messages of varying sizes (0 B to 70 KiB), each
 * starting with its sequence number; the parent checks every one in order and
 * its content, then reports the count back; the child checks that too. */
#ifdef WEFT_TSAN
#define STRESS_N 20000u
#else
#define STRESS_N 100000u
#endif

static size_t stress_len(uint32_t seq)
{
    uint32_t h = seq * 2654435761u;
    if (h % 97 == 0)
        return 4096 + h % 70000; /* now and then longer than a page or the buffer */
    return (seq % 5 == 0) ? 0 : h % 300;
}

static void test_stress_sequence(void **state)
{
    weft_conn *a, *b;
    assert_int_equal(weft_pipe(&a, &b, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_conn_free(a);
        unsigned char *out = malloc(80000);
        for (uint32_t seq = 0; seq < STRESS_N; seq++) {
            size_t len = stress_len(seq) + sizeof seq;
            memcpy(out, &seq, sizeof seq);
            p_fill(out + sizeof seq, len - sizeof seq, seq);
            if (weft_conn_send_bytes(b, out, len, 60.0) != 0)
                _exit(1);
        }
        uint32_t count = 0;
        size_t n;
        if (weft_conn_recv_bytes(b, &count, sizeof count, &n, 60.0) != 0 || count != STRESS_N)
            _exit(2);
        free(out);
        weft_conn_free(b);
        _exit(0);
    }
    weft_conn_free(b);
    unsigned char *in = malloc(80000);
    uint32_t count = 0;
    for (uint32_t seq = 0; seq < STRESS_N; seq++) {
        size_t n = 0;
        int rc = weft_conn_recv_bytes(a, in, 80000, &n, 60.0);
        uint32_t got;
        memcpy(&got, in, sizeof got);
        if (rc != 0 || n != stress_len(seq) + sizeof seq || got != seq ||
            !p_check(in + sizeof seq, n - sizeof seq, seq))
            fail_msg("message %u: rc %d, len %zu, seq %u", seq, rc, n, got);
        count++;
    }
    assert_int_equal(weft_conn_send_bytes(a, &count, sizeof count, 60.0), 0);
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(a, in, 80000, &n, 60.0), -WEFT_EEOF);
    assert_int_equal(p_wait(pid), 0);
    free(in);
    weft_conn_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_both_ways),    cmocka_unit_test(test_one_way_sizes),
        cmocka_unit_test(test_tutorial_eval),      cmocka_unit_test(test_peer_exits),
        cmocka_unit_test(test_killed_mid_message), cmocka_unit_test(test_reader_killed_during_send),
        cmocka_unit_test(test_stress_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
