/* FileLock: flock-based lock files for unrelated processes, as Python's
 * filelock: timeouts, reentrancy, exclusion between processes and handles,
 * release on holder death, fork behaviour. */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "shared/test_mem_util.h"
#include "weft/shared.h"

/* A fresh directory for this program's lock files, removed at the end. */
static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/weft-fl-%d-XXXXXX", (int)getpid());
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(char *buf, size_t n, const char *leaf)
{
    snprintf(buf, n, "%s/%s", dir, leaf);
    return buf;
}

static void test_args(void **state)
{
    weft_filelock *fl = (weft_filelock *)1;
    char p[128];
    path_of(p, sizeof p, "args.lock");
    assert_int_equal(weft_filelock_new(NULL, p, NULL), -EINVAL);
    assert_int_equal(weft_filelock_new(&fl, NULL, NULL), -EINVAL);
    assert_int_equal(weft_filelock_new(&fl, "", NULL), -EINVAL);
    assert_int_equal(weft_filelock_new(&fl, p, &(weft_filelock_opts){.mode = 01644}), -EINVAL);
    assert_ptr_equal(fl, (weft_filelock *)1);
    assert_int_equal(weft_filelock_acquire(NULL, 0), -EINVAL);
    assert_int_equal(weft_filelock_release(NULL), -EINVAL);
    assert_false(weft_filelock_locked(NULL));
    assert_int_equal(weft_filelock_depth(NULL), 0);
    assert_null(weft_filelock_path(NULL));
    weft_filelock_free(NULL);

    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_string_equal(weft_filelock_path(fl), p);
    assert_int_equal(weft_filelock_acquire(fl, NAN), -EINVAL);
    assert_false(weft_filelock_locked(fl));
    assert_int_equal(access(p, F_OK), -1); /* not touched until acquire */
    weft_filelock_free(fl);
}

static void test_basic_reentrant(void **state)
{
    char p[128];
    path_of(p, sizeof p, "basic.lock");
    weft_filelock *a, *b;
    assert_int_equal(weft_filelock_new(&a, p, NULL), 0);
    assert_int_equal(weft_filelock_new(&b, p, NULL), 0);
    assert_int_equal(weft_filelock_release(a), -EPERM);
    assert_int_equal(weft_filelock_acquire(a, 0), 0); /* free: timeout 0 succeeds */
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    mode_t um = umask(0);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0644 & ~um);
    assert_true(weft_filelock_locked(a));
    assert_int_equal(weft_filelock_depth(a), 1);
    assert_int_equal(weft_filelock_acquire(a, WEFT_FOREVER), 0);
    assert_int_equal(weft_filelock_acquire(a, 1.0), 0);
    assert_int_equal(weft_filelock_depth(a), 3);
    /* Another handle (another open file description) is excluded, even in
     * this process. */
    assert_int_equal(weft_filelock_acquire(b, 0), -EBUSY);
    assert_int_equal(weft_filelock_release(a), 0);
    assert_int_equal(weft_filelock_release(a), 0);
    assert_int_equal(weft_filelock_depth(a), 1);
    assert_int_equal(weft_filelock_acquire(b, 0), -EBUSY); /* count not 0 yet */
    assert_int_equal(weft_filelock_release(a), 0);
    assert_false(weft_filelock_locked(a));
    assert_int_equal(weft_filelock_release(a), -EPERM);
    assert_int_equal(weft_filelock_acquire(b, 0), 0);
    assert_int_equal(weft_filelock_acquire(a, 0), -EBUSY);
    weft_filelock_free(b); /* frees a held lock */
    assert_int_equal(weft_filelock_acquire(a, 0), 0);
    weft_filelock_free(a);
    assert_int_equal(access(p, F_OK), 0); /* the lock file stays */
}

