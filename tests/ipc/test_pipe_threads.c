/* One end shared by threads of a process: senders' messages never interleave
 * (also long ones, written in many pieces), every message reaches exactly one
 * receiver, whole, and each receiver sees each sender's messages in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "ipc/test_pipe_util.h"

#define SENDERS 3
#define RECEIVERS 2
#ifdef WEFT_TSAN
#define PER_SENDER 4000u
#else
#define PER_SENDER 10000u
#endif
#define MAXLEN 20000

struct tag {
    uint32_t sender, seq;
};

static weft_conn *tx, *rx;
static int seen[SENDERS][PER_SENDER]; /* times each message arrived (atomic adds) */

static size_t msg_len(uint32_t sender, uint32_t seq)
{
    uint32_t h = (seq + 1) * 2654435761u ^ sender;
    return sizeof(struct tag) + ((h % 50 == 0) ? h % MAXLEN : h % 200);
}

static void *sender(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg;
    unsigned char *out = malloc(sizeof(struct tag) + MAXLEN);
    for (uint32_t seq = 0; seq < PER_SENDER; seq++) {
        struct tag t = {me, seq};
        size_t len = msg_len(me, seq);
        memcpy(out, &t, sizeof t);
        p_fill(out + sizeof t, len - sizeof t, me * PER_SENDER + seq);
        assert_int_equal(weft_conn_send_bytes(tx, out, len, 60.0), 0);
    }
    free(out);
    return NULL;
}

static void *receiver(void *arg)
{
    unsigned char *in = malloc(sizeof(struct tag) + MAXLEN);
    int64_t last[SENDERS] = {-1, -1, -1};
    for (;;) {
        size_t n = 0;
        assert_int_equal(weft_conn_recv_bytes(rx, in, sizeof(struct tag) + MAXLEN, &n, 60.0), 0);
        if (n == 0) /* stop */
            break;
        struct tag t;
        assert_true(n >= sizeof t);
        memcpy(&t, in, sizeof t);
        assert_true(t.sender < SENDERS && t.seq < PER_SENDER);
        assert_int_equal(n, msg_len(t.sender, t.seq));
        assert_true(p_check(in + sizeof t, n - sizeof t, t.sender * PER_SENDER + t.seq));
        assert_true((int64_t)t.seq > last[t.sender]);
        last[t.sender] = t.seq;
        __atomic_fetch_add(&seen[t.sender][t.seq], 1, __ATOMIC_RELAXED);
    }
    free(in);
    return NULL;
}

static void test_shared_ends(void **state)
{
    assert_int_equal(weft_pipe(&tx, &rx, NULL), 0);
    pthread_t s[SENDERS], r[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++)
        assert_int_equal(pthread_create(&r[i], NULL, receiver, NULL), 0);
    for (int i = 0; i < SENDERS; i++)
        assert_int_equal(pthread_create(&s[i], NULL, sender, (void *)(uintptr_t)i), 0);
    for (int i = 0; i < SENDERS; i++)
        assert_int_equal(pthread_join(s[i], NULL), 0);
    for (int i = 0; i < RECEIVERS; i++) /* one stop message each */
        assert_int_equal(weft_conn_send_bytes(tx, NULL, 0, 60.0), 0);
    for (int i = 0; i < RECEIVERS; i++)
        assert_int_equal(pthread_join(r[i], NULL), 0);
    /* Joined: plain reads see the receivers' adds. */
    for (int i = 0; i < SENDERS; i++)
        for (uint32_t k = 0; k < PER_SENDER; k++)
            if (seen[i][k] != 1)
                fail_msg("sender %d message %u arrived %d times", i, k, seen[i][k]);
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(rx, NULL, 0, &n, 0), -EAGAIN);
    weft_conn_free(tx);
    weft_conn_free(rx);
}

/* Two threads polling and receiving with timeout 0 on one end while a third
 * sends: every message is taken once; -EAGAIN is the only other answer. */
static int taken;

static void *nonblocking_receiver(void *arg)
{
    char buf[16];
    while (__atomic_load_n(&taken, __ATOMIC_RELAXED) < 2000) {
        size_t n;
        if (weft_conn_poll(rx, 0.01) != 0)
            continue;
        int rc = weft_conn_recv_bytes(rx, buf, sizeof buf, &n, 0);
        if (rc == 0)
            __atomic_fetch_add(&taken, 1, __ATOMIC_RELAXED);
        else
            assert_int_equal(rc, -EAGAIN);
    }
    return NULL;
}

static void test_nonblocking_receivers(void **state)
{
    assert_int_equal(weft_pipe(&tx, &rx, NULL), 0);
    pthread_t r[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, nonblocking_receiver, NULL), 0);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(weft_conn_send_bytes(tx, "0123456789", 10, 60.0), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(r[i], NULL), 0);
    assert_int_equal(taken, 2000);
    size_t n;
    assert_int_equal(weft_conn_recv_bytes(rx, NULL, 0, &n, 0), -EAGAIN);
    weft_conn_free(tx);
    weft_conn_free(rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_ends),
        cmocka_unit_test(test_nonblocking_receivers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
