/* Queue between processes: every call and code, order, wrap-around, blocking and
 * waking across fork(), corruption of the shared state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/ipcq_internal.h"
#include "weft/ipc.h"
#include "weft_test.h"

static weft_ipc_queue *make(size_t maxsize, size_t capacity, size_t max_message)
{
    weft_ipc_queue *q = NULL;
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.maxsize = maxsize,
                                                                    .capacity = capacity,
                                                                    .max_message = max_message}),
                     0);
    return q;
}

/* Wait for a forked child and return its exit status (-signal if killed). */
static int reap(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void test_bad_arguments(void **state)
{
    weft_ipc_queue *q = NULL;
    assert_int_equal(weft_ipc_queue_new(NULL, NULL), -EINVAL);
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.capacity = (1ul << 30) + 1}),
                     -EINVAL);
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.capacity = 64,
                                                                   .max_message = 57}),
                     -EINVAL);
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.maxsize = (1ul << 27) + 1}),
                     -EINVAL);
    assert_null(q);
    q = make(0, 0, 0);
    assert_int_equal(weft_ipc_queue_capacity(q), 1u << 20);
    assert_int_equal(weft_ipc_queue_max_message(q), (1u << 20) - 8);
    char buf[8];
    size_t len;
    assert_int_equal(weft_ipc_queue_put(NULL, "x", 1, 0), -EINVAL);
    assert_int_equal(weft_ipc_queue_put(q, NULL, 1, 0), -EINVAL);
    assert_int_equal(weft_ipc_queue_put(q, "x", 1, NAN), -EINVAL);
    assert_int_equal(weft_ipc_queue_get(NULL, buf, sizeof buf, &len, 0), -EINVAL);
    assert_int_equal(weft_ipc_queue_get(q, buf, sizeof buf, NULL, 0), -EINVAL);
    assert_int_equal(weft_ipc_queue_get(q, NULL, 4, &len, 0), -EINVAL);
    assert_int_equal(weft_ipc_queue_get(q, buf, sizeof buf, &len, NAN), -EINVAL);
    assert_int_equal(weft_ipc_queue_qsize(NULL), 0);
    assert_false(weft_ipc_queue_full(NULL));
    assert_int_equal(weft_ipc_queue_close(NULL), -EINVAL);
    weft_ipc_queue_free(NULL);
    weft_ipc_queue_free(q);
}

static void test_capacity_rounding(void **state)
{
    weft_ipc_queue *q = make(0, 100, 0);
    assert_int_equal(weft_ipc_queue_capacity(q), 128);
    assert_int_equal(weft_ipc_queue_max_message(q), 120);
    weft_ipc_queue_free(q);
    q = make(0, 1, 0);
    assert_int_equal(weft_ipc_queue_capacity(q), 64);
    weft_ipc_queue_free(q);
}

static void test_fifo_order_and_empty_messages(void **state)
{
    weft_ipc_queue *q = make(0, 4096, 0);
    const char *words[] = {"A", "", "BB", "a longer message of thirty bytes", ""};
    for (int i = 0; i < 5; i++)
        assert_int_equal(weft_ipc_queue_put(q, words[i], strlen(words[i]), 0), 0);
    assert_int_equal(weft_ipc_queue_qsize(q), 5);
    assert_false(weft_ipc_queue_empty(q));
    for (int i = 0; i < 5; i++) {
        char buf[64];
        size_t len = 999;
        assert_int_equal(weft_ipc_queue_get(q, buf, sizeof buf, &len, 0), 0);
        assert_int_equal(len, strlen(words[i]));
        assert_memory_equal(buf, words[i], len);
    }
    assert_true(weft_ipc_queue_empty(q));
    size_t len;
    char c;
    assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 0), -WEFT_EEMPTY);
    /* an empty message may be got with no buffer at all */
    assert_int_equal(weft_ipc_queue_put(q, NULL, 0, 0), 0);
    assert_int_equal(weft_ipc_queue_get(q, NULL, 0, &len, 0), 0);
    assert_int_equal(len, 0);
    weft_ipc_queue_free(q);
}

