/*
 * weft/shared.h - Python's multiprocessing.Lock, RLock, Semaphore,
 * BoundedSemaphore, Event, Condition and Barrier, Value and Array, shared memory
 * blocks and file locks, in C: synchronisation and memory that work across
 * processes.
 *
 * (The module overview is written with the two sections below.)
 */
#ifndef WEFT_SHARED_H
#define WEFT_SHARED_H

#include <sys/types.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===========================================================================
 * Part 1: process-shared, owner-death-robust synchronisation.
 * (src/shared/ sync sources; tests/shared/test_sh*.c)
 */

/* --- end of part 1 --- */

/* ===========================================================================
 * Part 2: shared memory (Value, Array, anonymous and named blocks) and file
 * locks. (src/shared/ memory and file-lock sources; tests/shared/test_mem*.c,
 * test_filelock*.c)
 *
 * Python's multiprocessing.Value and Array, line for line:
 *
 *     num = Value('d', 0.0)          weft_value *num;
 *                                    weft_value_new(&num, sizeof(double), &(double){0.0}, NULL);
 *     arr = Array('i', range(10))    int init[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
 *                                    weft_array *arr;
 *                                    weft_array_new(&arr, sizeof(int), 10, init, NULL);
 *     # in the child (fork)
 *     num.value = 3.14159            weft_value_set(num, &(double){3.14159});
 *     for i in range(len(a)):        for (size_t i = 0; i < weft_array_len(arr); i++)
 *         a[i] = -a[i]                   WEFT_ARRAY(arr, int)[i] = -WEFT_ARRAY(arr, int)[i];
 *     # the counter
 *     with counter.get_lock():       weft_value_acquire(counter, WEFT_FOREVER);
 *         counter.value += 1         WEFT_VALUE(counter, int64_t) += 1;
 *                                    weft_value_release(counter);
 *
 * Sharing is by fork(): a Value, Array or anonymous block is a MAP_SHARED
 * mapping, so a child created by fork() sees the same memory at the same address
 * through the same handle. Unrelated processes share a named block
 * (weft_shm_create / weft_shm_open), Python's shared_memory.SharedMemory.
 *
 * Fork and handles: a child inherits every handle with its mapping; using it
 * there is fine. Freeing an inherited handle in the child unmaps the child's
 * copy only (for a named block it does not count as a user leaving: the parent's
 * reference is the parent's). A child that wants a reference of its own to a
 * named block opens it by name.
 *
 * Memory: every object is its own mapping, a whole number of pages (a Value of
 * 8 bytes costs a page): for many small values use one Array or a struct in one
 * block. The data of every object is aligned to WEFT_SHM_ALIGN bytes, enough for
 * any C type (and a cache line).
 */
#define WEFT_SHM_ALIGN 64

/* ---------------------------------------------------------------------------
 * Shared blocks: raw bytes shared with fork children (anonymous) or with any
 * process of the same user that knows the name (named, in /dev/shm).
 *
 * Common returns: -EINVAL (a NULL argument, size 0), -ENOMEM (no memory or
 * address space for the mapping or the handle).
 * The handle's queries (ptr, size, name, users) are thread-safe; free must not
 * run concurrently with any other call on the same handle. The memory itself is
 * plain bytes: synchronise access to it yourself (atomics, a lock in it, ...).
 */
typedef struct weft_shm weft_shm;

/* A name longer than this many bytes (not counting one leading '/') is refused
 * with -ENAMETOOLONG. */
#define WEFT_SHM_NAME_MAX 250

/* A new anonymous block of `size` zeroed bytes (mmap MAP_SHARED|MAP_ANONYMOUS),
 * shared with every child forked after this call. Returns 0, -EINVAL, -ENOMEM.
 * Never blocks. */
WEFT_API int weft_shm_new(weft_shm **out, size_t size);

/*
 * Create a named block of `size` zeroed bytes: Python's
 * SharedMemory(name, create=True, size=size). The name is one path component,
 * with or without one leading '/' ("counter" and "/counter" are the same block,
 * /dev/shm/counter); no other '/', not "." or "..", not empty.
 * The object is made with O_CREAT|O_EXCL, mode 0600 (the umask can only narrow
 * it), never through a symbolic link. The creator holds the first reference.
 * Returns 0, -EINVAL (bad name, size 0, out NULL), -ENAMETOOLONG, -EEXIST (the
 * name exists - also briefly while a block whose last user left is being
 * removed), -ENOSPC/-ENOMEM, -EACCES and other -errno from shm_open/ftruncate/
 * mmap (on failure nothing is left behind). Never blocks.
 */
