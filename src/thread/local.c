/*
 * Thread-local values (Python's threading.local).
 *
 * Each slot has a small integer id, an index into every thread's own array of
 * values, and a generation number that is never reused. A thread's entry counts
 * as the slot's value only while the generations match, so a value left behind
 * by a freed slot is never handed to a new slot that reuses the id.
 *
 * Destructors run when a thread ends: for weft threads from the thread's
 * trampoline, before join returns; for other threads from a pthread key
 * destructor. Finding the destructor of an id goes through `table`, guarded by
 * `table_mu`; get and set never take the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "thread/thread_internal.h"

struct weft_local {
    size_t id;
    uint64_t gen;
    void (*dtor)(void *value);
};

struct table_entry {
    uint64_t gen; /* generation of the slot using this id; 0 when unused */
    void (*dtor)(void *value);
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static struct table_entry *table; /* guarded by table_mu */
static size_t table_cap;          /* guarded by table_mu */
static uint64_t last_gen;         /* guarded by table_mu */

struct value {
    void *value;
    uint64_t gen;
};

/* The calling thread's values, indexed by slot id. */
static _Thread_local struct value *values;
static _Thread_local size_t nvalues;

/* exit_key's destructor runs a foreign thread's dtors. exit_key_ok says it was
 * created: until then exit_key holds 0, which is some other library's key.
 * Both are written once under exit_key_once, which orders them for readers (a
 * thread only has values, the only reason to touch the key, after weft_local_new
 * ran the once). */
static pthread_key_t exit_key;
static bool exit_key_ok;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void run_at_thread_exit(void *unused)
{
    (void)unused;
    weft__local_run_dtors();
}

/* fork(): hold table_mu across it, so the child never inherits it locked by a
 * thread that does not exist there (the child's weft_local_new/free and its
 * threads' exits would wait for it for ever). */
static void table_fork_prepare(void)
{
    pthread_mutex_lock(&table_mu);
}

static void table_fork_release(void)
{
    pthread_mutex_unlock(&table_mu);
}

static void make_exit_key(void)
{
    /* On failure foreign threads' values leak at their exit; weft threads
     * still destroy theirs. */
    exit_key_ok = pthread_key_create(&exit_key, run_at_thread_exit) == 0;
    /* Registered here, before any thread can take table_mu (every path to it
     * goes through weft_local_new, hence this once). Failure (ENOMEM) only
     * loses fork safety; there is nobody to report it to. */
    (void)pthread_atfork(table_fork_prepare, table_fork_release, table_fork_release);
}

/* A free id, growing the table if needed. Called with table_mu held. */
static int claim_id(size_t *id)
{
    for (size_t i = 0; i < table_cap; i++) {
        if (table[i].gen == 0) {
            *id = i;
            return 0;
        }
    }
    size_t cap = table_cap ? table_cap * 2 : 16;
    struct table_entry *t = realloc(table, cap * sizeof *t);
    if (!t)
        return -ENOMEM;
    for (size_t i = table_cap; i < cap; i++)
        t[i] = (struct table_entry){0, NULL};
    *id = table_cap;
    table = t;
    table_cap = cap;
    return 0;
}

WEFT_API int weft_local_new(weft_local **out, void (*dtor)(void *value))
{
    if (!out)
        return -EINVAL;
    pthread_once(&exit_key_once, make_exit_key);
    weft_local *loc = malloc(sizeof *loc);
    if (!loc)
        return -ENOMEM;
    pthread_mutex_lock(&table_mu);
    int rc = claim_id(&loc->id);
    if (rc == 0) {
        loc->gen = ++last_gen;
        loc->dtor = dtor;
        table[loc->id] = (struct table_entry){loc->gen, dtor};
    }
    pthread_mutex_unlock(&table_mu);
    if (rc) {
        free(loc);
        return rc;
    }
    *out = loc;
    return 0;
}

WEFT_API void *weft_local_get(const weft_local *loc)
{
    if (!loc || loc->id >= nvalues || values[loc->id].gen != loc->gen)
        return NULL;
    return values[loc->id].value;
}

/* Make room for index id in the calling thread's array. */
static int reserve(size_t id)
{
    if (id < nvalues)
        return 0;
    size_t n = nvalues ? nvalues : 8;
    while (n <= id)
        n *= 2;
    struct value *v = realloc(values, n * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = nvalues; i < n; i++)
        v[i] = (struct value){NULL, 0};
    if (!values && exit_key_ok)
        pthread_setspecific(exit_key, v); /* any non-NULL value arms the destructor */
    values = v;
    nvalues = n;
    return 0;
}

WEFT_API int weft_local_set(weft_local *loc, void *value, void **old)
{
    if (!loc)
        return -EINVAL;
    int rc = reserve(loc->id);
    if (rc)
        return rc;
    struct value *v = &values[loc->id];
    if (old)
        *old = v->gen == loc->gen ? v->value : NULL;
    v->value = value;
    v->gen = loc->gen;
    return 0;
}

WEFT_API void weft_local_free(weft_local *loc)
{
    if (!loc)
        return;
    pthread_mutex_lock(&table_mu);
    table[loc->id] = (struct table_entry){0, NULL};
    pthread_mutex_unlock(&table_mu);
    void *mine = weft_local_get(loc);
    if (mine) {
        values[loc->id].value = NULL;
        if (loc->dtor)
            loc->dtor(mine);
    }
    free(loc);
}

/* The destructor for a value found at id with generation gen, NULL if that slot
 * has been freed since. */
static void (*dtor_of(size_t id, uint64_t gen))(void *)
{
    void (*dtor)(void *) = NULL;
    pthread_mutex_lock(&table_mu);
    if (id < table_cap && table[id].gen == gen)
        dtor = table[id].dtor;
    pthread_mutex_unlock(&table_mu);
    return dtor;
}

void weft__local_run_dtors(void)
{
    /* A destructor may set values again: repeat a few rounds, as pthreads does. */
    for (int round = 0; round < 4 && values; round++) {
        bool ran = false;
        for (size_t i = 0; i < nvalues; i++) {
            void *v = values[i].value;
            if (!v)
                continue;
            values[i].value = NULL;
            void (*dtor)(void *) = dtor_of(i, values[i].gen);
            if (dtor) {
                dtor(v);
                ran = true;
            }
        }
        if (!ran)
            break;
    }
    if (!values)
        return; /* this thread never set a value: nothing to free, no key to touch */
    free(values);
    values = NULL;
    nvalues = 0;
    if (exit_key_ok)
        pthread_setspecific(exit_key, NULL);
}
