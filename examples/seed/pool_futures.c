/*
 * pool_futures.c - ports the tutorials' tour of concurrent.futures.Future: a task
 * that raises, cancel() on a future still waiting for a worker and on one that
 * is running, add_done_callback(), and wait() with FIRST_COMPLETED and
 * FIRST_EXCEPTION.
 *
 * Shows: a task fails with weft_task_fail(code, message) - its future carries
 * both, as a Python future carries the exception; only a pending future can be
 * cancelled; a done-callback runs once, in the thread that completes the future,
 * or at once in the caller when it is already done; wait() returns as soon as
 * its condition holds, with the others still running.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "seed.h"
#include "weft/executor.h"
#include "weft/sync.h"
#include "weft/thread.h"


/* ---- tasks ---- */

static weft_event started = WEFT_EVENT_INIT, go = WEFT_EVENT_INIT;

/* Holds its worker until `go` is set. */
static void *held_task(void *arg)
{
    (void)arg;
    weft_event_set(&started);
    weft_event_wait(&go, 5.0);
    return (void *)"report.pdf";
}

static void *never_run(void *arg)
{
    atomic_int *ran = arg;
    atomic_fetch_add(ran, 1);
    return NULL;
}

/* Python: raise FileNotFoundError("config file weft.toml not found") */
static void *read_config(void *arg)
{
    weft_task_fail(-ENOENT, "config file %s not found", (const char *)arg);
    return NULL;
}

static void *nap(void *arg)
{
    seed_sleep(*(const double *)arg);
    return NULL;
}

static void *nap_then_fail(void *arg)
{
    seed_sleep(*(const double *)arg);
    weft_task_fail(-ECONNRESET, "connection reset after %.2f s", *(const double *)arg);
    return NULL;
}

/* ---- done-callbacks ---- */

typedef struct callback_log {
    atomic_int calls;
    bool saw_done;    /* the future was done() when the callback ran */
    char thread[32];  /* where it ran */
    weft_event fired; /* set by the callback, after the fields above */
} callback_log;

static void on_done(weft_future *f, void *arg)
{
    callback_log *log = arg;
    weft_thread *me = weft_current_thread();
    log->saw_done = weft_future_done(f);
    snprintf(log->thread, sizeof log->thread, "%s", me ? weft_thread_name(me) : "?");
    atomic_fetch_add(&log->calls, 1);
    weft_event_set(&log->fired);
}

static const char *yes(bool b)
{
    return b ? "true" : "false";
}

/* Part 1, on a pool of one worker: failure, cancel, callbacks. */
static int futures_one_worker(void)
{
    weft_executor *ex;
    int rc = weft_executor_new(
        &ex, &(weft_executor_opts){.max_workers = 1, .thread_name_prefix = "solo"});
    SEED_CHECK(rc == 0, "weft_executor_new: %s", weft_strerror(rc));
    static callback_log held_log, queued_log, config_log;
    atomic_int ran = 0;
    weft_future *held = NULL, *queued = NULL, *config = NULL;
    rc = weft_executor_submit(ex, held_task, NULL, &held);
    if (rc == 0) /* the only worker is taken: this one waits in the queue */
        rc = weft_executor_submit(ex, never_run, &ran, &queued);
    if (rc == 0)
        rc = weft_future_add_done_callback(held, on_done, &held_log);
    if (rc == 0)
        rc = weft_future_add_done_callback(queued, on_done, &queued_log);
    if (rc != 0) {
        weft_event_set(&go);
        weft_future_free(held);
        weft_future_free(queued);
        weft_executor_free(ex);
        SEED_CHECK(rc == 0, "submit/add_done_callback: %s", weft_strerror(rc));
    }

    int st = weft_event_wait(&started, 2.0);
    bool cancel_running = weft_future_cancel(held);
    bool cancel_pending = weft_future_cancel(queued);
    printf("cancel() while running: %s; while pending: %s\n", yes(cancel_running),
           yes(cancel_pending));
    bool held_running = weft_future_running(held);
    void *res = NULL;
    int queued_rc = weft_future_result(queued, 0, &res);
    int queued_calls = atomic_load(&queued_log.calls); /* the cancel ran it, here */
    weft_event_set(&go);

    const char *report = NULL;
    int held_rc = weft_future_result(held, 2.0, (void **)&report);
    int fired = weft_event_wait(&held_log.fired, 2.0);
    printf("held task: %s; its callback ran %d time(s) in %s\n",
           held_rc == 0 ? report : weft_strerror(held_rc), atomic_load(&held_log.calls),
           held_log.thread);

    /* A task that "raises": result() gives its code, error() its message. */
    rc = weft_executor_submit(ex, read_config, (void *)"weft.toml", &config);
    int config_rc = rc == 0 ? weft_future_result(config, 2.0, NULL) : rc;
    char message[256] = "";
    int late_rc = -EINVAL;
    if (rc == 0) {
        snprintf(message, sizeof message, "%s", weft_future_error(config));
        late_rc = weft_future_add_done_callback(config, on_done, &config_log);
    }
    /* Already done: the callback has run, here, before add_done_callback returned. */
    int config_calls = atomic_load(&config_log.calls);
    printf("failed task: result() = %s, error() = \"%s\"\n", weft_strerror(config_rc), message);

    weft_future_free(held);
    weft_future_free(queued);
    weft_future_free(config);
    weft_executor_free(ex);

    SEED_CHECK(st == 0, "the held task did not start: %s", weft_strerror(st));
    SEED_CHECK(!cancel_running && held_running, "cancel() of a running task gave %d (running %d)",
               cancel_running, held_running);
    SEED_CHECK(cancel_pending, "cancel() of a pending task failed");
    SEED_CHECK(queued_rc == -WEFT_ECANCELLED, "result() of the cancelled future: %s",
               weft_strerror(queued_rc));
    SEED_CHECK(atomic_load(&ran) == 0, "the cancelled task ran");
    SEED_CHECK(queued_calls == 1 && queued_log.saw_done,
               "callback of the cancelled future: %d calls, saw done %d", queued_calls,
               queued_log.saw_done);
    SEED_CHECK(strcmp(queued_log.thread, "MainThread") == 0,
               "the cancelled future's callback ran in %s, not in the canceller",
               queued_log.thread);
    SEED_CHECK(held_rc == 0 && report && strcmp(report, "report.pdf") == 0,
               "the held task's result: %s", weft_strerror(held_rc));
    SEED_CHECK(fired == 0 && atomic_load(&held_log.calls) == 1 && held_log.saw_done,
               "the held task's callback: %d calls, saw done %d", atomic_load(&held_log.calls),
               held_log.saw_done);
    SEED_CHECK(strncmp(held_log.thread, "solo_", 5) == 0,
               "the held task's callback ran in %s, not in the worker", held_log.thread);
    SEED_CHECK(config_rc == -ENOENT, "the failed task's result(): %s", weft_strerror(config_rc));
    SEED_CHECK(strcmp(message, "config file weft.toml not found") == 0,
               "the failed task's message: \"%s\"", message);
    SEED_CHECK(late_rc == 0 && config_calls == 1 && strcmp(config_log.thread, "MainThread") == 0,
               "callback on a done future: rc %s, %d calls before return, in %s",
               weft_strerror(late_rc), config_calls, config_log.thread);
    return 0;
}

