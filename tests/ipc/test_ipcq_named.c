/* Named queues: made by one process, opened by name by others; exclusive names,
 * names gone with their creator (even a crashed one), blocks checked on open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/ipc.h"
#include "weft_test.h"

static char name[64];

static int setup(void **state)
{
    snprintf(name, sizeof name, "test-%d", (int)getpid());
    return 0;
}

static int reap(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void test_bad_names(void **state)
{
    weft_ipc_queue *q = NULL;
    const char *bad[] = {"", "a/b", "with space", "x\n", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.name = bad[i]}),
                         -EINVAL);
        assert_int_equal(weft_ipc_queue_open(&q, bad[i], 0), -EINVAL);
    }
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = 0;
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.name = longname}), -EINVAL);
    assert_int_equal(weft_ipc_queue_open(&q, NULL, 0), -EINVAL);
    assert_int_equal(weft_ipc_queue_open(NULL, name, 0), -EINVAL);
    assert_null(q);
}

static void test_create_open_exclusive_gone(void **state)
{
    weft_ipc_queue *q = NULL, *again = NULL, *o = NULL;
    assert_int_equal(weft_ipc_queue_open(&o, name, 0), -ENOENT);
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.name = name,
                                                                   .capacity = 4096}),
                     0);
    assert_int_equal(weft_ipc_queue_new(&again, &(weft_ipc_queue_opts){.name = name}), -EEXIST);
    assert_int_equal(weft_ipc_queue_open(&o, name, 5), 0);
    assert_int_equal(weft_ipc_queue_capacity(o), 4096);
    assert_int_equal(weft_ipc_queue_put(q, "hi", 2, 0), 0);
    char buf[8];
    size_t len;
    assert_int_equal(weft_ipc_queue_get(o, buf, sizeof buf, &len, 0), 0);
    assert_memory_equal(buf, "hi", 2);
    weft_ipc_queue_free(q); /* the name goes; the queue lives on in o */
    weft_ipc_queue *o2 = NULL;
    assert_int_equal(weft_ipc_queue_open(&o2, name, 0), -ENOENT);
    assert_int_equal(weft_ipc_queue_put(o, "x", 1, 0), 0);
    assert_int_equal(weft_ipc_queue_qsize(o), 1);
    weft_ipc_queue_free(o);
    /* the name can be made again */
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.name = name}), 0);
    weft_ipc_queue_free(q);
}

/* An "unrelated" program: a fork child that knows only the name, opens it and
 * exchanges messages with the creator. */
static void test_other_process_opens_by_name(void **state)
{
    weft_ipc_queue *q = NULL, *back = NULL;
    char backname[80];
    snprintf(backname, sizeof backname, "%s-back", name);
    pid_t pid = fork();
    if (pid == 0) {
        weft_ipc_queue *cq = NULL, *cb = NULL;
        int ok = 0;
        for (int i = 0; i < 500 && weft_ipc_queue_open(&cq, name, 5) != 0; i++)
            weft_test_sleep(0.01); /* until the parent made it */
        if (cq && weft_ipc_queue_new(&cb, &(weft_ipc_queue_opts){.name = backname}) == 0) {
            char buf[32];
            size_t len;
            ok = weft_ipc_queue_get(cq, buf, sizeof buf, &len, 10) == 0 && len == 5 &&
                 !memcmp(buf, "hello", 5) && weft_ipc_queue_put(cb, "world", 5, 10) == 0;
            /* keep serving the name until the parent has opened it */
            ok &= weft_ipc_queue_get(cq, buf, sizeof buf, &len, 10) == 0;
        }
        weft_ipc_queue_free(cb);
        weft_ipc_queue_free(cq);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.name = name}), 0);
    assert_int_equal(weft_ipc_queue_put(q, "hello", 5, 0), 0);
    int rc = -1;
    for (int i = 0; i < 500 && (rc = weft_ipc_queue_open(&back, backname, 5)) != 0; i++)
        weft_test_sleep(0.01);
    assert_int_equal(rc, 0);
    char buf[32];
    size_t len;
    assert_int_equal(weft_ipc_queue_get(back, buf, sizeof buf, &len, 10), 0);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(weft_ipc_queue_put(q, "done", 4, 0), 0);
    assert_int_equal(reap(pid), 0);
    weft_ipc_queue_free(back);
    weft_ipc_queue_free(q);
}

