/*
 * proc_queue_bounded.c - ports the tutorials' bounded-queue demo: q = Queue(5);
 * put five messages and watch qsize() and full(); a sixth put with a timeout
 * gives up (queue.Full); a consumer process then takes one message every 0.1 s
 * while the producer's put(block=True) waits for each free place.
 *
 * Shows: a bounded queue makes a fast producer wait for a slow consumer instead
 * of piling up messages; non-blocking and timed puts report "full" instead of
 * waiting for ever.
 */
#include "seed.h"
#include "weft/ipc.h"
#include "weft/process.h"

static int slow_consumer(void *arg)
{
    weft_ipc_queue *q = arg;
    for (int i = 0; i < 8; i++) {
        seed_sleep(0.1);
        int v;
        size_t len;
        if (weft_ipc_queue_get(q, &v, sizeof v, &len, 10) != 0 || v != i)
            return 1;
    }
    return 0;
}

WEFT_SEED(proc_queue_bounded, "Queue(5): qsize, full, a put that times out, a put that waits")
{
    weft_ipc_queue *q;
    SEED_CHECK(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.maxsize = 5}) == 0, "new");
    for (int i = 0; i < 5; i++) {
        weft_ipc_queue_put(q, &i, sizeof i, 0);
        printf("put %d: qsize %zu, full %s\n", i, weft_ipc_queue_qsize(q),
               weft_ipc_queue_full(q) ? "True" : "False");
    }
    int six = 5;
    double t0 = seed_now();
    int rc = weft_ipc_queue_put(q, &six, sizeof six, 0.2);
    double waited = seed_now() - t0;
    printf("put 5 with timeout 0.2: %s after %.2f s\n", weft_strerror(rc), waited);
    SEED_CHECK(weft_ipc_queue_qsize(q) == 5 && rc == -ETIMEDOUT, "qsize %zu, put gave %d",
               weft_ipc_queue_qsize(q), rc);

    weft_process *c;
    SEED_CHECK(weft_process_spawn(&c, slow_consumer, q, NULL) == 0, "start consumer");
    t0 = seed_now();
    int ok = 0;
    for (int i = 5; i < 8; i++) { /* each waits for the consumer to free a place */
        ok += weft_ipc_queue_put(q, &i, sizeof i, WEFT_FOREVER) == 0;
        printf("put %d after %.2f s (qsize %zu)\n", i, seed_now() - t0, weft_ipc_queue_qsize(q));
    }
    double blocked = seed_now() - t0;
    int code = -1;
    weft_process_join(c, WEFT_FOREVER);
    weft_process_exitcode(c, &code);
    weft_process_free(c);
    weft_ipc_queue_free(q);
    SEED_CHECK(ok == 3 && code == 0, "%d puts, consumer exit %d", ok, code);
    SEED_CHECK(blocked >= 0.25, "three blocking puts took only %.2f s", blocked);
    return 0;
}
