/*
 * pipeline.c - ports the tutorials' producer/consumer pipeline: pages are
 * downloaded, parsed and stored by three stages of worker threads, each stage
 * reading from one bounded queue.Queue and writing to the next (short sleeps
 * stand in for the network and the parsing).
 *
 * Ending it the Python 3.13 way: main puts every URL, then shuts the first queue
 * down. Workers still drain what is left; only then does get() fail with
 * -WEFT_ESHUTDOWN (Python's queue.ShutDown), and the worker returns. join() on a
 * queue (its workers call task_done() once an item is handed on) says when the
 * stage is through, so the next queue can be shut down in turn.
 *
 * Shows: bounded queues connect stages so each works at once on different items;
 * every item goes through every stage exactly once; a put after shutdown fails;
 * workers end by draining, not by a sentinel each.
 */
#include <time.h>

#include "seed.h"
#include "weft/queue.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define ITEMS 40
#define QSIZE 4 /* each queue's maxsize */
#define MAXWORKERS 3

typedef struct page {
    int id;
    /* Times each stage handled the page. Plain ints: a queue hands the page from
     * one stage to the next, and put/get order the writes before the reads. */
    int downloaded, parsed, stored;
} page;

typedef struct stage {
    const char *name;
    int workers;
    weft_queue *in, *out; /* out is NULL for the last stage */
    void (*work)(page *p);
    size_t left; /* items in `in` when it was shut down */
} stage;

typedef struct worker {
    stage *stage;
    weft_thread *thread;
    int handled; /* pages this worker took; read by main after join */
    int exit_rc; /* the get() result that ended it */
} worker;

static page pages[ITEMS];

/* The "database": ids in the order they were stored, under a lock. */
static weft_lock db_lock = WEFT_LOCK_INIT_NAMED("db");
static int db[ITEMS], db_len; /* guarded by db_lock */

static void nap_ms(long ms)
{
    nanosleep(&(struct timespec){0, ms * 1000 * 1000}, NULL);
}

static void download(page *p)
{
    nap_ms(3);
    p->downloaded++;
}

static void parse(page *p)
{
    nap_ms(2);
    p->parsed++;
}

static void store(page *p)
{
    p->stored++;
    weft_lock_acquire(&db_lock, WEFT_FOREVER);
    if (db_len < ITEMS)
        db[db_len] = p->id;
    db_len++;
    weft_lock_release(&db_lock);
}

/* The worker loop: get, work, hand on, mark done - until the queue runs dry after
 * shutdown. */
static void *work_loop(void *arg)
{
    worker *w = arg;
    stage *s = w->stage;
    void *item;
    int rc;
    while ((rc = weft_queue_get(s->in, &item, WEFT_FOREVER)) == 0) {
        s->work(item);
        w->handled++;
        /* Hand on, then mark done: join() on `in` returns only once every page
         * taken from it is in `out`. */
        int put_rc = s->out ? weft_queue_put(s->out, item, WEFT_FOREVER) : 0;
        weft_queue_task_done(s->in);
        if (put_rc != 0) {
            rc = put_rc; /* the page is lost: the final count will say so */
            break;
        }
    }
    w->exit_rc = rc;
    return NULL;
}

/* Start a stage's workers; returns 0 or the start error (having started none). */
static int start_stage(stage *s, worker *w)
{
    for (int i = 0; i < s->workers; i++) {
        w[i] = (worker){.stage = s};
        char name[16];
        snprintf(name, sizeof name, "%s-%d", s->name, i + 1);
        int rc =
            weft_thread_start(&w[i].thread, work_loop, &w[i], &(weft_thread_opts){.name = name});
        if (rc != 0) {
            /* Stop the ones already running: they drain nothing and return. */
            weft_queue_shutdown(s->in, false);
            for (int j = 0; j < i; j++) {
                weft_thread_join(w[j].thread, WEFT_FOREVER, NULL);
                weft_thread_free(w[j].thread);
            }
            return rc;
        }
    }
    return 0;
}

/* Shut the stage's queue down and wait until everything it held is done (so
 * handed on to the next queue). The workers drain it, then return. */
