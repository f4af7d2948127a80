/*
 * Value and Array: Python's multiprocessing.Value / Array. Both are one
 * weft__shobj at the start of an anonymous shared mapping, followed by the data
 * at WEFT__SHOBJ_DATA; a Value is an object of one element. The object's lock
 * (weft__shm_lock) guards the data for get/set and for the caller's critical
 * sections; raw objects have none.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shared/mem_internal.h"

struct weft_value {
    weft__shobj o;
};
struct weft_array {
    weft__shobj o;
};

static void *obj_data(const weft__shobj *o)
{
    return (char *)o + WEFT__SHOBJ_DATA;
}

static int obj_new(weft__shobj **out, size_t elem, size_t len, const void *init,
                   const weft_value_opts *opts)
{
    if (elem == 0)
        return -EINVAL;
    if (len != 0 && elem > SIZE_MAX / len)
        return -EOVERFLOW;
    size_t bytes = elem * len, map_len;
    if (bytes > SIZE_MAX - WEFT__SHOBJ_DATA ||
        !weft__shm_round_pages(WEFT__SHOBJ_DATA + bytes, &map_len))
        return -EOVERFLOW;
    void *p;
    int rc = weft__shm_map_anon(map_len, &p);
    if (rc != 0)
        return rc;
    /* Plain stores: nobody else sees the mapping before we return it (a fork
     * child made later gets a copy of everything written now). The all-zero
     * lock is free. */
    weft__shobj *o = p;
    o->raw = opts && opts->raw;
    o->elem_size = elem;
    o->len = len;
    o->map_len = map_len;
    if (init && bytes)
        memcpy(obj_data(o), init, bytes);
    *out = o;
    return 0;
}

static int obj_acquire(weft__shobj *o, double timeout)
{
    if (!o)
        return -EINVAL;
    if (o->raw)
        return -ENOLCK;
    return weft__shm_lock(&o->lock, timeout);
}

static int obj_release(weft__shobj *o)
{
    if (!o)
        return -EINVAL;
    if (o->raw)
        return -ENOLCK;
    return weft__shm_unlock(&o->lock);
}

/* Element i for a copy under the lock, as Python's .value and a[i] do: the
 * lock is taken (unless raw) when this returns 0 or -EOWNERDEAD; obj_copy_end
 * drops it. After an owner's death the lock is marked consistent at once: a
 * copy is no transaction to repair; the caller still hears -EOWNERDEAD (the
 * data may be half-written) once the copy is done. */
static int obj_copy_begin(weft__shobj *o, size_t i, char **at)
{
    if (!o)
        return -EINVAL;
    if (i >= o->len)
        return -ERANGE;
    int rc = 0;
    if (!o->raw) {
        rc = weft__shm_lock(&o->lock, WEFT_FOREVER);
        if (rc == -EOWNERDEAD)
            weft__shm_consistent(&o->lock);
        else if (rc != 0)
            return rc;
    }
    *at = (char *)obj_data(o) + i * o->elem_size;
    return rc;
}

static void obj_copy_end(weft__shobj *o)
{
    if (!o->raw)
        weft__shm_unlock(&o->lock); /* ours: taken by obj_copy_begin */
}

static int obj_get(weft__shobj *o, size_t i, void *out)
{
    char *at;
    int rc = out ? obj_copy_begin(o, i, &at) : -EINVAL;
    if (rc != 0 && rc != -EOWNERDEAD)
        return rc;
    memcpy(out, at, o->elem_size);
    obj_copy_end(o);
    return rc;
}

static int obj_set(weft__shobj *o, size_t i, const void *in)
{
    char *at;
    int rc = in ? obj_copy_begin(o, i, &at) : -EINVAL;
    if (rc != 0 && rc != -EOWNERDEAD)
        return rc;
    memcpy(at, in, o->elem_size);
    obj_copy_end(o);
    return rc;
}

static int obj_consistent(weft__shobj *o)
{
    if (!o)
        return -EINVAL;
    if (o->raw)
        return -ENOLCK;
    return weft__shm_consistent(&o->lock);
}

static void obj_free(weft__shobj *o)
{
    if (o)
        munmap(o, o->map_len);
}

/* ---- Value ---- */