static void test_mode(void **state)
{
    char p[128];
    path_of(p, sizeof p, "mode.lock");
    weft_filelock *fl;
    assert_int_equal(weft_filelock_new(&fl, p, &(weft_filelock_opts){.mode = 0600}), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    weft_filelock_free(fl);
}

static void test_timeout(void **state)
{
    char p[128];
    path_of(p, sizeof p, "timeout.lock");
    weft_filelock *a, *b;
    assert_int_equal(weft_filelock_new(&a, p, NULL), 0);
    assert_int_equal(weft_filelock_new(&b, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(a, WEFT_FOREVER), 0);
    double t0 = t_now();
    assert_int_equal(weft_filelock_acquire(b, 0), -EBUSY);
    assert_true(t_now() - t0 < 1.0);
    t0 = t_now();
    assert_int_equal(weft_filelock_acquire(b, 0.2), -ETIMEDOUT);
    double dt = t_now() - t0;
    assert_true(dt >= 0.195);
    assert_true(dt < 5.0);
    assert_false(weft_filelock_locked(b));
    weft_filelock_free(a);
    weft_filelock_free(b);
}

static void test_bad_paths(void **state)
{
    char p[128], t[128];
    weft_filelock *fl;
    /* A symbolic link as the last component, dangling or not. */
    path_of(p, sizeof p, "link.lock");
    path_of(t, sizeof t, "target");
    assert_int_equal(symlink(t, p), 0);
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), -ELOOP);
    assert_int_equal(access(t, F_OK), -1); /* not created through the link */
    close(open(t, O_CREAT | O_WRONLY, 0644));
    assert_int_equal(weft_filelock_acquire(fl, 1.0), -ELOOP);
    assert_false(weft_filelock_locked(fl));
    weft_filelock_free(fl);
    /* A directory, a FIFO (never hangs in open), a missing directory. */
    path_of(p, sizeof p, "adir");
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), -EISDIR);
    weft_filelock_free(fl);
    path_of(p, sizeof p, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(fl, WEFT_FOREVER), -EPERM);
    weft_filelock_free(fl);
    path_of(p, sizeof p, "missing/x.lock");
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), -ENOENT);
    weft_filelock_free(fl);
}

/* Interoperability: a plain flock() on the file (what Python's filelock and
 * flock(1) do) excludes us and we exclude it. */
static void test_plain_flock_interop(void **state)
{
    char p[128];
    path_of(p, sizeof p, "interop.lock");
    weft_filelock *fl;
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), 0);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    assert_int_equal(weft_filelock_release(fl), 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), -EBUSY);
    close(fd);
    assert_int_equal(weft_filelock_acquire(fl, 0), 0);
    weft_filelock_free(fl);
}

/* A holder killed with SIGKILL: the kernel releases its lock. */
struct holder {
    const char *path;
    int ready[2];
};

static int holder_child(void *arg)
{
    struct holder *h = arg;
    weft_filelock *fl;
    T_CHECK(1, weft_filelock_new(&fl, h->path, NULL) == 0);
    T_CHECK(2, weft_filelock_acquire(fl, WEFT_FOREVER) == 0);
    t_post(h->ready[1]);
    for (;;)
        pause(); /* killed here, holding the lock */
}

static void test_holder_killed(void **state)
{
    char p[128];
    struct holder h = {.path = path_of(p, sizeof p, "killed.lock")};
    assert_int_equal(pipe(h.ready), 0);
    pid_t pid = t_fork(holder_child, &h);
    assert_true(t_take(h.ready[0]));
    weft_filelock *fl;
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), -EBUSY);
    assert_int_equal(weft_filelock_acquire(fl, 0.05), -ETIMEDOUT);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(t_wait(pid), 128 + SIGKILL);
    assert_int_equal(weft_filelock_acquire(fl, 0), 0);
    weft_filelock_free(fl);
    close(h.ready[0]);
    close(h.ready[1]);
}

/* A timed wait that succeeds when the other process releases. */
static int brief_holder(void *arg)
{
    struct holder *h = arg;
    weft_filelock *fl;
    T_CHECK(1, weft_filelock_new(&fl, h->path, NULL) == 0);
    T_CHECK(2, weft_filelock_acquire(fl, WEFT_FOREVER) == 0);
    t_post(h->ready[1]);
    t_sleep(0.1);
    T_CHECK(3, weft_filelock_release(fl) == 0);
    weft_filelock_free(fl);
    return 0;
}