static int shut_and_join(stage *s)
{
    s->left = weft_queue_qsize(s->in);
    weft_queue_shutdown(s->in, false);
    int rc = weft_queue_join(s->in, WEFT_FOREVER);
    SEED_CHECK(rc == 0, "%s: join: %s", s->name, weft_strerror(rc));
    return 0;
}

/* Join the stage's workers and print what each did. Returns 0, or 1 when one of
 * them ended other than by finding its queue shut down and empty. */
static int join_workers(stage *s, worker *w)
{
    printf("%-8s  %d workers took", s->name, s->workers);
    for (int i = 0; i < s->workers; i++) {
        weft_thread_join(w[i].thread, WEFT_FOREVER, NULL);
        weft_thread_free(w[i].thread);
        printf("%s%d", i ? "+" : " ", w[i].handled);
    }
    printf(" pages; %zu were still queued at shutdown\n", s->left);
    for (int i = 0; i < s->workers; i++)
        SEED_CHECK(w[i].exit_rc == -WEFT_ESHUTDOWN, "%s worker %d ended with %s", s->name, i + 1,
                   weft_strerror(w[i].exit_rc));
    return 0;
}

/* How many pages went through every stage exactly once and are in the db once. */
static int through_once(void)
{
    int in_db[ITEMS] = {0};
    for (int i = 0; i < db_len && i < ITEMS; i++)
        if (db[i] >= 0 && db[i] < ITEMS)
            in_db[db[i]]++;
    int once = 0;
    for (int i = 0; i < ITEMS; i++)
        once += pages[i].downloaded == 1 && pages[i].parsed == 1 && pages[i].stored == 1 &&
                in_db[i] == 1;
    return once;
}

WEFT_SEED(pipeline, "download -> parse -> store: stages of threads joined by queues")
{
    weft_queue *q[3] = {NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = weft_queue_new(&q[i], &(weft_queue_opts){.maxsize = QSIZE});
    stage stages[3] = {
        {"download", 3, q[0], q[1], download, 0},
        {"parse", 2, q[1], q[2], parse, 0},
        {"store", 2, q[2], NULL, store, 0},
    };
    worker w[3][MAXWORKERS];
    int started = 0;
    for (; rc == 0 && started < 3; started++)
        rc = start_stage(&stages[started], w[started]);
    if (rc != 0) {
        /* Stages started before the failure wait on empty queues: end them. */
        for (int i = 0; i < started - 1; i++) {
            shut_and_join(&stages[i]);
            join_workers(&stages[i], w[i]);
        }
        for (int i = 0; i < 3; i++)
            weft_queue_free(q[i]);
        SEED_CHECK(rc == 0, "setting up the pipeline: %s", weft_strerror(rc));
    }

    int put = 0;
    for (int i = 0; i < ITEMS; i++) {
        pages[i].id = i;
        /* Waits while the queue is full: the downloaders set the pace. */
        put += weft_queue_put(q[0], &pages[i], WEFT_FOREVER) == 0;
    }
    int bad = 0;
    /* Stage by stage: once a queue is shut down and joined, everything it held
     * is in the next queue, which can then be shut down in turn. */
    for (int i = 0; i < 3; i++)
        bad |= shut_and_join(&stages[i]);
    for (int i = 0; i < 3; i++)
        bad |= join_workers(&stages[i], w[i]);
    int late = weft_queue_put(q[0], &pages[0], 0);
    for (int i = 0; i < 3; i++)
        weft_queue_free(q[i]);

    int once = through_once();
    printf("%d of %d pages downloaded, parsed and stored exactly once; a put after shutdown: %s\n",
           once, ITEMS, late == -WEFT_ESHUTDOWN ? "ShutDown" : weft_strerror(late));
    SEED_CHECK(put == ITEMS, "only %d of %d pages could be put", put, ITEMS);
    SEED_CHECK(!bad, "a stage did not end by draining its shut-down queue");
    SEED_CHECK(once == ITEMS && db_len == ITEMS, "%d pages went through once; %d stores", once,
               db_len);
    SEED_CHECK(late == -WEFT_ESHUTDOWN, "put after shutdown: %s", weft_strerror(late));
    return 0;
}
