/*
 * proc_queue.c - ports the tutorials' writer/reader processes: a writer process
 * puts 'A', 'B' and 'C' on a multiprocessing.Queue, a reader process gets them
 * and prints them, and the parent joins both.
 *
 * Shows: a queue made before the processes start is shared by all of them;
 * messages arrive whole and in the order they were put, and the reader's get()
 * waits for the writer.
 */
#include <string.h>

#include "seed.h"
#include "weft/ipc.h"
#include "weft/process.h"

static int writer(void *arg)
{
    weft_ipc_queue *q = arg;
    for (const char *v = "ABC"; *v; v++) {
        printf("  writer puts %c\n", *v);
        fflush(stdout);
        if (weft_ipc_queue_put(q, v, 1, WEFT_FOREVER) != 0)
            return 1;
        seed_sleep(0.05); /* the tutorial's time.sleep(random.random()) */
    }
    return 0;
}

static int reader(void *arg)
{
    weft_ipc_queue *q = arg;
    char got[4] = {0};
    for (int i = 0; i < 3; i++) {
        size_t len;
        if (weft_ipc_queue_get(q, &got[i], 1, &len, 10) != 0 || len != 1)
            return 1;
        printf("  reader gets %c\n", got[i]);
        fflush(stdout);
    }
    return strcmp(got, "ABC") == 0 ? 0 : 2;
}

WEFT_SEED(proc_queue, "a writer process puts A, B, C on a Queue; a reader process gets them")
{
    weft_ipc_queue *q;
    int rc = weft_ipc_queue_new(&q, NULL);
    SEED_CHECK(rc == 0, "weft_ipc_queue_new: %s", weft_strerror(rc));
    weft_process *w, *r;
    SEED_CHECK(weft_process_spawn(&w, writer, q, &(weft_process_opts){.name = "writer"}) == 0,
               "start writer");
    SEED_CHECK(weft_process_spawn(&r, reader, q, &(weft_process_opts){.name = "reader"}) == 0,
               "start reader");
    int wcode = -1, rcode = -1;
    weft_process_join(w, WEFT_FOREVER);
    weft_process_join(r, WEFT_FOREVER);
    weft_process_exitcode(w, &wcode);
    weft_process_exitcode(r, &rcode);
    weft_process_free(w);
    weft_process_free(r);
    weft_ipc_queue_free(q);
    printf("writer exit code %d, reader exit code %d (0: got A, B, C in order)\n", wcode, rcode);
    SEED_CHECK(wcode == 0 && rcode == 0, "writer %d, reader %d", wcode, rcode);
    return 0;
}
