/*
 * proc_daemon.c - ports the tutorials' daemon-process program: the main process
 * starts a child with daemon=True that would print a heartbeat for ever, then
 * finishes its own work and ends; the daemon child ends with it.
 *
 * Here the "main process" of the tutorial is a process of its own (so the seed can
 * watch what happens after it ends): it starts the daemon heartbeat, tells us the
 * heartbeat's pid, works a little and returns. Then we check that the heartbeat is
 * gone too. A second run does the same but the main process is killed with SIGKILL
 * (no exit handlers run at all): its daemon child still goes down with it.
 */
#include <signal.h>
#include <unistd.h>

#include "seed.h"
#include "weft/process.h"

static int heartbeat(void *arg)
{
    for (;;) {
        seed_sleep(0.05);
    }
    return 0;
}

/* The tutorial's main process. arg: the write end of a pipe for the heartbeat's
 * pid; with SIGKILL set in *how, it waits to be killed instead of returning. */
typedef struct tutorial_main {
    int pid_pipe;
    bool wait_for_kill;
} tutorial_main;

static int main_process(void *arg)
{
    const tutorial_main *m = arg;
    weft_process *hb;
    if (weft_process_spawn(&hb, heartbeat, NULL,
                           &(weft_process_opts){.name = "heartbeat", .daemon = true}) != 0)
        return 2;
    pid_t pid = weft_process_pid(hb);
    if (write(m->pid_pipe, &pid, sizeof pid) != sizeof pid)
        return 3;
    seed_sleep(0.1); /* the main process's own work */
    while (m->wait_for_kill)
        seed_sleep(1);
    return 0; /* leaving: the daemon child is terminated now */
}

/* True once pid no longer runs (it may linger as a zombie of init for a moment). */
static bool gone(pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    int r = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return r == 1 && (state == 'Z' || state == 'X');
}

/* Run the tutorial's main process; returns how long its daemon child outlived it
 * (seconds), or a negative value on failure. */
static double run(bool kill_it)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    tutorial_main m = {fds[1], kill_it};
    weft_process *mp;
    if (weft_process_spawn(&mp, main_process, &m, &(weft_process_opts){.name = "tutorial-main"})) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    pid_t hb = 0;
    ssize_t got = read(fds[0], &hb, sizeof hb);
    close(fds[0]);
    close(fds[1]);
    if (kill_it)
        weft_process_kill(mp);
    weft_process_join(mp, WEFT_FOREVER);
    double t_end = seed_now();
    int code = -1;
    weft_process_exitcode(mp, &code);
    weft_process_free(mp);
    if (got != sizeof hb || hb <= 0)
        return -1;
    while (!gone(hb) && seed_now() - t_end < 5)
        seed_sleep(0.01);
    double after = seed_now() - t_end;
    printf("main process %s (exit code %d); its daemon heartbeat (pid %d) %s %.3f s later\n",
           kill_it ? "killed with SIGKILL" : "returned", code, (int)hb,
           gone(hb) ? "was gone" : "STILL RAN", after);
    return gone(hb) ? after : -1;
}

WEFT_SEED(proc_daemon, "a daemon child ends with its parent, even one killed by SIGKILL")
{
    double normal = run(false);
    SEED_CHECK(normal >= 0 && normal < 2, "after a normal exit the daemon lived on (%.2f)", normal);
    double killed = run(true);
    SEED_CHECK(killed >= 0 && killed < 2, "after SIGKILL the daemon lived on (%.2f)", killed);
    return 0;
}