static void test_maxsize_full(void **state)
{
    weft_ipc_queue *q = make(5, 4096, 0); /* Python's Queue(5) */
    for (int i = 0; i < 5; i++) {
        assert_false(weft_ipc_queue_full(q));
        assert_int_equal(weft_ipc_queue_put(q, &i, sizeof i, 0), 0);
    }
    assert_true(weft_ipc_queue_full(q));
    assert_int_equal(weft_ipc_queue_qsize(q), 5);
    int x = 9;
    assert_int_equal(weft_ipc_queue_put(q, &x, sizeof x, 0), -WEFT_EFULL);
    double t0 = weft_test_now();
    assert_int_equal(weft_ipc_queue_put(q, &x, sizeof x, 0.05), -ETIMEDOUT);
    double took = weft_test_now() - t0;
    assert_true(took >= 0.045 && took < 5);
    int v;
    size_t len;
    assert_int_equal(weft_ipc_queue_get(q, &v, sizeof v, &len, 0), 0);
    assert_int_equal(v, 0);
    assert_int_equal(weft_ipc_queue_put(q, &x, sizeof x, 0), 0);
    for (int want = 1; want <= 5; want++) {
        assert_int_equal(weft_ipc_queue_get(q, &v, sizeof v, &len, 0), 0);
        assert_int_equal(v, want == 5 ? 9 : want);
    }
    weft_ipc_queue_free(q);
}

static void test_bytes_full_and_message_sizes(void **state)
{
    weft_ipc_queue *q = make(0, 64, 0); /* 64 bytes: records of 8 + 8 */
    char big[57] = {0};
    assert_int_equal(weft_ipc_queue_put(q, big, 57, 0), -EMSGSIZE);
    assert_int_equal(weft_ipc_queue_put(q, big, 56, 0), 0); /* exactly the ring */
    assert_true(weft_ipc_queue_full(q));
    assert_int_equal(weft_ipc_queue_put(q, NULL, 0, 0), -WEFT_EFULL);
    char out[56];
    size_t len = 0;
    /* too small a buffer: the message stays and its size is told */
    assert_int_equal(weft_ipc_queue_get(q, out, 10, &len, 0), -EMSGSIZE);
    assert_int_equal(len, 56);
    assert_int_equal(weft_ipc_queue_qsize(q), 1);
    assert_int_equal(weft_ipc_queue_get(q, out, sizeof out, &len, 0), 0);
    assert_int_equal(len, 56);
    for (int i = 0; i < 4; i++)
        assert_int_equal(weft_ipc_queue_put(q, "12345678", 8, 0), 0);
    assert_true(weft_ipc_queue_full(q));
    assert_int_equal(weft_ipc_queue_put(q, "1", 1, 0), -WEFT_EFULL);
    weft_ipc_queue_free(q);
    q = make(0, 1024, 100);
    assert_int_equal(weft_ipc_queue_put(q, big, 57, 0), 0);
    char huge[101] = {0};
    assert_int_equal(weft_ipc_queue_put(q, huge, 101, 0), -EMSGSIZE);
    weft_ipc_queue_free(q);
}

/* Messages of every length 0..300 through a 512-byte ring, many laps: records
 * and payloads wrap at every possible offset. */
static void test_wrap_around(void **state)
{
    weft_ipc_queue *q = make(0, 512, 0);
    unsigned char in[300], out[300];
    for (int lap = 0; lap < 20; lap++)
        for (size_t n = 0; n <= 300; n += 7) {
            for (size_t i = 0; i < n; i++)
                in[i] = (unsigned char)(lap * 31 + n + i);
            assert_int_equal(weft_ipc_queue_put(q, in, n, 0), 0);
            if (n % 2) { /* keep a second message in flight now and then */
                assert_int_equal(weft_ipc_queue_put(q, in, n / 3, 0), 0);
                size_t len;
                assert_int_equal(weft_ipc_queue_get(q, out, sizeof out, &len, 0), 0);
                assert_int_equal(len, n);
                assert_memory_equal(out, in, n);
                assert_int_equal(weft_ipc_queue_get(q, out, sizeof out, &len, 0), 0);
                assert_int_equal(len, n / 3);
                assert_memory_equal(out, in, n / 3);
            } else {
                size_t len;
                assert_int_equal(weft_ipc_queue_get(q, out, sizeof out, &len, 0), 0);
                assert_int_equal(len, n);
                assert_memory_equal(out, in, n);
            }
        }
    assert_true(weft_ipc_queue_empty(q));
    weft_ipc_queue_free(q);
}

