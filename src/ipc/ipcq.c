/*
 * weft_ipc_queue: making, freeing and querying a queue between processes; the
 * side locks. The protocol is described in ipcq_internal.h, put and get are in
 * ipcq_ops.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc/ipcq_internal.h"

static uint64_t round_pow2(uint64_t v)
{
    uint64_t p = IPCQ_CAP_MIN;
    while (p < v)
        p <<= 1;
    return p;
}

/* Check the options and work out the geometry. */
static int geometry(const weft_ipc_queue_opts *o, uint64_t *cap, uint64_t *maxmsg,
                    uint64_t *maxsize)
{
    if (o->capacity > IPCQ_CAP_MAX || o->maxsize > (UINT64_C(1) << 27))
        return -EINVAL;
    *cap = o->capacity ? round_pow2(o->capacity) : IPCQ_CAP_DEFAULT;
    if (o->max_message > *cap - IPCQ_REC_HDR)
        return -EINVAL;
    *maxmsg = o->max_message ? o->max_message : *cap - IPCQ_REC_HDR;
    *maxsize = o->maxsize;
    return 0;
}

/* Map a fresh, zeroed block of `size` bytes: anonymous, or backed by a memfd
 * (named queues, whose block travels to other programs as that fd). */
static void *map_block(size_t size, int *memfd)
{
    if (!memfd)
        return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *memfd = memfd_create("weft-ipc-queue", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (*memfd < 0)
        return MAP_FAILED;
    void *p = MAP_FAILED;
    /* Sealed at its size: nobody holding the fd (every opener gets one) can
     * shrink it under the others' mappings, which would SIGBUS them. */
    if (ftruncate(*memfd, (off_t)size) == 0 &&
        fcntl(*memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, 0);
    if (p == MAP_FAILED) {
        close(*memfd);
        *memfd = -1;
    }
    return p;
}

int weft__ipcq_make(weft_ipc_queue **out, const weft_ipc_queue_opts *opts, int *memfd)
{
    static const weft_ipc_queue_opts defaults = {0};
    const weft_ipc_queue_opts *o = opts ? opts : &defaults;
    uint64_t cap, maxmsg, maxsize;
    if (!out)
        return -EINVAL;
    int rc = geometry(o, &cap, &maxmsg, &maxsize);
    if (rc != 0)
        return rc;
    weft_ipc_queue *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    size_t size = sizeof(struct ipcq_shared) + (size_t)cap;
    struct ipcq_shared *sh = map_block(size, memfd);
    if (sh == MAP_FAILED) {
        rc = errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
        free(q);
        return rc;
    }
    /* A fresh mapping is zero: head = tail = 0, eventcounts idle. */
    sh->magic = IPCQ_MAGIC;
    sh->version = IPCQ_VERSION;
    sh->capacity = cap;
    sh->max_message = maxmsg;
    sh->maxsize = maxsize;
    sh->map_size = size;
    weft_shared_lock_init(&sh->put_lock);
    weft_shared_lock_init(&sh->get_lock);
    *q = (weft_ipc_queue){.sh = sh, .map_size = size, .capacity = cap, .mask = cap - 1,
                          .max_message = maxmsg, .maxsize = maxsize, .name = NULL};
    *out = q;
    return 0;
}

int weft__ipcq_adopt(weft_ipc_queue **out, int memfd)
{
    struct stat st;
    /* Sealed against shrinking (by its creator, see map_block) before its size
     * is trusted: an unsealed file could shrink between fstat and use. */
    int seals = fcntl(memfd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(memfd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size < (off_t)(sizeof(struct ipcq_shared) + IPCQ_CAP_MIN) ||
        st.st_size > (off_t)(sizeof(struct ipcq_shared) + IPCQ_CAP_MAX))
        return -WEFT_ECORRUPT;
    size_t size = (size_t)st.st_size;
    struct ipcq_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (sh == MAP_FAILED)
        return -ENOMEM;
    /* Each geometry field read once into a local, then checked against the
     * others and the block's real size. */
    uint64_t magic = sh->magic, cap = sh->capacity, maxmsg = sh->max_message;
    uint64_t maxsize = sh->maxsize, mapped = sh->map_size;
    uint32_t version = sh->version;
    if (magic != IPCQ_MAGIC || version != IPCQ_VERSION || cap < IPCQ_CAP_MIN ||
        cap > IPCQ_CAP_MAX || (cap & (cap - 1)) != 0 || mapped != size ||
        size != sizeof(struct ipcq_shared) + cap || maxmsg > cap - IPCQ_REC_HDR ||
        maxsize > (UINT64_C(1) << 27)) {
        munmap(sh, size);
        return -WEFT_ECORRUPT;
    }
    weft_ipc_queue *q = calloc(1, sizeof *q);
    if (!q) {
        munmap(sh, size);
        return -ENOMEM;
    }
    *q = (weft_ipc_queue){.sh = sh, .map_size = size, .capacity = cap, .mask = cap - 1,
                          .max_message = maxmsg, .maxsize = maxsize};
    *out = q;
    return 0;
}

int weft_ipc_queue_new(weft_ipc_queue **out, const weft_ipc_queue_opts *opts)
{
    if (opts && opts->name)
        return weft__ipcq_new_named(out, opts);
    return weft__ipcq_make(out, opts, NULL);
}

void weft_ipc_queue_free(weft_ipc_queue *q)
{
    if (!q)
        return;
    weft__ipcq_unname(q);
    /* The locks stay as they are: other processes may still use them; the
     * kernel frees the memory with the last mapping. */
    munmap(q->sh, q->map_size);
    free(q);
}

int weft_ipc_queue_close(weft_ipc_queue *q)
{
    if (!q)
        return -EINVAL;
    q->closed = true;
    return 0;
}

int weft__ipcq_lock(weft_shared_lock *l, double timeout)
{
    int rc = weft_shared_lock_acquire(l, timeout);
    if (rc == -EOWNERDEAD) {
        /* The previous holder died inside put or get. The committed words only
         * ever describe whole records (ipcq_internal.h), so there is nothing to
         * repair: keep the lock usable and carry on. */
        weft_shared_lock_consistent(l);
        rc = 0;
    }
    return rc;
}

int weft__ipcq_corrupt(weft_ipc_queue *q)
{
    q->broken = true;
    /* Relaxed: a hint for the other processes, which check it on every call; each
     * of them also finds the corruption by its own checks. */
    __atomic_store_n(&q->sh->broken, 1u, __ATOMIC_RELAXED);
    return -WEFT_ECORRUPT;
}

/* Messages queued, from one snapshot of each committed word (relaxed: a query,
 * ordered with nothing; clamped so a corrupt word gives a bounded answer). */
size_t weft_ipc_queue_qsize(const weft_ipc_queue *q)
{
    if (!q)
        return 0;
    uint64_t h = __atomic_load_n(&q->sh->head, __ATOMIC_RELAXED);
    uint64_t t = __atomic_load_n(&q->sh->tail, __ATOMIC_RELAXED);
    uint64_t n = (ipcq_cnt(t) - ipcq_cnt(h)) & IPCQ_CNT_MASK;
    uint64_t most = q->capacity / IPCQ_REC_HDR;
    return (size_t)(n > most ? most : n);
}

bool weft_ipc_queue_empty(const weft_ipc_queue *q)
{
    return weft_ipc_queue_qsize(q) == 0;
}

bool weft_ipc_queue_full(const weft_ipc_queue *q)
{
    if (!q)
        return false;
    uint64_t h = __atomic_load_n(&q->sh->head, __ATOMIC_RELAXED);
    uint64_t t = __atomic_load_n(&q->sh->tail, __ATOMIC_RELAXED);
    uint64_t used = (ipcq_off(t) - ipcq_off(h)) & IPCQ_OFF_MASK;
    uint64_t n = (ipcq_cnt(t) - ipcq_cnt(h)) & IPCQ_CNT_MASK;
    return used + IPCQ_REC_HDR > q->capacity || (q->maxsize && n >= q->maxsize);
}

size_t weft_ipc_queue_capacity(const weft_ipc_queue *q)
{
    return q ? (size_t)q->capacity : 0;
}

size_t weft_ipc_queue_max_message(const weft_ipc_queue *q)
{
    return q ? (size_t)q->max_message : 0;
}
