/*
 * pool_downloads.c - ports the tutorials' first ThreadPoolExecutor program: the
 * same three downloads as `download`, now handed to a pool of four workers with
 * submit(), and collected through their futures (time.sleep stands in for the
 * network).
 *
 * Shows: no thread is started by hand; submit() returns at once with a future;
 * while a download is under way its future says running() and not done(); the
 * results come back in the order we ask for them (input order), whatever order
 * the downloads finish in; the whole batch takes about the longest download, not
 * the sum; the workers carry the pool's thread-name prefix.
 */
#include <string.h>
#include <time.h>

#include "seed.h"
#include "weft/executor.h"
#include "weft/thread.h"

typedef struct download {
    const char *file;
    double seconds;  /* how long the simulated transfer takes */
    char worker[32]; /* the name of the thread that did it; read after result() */
} download;

/* Longest first, so the first one to finish is not the first one submitted. */
static download files[] = {{"c.zip", 0.4, ""}, {"a.zip", 0.2, ""}, {"b.zip", 0.3, ""}};
#define NFILES (sizeof files / sizeof files[0])
#define PREFIX "downloader"



/* The task: "download" one file and return its name, as the Python function
 * returns a value for future.result(). */
static void *fetch(void *arg)
{
    download *d = arg;
    weft_thread *me = weft_current_thread();
    snprintf(d->worker, sizeof d->worker, "%s", me ? weft_thread_name(me) : "?");
    seed_sleep(d->seconds);
    return (void *)d->file;
}

/* Poll f until it runs (a worker picked it up) or `limit` seconds pass. */
static bool wait_running(weft_future *f, double limit)
{
    double until = seed_now() + limit;
    while (!weft_future_running(f) && !weft_future_done(f) && seed_now() < until)
        seed_sleep(0.001);
    return weft_future_running(f);
}

WEFT_SEED(pool_downloads, "three downloads submitted to a pool of 4, results through futures")
{
    double sum = 0, longest = 0;
    for (size_t i = 0; i < NFILES; i++) {
        sum += files[i].seconds;
        longest = files[i].seconds > longest ? files[i].seconds : longest;
    }

    weft_executor *ex;
    int rc = weft_executor_new(
        &ex, &(weft_executor_opts){.max_workers = 4, .thread_name_prefix = PREFIX});
    SEED_CHECK(rc == 0, "weft_executor_new: %s", weft_strerror(rc));

    weft_future *fut[NFILES] = {NULL};
    double t0 = seed_now();
    for (size_t i = 0; i < NFILES && rc == 0; i++)
        rc = weft_executor_submit(ex, fetch, &files[i], &fut[i]);

    /* While the longest download works: running, not done. */
    bool running = rc == 0 && wait_running(fut[0], 1.0);
    bool done_early = rc == 0 && weft_future_done(fut[0]);
    if (rc == 0)
        printf("%s: running() %s, done() %s\n", files[0].file, running ? "true" : "false",
               done_early ? "true" : "false");

    /* future.result() in input order: each call waits for that one download. */
    const char *got[NFILES] = {NULL};
    int bad = 0;
    for (size_t i = 0; i < NFILES && fut[i]; i++) {
        void *res = NULL;
        int r = weft_future_result(fut[i], WEFT_FOREVER, &res);
        if (r != 0) {
            fprintf(stderr, "%s: result: %s\n", files[i].file, weft_strerror(r));
            bad++;
            continue;
        }
        got[i] = res;
        printf("result %zu: %s (%.1f s, by %s)\n", i + 1, got[i], files[i].seconds,
               files[i].worker);
    }
    double elapsed = seed_now() - t0;
    bool done_late = fut[0] && weft_future_done(fut[0]) && !weft_future_running(fut[0]);
    unsigned workers = weft_executor_workers(ex);
    for (size_t i = 0; i < NFILES; i++)
        weft_future_free(fut[i]);
    weft_executor_free(ex);

    SEED_CHECK(rc == 0, "submit: %s", weft_strerror(rc));
    printf("%zu files in %.2f s with %u workers (the longest takes %.1f s, the sum is %.1f s)\n",
           NFILES, elapsed, workers, longest, sum);
    SEED_CHECK(bad == 0, "%d futures gave no result", bad);
    SEED_CHECK(running && !done_early, "while it downloads, %s is running()=%d done()=%d",
               files[0].file, running, done_early);
    SEED_CHECK(done_late, "after its result, %s is not done() (or still running())", files[0].file);
    for (size_t i = 0; i < NFILES; i++) {
        SEED_CHECK(got[i] == files[i].file, "result %zu is %s, expected %s", i + 1,
                   got[i] ? got[i] : "(none)", files[i].file);
        SEED_CHECK(strncmp(files[i].worker, PREFIX "_", strlen(PREFIX "_")) == 0,
                   "%s ran in thread \"%s\", not one named " PREFIX "_N", files[i].file,
                   files[i].worker);
    }
    SEED_CHECK(workers >= 1 && workers <= 4, "%u workers for max_workers=4", workers);
    SEED_CHECK(elapsed >= longest, "the pool took %.3f s, less than the longest %.1f s", elapsed,
               longest);
    SEED_CHECK(elapsed < sum, "the pool took %.3f s, no faster than one after another (%.1f s)",
               elapsed, sum);
    return 0;
}