static void test_close(void **state)
{
    weft_ipc_queue *q = make(0, 0, 0);
    assert_int_equal(weft_ipc_queue_put(q, "x", 1, 0), 0);
    assert_int_equal(weft_ipc_queue_close(q), 0);
    char c;
    size_t len;
    assert_int_equal(weft_ipc_queue_put(q, "x", 1, 0), -EBADF);
    assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 0), -EBADF);
    weft_ipc_queue_free(q);
}

/* The tutorial: a writer process puts 'A', 'B', 'C'; the reader gets them in
 * order; a child evaluates "10+20+30" and sends back 60. */
static void test_writer_reader_processes(void **state)
{
    weft_ipc_queue *q = make(0, 0, 0), *back = make(0, 0, 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ok = 1;
        for (const char *s = "ABC"; *s; s++)
            ok &= weft_ipc_queue_put(q, s, 1, WEFT_FOREVER) == 0;
        char expr[32];
        size_t len;
        ok &= weft_ipc_queue_get(back, expr, sizeof expr - 1, &len, 10) == 0;
        expr[len] = 0;
        long sum = 0;
        for (char *p = expr; *p;)
            sum += strtol(p, &p, 10);
        ok &= weft_ipc_queue_put(q, &sum, sizeof sum, WEFT_FOREVER) == 0;
        _exit(ok ? 0 : 1);
    }
    for (const char *s = "ABC"; *s; s++) {
        char c = 0;
        size_t len = 0;
        assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 10), 0);
        assert_int_equal(len, 1);
        assert_int_equal(c, *s);
    }
    assert_int_equal(weft_ipc_queue_put(back, "10+20+30", 8, 0), 0);
    long sum = 0;
    size_t len;
    assert_int_equal(weft_ipc_queue_get(q, &sum, sizeof sum, &len, 10), 0);
    assert_int_equal(sum, 60);
    assert_int_equal(reap(pid), 0);
    weft_ipc_queue_free(q);
    weft_ipc_queue_free(back);
}

/* A get blocked on an empty queue is woken by another process's put, and a put
 * blocked on a full one by another process's get. */
static void test_blocking_across_processes(void **state)
{
    weft_ipc_queue *q = make(1, 0, 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        weft_test_sleep(0.1);
        int ok = weft_ipc_queue_put(q, "1", 1, WEFT_FOREVER) == 0;
        ok &= weft_ipc_queue_put(q, "2", 1, WEFT_FOREVER) == 0; /* waits for room */
        _exit(ok ? 0 : 1);
    }
    char c;
    size_t len;
    double t0 = weft_test_now();
    assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 30), 0);
    assert_true(weft_test_now() - t0 >= 0.05);
    assert_int_equal(c, '1');
    weft_test_sleep(0.1); /* the child is blocked in its second put now, most likely */
    assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 30), 0);
    assert_int_equal(c, '2');
    assert_int_equal(reap(pid), 0);
    weft_ipc_queue_free(q);
}

/* Corrupt committed words or record headers: a clear code, then the same code
 * for every call, in this process and in another. */
static void test_corruption_is_detected(void **state)
{
    const struct {
        int which; /* 0 tail off, 1 head ahead of tail, 2 record length, 3 check */
    } cases[] = {{0}, {1}, {2}, {3}};
    for (size_t k = 0; k < 4; k++) {
        weft_ipc_queue *q = make(0, 256, 0);
        assert_int_equal(weft_ipc_queue_put(q, "hello", 5, 0), 0);
        struct ipcq_shared *sh = q->sh;
        uint32_t *hdr = (uint32_t *)sh->ring;
        switch (cases[k].which) {
        case 0: sh->tail = ipcq_word(1, 4096); break;
        case 1: sh->head = ipcq_word(2, 64); break;
        case 2: hdr[0] = 1000000; break;
        case 3: hdr[1] ^= 1; break;
        }
        char buf[16];
        size_t len;
        assert_int_equal(weft_ipc_queue_get(q, buf, sizeof buf, &len, 0), -WEFT_ECORRUPT);
        assert_int_equal(weft_ipc_queue_put(q, "x", 1, 0), -WEFT_ECORRUPT);
        pid_t pid = fork();
        if (pid == 0)
            _exit(weft_ipc_queue_get(q, buf, sizeof buf, &len, 0) == -WEFT_ECORRUPT ? 0 : 1);
        assert_int_equal(reap(pid), 0);
        assert_true(weft_ipc_queue_qsize(q) <= 256 / 8); /* bounded even now */
        weft_ipc_queue_free(q);
    }
}

