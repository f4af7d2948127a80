/*
 * FileLock: the `filelock` package's lock on a lock file, with flock(2).
 *
 * Why flock and not OFD (fcntl F_OFD_SETLK) locks: both belong to the open file
 * description, so two handles exclude each other even between threads of one
 * process, both are released by the kernel when the last descriptor closes
 * (holder death included), and neither has a timed wait. flock is what Python's
 * filelock (UnixFileLock) and the flock(1) command use; on Linux flock and
 * fcntl locks do not see each other on local files, so only flock makes a C and
 * a Python program sharing a lock file exclude each other.
 *
 * The handle: mu serialises the calls on it and guards fd and writes to depth.
 * The file is open only while held (opened at the first acquire, closed at the
 * last release), as filelock does, so a lock file removed by hand while nobody
 * holds it is simply created again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal/clock.h"
#include "shared/mem_internal.h"
#include "weft/sync.h"

/* Poll back-off for positive timeouts: from 1 ms, doubling, up to 50 ms. */
#define POLL_FIRST_NS 1000000L
#define POLL_MAX_NS 50000000L

struct weft_filelock {
    weft_lock mu;   /* serialises calls; guards fd, and depth's writes */
    int fd;         /* the open lock file while held, else -1 */
    uint32_t depth; /* times acquired; atomic, read without mu by queries */
    unsigned mode;  /* for a created file; immutable */
    weft__origin origin;
    char path[];
};

WEFT_API int weft_filelock_new(weft_filelock **out, const char *path,
                               const weft_filelock_opts *opts)
{
    if (!out || !path || !path[0])
        return -EINVAL;
    unsigned mode = opts && opts->mode ? opts->mode : 0644;
    if (mode & ~0777u)
        return -EINVAL;
    size_t n = strlen(path);
    weft_filelock *fl = malloc(sizeof *fl + n + 1);
    if (!fl)
        return -ENOMEM;
    weft_lock_init(&fl->mu, "weft_filelock");
    fl->fd = -1;
    fl->depth = 0;
    fl->mode = mode;
    fl->origin = weft__origin_here();
    memcpy(fl->path, path, n + 1);
    *out = fl;
    return 0;
}

/* Open (or create) the lock file. Read-only is enough for flock: it is the
 * fall-back when we may not write or create (another user's 0644 lock file,
 * a sticky directory with protected_regular, a read-only file system). */
static int open_file(const weft_filelock *fl, int *out)
{
    const int common = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK; /* NONBLOCK: a FIFO never hangs open */
    int fd = open(fl->path, O_RDWR | O_CREAT | common, (mode_t)fl->mode);
    int err = errno;
    if (fd < 0 && (err == EACCES || err == EROFS || err == EPERM))
        fd = open(fl->path, O_RDONLY | common);
    if (fd < 0)
        return err ? -err : -EIO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EPERM;
    }
    *out = fd;
    return 0;
}

/* Sleep until min(now + ns, deadline). */
static void poll_sleep(long ns, const weft__deadline *d)
{
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_nsec += ns;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    if (at.tv_sec > d->at.tv_sec || (at.tv_sec == d->at.tv_sec && at.tv_nsec > d->at.tv_nsec))
        at = d->at;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
        ;
}

/* flock(LOCK_EX) on fd within the deadline (see weft/shared.h for the polling). */
static int lock_fd(int fd, const weft__deadline *d)
{
    if (d->forever) {
        while (flock(fd, LOCK_EX) != 0)
            if (errno != EINTR)
                return -errno;
        return 0;
    }
    long wait_ns = POLL_FIRST_NS;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return -errno;
        if (d->nonblock)
            return -EBUSY;
        if (weft__deadline_passed(d))
            return -ETIMEDOUT;
        poll_sleep(wait_ns, d);
        wait_ns = wait_ns * 2 > POLL_MAX_NS ? POLL_MAX_NS : wait_ns * 2;
    }
}

/* With mu held: the first acquire opens and locks the file. */
static int acquire_locked(weft_filelock *fl, const weft__deadline *d)
{
    if (fl->depth > 0) {
        if (fl->depth == UINT32_MAX)
            return -EOVERFLOW;
        __atomic_store_n(&fl->depth, fl->depth + 1, __ATOMIC_RELAXED); /* snapshot readers */
        return 0;
    }
    int fd = -1;
    int rc = open_file(fl, &fd);
    if (rc != 0)
        return rc;
    rc = lock_fd(fd, d);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    fl->fd = fd;
    __atomic_store_n(&fl->depth, 1, __ATOMIC_RELAXED);
    return 0;
}

WEFT_API int weft_filelock_acquire(weft_filelock *fl, double timeout)
{
    if (!fl || weft__timeout_invalid(timeout))
        return -EINVAL;
    if (!weft__origin_is_here(&fl->origin))
        return -ECHILD;
    weft__deadline d = weft__deadline_in(timeout);
    /* Another thread in a call on this handle: wait for it within our own
     * timeout (it only blocks for long while waiting for the file itself). */
    int rc = weft_lock_acquire(&fl->mu, timeout);
    if (rc != 0)
        return rc;
    rc = acquire_locked(fl, &d);
    weft_lock_release(&fl->mu);
    return rc;
}

/* With mu held: undo one acquire; at 0 unlock and close the file. */
static int release_locked(weft_filelock *fl)
{
    if (fl->depth == 0)
        return -EPERM;
    uint32_t left = fl->depth - 1;
    if (left == 0) {
        /* Unlock explicitly: a fork child may still hold a copy of fd, and
         * close alone would then leave the file locked. */
        flock(fl->fd, LOCK_UN);
        close(fl->fd);
        fl->fd = -1;
    }
    __atomic_store_n(&fl->depth, left, __ATOMIC_RELAXED);
    return 0;
}

WEFT_API int weft_filelock_release(weft_filelock *fl)
{
    if (!fl)
        return -EINVAL;
    if (!weft__origin_is_here(&fl->origin))
        return -ECHILD;
    weft_lock_acquire(&fl->mu, WEFT_FOREVER); /* cannot fail: fl is valid */
    int rc = release_locked(fl);
    weft_lock_release(&fl->mu);
    return rc;
}

WEFT_API bool weft_filelock_locked(const weft_filelock *fl)
{
    return weft_filelock_depth(fl) > 0;
}

WEFT_API unsigned weft_filelock_depth(const weft_filelock *fl)
{
    if (!fl || !weft__origin_is_here(&fl->origin))
        return 0;
    /* Relaxed: a snapshot, ordering nothing. */
    return __atomic_load_n(&fl->depth, __ATOMIC_RELAXED);
}

WEFT_API const char *weft_filelock_path(const weft_filelock *fl)
{
    return fl ? fl->path : NULL;
}

WEFT_API void weft_filelock_free(weft_filelock *fl)
{
    if (!fl)
        return;
    if (!weft__origin_is_here(&fl->origin)) {
        /* Fork child: mu may have been held by a parent thread at the fork;
         * close our copy of the descriptor, never unlock the parent's lock. */
        if (fl->fd >= 0)
            close(fl->fd);
        free(fl);
        return;
    }
    weft_lock_acquire(&fl->mu, WEFT_FOREVER);
    if (fl->depth > 0) {
        flock(fl->fd, LOCK_UN);
        close(fl->fd);
    }
    weft_lock_release(&fl->mu);
    weft_lock_destroy(&fl->mu);
    free(fl);
}