/* Part 2, on a pool of three: wait() until the first completes, the first
 * fails, all complete. */
static int futures_wait(void)
{
    static const double slow = 0.6, fast = 0.05, failing = 0.15;
    weft_executor *ex;
    int rc = weft_executor_new(&ex, &(weft_executor_opts){.max_workers = 3});
    SEED_CHECK(rc == 0, "weft_executor_new: %s", weft_strerror(rc));
    weft_future *fs[3] = {NULL};
    rc = weft_executor_submit(ex, nap, (void *)&slow, &fs[0]);
    if (rc == 0)
        rc = weft_executor_submit(ex, nap, (void *)&fast, &fs[1]);
    if (rc == 0)
        rc = weft_executor_submit(ex, nap_then_fail, (void *)&failing, &fs[2]);

    size_t n_first = 0, n_exc = 0, n_now = 0, n_all = 0;
    bool first[3] = {false}, exc[3] = {false};
    int w_first = -1, w_exc = -1, w_now = -1, w_all = -1;
    if (rc == 0) {
        w_first = weft_wait(fs, 3, WEFT_FIRST_COMPLETED, 5.0, &n_first, NULL);
        for (int i = 0; i < 3; i++)
            first[i] = weft_future_done(fs[i]);
        w_exc = weft_wait(fs, 3, WEFT_FIRST_EXCEPTION, 5.0, &n_exc, NULL);
        for (int i = 0; i < 3; i++)
            exc[i] = weft_future_done(fs[i]);
        w_now = weft_wait(fs, 3, WEFT_ALL_COMPLETED, 0, &n_now, NULL);
        w_all = weft_wait(fs, 3, WEFT_ALL_COMPLETED, 5.0, &n_all, NULL);
    }
    int fail_rc = fs[2] ? weft_future_result(fs[2], 0, NULL) : rc;
    printf("wait(FIRST_COMPLETED): %zu done (the %.2f s nap)\n", n_first, fast);
    printf("wait(FIRST_EXCEPTION): %zu done (%s)\n", n_exc, fs[2] ? weft_future_error(fs[2]) : "");
    printf("wait(ALL_COMPLETED, timeout=0): %s; then wait(ALL_COMPLETED): %zu done\n",
           weft_strerror(w_now), n_all);
    for (int i = 0; i < 3; i++)
        weft_future_free(fs[i]);
    weft_executor_free(ex);

    SEED_CHECK(rc == 0, "submit: %s", weft_strerror(rc));
    SEED_CHECK(w_first == 0 && n_first >= 1 && first[1] && !first[0],
               "FIRST_COMPLETED: %s, %zu done; fast done %d, slow done %d", weft_strerror(w_first),
               n_first, first[1], first[0]);
    SEED_CHECK(w_exc == 0 && n_exc == 2 && exc[2] && !exc[0],
               "FIRST_EXCEPTION: %s, %zu done; failing done %d, slow done %d", weft_strerror(w_exc),
               n_exc, exc[2], exc[0]);
    SEED_CHECK(w_now == -ETIMEDOUT && n_now == 2, "ALL_COMPLETED with timeout 0: %s, %zu done",
               weft_strerror(w_now), n_now);
    SEED_CHECK(w_all == 0 && n_all == 3, "ALL_COMPLETED: %s, %zu done", weft_strerror(w_all),
               n_all);
    SEED_CHECK(fail_rc == -ECONNRESET, "the failing nap's result: %s", weft_strerror(fail_rc));
    return 0;
}

WEFT_SEED(pool_futures, "futures: failure, cancel, done-callbacks, wait(FIRST_COMPLETED)")
{
    if (futures_one_worker() != 0)
        return 1;
    return futures_wait();
}
