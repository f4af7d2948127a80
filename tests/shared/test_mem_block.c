/* weft_shm: anonymous blocks shared with fork children, and named blocks in
 * /dev/shm - creation, checks on open, reference counts and removal. */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "shared/mem_internal.h"
#include "shared/test_mem_util.h"
#include "weft/shared.h"

/* /dev/shm/<name> exists (as anything, symlinks included). */
static bool shm_exists(const char *name)
{
    char path[300];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    return lstat(path, &st) == 0;
}

static void test_anon_args(void **state)
{
    weft_shm *s = (weft_shm *)1;
    assert_int_equal(weft_shm_new(NULL, 8), -EINVAL);
    assert_int_equal(weft_shm_new(&s, 0), -EINVAL);
    assert_ptr_equal(s, (weft_shm *)1); /* untouched on failure */
    assert_int_equal(weft_shm_new(&s, SIZE_MAX), -ENOMEM);
    assert_null(weft_shm_ptr(NULL));
    assert_int_equal(weft_shm_size(NULL), 0);
    assert_null(weft_shm_name(NULL));
    assert_int_equal(weft_shm_users(NULL), 0);
    weft_shm_free(NULL);
}

static void test_anon_basic(void **state)
{
    weft_shm *s;
    assert_int_equal(weft_shm_new(&s, 100), 0);
    unsigned char *p = weft_shm_ptr(s);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % WEFT_SHM_ALIGN, 0);
    assert_int_equal(weft_shm_size(s), 100);
    assert_null(weft_shm_name(s));
    assert_int_equal(weft_shm_users(s), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xab, 100);
    weft_shm_free(s);
}

/* The child sees what the parent wrote before the fork, and the parent sees
 * what the child writes after it; the child's free unmaps only its copy. */
static int anon_child(void *arg)
{
    weft_shm *s = arg;
    uint32_t *w = weft_shm_ptr(s);
    for (uint32_t i = 0; i < 1024; i++)
        T_CHECK(1, w[i] == i * 7);
    for (uint32_t i = 0; i < 1024; i++)
        w[i] = ~i;
    weft_shm_free(s);
    return 0;
}

static void test_anon_fork(void **state)
{
    weft_shm *s;
    assert_int_equal(weft_shm_new(&s, 1024 * sizeof(uint32_t)), 0);
    uint32_t *w = weft_shm_ptr(s);
    for (uint32_t i = 0; i < 1024; i++)
        w[i] = i * 7;
    assert_int_equal(t_wait(t_fork(anon_child, s)), 0);
    for (uint32_t i = 0; i < 1024; i++)
        assert_int_equal(w[i], ~i);
    weft_shm_free(s);
}

static void test_names(void **state)
{
    weft_shm *s;
    const char *bad[] = {"", "/", "a/b", "/a/b", "//a", ".", "..", "/..", "a/"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(weft_shm_create(&s, bad[i], 64), -EINVAL);
        assert_int_equal(weft_shm_open(&s, bad[i]), -EINVAL);
        assert_int_equal(weft_shm_unlink(bad[i]), -EINVAL);
    }
    assert_int_equal(weft_shm_create(&s, NULL, 64), -EINVAL);
    assert_int_equal(weft_shm_open(&s, NULL), -EINVAL);
    assert_int_equal(weft_shm_unlink(NULL), -EINVAL);

    char name[WEFT_SHM_NAME_MAX + 2];
    int len = snprintf(name, sizeof name, "weft-t-%d-", (int)getpid());
    memset(name + len, 'x', WEFT_SHM_NAME_MAX + 1 - (size_t)len);
    name[WEFT_SHM_NAME_MAX + 1] = 0; /* one byte too long */
    assert_int_equal(weft_shm_create(&s, name, 64), -ENAMETOOLONG);
    assert_int_equal(weft_shm_open(&s, name), -ENAMETOOLONG);
    assert_int_equal(weft_shm_unlink(name), -ENAMETOOLONG);
    name[WEFT_SHM_NAME_MAX] = 0; /* the longest accepted */
    assert_int_equal(weft_shm_create(&s, name, 64), 0);
    assert_string_equal(weft_shm_name(s), name);
    weft_shm_free(s);
    assert_false(shm_exists(name));

    /* A leading '/' names the same block, and is not part of the name. */
    char b[64], slashed[70];
    t_name(b, sizeof b, "slash");
    snprintf(slashed, sizeof slashed, "/%s", b);
    assert_int_equal(weft_shm_create(&s, slashed, 64), 0);
    assert_string_equal(weft_shm_name(s), b);
    assert_true(shm_exists(b));
    weft_shm *o;
    assert_int_equal(weft_shm_open(&o, b), 0);
    weft_shm_free(o);
    weft_shm_free(s);
    assert_false(shm_exists(b));
}