static void test_timed_wait_succeeds(void **state)
{
    char p[128];
    struct holder h = {.path = path_of(p, sizeof p, "brief.lock")};
    assert_int_equal(pipe(h.ready), 0);
    pid_t pid = t_fork(brief_holder, &h);
    assert_true(t_take(h.ready[0]));
    weft_filelock *fl;
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    double t0 = t_now();
    assert_int_equal(weft_filelock_acquire(fl, 30.0), 0);
    double dt = t_now() - t0;
    assert_true(dt < 20.0);
    print_message("timed acquire got the lock %.3f s after starting (holder kept it ~0.1 s)\n", dt);
    assert_int_equal(t_wait(pid), 0);
    weft_filelock_free(fl);
    close(h.ready[0]);
    close(h.ready[1]);
}

/* Fork: the child cannot act through the inherited handle, and its copy of
 * the descriptor does not keep the lock once the parent releases. */
struct forked {
    weft_filelock *fl;
    int step[2], back[2];
};

static int forked_child(void *arg)
{
    struct forked *f = arg;
    T_CHECK(1, !weft_filelock_locked(f->fl));
    T_CHECK(2, weft_filelock_depth(f->fl) == 0);
    T_CHECK(3, weft_filelock_acquire(f->fl, 0) == -ECHILD);
    T_CHECK(4, weft_filelock_release(f->fl) == -ECHILD);
    t_post(f->back[1]);
    T_CHECK(5, t_take(f->step[0])); /* parent released while we keep the fd */
    weft_filelock_free(f->fl);      /* closes our copy only */
    return 0;
}

static void test_fork_child(void **state)
{
    char p[128];
    path_of(p, sizeof p, "fork.lock");
    struct forked f;
    assert_int_equal(pipe(f.step), 0);
    assert_int_equal(pipe(f.back), 0);
    assert_int_equal(weft_filelock_new(&f.fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(f.fl, 0), 0);
    pid_t pid = t_fork(forked_child, &f);
    assert_true(t_take(f.back[0]));
    assert_true(weft_filelock_locked(f.fl));
    weft_filelock *other;
    assert_int_equal(weft_filelock_new(&other, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(other, 0), -EBUSY);
    assert_int_equal(weft_filelock_release(f.fl), 0);
    /* The child still has the inherited descriptor open. */
    assert_int_equal(weft_filelock_acquire(other, 0), 0);
    t_post(f.step[1]);
    assert_int_equal(t_wait(pid), 0);
    weft_filelock_free(other);
    weft_filelock_free(f.fl);
    for (int i = 0; i < 2; i++) {
        close(f.step[i]);
        close(f.back[i]);
    }
}

/* Threads: a handle each excludes each other (flock is per open file
 * description); one handle shared by threads counts for all of them. */
#define N_THREAD_ROUNDS WEFT_TEST_SCALE(2000)

struct thread_arg {
    const char *path;
    int *total;
};

static void *thread_contender(void *arg)
{
    struct thread_arg *t = arg;
    weft_filelock *fl;
    if (weft_filelock_new(&fl, t->path, NULL) != 0)
        return (void *)1;
    for (int i = 0; i < N_THREAD_ROUNDS; i++) {
        if (weft_filelock_acquire(fl, i % 2 ? WEFT_FOREVER : 30.0) != 0)
            return (void *)2;
        /* A read-modify-write made exclusive only by the file lock. Relaxed
         * atomics: TSan cannot see the kernel's ordering between two handles;
         * a lost update would still show in the total. */
        int v = __atomic_load_n(t->total, __ATOMIC_RELAXED);
        sched_yield();
        __atomic_store_n(t->total, v + 1, __ATOMIC_RELAXED);
        if (weft_filelock_release(fl) != 0)
            return (void *)3;
    }
    weft_filelock_free(fl);
    return NULL;
}

static void *thread_shared_handle(void *arg)
{
    weft_filelock *fl = arg;
    intptr_t bad = weft_filelock_acquire(fl, 0) != 0;
    return (void *)bad;
}

static void test_threads(void **state)
{
    char p[128];
    int total = 0;
    struct thread_arg t = {path_of(p, sizeof p, "threads.lock"), &total};
    pthread_t th[2];
    void *res;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_contender, &t), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], &res), 0);
        assert_null(res);
    }
    assert_int_equal(total, 2 * N_THREAD_ROUNDS);

    weft_filelock *fl;
    assert_int_equal(weft_filelock_new(&fl, p, NULL), 0);
    assert_int_equal(weft_filelock_acquire(fl, 0), 0);
    assert_int_equal(pthread_create(&th[0], NULL, thread_shared_handle, fl), 0);
    assert_int_equal(pthread_join(th[0], &res), 0);
    assert_null(res);
    assert_int_equal(weft_filelock_depth(fl), 2);
    assert_int_equal(weft_filelock_release(fl), 0);
    assert_int_equal(weft_filelock_release(fl), 0);
    assert_false(weft_filelock_locked(fl));
    weft_filelock_free(fl);
}