/* A creator killed with SIGKILL leaves no name behind, and nothing in /dev/shm. */
static void test_crashed_creator_leaves_nothing(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        weft_ipc_queue *q;
        char ok = weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.name = name}) == 0;
        (void)!write(p[1], &ok, 1);
        pause();
        _exit(0);
    }
    char ok = 0;
    assert_int_equal(read(p[0], &ok, 1), 1);
    assert_true(ok);
    weft_ipc_queue *o = NULL;
    assert_int_equal(weft_ipc_queue_open(&o, name, 5), 0);
    kill(pid, SIGKILL);
    assert_int_equal(reap(pid), -SIGKILL);
    weft_ipc_queue *o2 = NULL;
    assert_int_equal(weft_ipc_queue_open(&o2, name, 0), -ENOENT);
    assert_int_equal(weft_ipc_queue_put(o, "still here", 10, 0), 0); /* memory lives on */
    weft_ipc_queue_free(o);
    FILE *ls = popen("ls /dev/shm | grep -c weft-ipc", "r");
    int n = -1;
    assert_int_equal(fscanf(ls, "%d", &n), 1);
    pclose(ls);
    assert_int_equal(n, 0);
    close(p[0]);
    close(p[1]);
}

/* A fork child of the creator keeps the queue but does not serve the name, and
 * its free leaves the parent's server alone. */
static void test_fork_child_of_creator(void **state)
{
    weft_ipc_queue *q = NULL;
    assert_int_equal(weft_ipc_queue_new(&q, &(weft_ipc_queue_opts){.name = name}), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = weft_ipc_queue_put(q, "c", 1, 0) == 0;
        weft_ipc_queue_free(q);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(reap(pid), 0);
    weft_ipc_queue *o = NULL;
    assert_int_equal(weft_ipc_queue_open(&o, name, 5), 0); /* still served by us */
    char c;
    size_t len;
    assert_int_equal(weft_ipc_queue_get(o, &c, 1, &len, 0), 0);
    assert_int_equal(c, 'c');
    weft_ipc_queue_free(o);
    weft_ipc_queue_free(q);
}

/* A server that answers with a block that is not a queue: open refuses it. */
static void test_bogus_server_refused(void **state)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int w = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "weft-ipcq-%u-%s",
                     (unsigned)geteuid(), name);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)w);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, alen), 0);
    assert_int_equal(listen(ls, 4), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(ls, NULL, NULL);
        int fd = memfd_create("bogus", 0);
        (void)!ftruncate(fd, 1 << 16); /* zeroes: no magic */
        char byte = 'Q';
        struct iovec iov = {&byte, 1};
        char ctl[CMSG_SPACE(sizeof(int))] = {0};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                           .msg_controllen = sizeof ctl};
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof fd);
        _exit(sendmsg(c, &m, 0) == 1 ? 0 : 1);
    }
    weft_ipc_queue *o = NULL;
    assert_int_equal(weft_ipc_queue_open(&o, name, 5), -WEFT_ECORRUPT);
    assert_null(o);
    assert_int_equal(reap(pid), 0);
    /* and one that never answers: a timeout, not a hang */
    double t0 = weft_test_now();
    assert_int_equal(weft_ipc_queue_open(&o, name, 0.1), -ETIMEDOUT);
    assert_true(weft_test_now() - t0 < 5);
    close(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_create_open_exclusive_gone),
        cmocka_unit_test(test_other_process_opens_by_name),
        cmocka_unit_test(test_crashed_creator_leaves_nothing),
        cmocka_unit_test(test_fork_child_of_creator),
        cmocka_unit_test(test_bogus_server_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
