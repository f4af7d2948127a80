/*
 * Named blocks: POSIX shared memory objects in /dev/shm that unrelated
 * processes of one user open by name.
 *
 * Set-up protocol. The creator makes the object with O_CREAT|O_EXCL (so it is
 * ours and new), sizes it, maps it, writes size and users = 1 and last stores
 * the magic with release. An opener checks the object (regular, ours, 0600-ish,
 * big enough) before mapping it, then loads the magic with acquire: seeing it,
 * it also sees size and the first reference. Seeing 0 means the creator is not
 * done (-EAGAIN).
 *
 * Reference count. users counts handles, across processes. open adds one only
 * if users is not 0 (a CAS loop), so a block whose count reached 0 - whose
 * last user is removing the name - is never brought back: exactly one free sees
 * the count go to 0, and it alone unlinks. It unlinks only if the name still
 * refers to this object (same device and inode), so a block removed by
 * weft_shm_unlink and re-created under the same name keeps its name. (The
 * check and the unlink are two calls: a remove + re-create squeezed between
 * them would lose the new name. The window is two system calls wide.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/mem_internal.h"

/* "/" + name + NUL, the form shm_open wants. */
typedef struct shm_path {
    char buf[WEFT_SHM_NAME_MAX + 2];
} shm_path;

/* Check a name and spell it for shm_open. Returns 0, -EINVAL, -ENAMETOOLONG. */
static int name_check(const char *name, shm_path *p, const char **bare)
{
    if (!name)
        return -EINVAL;
    if (name[0] == '/')
        name++;
    size_t n = strlen(name);
    if (n == 0 || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    if (n > WEFT_SHM_NAME_MAX)
        return -ENAMETOOLONG;
    p->buf[0] = '/';
    memcpy(p->buf + 1, name, n + 1);
    if (bare)
        *bare = name;
    return 0;
}

static weft_shm *handle_new(const char *bare)
{
    size_t n = strlen(bare);
    weft_shm *s = calloc(1, sizeof *s + n + 1);
    if (s)
        memcpy(s->name, bare, n + 1);
    return s;
}

static size_t data_offset(void)
{
    return WEFT_SHM_ALIGN; /* the header's slot; mappings are page-aligned */
}

/* Map the object of fd (len bytes) and fill in the handle's mapping fields. */
static int map_fd(weft_shm *s, int fd, size_t len, const struct stat *st)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    s->base = p;
    s->map_len = len;
    s->hdr = p;
    s->data = (char *)p + data_offset();
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->origin = weft__origin_here();
    return 0;
}

static int create_object(weft_shm *s, const shm_path *p, size_t size)
{
    int fd = shm_open(p->buf, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t len = data_offset() + size;
    struct stat st;
    int rc = 0;
    if (ftruncate(fd, (off_t)len) != 0 || fstat(fd, &st) != 0)
        rc = -errno;
    if (rc == 0)
        rc = map_fd(s, fd, len, &st);
    close(fd); /* the mapping keeps the object */
    if (rc != 0) {
        shm_unlink(p->buf); /* ours: O_EXCL made it */
        return rc;
    }
    s->size = size;
    s->hdr->size = size;
    s->hdr->users = 1; /* published by the magic's release store */
    __atomic_store_n(&s->hdr->magic, WEFT__SHM_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

WEFT_API int weft_shm_create(weft_shm **out, const char *name, size_t size)
{
    shm_path p;
    const char *bare;
    int rc = name_check(name, &p, &bare);
    if (rc != 0)
        return rc;
    if (!out || size == 0)
        return -EINVAL;
    if (size > (size_t)INT64_MAX - data_offset())
        return -ENOMEM;
    weft_shm *s = handle_new(bare);
    if (!s)
        return -ENOMEM;
    rc = create_object(s, &p, size);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The checks made on an object before it is mapped. */
static int check_object(const struct stat *st)
{
    if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() || (st->st_mode & 077) != 0)
        return -EPERM;
    if (st->st_size == 0)
        return -EAGAIN; /* a creator between shm_open and ftruncate */
    if ((uint64_t)st->st_size < data_offset())
        return -EBADMSG;
    return 0;
}

/* The checks made on the mapped header. */
static int check_header(const weft_shm *s)
{
    /* Acquire: pairs with the creator's release store of the magic, so size
     * and users are set up when we see it. */
    uint64_t magic = __atomic_load_n(&s->hdr->magic, __ATOMIC_ACQUIRE);
    if (magic == 0)
        return -EAGAIN;
    if (magic != WEFT__SHM_MAGIC)
        return -EBADMSG;
    uint64_t size = s->hdr->size;
    if (size == 0 || size > s->map_len - data_offset())
        return -EBADMSG; /* truncated, or a corrupt header */
    return 0;
}

/* users += 1 unless it is 0 (the block is being removed: see top).
 * Acq_rel like any reference count: nothing else is ordered by it. */
static int users_get(weft__shm_header *h)
{
    uint32_t n = __atomic_load_n(&h->users, __ATOMIC_RELAXED);
    do {
        if (n == 0)
            return -ENOENT;
        if (n == UINT32_MAX)
            return -EOVERFLOW;
    } while (!__atomic_compare_exchange_n(&h->users, &n, n + 1, true, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    return 0;
}

static int open_object(weft_shm *s, const shm_path *p)
{
    int fd = shm_open(p->buf, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) /* glibc reports a directory as EINVAL; the name is valid */
        return errno == EINVAL || errno == EISDIR ? -EPERM : -errno;
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? -errno : check_object(&st);
    if (rc == 0)
        rc = map_fd(s, fd, (size_t)st.st_size, &st);
    close(fd);
    if (rc != 0)
        return rc;
    rc = check_header(s);
    if (rc == 0)
        rc = users_get(s->hdr);
    if (rc != 0) {
        munmap(s->base, s->map_len);
        return rc;
    }
    s->size = (size_t)s->hdr->size;
    return 0;
}

WEFT_API int weft_shm_open(weft_shm **out, const char *name)
{
    shm_path p;
    const char *bare;
    int rc = name_check(name, &p, &bare);
    if (rc != 0)
        return rc;
    if (!out)
        return -EINVAL;
    weft_shm *s = handle_new(bare);
    if (!s)
        return -ENOMEM;
    rc = open_object(s, &p);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

WEFT_API int weft_shm_unlink(const char *name)
{
    shm_path p;
    int rc = name_check(name, &p, NULL);
    if (rc != 0)
        return rc;
    return shm_unlink(p.buf) == 0 ? 0 : -errno;
}

/* Remove the name if it still refers to the object (dev, ino). */
static void unlink_if_same(const char *bare, dev_t dev, ino_t ino)
{
    shm_path p;
    if (name_check(bare, &p, NULL) != 0)
        return;
    int fd = shm_open(p.buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return; /* already removed (weft_shm_unlink) */
    struct stat st;
    bool same = fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
    close(fd);
    if (same)
        shm_unlink(p.buf);
}

void weft__shm_named_release(weft_shm *s)
{
    /* Acq_rel: our accesses to the block happen before the last user's
     * clean-up (the usual reference-count ordering). Exactly one caller sees
     * the count reach 0, and open never raises it from 0 (see top). */
    uint32_t left = __atomic_sub_fetch(&s->hdr->users, 1, __ATOMIC_ACQ_REL);
    munmap(s->base, s->map_len);
    if (left == 0)
        unlink_if_same(s->name, s->dev, s->ino);
}
