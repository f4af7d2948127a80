/*
 * proc_terminate.c - ports the tutorials' terminate() program: start a child
 * that would work for a long time, terminate() it, and look at is_alive() right
 * away and again after join().
 *
 * Shows what surprises Python users: terminate() only sends SIGTERM, so is_alive()
 * straight after it is usually still true; after join() it is false, and the
 * exit code is -SIGTERM (minus the signal that ended the child).
 */
#include <signal.h>

#include "seed.h"
#include "weft/process.h"

static int long_job(void *arg)
{
    seed_sleep(30);
    return 0;
}

WEFT_SEED(proc_terminate, "terminate(), is_alive() before and after join(), exitcode -15")
{
    weft_process *p;
    int rc = weft_process_spawn(&p, long_job, NULL, &(weft_process_opts){.name = "long-job"});
    SEED_CHECK(rc == 0, "weft_process_spawn: %s", weft_strerror(rc));
    bool alive_before = weft_process_is_alive(p);
    double t0 = seed_now();
    rc = weft_process_terminate(p);
    bool alive_right_after = weft_process_is_alive(p);
    weft_process_join(p, WEFT_FOREVER);
    double took = seed_now() - t0;
    bool alive_after_join = weft_process_is_alive(p);
    int code = 0;
    int erc = weft_process_exitcode(p, &code);
    weft_process_free(p);
    printf("before terminate: alive=%d; right after: alive=%d; after join (%.1f ms): alive=%d, "
           "exitcode %d\n",
           alive_before, alive_right_after, took * 1e3, alive_after_join, code);
    SEED_CHECK(rc == 0, "weft_process_terminate: %s", weft_strerror(rc));
    SEED_CHECK(alive_before && !alive_after_join, "is_alive: before %d, after join %d",
               alive_before, alive_after_join);
    SEED_CHECK(erc == 0 && code == -SIGTERM, "exit code %d (%s), expected %d", code,
               weft_strerror(erc), -SIGTERM);
    SEED_CHECK(took < 5, "the terminated child took %.1f s to end", took);
    return 0;
}
