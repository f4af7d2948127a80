/*
 * weft_shm: anonymous blocks, the queries every block answers, and free.
 * Named blocks are made in mem_named.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "shared/mem_internal.h"

WEFT_API int weft_shm_new(weft_shm **out, size_t size)
{
    if (!out || size == 0)
        return -EINVAL;
    size_t len;
    if (!weft__shm_round_pages(size, &len))
        return -ENOMEM;
    weft_shm *s = calloc(1, sizeof *s + 1); /* + the empty name */
    if (!s)
        return -ENOMEM;
    int rc = weft__shm_map_anon(len, &s->base);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->map_len = len;
    s->data = s->base;
    s->size = size;
    s->origin = weft__origin_here();
    *out = s;
    return 0;
}

WEFT_API void *weft_shm_ptr(const weft_shm *s)
{
    return s ? s->data : NULL;
}

WEFT_API size_t weft_shm_size(const weft_shm *s)
{
    return s ? s->size : 0;
}

WEFT_API const char *weft_shm_name(const weft_shm *s)
{
    return s && s->hdr ? s->name : NULL;
}

WEFT_API unsigned weft_shm_users(const weft_shm *s)
{
    if (!s || !s->hdr)
        return 0;
    /* Relaxed: a snapshot of a counter other processes change. */
    return __atomic_load_n(&s->hdr->users, __ATOMIC_RELAXED);
}

WEFT_API void weft_shm_free(weft_shm *s)
{
    if (!s)
        return;
    if (s->hdr && weft__origin_is_here(&s->origin))
        weft__shm_named_release(s); /* unmaps too */
    else
        munmap(s->base, s->map_len);
    free(s);
}
