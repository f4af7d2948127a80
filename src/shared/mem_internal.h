/*
 * Private pieces shared by the memory sources (mem_*.c) and the file lock:
 * the mapping helpers, the layout of named blocks, Value/Array objects and the
 * process-shared lock those carry.
 */
#ifndef WEFT_SHARED_MEM_INTERNAL_H
#define WEFT_SHARED_MEM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "internal/forkgen.h"
#include "weft/shared.h"

/* ---- where a handle was made ----
 * A handle copied into a fork child must not act for its parent (drop the
 * parent's reference to a named block, unlock the parent's file lock). The
 * fork generation changes in every child forked through glibc's fork(); the pid
 * also catches children made by a raw clone()/vfork that run no atfork
 * handlers. */
typedef struct weft__origin {
    uint32_t fork_gen;
    pid_t pid;
} weft__origin;

static inline weft__origin weft__origin_here(void)
{
    weft__origin o = {weft__fork_generation(), getpid()};
    return o;
}

static inline bool weft__origin_is_here(const weft__origin *o)
{
    return o->fork_gen == weft__fork_generation() && o->pid == getpid();
}

/* ---- mappings ---- */

/* len rounded up to whole pages in *out; false if that overflows. */
bool weft__shm_round_pages(size_t len, size_t *out);

/* A new zeroed MAP_SHARED|MAP_ANONYMOUS mapping of len bytes (a multiple of the
 * page size). Returns 0 or -ENOMEM. */
int weft__shm_map_anon(size_t len, void **out);

/* ---- the process-shared lock of Values and Arrays ----
 * weft_shared_rlock (part 1 of weft/shared.h): recursive, owned, robust against
 * its owner's death. These two functions are the only place the lock is taken
 * or released. An all-zero rlock is a free one (WEFT_SHARED_RLOCK_INIT), so a
 * fresh anonymous mapping needs no set-up. */
typedef struct weft__shm_mutex {
    weft_shared_rlock r;
} weft__shm_mutex;

/* Returns 0, -EOWNERDEAD (taken; the previous owner died), -ENOTRECOVERABLE,
 * -EBUSY (timeout 0, held by another thread), -ETIMEDOUT, -EINVAL (NaN),
 * -EOVERFLOW (depth). Blocks. */
int weft__shm_lock(weft__shm_mutex *m, double timeout);
/* Returns 0 or -EPERM (the caller does not hold it). Never blocks. */
int weft__shm_unlock(weft__shm_mutex *m);
/* After -EOWNERDEAD: the data is fine again. Returns 0, -EPERM, -EINVAL. */
int weft__shm_consistent(weft__shm_mutex *m);

/* ---- named blocks ----
 * The object in /dev/shm is [header | pad to WEFT_SHM_ALIGN | data]. */
#define WEFT__SHM_MAGIC UINT64_C(0x314d485354464557) /* "WEFTSHM1" little-endian */

typedef struct weft__shm_header {
    uint64_t magic; /* WEFT__SHM_MAGIC once set up; stored last, with release */
    uint64_t size;  /* usable bytes after the header; immutable once magic is set */
    uint32_t users; /* references held, across processes; atomic RMW only */
} weft__shm_header;

_Static_assert(sizeof(weft__shm_header) <= WEFT_SHM_ALIGN, "header must fit its slot");

struct weft_shm {
    void *base;            /* start of the mapping */
    size_t map_len;        /* its length */
    void *data;            /* the caller's bytes */
    size_t size;           /* their number */
    weft__shm_header *hdr; /* named: the shared header; NULL when anonymous */
    weft__origin origin;   /* where this handle was made */
    dev_t dev;             /* named: the object's identity, to unlink only it */
    ino_t ino;
    char name[]; /* named: the name without '/'; "" when anonymous */
};

/* Named block, handle made in this process: drop its reference and unmap; the
 * last reference removes the name if it is still this object's (mem_named.c). */
void weft__shm_named_release(weft_shm *s);

/* ---- Value and Array ----
 * The handle is the start of the mapping: [object | pad | data at
 * WEFT__SHOBJ_DATA], so a fork child's copy of the pointer names the same
 * object. Fields other than lock are immutable after new. */
typedef struct weft__shobj {
    weft__shm_mutex lock; /* guards the data for get/set and for callers */
    uint32_t raw;         /* 1: no lock (RawValue/RawArray) */
    size_t elem_size;
    size_t len;
    size_t map_len;
} weft__shobj;

/* Where the data starts: the object rounded up to WEFT_SHM_ALIGN (one slot
 * today; more if the lock grows when weft_shared_lock replaces it). */
#define WEFT__SHOBJ_DATA                                                                           \
    ((sizeof(weft__shobj) + WEFT_SHM_ALIGN - 1) / WEFT_SHM_ALIGN * WEFT_SHM_ALIGN)

#endif