static void test_named_args(void **state)
{
    char n[64];
    t_name(n, sizeof n, "args");
    weft_shm *s;
    assert_int_equal(weft_shm_create(NULL, n, 64), -EINVAL);
    assert_int_equal(weft_shm_create(&s, n, 0), -EINVAL);
    assert_int_equal(weft_shm_create(&s, n, SIZE_MAX), -ENOMEM);
    assert_int_equal(weft_shm_open(NULL, n), -EINVAL);
    assert_false(shm_exists(n)); /* no failed call left anything */
    assert_int_equal(weft_shm_open(&s, n), -ENOENT);
    assert_int_equal(weft_shm_unlink(n), -ENOENT);
}

static void test_named_basic(void **state)
{
    char n[64];
    t_name(n, sizeof n, "basic");
    weft_shm *c, *o;
    assert_int_equal(weft_shm_create(&c, n, 1000), 0);
    assert_true(shm_exists(n));
    assert_int_equal(weft_shm_size(c), 1000);
    assert_string_equal(weft_shm_name(c), n);
    assert_int_equal(weft_shm_users(c), 1);
    unsigned char *pc = weft_shm_ptr(c);
    assert_int_equal((uintptr_t)pc % WEFT_SHM_ALIGN, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(pc[i], 0);

    /* Mode 0600, ours, a regular file. */
    char path[100];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm/%s", n);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_uid, geteuid());

    assert_int_equal(weft_shm_create(&o, n, 1000), -EEXIST);
    assert_int_equal(weft_shm_create(&o, n, 10), -EEXIST);

    assert_int_equal(weft_shm_open(&o, n), 0);
    assert_int_equal(weft_shm_size(o), 1000);
    assert_int_equal(weft_shm_users(c), 2);
    assert_int_equal(weft_shm_users(o), 2);
    unsigned char *po = weft_shm_ptr(o);
    assert_ptr_not_equal(po, pc); /* another mapping of the same memory */
    pc[999] = 42;
    assert_int_equal(po[999], 42);
    /* Any order of frees: the name goes with the last one. */
    weft_shm_free(c);
    assert_true(shm_exists(n));
    assert_int_equal(weft_shm_users(o), 1);
    assert_int_equal(po[999], 42);
    weft_shm_free(o);
    assert_false(shm_exists(n));
    assert_int_equal(weft_shm_open(&o, n), -ENOENT);
}

/* A child opens the block by name (no exec): its own reference, counted;
 * freeing the handle it inherited does not drop the parent's. */
static int named_child(void *arg)
{
    weft_shm *inherited = arg;
    weft_shm *s;
    T_CHECK(1, weft_shm_open(&s, weft_shm_name(inherited)) == 0);
    T_CHECK(2, weft_shm_users(s) == 2);
    T_CHECK(3, weft_shm_size(s) == 4096);
    uint64_t *w = weft_shm_ptr(s);
    T_CHECK(4, w[0] == 0x1234);
    w[1] = 0x5678;
    T_CHECK(5, ((uint64_t *)weft_shm_ptr(inherited))[1] == 0x5678);
    weft_shm_free(inherited); /* only unmaps */
    T_CHECK(6, weft_shm_users(s) == 2);
    weft_shm_free(s);
    return 0;
}

static void test_named_fork_open(void **state)
{
    char n[64];
    t_name(n, sizeof n, "fork");
    weft_shm *s;
    assert_int_equal(weft_shm_create(&s, n, 4096), 0);
    uint64_t *w = weft_shm_ptr(s);
    w[0] = 0x1234;
    assert_int_equal(t_wait(t_fork(named_child, s)), 0);
    assert_int_equal(w[1], 0x5678);
    assert_int_equal(weft_shm_users(s), 1);
    assert_true(shm_exists(n));
    weft_shm_free(s);
    assert_false(shm_exists(n));
}

/* The creator leaves first; the child, last, removes the name. */
struct last_args {
    const char *name;
    int opened[2], freed[2];
};

static int last_child(void *arg)
{
    struct last_args *a = arg;
    weft_shm *s;
    T_CHECK(1, weft_shm_open(&s, a->name) == 0);
    t_post(a->opened[1]);
    T_CHECK(2, t_take(a->freed[0]));
    T_CHECK(3, weft_shm_users(s) == 1);
    weft_shm_free(s);
    T_CHECK(4, !shm_exists(a->name));
    return 0;
}

static void test_named_last_user_child(void **state)
{
    char n[64];
    t_name(n, sizeof n, "last");
    struct last_args a = {.name = n};
    assert_int_equal(pipe(a.opened), 0);
    assert_int_equal(pipe(a.freed), 0);
    weft_shm *s;
    assert_int_equal(weft_shm_create(&s, n, 64), 0);
    pid_t pid = t_fork(last_child, &a);
    assert_true(t_take(a.opened[0]));
    assert_int_equal(weft_shm_users(s), 2);
    weft_shm_free(s);
    assert_true(shm_exists(n));
    t_post(a.freed[1]);
    assert_int_equal(t_wait(pid), 0);
    assert_false(shm_exists(n));
    for (int i = 0; i < 2; i++) {
        close(a.opened[i]);
        close(a.freed[i]);
    }
}

/* A user that dies without freeing keeps its reference: the name stays until
 * weft_shm_unlink. */
static int crash_child(void *arg)
{
    weft_shm *s;
    T_CHECK(1, weft_shm_open(&s, arg) == 0);
    return 0; /* _exit without free */
}

static void test_named_crashed_user(void **state)
{
    char n[64];
    t_name(n, sizeof n, "crash");
    weft_shm *s;
    assert_int_equal(weft_shm_create(&s, n, 64), 0);
    assert_int_equal(t_wait(t_fork(crash_child, n)), 0);
    assert_int_equal(weft_shm_users(s), 2);
    weft_shm_free(s);
    assert_true(shm_exists(n));
    assert_int_equal(weft_shm_unlink(n), 0);
    assert_false(shm_exists(n));
    assert_int_equal(weft_shm_unlink(n), -ENOENT);
}

/* An explicit unlink frees the name at once; a new block under it survives
 * the old block's last free. */
static void test_named_unlink_recreate(void **state)
{
    char n[64];
    t_name(n, sizeof n, "recreate");
    weft_shm *old, *fresh;
    assert_int_equal(weft_shm_create(&old, n, 64), 0);
    ((char *)weft_shm_ptr(old))[0] = 'o';
    assert_int_equal(weft_shm_unlink(n), 0);
    assert_false(shm_exists(n));
    assert_int_equal(((char *)weft_shm_ptr(old))[0], 'o'); /* still mapped */
    assert_int_equal(weft_shm_create(&fresh, n, 64), 0);
    weft_shm_free(old); /* last user of the old block: the name is not its */
    assert_true(shm_exists(n));
    weft_shm *o;
    assert_int_equal(weft_shm_open(&o, n), 0);
    assert_int_equal(((char *)weft_shm_ptr(o))[0], 0);
    weft_shm_free(o);
    weft_shm_free(fresh);
    assert_false(shm_exists(n));
}

static void test_named_symlink(void **state)
{
    char n[64], target[64], lpath[100], tpath[100];
    t_name(n, sizeof n, "link");
    t_name(target, sizeof target, "target");
    snprintf(lpath, sizeof lpath, "/dev/shm/%s", n);
    snprintf(tpath, sizeof tpath, "/dev/shm/%s", target);
    /* A valid weft block as the target, so only the link can be refused. */
    weft_shm *t, *s;
    assert_int_equal(weft_shm_create(&t, target, 64), 0);
    assert_int_equal(symlink(tpath, lpath), 0);
    assert_int_equal(weft_shm_open(&s, n), -ELOOP);
    assert_int_equal(weft_shm_create(&s, n, 64), -EEXIST);
    assert_int_equal(weft_shm_users(t), 1);
    /* A dangling link is refused too, and not followed to create its target. */
    weft_shm_free(t);
    assert_int_equal(weft_shm_create(&s, n, 64), -EEXIST);
    assert_false(shm_exists(target));
    assert_int_equal(weft_shm_open(&s, n), -ELOOP);
    assert_int_equal(unlink(lpath), 0);
}

/* Make /dev/shm/<name> by hand with the given mode and contents. */
static int raw_object(const char *name, mode_t mode, const void *data, size_t len, size_t size)
{
    char path[100];
    snprintf(path, sizeof path, "/%s", name);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0); /* past the umask */
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    if (len)
        assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
    return fd;
}

