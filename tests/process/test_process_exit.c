/* The exit rule and parent death. Each case runs in a harness child H that is a
 * subreaper (so orphaned grandchildren come back to it to be reaped), which
 * forks an intermediate "parent" I; I starts children with weft, reports their
 * pids through a pipe, then dies (SIGKILL) or exits normally; H checks through
 * pidfds that the children ended (or did not), reaps everything and reports
 * through its exit status: 0 = all good, else the number of the failed check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <sys/prctl.h>

#include "process/process_test.h"

static int pidfd_of(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* True when the process behind pidfd ends within `bound` seconds. */
static bool ends_within(int pidfd, double bound)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    return poll(&pfd, 1, (int)(bound * 1000)) == 1;
}

/* Reap every child of H (bounded). */
static void reap_all(void)
{
    double t0 = weft_test_now();
    while (weft_test_now() - t0 < 30) {
        pid_t r = waitpid(-1, NULL, WNOHANG);
        if (r < 0 && errno == ECHILD)
            return;
        if (r == 0)
            weft_test_sleep(0.005);
    }
}

static int write_done(void *arg)
{
    weft_test_sleep(0.3);
    (void)!write((int)(intptr_t)arg, "done", 4);
    return 0;
}

enum ending { DIE_KILLED, EXIT_NORMALLY };

struct scenario {
    weft_start_method method;
    bool daemon, survive;
    enum ending how;
};

/* I: start the children, report their pids, then end as told. */
static _Noreturn void intermediate(const struct scenario *s, int report, int done_fd, int go)
{
    weft_process *p;
    weft_process_opts o = {.daemon = s->daemon, .survive_parent = s->survive, .method = s->method};
    if (weft_process_spawn(&p, s->daemon ? pt_sleep_long : write_done, (void *)(intptr_t)done_fd,
                           &o) != 0)
        _exit(90);
    pid_t pid = weft_process_pid(p);
    pid_t fs = weft_forkserver_pid();
    (void)!write(report, &pid, sizeof pid);
    (void)!write(report, &fs, sizeof fs);
    close(report);
    char c;
    (void)!read(go, &c, 1); /* H holds a pidfd of the child now */
    if (s->how == EXIT_NORMALLY)
        exit(0); /* the exit rule: terminate daemons, join the rest */
    for (;;)
        pause();
}

/* H's body; returns 0 or the failed check's number. */
static int harness(const struct scenario *s)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        return 1;
    int rep[2], done[2], go[2];
    if (pipe(rep) != 0 || pipe(done) != 0 || pipe(go) != 0)
        return 2;
    pid_t i = fork();
    if (i < 0)
        return 3;
    if (i == 0) {
        close(rep[0]);
        close(done[0]);
        close(go[1]);
        intermediate(s, rep[1], done[1], go[0]);
    }
    close(rep[1]);
    close(done[1]);
    close(go[0]);
    pid_t child = 0, fs = 0;
    if (read(rep[0], &child, sizeof child) != sizeof child ||
        read(rep[0], &fs, sizeof fs) != sizeof fs)
        return 4;
    int cfd = pidfd_of(child); /* safe: I (or its forkserver) has not reaped it */
    if (cfd < 0)
        return 5;
    (void)!write(go[1], "g", 1);
    int rc = 0;
    double t0 = weft_test_now();
    if (s->how == DIE_KILLED) {
        kill(i, SIGKILL);
        bool ended = ends_within(cfd, s->survive ? 0.5 : 2.0);
        if (ended == s->survive)
            rc = 6; /* died although it should survive, or the reverse */
        if (s->survive)
            kill(child, SIGKILL); /* ours now (subreaper): clean up */
    } else {
        int st = -1;
        if (waitpid(i, &st, 0) != i || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = 7;
        double took = weft_test_now() - t0;
        if (!ends_within(cfd, 0))
            rc = 8; /* I exited, yet its child still runs */
        char buf[8] = {0};
        ssize_t n = read(done[0], buf, sizeof buf); /* EOF after the child */
        if (!s->daemon && (n != 4 || took < 0.25))
            rc = 9; /* a non-daemon child was not waited for */
        if (s->daemon && n != 0)
            rc = 10;
    }
    if (fs > 0) { /* the forkserver follows its program */
        int ffd = pidfd_of(fs);
        if (ffd >= 0 && !ends_within(ffd, 10.0))
            rc = 11;
    }
    reap_all();
    return rc;
}

