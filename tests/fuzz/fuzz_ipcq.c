/*
 * libFuzzer target: the queue between processes reading shared state written by
 * a hostile or broken process. The input sets the committed words, the hints
 * and the ring's bytes of a small queue, then drives a series of non-blocking
 * puts, gets and queries. ASan and UBSan watch every access; the target itself
 * checks that each call returns one of its documented codes and that what a get
 * hands back fits the buffer and the queue's limits. (The side locks are left
 * alone: a process that scribbles on them can make calls wait until their
 * timeout, which is documented, not a memory-safety question.)
 *
 * Build and run: tools/fuzz.sh (make test runs it for a bounded time).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipcq_internal.h"
#include "weft/ipc.h"

#define CAP 256

static weft_ipc_queue *queue(void)
{
    static weft_ipc_queue *q;
    if (!q && weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.capacity = CAP, .maxsize = 20}))
        abort();
    return q;
}

static uint64_t take64(const uint8_t **p, size_t *n)
{
    uint64_t v = 0;
    size_t k = *n < 8 ? *n : 8;
    memcpy(&v, *p, k);
    *p += k;
    *n -= k;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_ipc_queue *q = queue();
    struct ipcq_shared *sh = q->sh;
    /* the state a hostile process left */
    q->broken = false;
    q->closed = false;
    sh->broken = 0;
    sh->head = take64(&data, &size);
    sh->tail = take64(&data, &size);
    sh->head_seen = take64(&data, &size);
    sh->tail_seen = take64(&data, &size);
    size_t ring = size < CAP ? size : CAP;
    memcpy(sh->ring, data, ring);
    data += ring;
    size -= ring;
    /* then some operations, one input byte each */
    unsigned char msg[CAP], buf[CAP];
    memset(msg, 0x5a, sizeof msg);
    for (size_t i = 0; i < size; i++) {
        uint8_t op = data[i];
        size_t len = (size_t)(op >> 2) * 4; /* 0..252 */
        int rc;
        switch (op & 3) {
        case 0:
            rc = weft_ipc_queue_put(q, msg, len, 0);
            if (rc != 0 && rc != -WEFT_EFULL && rc != -EMSGSIZE && rc != -WEFT_ECORRUPT)
                abort();
            break;
        case 1:
        case 2: {
            size_t got = 0, cap = (op & 3) == 1 ? sizeof buf : len;
            rc = weft_ipc_queue_get(q, buf, cap, &got, 0);
            if (rc == 0 && (got > cap || got > weft_ipc_queue_max_message(q)))
                abort();
            if (rc == -EMSGSIZE && got <= cap)
                abort();
            if (rc != 0 && rc != -WEFT_EEMPTY && rc != -EMSGSIZE && rc != -WEFT_ECORRUPT)
                abort();
            break;
        }
        default:
            if (weft_ipc_queue_qsize(q) > CAP / 8)
                abort();
            (void)weft_ipc_queue_full(q);
            (void)weft_ipc_queue_empty(q);
            break;
        }
    }
    return 0;
}
