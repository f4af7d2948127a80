/* Queue between processes under load and under SIGKILL: 4 producer and 4
 * consumer processes moving distinct messages, each delivered exactly once; then
 * producers and consumers killed at random instants, hundreds of times, with
 * every acknowledged put delivered exactly once and no torn message ever. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/ipc.h"
#include "weft_test.h"

/* A message: who sent it, its number, then a pattern derived from both. */
struct msg_head {
    uint32_t who, seq, len;
};

#define MSG_MAX 1024

static size_t make_msg(unsigned char *buf, uint32_t who, uint32_t seq)
{
    size_t len = sizeof(struct msg_head) + (who * 7u + seq * 13u) % (MSG_MAX - 16);
    struct msg_head h = {who, seq, (uint32_t)len};
    memcpy(buf, &h, sizeof h);
    for (size_t i = sizeof h; i < len; i++)
        buf[i] = (unsigned char)(who * 131u + seq * 7u + i);
    return len;
}

/* Check a received message; returns false when it is torn or malformed. */
static bool msg_ok(const unsigned char *buf, size_t len, struct msg_head *h)
{
    if (len < sizeof *h)
        return false;
    memcpy(h, buf, sizeof *h);
    if (h->len != len)
        return false;
    for (size_t i = sizeof *h; i < len; i++)
        if (buf[i] != (unsigned char)(h->who * 131u + h->seq * 7u + i))
            return false;
    return true;
}

static void *shared_zeroed(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static int reap(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* Consumer loop shared by both tests: count each (who, seq) in seen[who * per +
 * seq] until an empty message; torn or out-of-range messages counted in *bad. */
static void consume(weft_ipc_queue *q, uint8_t *seen, uint32_t nwho, uint32_t per,
                    uint32_t *bad)
{
    unsigned char buf[MSG_MAX];
    for (;;) {
        size_t len;
        if (weft_ipc_queue_get(q, buf, sizeof buf, &len, WEFT_FOREVER) != 0) {
            __atomic_fetch_add(bad, 1, __ATOMIC_RELAXED);
            return;
        }
        if (len == 0)
            return;
        struct msg_head h;
        if (!msg_ok(buf, len, &h) || h.who >= nwho || h.seq >= per) {
            __atomic_fetch_add(bad, 1, __ATOMIC_RELAXED);
            continue;
        }
        __atomic_fetch_add(&seen[(size_t)h.who * per + h.seq], 1, __ATOMIC_RELAXED);
    }
}

static void test_4_producers_4_consumers_exactly_once(void **state)
{
    enum { P = 4, C = 4 };
    const uint32_t per = (uint32_t)WEFT_TEST_SCALE(2000000); /* 8 M in all; 2 M under ASan */
    weft_ipc_queue *q = NULL;
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.capacity = 64 * 1024}), 0);
    uint8_t *seen = shared_zeroed((size_t)P * per);
    uint32_t *bad = shared_zeroed(sizeof *bad);
    pid_t prod[P], cons[C];
    for (int c = 0; c < C; c++)
        if ((cons[c] = fork()) == 0) {
            consume(q, seen, P, per, bad);
            _exit(0);
        }
    for (int p = 0; p < P; p++)
        if ((prod[p] = fork()) == 0) {
            unsigned char buf[MSG_MAX];
            for (uint32_t s = 0; s < per; s++) {
                size_t len = make_msg(buf, (uint32_t)p, s);
                if (weft_ipc_queue_put(q, buf, len, WEFT_FOREVER) != 0)
                    _exit(1);
            }
            _exit(0);
        }
    for (int p = 0; p < P; p++)
        assert_int_equal(reap(prod[p]), 0);
    for (int c = 0; c < C; c++)
        assert_int_equal(weft_ipc_queue_put(q, NULL, 0, WEFT_FOREVER), 0);
    for (int c = 0; c < C; c++)
        assert_int_equal(reap(cons[c]), 0);
    assert_int_equal(*bad, 0);
    size_t wrong = 0;
    for (size_t i = 0; i < (size_t)P * per; i++)
        wrong += seen[i] != 1;
    assert_int_equal(wrong, 0);
    assert_true(weft_ipc_queue_empty(q));
    munmap(seen, (size_t)P * per);
    munmap(bad, sizeof *bad);
    weft_ipc_queue_free(q);
}

/* Shared bookkeeping of the kill test. */
struct killbook {
    int64_t acked[1024]; /* per producer incarnation: last seq whose put returned 0 */
    uint32_t bad;        /* torn or malformed messages seen by consumers */
};