WEFT_API int weft_shm_create(weft_shm **out, const char *name, size_t size);

/*
 * Open an existing named block (SharedMemory(name)), adding one reference.
 * The object is checked before it is used, so a wrong object is refused with a
 * code instead of a SIGBUS later: it must be a regular file (no symbolic link is
 * followed), owned by the caller's effective user, with no group or other
 * permission bits, at least as large as its header says, and start with weft's
 * header. Returns 0;
 *   -EINVAL, -ENAMETOOLONG  as for create;
 *   -ENOENT    no such name, or its last user just left and it is being removed;
 *   -ELOOP     the name is a symbolic link;
 *   -EPERM     not a regular file, another owner, or group/other access bits;
 *   -EAGAIN    empty or header not yet written: a creator is still setting it up
 *              (retry), or it is an empty object that is not a weft block;
 *   -EBADMSG   not a weft block (wrong magic) or truncated below its size;
 *   -EOVERFLOW the reference count is full;
 *   other -errno from shm_open/fstat/mmap.
 * Never blocks. After a successful open the size cannot be checked again: a
 * process that truncates the object later makes accesses past the end SIGBUS.
 */
WEFT_API int weft_shm_open(weft_shm **out, const char *name);

/*
 * Remove a name now (Python's SharedMemory.unlink()), whoever uses it: mappings
 * stay valid, the memory goes when the last one is unmapped, and the name may be
 * created again at once. This is also the clean-up for a block whose user count
 * can no longer reach 0 (see weft_shm_free). Accepts the same names as create.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EACCES/-EPERM. Never blocks.
 */
WEFT_API int weft_shm_unlink(const char *name);

/* The first byte of the block (aligned to WEFT_SHM_ALIGN), NULL for NULL. */
WEFT_API void *weft_shm_ptr(const weft_shm *s);
/* The usable size in bytes as created (0 for NULL). */
WEFT_API size_t weft_shm_size(const weft_shm *s);
/* The name without its leading '/', or NULL (anonymous block, or NULL). */
WEFT_API const char *weft_shm_name(const weft_shm *s);
/* References to a named block held now, across processes (a snapshot): the
 * creator's plus one per open not yet freed. 0 for an anonymous block. */
WEFT_API unsigned weft_shm_users(const weft_shm *s);

/*
 * Unmap the block in this process and free the handle; NULL is ignored.
 * Named block, handle made in this process: drops its reference; the one that
 * drops the last (atomically, so exactly one) removes the name from /dev/shm,
 * if the name still refers to this block. A process that dies (or exits)
 * without freeing never drops its reference: the block then stays in /dev/shm,
 * using its memory, until weft_shm_unlink(name) or a reboot.
 * Handle inherited through fork(): only unmaps the child's copy.
 * Never blocks.
 */
WEFT_API void weft_shm_free(weft_shm *s);

/* ---------------------------------------------------------------------------
 * Value and Array: Python's multiprocessing.Value / Array (and RawValue /
 * RawArray with .raw = true). A typed block shared with fork children, with a
 * process-shared recursive lock of its own by default (Python's lock=True makes
 * an RLock): the thread holding it may take it again and must release it as
 * many times.
 *
 * The data is plain memory at weft_value_ptr / weft_array_ptr (WEFT_VALUE and
 * WEFT_ARRAY give it a type). Like Python's .value and a[i], the get and set
 * calls copy under the lock; direct access through the pointer does not lock:
 * take the lock around compound updates (counter.value += 1 is a race in Python
 * too without get_lock()).
 *
 * The lock is not robust yet: a process that dies holding it leaves it held
 * (waiters with a timeout get -ETIMEDOUT). It becomes weft_shared_lock's
 * owner-death-robust lock at the merge of part 1, behind the same calls.
 *
 * Common returns: -EINVAL (a NULL object or argument, NaN timeout), -ENOLCK (a
 * lock call on a raw object, which has no lock: Python's AttributeError).
 * Every call is thread- and process-safe, except free, which must not run
 * concurrently with other calls on the same handle in the same process.
 */
typedef struct weft_value weft_value;
typedef struct weft_array weft_array;

typedef struct weft_value_opts {
    /* No lock: Python's RawValue / RawArray (and lock=False). Default false. */
    bool raw;
} weft_value_opts;
typedef weft_value_opts weft_array_opts;