static void test_named_foreign(void **state)
{
    char n[64];
    t_name(n, sizeof n, "foreign");
    weft_shm *s;
    char junk[4096];
    memset(junk, 'j', sizeof junk);

    /* Empty: maybe a creator half-way: -EAGAIN. */
    close(raw_object(n, 0600, NULL, 0, 0));
    assert_int_equal(weft_shm_open(&s, n), -EAGAIN);
    assert_int_equal(weft_shm_unlink(n), 0);
    /* Smaller than a header. */
    close(raw_object(n, 0600, junk, 10, 10));
    assert_int_equal(weft_shm_open(&s, n), -EBADMSG);
    assert_int_equal(weft_shm_unlink(n), 0);
    /* Big enough, wrong magic. */
    close(raw_object(n, 0600, junk, sizeof junk, sizeof junk));
    assert_int_equal(weft_shm_open(&s, n), -EBADMSG);
    assert_int_equal(weft_shm_unlink(n), 0);
    /* Header all zero: a creator that has not published yet. */
    close(raw_object(n, 0600, NULL, 0, 4096));
    assert_int_equal(weft_shm_open(&s, n), -EAGAIN);
    assert_int_equal(weft_shm_unlink(n), 0);
    /* Group or other bits. */
    close(raw_object(n, 0640, NULL, 0, 4096));
    assert_int_equal(weft_shm_open(&s, n), -EPERM);
    assert_int_equal(weft_shm_unlink(n), 0);
    /* Another owner (needs the right to give files away: root). */
    int fd = raw_object(n, 0600, NULL, 0, 4096);
    if (fchown(fd, 65534, 65534) == 0)
        assert_int_equal(weft_shm_open(&s, n), -EPERM);
    close(fd);
    assert_int_equal(weft_shm_unlink(n), 0);
    /* A directory. */
    char path[100];
    snprintf(path, sizeof path, "/dev/shm/%s", n);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(weft_shm_open(&s, n), -EPERM);
    assert_int_equal(rmdir(path), 0);
}