WEFT_API int weft_value_new(weft_value **out, size_t size, const void *init,
                            const weft_value_opts *opts)
{
    if (!out || size == 0)
        return -EINVAL;
    weft__shobj *o;
    int rc = obj_new(&o, size, 1, init, opts);
    if (rc == 0)
        *out = (weft_value *)o;
    return rc;
}

WEFT_API void *weft_value_ptr(const weft_value *v)
{
    return v ? obj_data(&v->o) : NULL;
}

WEFT_API size_t weft_value_size(const weft_value *v)
{
    return v ? v->o.elem_size : 0;
}

WEFT_API int weft_value_get(weft_value *v, void *out)
{
    return obj_get(v ? &v->o : NULL, 0, out);
}

WEFT_API int weft_value_set(weft_value *v, const void *in)
{
    return obj_set(v ? &v->o : NULL, 0, in);
}

WEFT_API int weft_value_acquire(weft_value *v, double timeout)
{
    return obj_acquire(v ? &v->o : NULL, timeout);
}

WEFT_API int weft_value_release(weft_value *v)
{
    return obj_release(v ? &v->o : NULL);
}

WEFT_API int weft_value_consistent(weft_value *v)
{
    return obj_consistent(v ? &v->o : NULL);
}

static int64_t *value_i64(const weft_value *v)
{
    return v && v->o.elem_size == sizeof(int64_t) ? obj_data(&v->o) : NULL;
}

/* The three i64 calls: seq_cst, the simplest order to reason about next to
 * the lock-based calls; these are not hot enough for weaker orders to matter.
 * The data is 64-byte aligned, so the 8-byte atomics are lock-free. */
WEFT_API int weft_value_add_i64(weft_value *v, int64_t delta, int64_t *now)
{
    int64_t *p = value_i64(v);
    if (!p)
        return -EINVAL;
    /* Wrap-around as in two's complement, without signed-overflow UB: the
     * builtin works on the bit pattern. */
    int64_t n = __atomic_add_fetch(p, delta, __ATOMIC_SEQ_CST);
    if (now)
        *now = n;
    return 0;
}

WEFT_API int weft_value_load_i64(const weft_value *v, int64_t *out)
{
    int64_t *p = value_i64(v);
    if (!p || !out)
        return -EINVAL;
    *out = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    return 0;
}

WEFT_API int weft_value_store_i64(weft_value *v, int64_t value)
{
    int64_t *p = value_i64(v);
    if (!p)
        return -EINVAL;
    __atomic_store_n(p, value, __ATOMIC_SEQ_CST);
    return 0;
}

WEFT_API void weft_value_free(weft_value *v)
{
    obj_free(v ? &v->o : NULL);
}

/* ---- Array ---- */

WEFT_API int weft_array_new(weft_array **out, size_t elem_size, size_t len, const void *init,
                            const weft_array_opts *opts)
{
    if (!out)
        return -EINVAL;
    weft__shobj *o;
    int rc = obj_new(&o, elem_size, len, init, opts);
    if (rc == 0)
        *out = (weft_array *)o;
    return rc;
}

WEFT_API void *weft_array_ptr(const weft_array *a)
{
    return a ? obj_data(&a->o) : NULL;
}

WEFT_API size_t weft_array_len(const weft_array *a)
{
    return a ? a->o.len : 0;
}

WEFT_API size_t weft_array_elem_size(const weft_array *a)
{
    return a ? a->o.elem_size : 0;
}

WEFT_API int weft_array_get(weft_array *a, size_t i, void *out)
{
    return obj_get(a ? &a->o : NULL, i, out);
}

WEFT_API int weft_array_set(weft_array *a, size_t i, const void *in)
{
    return obj_set(a ? &a->o : NULL, i, in);
}

WEFT_API int weft_array_acquire(weft_array *a, double timeout)
{
    return obj_acquire(a ? &a->o : NULL, timeout);
}

WEFT_API int weft_array_release(weft_array *a)
{
    return obj_release(a ? &a->o : NULL);
}

WEFT_API int weft_array_consistent(weft_array *a)
{
    return obj_consistent(a ? &a->o : NULL);
}

WEFT_API void weft_array_free(weft_array *a)
{
    obj_free(a ? &a->o : NULL);
}