/* Stress: 3 processes take the lock in turns, some blocking forever, some
 * polling with a timeout; a shared count of holders never passes 1 and every
 * round is counted exactly once. */
#define N_CONTENDERS 3
#define N_ROUNDS WEFT_TEST_SCALE(2000)

struct contest {
    const char *path;
    int *holders; /* in shared memory */
    int *max_seen;
    int *total;
    int *contended; /* acquires that found the lock taken and had to wait */
};

static int contender(void *arg)
{
    struct contest *c = arg;
    weft_filelock *fl;
    T_CHECK(1, weft_filelock_new(&fl, c->path, NULL) == 0);
    bool polling = getpid() % 2;
    for (int i = 0; i < N_ROUNDS; i++) {
        int rc = weft_filelock_acquire(fl, 0);
        if (rc == -EBUSY) {
            __atomic_add_fetch(c->contended, 1, __ATOMIC_RELAXED);
            rc = weft_filelock_acquire(fl, polling ? 30.0 : WEFT_FOREVER);
        }
        T_CHECK(2, rc == 0);
        int h = __atomic_add_fetch(c->holders, 1, __ATOMIC_SEQ_CST);
        if (h > __atomic_load_n(c->max_seen, __ATOMIC_SEQ_CST))
            __atomic_store_n(c->max_seen, h, __ATOMIC_SEQ_CST);
        int t = *c->total; /* a non-atomic read-modify-write, safe only under the lock */
        t_sleep(0.00005);  /* hold it a while: the others pile up */
        *c->total = t + 1;
        __atomic_sub_fetch(c->holders, 1, __ATOMIC_SEQ_CST);
        T_CHECK(3, weft_filelock_release(fl) == 0);
        /* Work outside the lock, so that a poller is not starved by the
         * blocking contenders taking it straight back. */
        t_sleep(0.0001);
    }
    weft_filelock_free(fl);
    return 0;
}

static void test_contention_stress(void **state)
{
    char p[128];
    int *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shm != MAP_FAILED);
    struct contest c = {path_of(p, sizeof p, "contest.lock"), &shm[0], &shm[1], &shm[2], &shm[3]};
    pid_t pids[N_CONTENDERS];
    double t0 = t_now();
    for (int i = 0; i < N_CONTENDERS; i++)
        pids[i] = t_fork(contender, &c);
    for (int i = 0; i < N_CONTENDERS; i++)
        assert_int_equal(t_wait(pids[i]), 0);
    double dt = t_now() - t0;
    assert_int_equal(shm[1], 1);
    assert_int_equal(shm[2], N_CONTENDERS * N_ROUNDS);
    print_message("filelock: %d processes x %d rounds in %.3f s, %d waited\n", N_CONTENDERS,
                  N_ROUNDS, dt, shm[3]);
    munmap(shm, 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_basic_reentrant),
        cmocka_unit_test(test_mode),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_plain_flock_interop),
        cmocka_unit_test(test_holder_killed),
        cmocka_unit_test(test_timed_wait_succeeds),
        cmocka_unit_test(test_fork_child),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_contention_stress),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