/* A real block truncated below its size is refused, not mapped to SIGBUS. */
static void test_named_truncated(void **state)
{
    char n[64], path[100];
    t_name(n, sizeof n, "trunc");
    snprintf(path, sizeof path, "/dev/shm/%s", n);
    weft_shm *c, *s;
    assert_int_equal(weft_shm_create(&c, n, 100000), 0);
    assert_int_equal(truncate(path, WEFT_SHM_ALIGN + 100), 0);
    assert_int_equal(weft_shm_open(&s, n), -EBADMSG);
    assert_int_equal(weft_shm_users(c), 1); /* the refused open took nothing */
    /* The header with a size 0 is refused too. */
    assert_int_equal(truncate(path, WEFT_SHM_ALIGN + 100000), 0);
    ((weft__shm_header *)((char *)weft_shm_ptr(c) - WEFT_SHM_ALIGN))->size = 0;
    assert_int_equal(weft_shm_open(&s, n), -EBADMSG);
    weft_shm_free(c);
    assert_false(shm_exists(n));
}

/* A block whose count reached 0 cannot be re-opened (it is being removed),
 * and a full count is refused. */
static void test_named_count_edges(void **state)
{
    char n[64];
    t_name(n, sizeof n, "edges");
    weft_shm *c, *s;
    assert_int_equal(weft_shm_create(&c, n, 64), 0);
    weft__shm_header *h = (weft__shm_header *)((char *)weft_shm_ptr(c) - WEFT_SHM_ALIGN);
    h->users = UINT32_MAX;
    assert_int_equal(weft_shm_open(&s, n), -EOVERFLOW);
    h->users = 0;
    assert_int_equal(weft_shm_open(&s, n), -ENOENT);
    h->users = 1;
    weft_shm_free(c);
    assert_false(shm_exists(n));
}

/* Stress: children open and free the block many times while the creator holds
 * it; the count ends exactly at 1 and the name is never removed early. */
static int churn_child(void *arg)
{
    for (int i = 0; i < WEFT_TEST_SCALE(400); i++) {
        weft_shm *s;
        T_CHECK(1, weft_shm_open(&s, arg) == 0);
        __atomic_add_fetch((uint64_t *)weft_shm_ptr(s), 1, __ATOMIC_RELAXED);
        weft_shm_free(s);
    }
    return 0;
}