#define KILL_PER 4096 /* most messages one producer incarnation puts */

static void producer_incarnation(weft_ipc_queue *q, struct killbook *kb, uint32_t who)
{
    unsigned char buf[MSG_MAX];
    for (uint32_t s = 0; s < KILL_PER; s++) {
        size_t len = make_msg(buf, who, s);
        if (weft_ipc_queue_put(q, buf, len, WEFT_FOREVER) != 0)
            _exit(1);
        /* Seq_cst store in shared memory: the parent reads it after reaping. */
        __atomic_store_n(&kb->acked[who], (int64_t)s, __ATOMIC_SEQ_CST);
    }
    for (;;)
        pause(); /* done: wait to be killed */
}

static pid_t start_consumer(weft_ipc_queue *q, uint8_t *seen, uint32_t nwho,
                            struct killbook *kb)
{
    pid_t pid = fork();
    if (pid == 0) {
        consume(q, seen, nwho, KILL_PER, &kb->bad);
        _exit(0);
    }
    return pid;
}

/* Random instants: 0 to 2 ms. */
static void random_nap(unsigned *seed)
{
    weft_test_sleep((double)(rand_r(seed) % 2000) * 1e-6);
}

/* Producers are killed at random instants, one incarnation after another, while
 * consumers run (and, with kill_consumers, are killed and replaced too). Then
 * every acknowledged put must have been seen exactly once, the one put in flight
 * at each producer kill at most once, nothing else, and nothing torn. A consumer
 * killed after taking a message but before counting it loses that one message
 * from the count: at most one per consumer kill. */
static void kill_test(bool kill_consumers)
{
    const uint32_t kills = 400; /* not scaled: each is a few ms even under sanitizers */
    assert_true(kills <= 1024);
    weft_ipc_queue *q = NULL;
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.capacity = 8192}), 0);
    struct killbook *kb = shared_zeroed(sizeof *kb);
    uint8_t *seen = shared_zeroed((size_t)kills * KILL_PER);
    for (uint32_t k = 0; k < kills; k++)
        kb->acked[k] = -1;
    unsigned seed = 12345;
    pid_t cons[2] = {start_consumer(q, seen, kills, kb), start_consumer(q, seen, kills, kb)};
    uint32_t consumer_kills = 0;
    for (uint32_t k = 0; k < kills; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            producer_incarnation(q, kb, k);
        random_nap(&seed);
        kill(pid, SIGKILL);
        assert_int_equal(reap(pid), -SIGKILL);
        if (kill_consumers && k % 2 == 0) {
            int c = (int)(k / 2 % 2);
            kill(cons[c], SIGKILL);
            assert_int_equal(reap(cons[c]), -SIGKILL);
            consumer_kills++;
            cons[c] = start_consumer(q, seen, kills, kb);
        }
    }
    for (int c = 0; c < 2; c++)
        assert_int_equal(weft_ipc_queue_put(q, NULL, 0, 30), 0);
    for (int c = 0; c < 2; c++)
        assert_int_equal(reap(cons[c]), 0);
    assert_int_equal(kb->bad, 0);
    uint64_t missing = 0, duplicated = 0, invented = 0, acked = 0;
    for (uint32_t k = 0; k < kills; k++) {
        int64_t a = kb->acked[k];
        for (int64_t s = 0; s < KILL_PER; s++) {
            uint8_t n = seen[(size_t)k * KILL_PER + (size_t)s];
            if (s <= a) {
                acked++;
                missing += n == 0;
                duplicated += n > 1;
            } else if (s == a + 1) {
                duplicated += n > 1; /* in flight at the kill: once or never */
            } else {
                invented += n != 0;
            }
        }
    }
    print_message("%u producer kills, %u consumer kills, %llu acknowledged puts, %llu missing\n",
                  kills, consumer_kills, (unsigned long long)acked,
                  (unsigned long long)missing);
    assert_true(acked > kills); /* the producers did get work done */
    assert_int_equal(duplicated, 0);
    assert_int_equal(invented, 0);
    assert_true(missing <= consumer_kills);
    munmap(seen, (size_t)kills * KILL_PER);
    munmap(kb, sizeof *kb);
    weft_ipc_queue_free(q);
}

static void test_producers_killed_at_random(void **state)
{
    kill_test(false);
}

static void test_producers_and_consumers_killed_at_random(void **state)
{
    kill_test(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_4_producers_4_consumers_exactly_once),
        cmocka_unit_test(test_producers_killed_at_random),
        cmocka_unit_test(test_producers_and_consumers_killed_at_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
