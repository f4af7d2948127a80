/*
 * heartbeat.c - ports the tutorials' daemon-thread program: a background
 * "heartbeat" thread, started with daemon=True, reports every so often while a
 * worker thread does the real job.
 *
 * Shows: the program waits for its ordinary (non-daemon) threads only; when the
 * worker is done, main returns and the daemon heartbeat, still running, simply
 * ends with the process.
 */
#include <time.h>

#include "seed.h"
#include "weft/thread.h"

static unsigned beats; /* written by the heartbeat, read by main: atomically */


/* Never returns: a daemon thread lives as long as the process. */
static void *heartbeat(void *arg)
{
    for (;;) {
        seed_sleep(0.1);
        unsigned n = __atomic_add_fetch(&beats, 1, __ATOMIC_RELAXED);
        printf("heartbeat %u: still here\n", n);
        fflush(stdout);
    }
    return NULL;
}

static void *work(void *arg)
{
    seed_sleep(0.35); /* the real job, simulated */
    printf("worker: job done\n");
    fflush(stdout);
    return NULL;
}

WEFT_SEED(heartbeat, "a daemon heartbeat thread beside a worker; exit does not wait for it")
{
    weft_thread *hb, *worker;
    int rc = weft_thread_start(&hb, heartbeat, NULL,
                               &(weft_thread_opts){.name = "heartbeat", .daemon = true});
    SEED_CHECK(rc == 0, "start heartbeat: %s", weft_strerror(rc));
    rc = weft_thread_start(&worker, work, NULL, &(weft_thread_opts){.name = "worker"});
    SEED_CHECK(rc == 0, "start worker: %s", weft_strerror(rc));

    rc = weft_thread_join(worker, WEFT_FOREVER, NULL);
    weft_thread_free(worker);
    SEED_CHECK(rc == 0, "join worker: %s", weft_strerror(rc));

    bool alive = weft_thread_is_alive(hb), daemon = weft_thread_daemon(hb);
    unsigned n = __atomic_load_n(&beats, __ATOMIC_RELAXED);
    weft_thread_free(hb); /* drops our handle only: the thread keeps beating */
    printf("main: done after %u beats; heartbeat daemon=%s, alive=%s, not waited for\n", n,
           daemon ? "yes" : "no", alive ? "yes" : "no");
    SEED_CHECK(daemon, "the heartbeat thread is not a daemon");
    SEED_CHECK(alive, "the heartbeat thread stopped before main finished");
    SEED_CHECK(n >= 1, "no heartbeat during the worker's 0.35 s job");
    return 0;
}