static void test_named_churn(void **state)
{
    char n[64];
    t_name(n, sizeof n, "churn");
    weft_shm *s;
    assert_int_equal(weft_shm_create(&s, n, 64), 0);
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = t_fork(churn_child, n);
    for (int i = 0; i < 4; i++)
        assert_int_equal(t_wait(pids[i]), 0);
    assert_int_equal(*(uint64_t *)weft_shm_ptr(s), 4 * WEFT_TEST_SCALE(400));
    assert_int_equal(weft_shm_users(s), 1);
    assert_true(shm_exists(n));
    weft_shm_free(s);
    assert_false(shm_exists(n));
}

/* Races on one name. Children start together when the parent closes the
 * write end of a pipe (all their reads see end-of-file at once). */
struct race {
    const char *name;
    int start[2];
    int *retries; /* in shared memory: opens that saw -ENOENT or -EAGAIN */
};

static int create_racer(void *arg)
{
    struct race *r = arg;
    close(r->start[1]);
    (void)t_take(r->start[0]);
    weft_shm *s;
    int rc = weft_shm_create(&s, r->name, 64);
    return rc == 0 ? 0 : rc == -EEXIST ? 1 : 2; /* the winner keeps its reference */
}

/* Exactly one of several simultaneous exclusive creates wins. */
static void test_named_create_race(void **state)
{
    char n[64];
    struct race r = {.name = t_name(n, sizeof n, "crace")};
    assert_int_equal(pipe(r.start), 0);
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = t_fork(create_racer, &r);
    close(r.start[1]);
    int winners = 0, losers = 0;
    for (int i = 0; i < 4; i++) {
        int st = t_wait(pids[i]);
        winners += st == 0;
        losers += st == 1;
    }
    close(r.start[0]);
    assert_int_equal(winners, 1);
    assert_int_equal(losers, 3);
    weft_shm *s;
    assert_int_equal(weft_shm_open(&s, n), 0);
    assert_int_equal(weft_shm_users(s), 2); /* the winner's, never freed, and ours */
    weft_shm_free(s);
    assert_int_equal(weft_shm_unlink(n), 0);
}

static int open_racer(void *arg)
{
    struct race *r = arg;
    close(r->start[1]);
    (void)t_take(r->start[0]);
    weft_shm *s;
    double end = t_now() + 20;
    int rc;
    while ((rc = weft_shm_open(&s, r->name)) == -ENOENT || rc == -EAGAIN) {
        __atomic_add_fetch(r->retries, 1, __ATOMIC_RELAXED);
        T_CHECK(1, t_now() < end);
    }
    T_CHECK(2, rc == 0);
    T_CHECK(3, weft_shm_size(s) == 4096);
    T_CHECK(4, weft_shm_users(s) >= 2);
    weft_shm_free(s);
    return 0;
}

/* Openers racing with the creator see "not there yet" or the whole block,
 * never a half-made one; afterwards the count is exactly the creator's. */
static void test_named_open_while_creating(void **state)
{
    char n[64];
    int *retries = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(retries != MAP_FAILED);
    struct race r = {.name = t_name(n, sizeof n, "orace"), .retries = retries};
    assert_int_equal(pipe(r.start), 0);
    pid_t pids[3];
    for (int i = 0; i < 3; i++)
        pids[i] = t_fork(open_racer, &r);
    close(r.start[1]);
    t_sleep(0.02); /* let the openers start polling */
    weft_shm *s;
    assert_int_equal(weft_shm_create(&s, n, 4096), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t_wait(pids[i]), 0);
    close(r.start[0]);
    assert_int_equal(weft_shm_users(s), 1);
    print_message("open racing create: %d retries before the block was there\n", *retries);
    weft_shm_free(s);
    assert_false(shm_exists(n));
    munmap(retries, 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anon_args),
        cmocka_unit_test(test_anon_basic),
        cmocka_unit_test(test_anon_fork),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_named_args),
        cmocka_unit_test(test_named_basic),
        cmocka_unit_test(test_named_fork_open),
        cmocka_unit_test(test_named_last_user_child),
        cmocka_unit_test(test_named_crashed_user),
        cmocka_unit_test(test_named_unlink_recreate),
        cmocka_unit_test(test_named_symlink),
        cmocka_unit_test(test_named_foreign),
        cmocka_unit_test(test_named_truncated),
        cmocka_unit_test(test_named_count_edges),
        cmocka_unit_test(test_named_churn),
        cmocka_unit_test(test_named_create_race),
        cmocka_unit_test(test_named_open_while_creating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