/* The data as an lvalue of type T: WEFT_VALUE(num, double) = 3.14159. */
#define WEFT_VALUE(v, T) (*(T *)weft_value_ptr(v))
/* The elements as a T array: WEFT_ARRAY(arr, int)[i]. */
#define WEFT_ARRAY(a, T) ((T *)weft_array_ptr(a))

/* A new Value of `size` bytes, copied from init (NULL: zeros). opts may be
 * NULL. Returns 0, -EINVAL (out NULL, size 0), -ENOMEM. Never blocks. */
WEFT_API int weft_value_new(weft_value **out, size_t size, const void *init,
                            const weft_value_opts *opts);
/* The data (aligned to WEFT_SHM_ALIGN), NULL for NULL. Never blocks. */
WEFT_API void *weft_value_ptr(const weft_value *v);
/* Its size in bytes (0 for NULL). */
WEFT_API size_t weft_value_size(const weft_value *v);
/* Copy the value into out (size bytes) under the lock (raw: without).
 * Returns 0, -EINVAL, -EOVERFLOW (the calling thread already holds the lock
 * UINT32_MAX times). Blocks while another thread or process holds the lock. */
WEFT_API int weft_value_get(weft_value *v, void *out);
/* Copy size bytes from in into the value under the lock. Same returns. */
WEFT_API int weft_value_set(weft_value *v, const void *in);
/* Take the lock (Python's get_lock().acquire(timeout=...)), waiting up to
 * timeout seconds; the holder may take it again. Returns 0, -EBUSY (timeout 0
 * and held by another thread), -ETIMEDOUT, -EOVERFLOW (depth), -EINVAL, -ENOLCK.
 * Blocks. */
WEFT_API int weft_value_acquire(weft_value *v, double timeout);
/* Undo one acquire. Returns 0, -EPERM (the calling thread does not hold it),
 * -EINVAL, -ENOLCK. Never blocks. */
WEFT_API int weft_value_release(weft_value *v);
/* Atomic operations on an 8-byte Value as an int64_t, without the lock (they
 * are atomic with respect to each other, not to unlocked plain writes).
 * add stores the new value in *now (may be NULL). Return 0, -EINVAL (v NULL,
 * size is not 8, out NULL). Never block. */
WEFT_API int weft_value_add_i64(weft_value *v, int64_t delta, int64_t *now);
WEFT_API int weft_value_load_i64(const weft_value *v, int64_t *out);
WEFT_API int weft_value_store_i64(weft_value *v, int64_t value);
/* Unmap it in this process; NULL is ignored. The memory goes when every process
 * that maps it (the creator and its fork children) has freed it or exited.
 * Freeing while holding its lock leaves the lock held for the other processes.
 * Never blocks. */
WEFT_API void weft_value_free(weft_value *v);

/* A new Array of len elements of elem_size bytes, copied from init (len
 * elements; NULL: zeros). len 0 is allowed (Python's Array('i', 0)). opts may be
 * NULL. Returns 0, -EINVAL (out NULL, elem_size 0), -EOVERFLOW (elem_size x len
 * overflows), -ENOMEM. Never blocks. */
WEFT_API int weft_array_new(weft_array **out, size_t elem_size, size_t len, const void *init,
                            const weft_array_opts *opts);
/* The first element (aligned to WEFT_SHM_ALIGN), NULL for NULL. */
WEFT_API void *weft_array_ptr(const weft_array *a);
/* Number of elements (Python's len(a)); 0 for NULL. */
WEFT_API size_t weft_array_len(const weft_array *a);
/* Size of one element; 0 for NULL. */
WEFT_API size_t weft_array_elem_size(const weft_array *a);
/* Copy element i into out (a[i]) / from in (a[i] = x) under the lock.
 * Return 0, -EINVAL, -ERANGE (i >= len: Python's IndexError), -EOVERFLOW.
 * Block while another thread or process holds the lock. */
WEFT_API int weft_array_get(weft_array *a, size_t i, void *out);
WEFT_API int weft_array_set(weft_array *a, size_t i, const void *in);
/* The Array's lock, as weft_value_acquire / weft_value_release. */
WEFT_API int weft_array_acquire(weft_array *a, double timeout);
WEFT_API int weft_array_release(weft_array *a);
/* As weft_value_free. */
WEFT_API void weft_array_free(weft_array *a);