/* A process killed while it holds the put lock (stopped inside a put waiting for
 * room) leaves the queue usable: the next put gets the lock. */
static void test_producer_killed_holding_lock(void **state)
{
    weft_ipc_queue *q = make(1, 0, 0);
    assert_int_equal(weft_ipc_queue_put(q, "a", 1, 0), 0); /* full now */
    pid_t pid = fork();
    if (pid == 0) {
        weft_ipc_queue_put(q, "b", 1, WEFT_FOREVER); /* holds put_lock, waits */
        _exit(0);
    }
    weft_test_sleep(0.1);
    kill(pid, SIGKILL);
    assert_int_equal(reap(pid), -SIGKILL);
    char c;
    size_t len;
    assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 0), 0);
    assert_int_equal(c, 'a');
    assert_int_equal(weft_ipc_queue_put(q, "c", 1, 5), 0);
    assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 0), 0);
    assert_int_equal(c, 'c');
    assert_int_equal(weft_ipc_queue_get(q, &c, 1, &len, 0), -WEFT_EEMPTY);
    weft_ipc_queue_free(q);
}

/* A put whose process died after its commit but before its notify: the
 * record is committed, nobody wakes the consumer - which must still get it, by
 * its next look (sleeps are capped), not never. */
static void commit_without_notify(weft_ipc_queue *q, const char *msg, uint32_t len)
{
    struct ipcq_shared *sh = q->sh;
    uint64_t t = sh->tail, off = ipcq_off(t);
    uint32_t hdr[2] = {len, ~len ^ (uint32_t)(off >> 3)};
    memcpy(sh->ring + (off & q->mask), hdr, sizeof hdr);
    memcpy(sh->ring + ((off + 8) & q->mask), msg, len); /* no wrap: tests start empty */
    __atomic_store_n(&sh->tail, ipcq_word(ipcq_cnt(t) + 1, off + ipcq_record_size(len)),
                     __ATOMIC_RELEASE);
}

static void test_lost_notify_still_delivers(void **state)
{
    weft_ipc_queue *q = make(0, 4096, 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c = 0;
        size_t len;
        int rc = weft_ipc_queue_get(q, &c, 1, &len, WEFT_FOREVER); /* sleeps */
        _exit(rc == 0 && c == 'z' ? 0 : 1);
    }
    weft_test_sleep(0.2); /* the child is asleep on the eventcount by now */
    commit_without_notify(q, "z", 1);
    double t0 = weft_test_now();
    int st;
    while (waitpid(pid, &st, WNOHANG) == 0 && weft_test_now() - t0 < 10)
        weft_test_sleep(0.01);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    weft_ipc_queue_free(q);
}

/* Timeout 0 with the side's lock taken by someone else: an empty queue answers
 * at once, without waiting for the lock. */
static void test_nonblocking_with_side_lock_taken(void **state)
{
    weft_ipc_queue *q = make(1, 4096, 0);
    assert_int_equal(weft_shared_lock_acquire(&q->sh->get_lock, 0), 0);
    pid_t pid = fork(); /* another process, so the lock is not ours there */
    if (pid == 0) {
        char c;
        size_t len;
        double t0 = weft_test_now();
        int rc = weft_ipc_queue_get(q, &c, 1, &len, 0);
        _exit(rc == -WEFT_EEMPTY && weft_test_now() - t0 < 1 ? 0 : 1);
    }
    assert_int_equal(reap(pid), 0);
    assert_int_equal(weft_shared_lock_release(&q->sh->get_lock), 0);
    weft_ipc_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_capacity_rounding),
        cmocka_unit_test(test_fifo_order_and_empty_messages),
        cmocka_unit_test(test_maxsize_full),
        cmocka_unit_test(test_bytes_full_and_message_sizes),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_writer_reader_processes),
        cmocka_unit_test(test_blocking_across_processes),
        cmocka_unit_test(test_corruption_is_detected),
        cmocka_unit_test(test_producer_killed_holding_lock),
        cmocka_unit_test(test_lost_notify_still_delivers),
        cmocka_unit_test(test_nonblocking_with_side_lock_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