static int run_scenario(struct scenario s)
{
    pid_t h = fork();
    assert_true(h >= 0);
    if (h == 0)
        _exit(harness(&s));
    int st = -1;
    assert_int_equal(waitpid(h, &st, 0), h);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_sigkill_takes_daemon_children(void **state)
{
    assert_int_equal(run_scenario((struct scenario){PT_METHOD(state), true, false, DIE_KILLED}), 0);
}

/* Unlike Python, non-daemon children die with a killed parent too... */
static void test_sigkill_takes_other_children(void **state)
{
    assert_int_equal(run_scenario((struct scenario){PT_METHOD(state), false, false, DIE_KILLED}),
                     0);
}

/* ...unless they asked to survive it. */
static void test_survive_parent(void **state)
{
    assert_int_equal(run_scenario((struct scenario){PT_METHOD(state), true, true, DIE_KILLED}), 0);
}

static void test_exit_terminates_daemon_children(void **state)
{
    assert_int_equal(run_scenario((struct scenario){PT_METHOD(state), true, false, EXIT_NORMALLY}),
                     0);
}

static void test_exit_joins_other_children(void **state)
{
    assert_int_equal(run_scenario((struct scenario){PT_METHOD(state), false, false, EXIT_NORMALLY}),
                     0);
}

/* The end of a child is Python's: the program's atexit handlers (registered
 * before the start) do not run in it, the non-daemon threads it started are
 * waited for, and what it printed to stdout is flushed. */
static int marker_fd = -1; /* where the program's handler would write */

static void program_handler(void)
{
    if (marker_fd >= 0)
        (void)!write(marker_fd, "H", 1);
}

static void *slow_thread(void *arg)
{
    weft_test_sleep(0.2);
    (void)!write(*(int *)arg, "T", 1); /* written only if the child waited */
    return NULL;
}

static int child_with_thread(void *arg)
{
    weft_thread *t;
    if (weft_thread_start(&t, slow_thread, arg, NULL) != 0)
        return 1;
    weft_thread_free(t);
    printf("buffered"); /* no newline, no flush: the child's end flushes it */
    return 7;
}

static void test_child_end_is_pythons(void **state)
{
    static bool registered;
    int p[2], out[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(out), 0);
    marker_fd = p[1];
    if (!registered) {
        atexit(program_handler);
        registered = true;
    }
    fflush(stdout);
    if (PT_METHOD(state) == WEFT_START_FORKSERVER)
        assert_int_equal(weft_forkserver_start(), 0); /* before stdout is redirected */
    int saved = dup(1);
    dup2(out[1], 1); /* the child's stdout: a pipe we read */
    weft_process *c;
    int rc = weft_process_spawn(&c, child_with_thread, &p[1],
                                &(weft_process_opts){.method = PT_METHOD(state)});
    dup2(saved, 1);
    close(saved);
    close(out[1]);
    assert_int_equal(rc, 0);
    int code = -1;
    assert_int_equal(weft_process_join(c, 10), 0);
    assert_int_equal(weft_process_exitcode(c, &code), 0);
    assert_int_equal(code, 7);
    weft_process_free(c);
    marker_fd = -1;
    close(p[1]);
    char buf[16] = {0};
    assert_int_equal(read(p[0], buf, sizeof buf), 1);
    assert_string_equal(buf, "T"); /* the thread's mark, and no "H" */
    /* A forkserver child's stdout is the server's (set when it started), not
     * the pipe dup'ed in above: only a fork child's output is checked. */
    if (PT_METHOD(state) == WEFT_START_FORK) {
        char text[32] = {0};
        assert_int_equal(read(out[0], text, sizeof text - 1), 8);
        assert_string_equal(text, "buffered");
    }
    close(p[0]);
    close(out[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        PT_BOTH(test_sigkill_takes_daemon_children),
        PT_BOTH(test_sigkill_takes_other_children),
        PT_BOTH(test_survive_parent),
        PT_BOTH(test_exit_terminates_daemon_children),
        PT_BOTH(test_exit_joins_other_children),
        PT_BOTH(test_child_end_is_pythons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
