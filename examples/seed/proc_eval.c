/*
 * proc_eval.c - ports the tutorials' "a child computes, the parent gets the
 * answer" program: the parent sends "10+20+30" to a child process, the child
 * evaluates it and sends back 60 - once through a Queue, once through a Pipe.
 *
 * Shows: processes do not share variables, so results come back as messages;
 * a Queue suits many producers and consumers, a Pipe is a pair of connected ends
 * (duplex by default), and its recv() waits for the answer.
 */
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "weft/ipc.h"
#include "weft/process.h"

static long evaluate(const char *expr)
{
    long sum = 0;
    for (char *p = (char *)expr; *p;)
        sum += strtol(p, &p, 10); /* "10+20+30": +20 and +30 parse as numbers */
    return sum;
}

typedef struct queues {
    weft_ipc_queue *ask, *answer;
} queues;

static int by_queue(void *arg)
{
    queues *qs = arg;
    char expr[64];
    size_t len;
    if (weft_ipc_queue_get(qs->ask, expr, sizeof expr - 1, &len, 10) != 0)
        return 1;
    expr[len] = 0;
    long v = evaluate(expr);
    return weft_ipc_queue_put(qs->answer, &v, sizeof v, WEFT_FOREVER) == 0 ? 0 : 1;
}

static int by_pipe(void *arg)
{
    weft_conn *child = arg;
    char expr[64];
    size_t len;
    if (weft_conn_recv_bytes(child, expr, sizeof expr - 1, &len, 10) != 0)
        return 1;
    expr[len] = 0;
    long v = evaluate(expr);
    return weft_conn_send_bytes(child, &v, sizeof v, WEFT_FOREVER) == 0 ? 0 : 1;
}

WEFT_SEED(proc_eval, "a child evaluates 10+20+30 and sends 60 back, by Queue and by Pipe")
{
    const char *expr = "10+20+30";
    queues qs;
    SEED_CHECK(weft_ipc_queue_new(&qs.ask, NULL) == 0 && weft_ipc_queue_new(&qs.answer, NULL) == 0,
               "weft_ipc_queue_new");
    weft_process *p;
    SEED_CHECK(weft_process_spawn(&p, by_queue, &qs, NULL) == 0, "start");
    weft_ipc_queue_put(qs.ask, expr, strlen(expr), WEFT_FOREVER);
    long by_q = 0;
    size_t len = 0;
    int rc = weft_ipc_queue_get(qs.answer, &by_q, sizeof by_q, &len, 10);
    weft_process_join(p, WEFT_FOREVER);
    weft_process_free(p);
    weft_ipc_queue_free(qs.ask);
    weft_ipc_queue_free(qs.answer);
    printf("by Queue: %s = %ld\n", expr, by_q);
    SEED_CHECK(rc == 0 && by_q == 60, "the queue gave %ld (%s)", by_q, weft_strerror(rc));

    weft_conn *parent, *child;
    SEED_CHECK(weft_pipe(&parent, &child, NULL) == 0, "weft_pipe");
    SEED_CHECK(weft_process_spawn(&p, by_pipe, child, NULL) == 0, "start");
    weft_conn_free(child); /* the child's end lives on in the child */
    weft_conn_send_bytes(parent, expr, strlen(expr), WEFT_FOREVER);
    long by_p = 0;
    rc = weft_conn_recv_bytes(parent, &by_p, sizeof by_p, &len, 10);
    weft_process_join(p, WEFT_FOREVER);
    weft_process_free(p);
    weft_conn_free(parent);
    printf("by Pipe:  %s = %ld\n", expr, by_p);
    SEED_CHECK(rc == 0 && by_p == 60, "the pipe gave %ld (%s)", by_p, weft_strerror(rc));
    return 0;
}