/* ---------------------------------------------------------------------------
 * FileLock: the `filelock` package's FileLock for unrelated programs - an
 * exclusive, advisory lock on a lock file, taken with flock(2) exactly as
 * filelock does, so a C program and a Python program (or `flock(1)` in a shell
 * script) using the same file exclude each other. flock locks belong to the open
 * file description: two handles exclude each other even in one process (also
 * between threads), and the kernel releases the lock when the holder exits or is
 * killed. The lock file is created if missing (and never removed: removing a
 * lock file is what makes lock files racy); the file must be a regular file and
 * the last path component must not be a symbolic link.
 *
 *     weft_filelock *fl;
 *     weft_filelock_new(&fl, "tickets.txt.lock", NULL);
 *     if (weft_filelock_acquire(fl, 10.0) == 0) {    // with FileLock(...).acquire(timeout=10):
 *         ... read, update, write tickets.txt ...
 *         weft_filelock_release(fl);
 *     }
 *     weft_filelock_free(fl);
 *
 * Reentrant per handle, as filelock's lock counter: acquiring a held handle
 * only counts, and the file is unlocked when the count returns to 0.
 * Waiting: timeout 0 tries once; WEFT_FOREVER sleeps in flock(); a positive
 * timeout polls (the kernel has no timed flock) every 1 ms at first, doubling up
 * to 50 ms (Python's filelock polls every 50 ms), so the lock is noticed at most
 * about 50 ms after it is freed.
 *
 * Thread-safety: calls on one handle are serialised inside it, and any thread
 * may release what another acquired through the same handle (the count is the
 * handle's, not a thread's). A thread waiting in acquire delays the others'
 * calls on that handle; threads that must exclude each other use a handle each.
 * Fork: a child inherits the handle and the open lock file, which stays locked
 * while the child keeps it (the kernel frees a flock lock when its last
 * descriptor closes). In the child the inherited handle refuses acquire and
 * release with -ECHILD and reports locked() false; free it (that only closes the
 * child's descriptor) or exec (the descriptor is close-on-exec).
 */
typedef struct weft_filelock weft_filelock;

typedef struct weft_filelock_opts {
    /* Permission bits for a lock file this call creates, before the umask.
     * 0 (the default) means 0644, filelock's default. */
    unsigned mode;
} weft_filelock_opts;

/* A handle for the lock file at path (copied); the file is not touched until
 * acquire. opts may be NULL. Returns 0, -EINVAL (out or path NULL, path empty,
 * mode with bits outside 0777), -ENOMEM. Never blocks. */
WEFT_API int weft_filelock_new(weft_filelock **out, const char *path,
                               const weft_filelock_opts *opts);

/*
 * Acquire: if this handle holds the lock, count one more; else open (creating
 * it if missing; O_NOFOLLOW|O_CLOEXEC) the lock file and lock it, waiting up to
 * timeout seconds. Returns 0;
 *   -EBUSY      timeout 0 and another holder has it (or another thread is
 *               inside a call on this handle);
 *   -ETIMEDOUT  a positive timeout expired;
 *   -EINVAL     fl NULL or a NaN timeout;
 *   -EOVERFLOW  the count would pass UINT32_MAX;
 *   -ECHILD     a handle inherited through fork();
 *   -ELOOP      the path's last component is a symbolic link;
 *   -EPERM      the path is not a regular file;
 *   -ENOLCK and other -errno from open() or flock() (-EACCES, -ENOENT for a
 *               missing directory, -EROFS, ...).
 * Blocks.
 */
WEFT_API int weft_filelock_acquire(weft_filelock *fl, double timeout);

/* Undo one acquire; at count 0 unlock and close the file. Returns 0, -EPERM
 * (not held through this handle), -EINVAL, -ECHILD. Never blocks for long
 * (waits for a thread inside another call on the same handle). */
WEFT_API int weft_filelock_release(weft_filelock *fl);

/* True while this handle holds the lock (Python's is_locked); false for NULL
 * and in a fork child. Never blocks. */
WEFT_API bool weft_filelock_locked(const weft_filelock *fl);

/* The handle's count (Python's lock_counter); 0 when not held, for NULL and
 * in a fork child. Never blocks. */
WEFT_API unsigned weft_filelock_depth(const weft_filelock *fl);

/* The lock file's path as given. */
WEFT_API const char *weft_filelock_path(const weft_filelock *fl);

/* Release (whatever the count) and free the handle; NULL is ignored. In a fork
 * child: close the inherited descriptor without unlocking. Must not run
 * concurrently with other calls on fl. Never blocks for long. */
WEFT_API void weft_filelock_free(weft_filelock *fl);

/* --- end of part 2 --- */

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SHARED_H */
