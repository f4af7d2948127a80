/*
 * Lock-order checker ("lockdep").
 *
 * Off by default; on with WEFT_LOCKDEP=1 in the environment or
 * weft_lockdep_enable(true). While on, the Lock and RLock code calls the hooks
 * of internal/lockdep.h, and this file keeps two things:
 *
 *  - per thread, the set of locks the thread holds (`tl.held`, thread-local, no
 *    lock needed), each with the file:line where it was taken;
 *  - process-wide, the order graph: one node per lock (keyed by address) and a
 *    directed edge A -> B the first time some thread takes B while holding A.
 *    Each edge remembers that first occurrence (thread name, where A had been
 *    taken, where B was taken), so a report can tell both sides of the story.
 *
 * The check runs in weft__lockdep_before(), i.e. before the caller may sleep:
 * for every lock H the thread holds, a new edge H -> L closes a cycle exactly
 * when L already reaches H in the graph. One breadth-first search answers that
 * and yields the shortest such chain, which is what the report lists. Two locks
 * taken in opposite orders are the 2-cycle; longer chains (A -> B, B -> C, then
 * C -> A) are found the same way. An edge is added once and only a new edge is
 * checked, so every inverted pair is reported once (until forget or reset).
 *
 * Everything in the graph (nodes, edges, the hash tables, the search queue,
 * the reporter and the epoch) is guarded by one plain pthread mutex, `g.mu`. It
 * is not a weft_lock on purpose: taking it must not re-enter the checker. No
 * code path blocks or calls out while holding it - thread names are looked up
 * before taking it and reports are delivered after dropping it, so a reporter
 * may itself take locks, or call any lockdep function, without deadlocking.
 *
 * Cost: when off, nothing beyond the caller's flag test. When on, each acquire
 * and release takes g.mu once; a blocking acquire with locks already held takes
 * it once more and, for a lock pair never seen before, runs one graph search.
 * This is a debugging aid; correctness of reports comes before speed.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal/lockdep.h"
#include "sync/lockdep_internal.h"
#include "weft/sync.h"
#include "weft/thread.h"

/* ------------------------------------------------------------------------ */
/* Switch and environment                                                    */

int weft__lockdep_on;
int weft__lockdep_used;

static void lockdep_atfork_prepare(void);
static void lockdep_atfork_parent(void);
static void lockdep_atfork_child(void);

__attribute__((constructor)) static void lockdep_from_env(void)
{
    const char *v = getenv("WEFT_LOCKDEP");
    if (v && *v && strcmp(v, "0") != 0) {
        __atomic_store_n(&weft__lockdep_used, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&weft__lockdep_on, 1, __ATOMIC_RELAXED);
    }
    /* Keep g.mu usable in a child of fork(): held across the fork by the
     * forking thread, released on both sides. Failure (ENOMEM) only loses that
     * guarantee; nothing to report it to at this point. */
    (void)pthread_atfork(lockdep_atfork_prepare, lockdep_atfork_parent,
                         lockdep_atfork_child);
}

/* ------------------------------------------------------------------------ */
/* Data                                                                      */

typedef struct ld_node ld_node;
typedef struct ld_edge ld_edge;

/* A growable array of edges (a node's out- or in-list). */
typedef struct ld_vec {
    ld_edge **v;
    uint32_t n, cap;
} ld_vec;

/* "to was taken while from was held", first seen as described here. */
struct ld_edge {
    ld_node *from, *to;
    ld_edge *hnext;          /* next in the same bucket of g.edges */
    uint32_t out_idx;        /* position in from->out.v */
    uint32_t in_idx;         /* position in to->in.v */
    const char *from_file;   /* where that thread had taken `from` */
    const char *to_file;     /* where it took `to` */
    int from_line, to_line;
    char thread[WEFT__LOCKDEP_THREAD_NAME_MAX];
};

/*
 * One lock. Besides its edges, a node carries the lock's *holder record*: how
 * many acquisitions (`acq`) and releases (`rel`) of it were seen in the current
 * epoch. Acquisition number k is still held while rel < k. See "Stale held
 * entries" below for why this is needed.
 */
struct ld_node {
    const void *lock;   /* the key */
    const char *name;   /* may be NULL: reports show the address */
    ld_node *hnext;     /* next in the same bucket of g.nodes */
    uint64_t id;        /* unique for the life of the process */
    uint64_t epoch;     /* the epoch acq and rel count in */
    uint64_t acq, rel;  /* holder record, see above; rel <= acq always */
    uint64_t mark;      /* g.gen of the last search that reached this node */
    ld_edge *via;       /* edge by which that search reached it */
    ld_vec out, in;     /* edges from and to this node */
    bool self_reported; /* a self-deadlock on this lock was reported */
};

/* The whole graph; every field guarded by g.mu. */
static struct {
    pthread_mutex_t mu;
    ld_node **nodes;        /* hash table of nodes by lock address */
    size_t nbuckets, nnodes;
    ld_edge **edges;        /* hash table of edges by (from, to) */
    size_t ebuckets, nedges;
    ld_node **queue;        /* breadth-first search queue, qcap >= nnodes */
    size_t qcap;
    uint64_t next_id;       /* last node id handed out */
    uint64_t epoch;         /* bumped by enable (off -> on) and reset */
    uint64_t gen;           /* search generation, for ld_node.mark */
    void (*reporter)(const char *text, void *arg);
    void *reporter_arg;
    bool oom_said;          /* the out-of-memory notice was printed */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Reports made since start-up or the last reset. Written under g.mu, read
 * without it by weft_lockdep_reports(): an atomic counter, relaxed (it orders
 * nothing else). */
static size_t ld_reports;

/*
 * One lock the calling thread holds. `node_id`, `k` and `epoch` identify the
 * acquisition in the holder record of the lock's node.
 */
typedef struct ld_held {
    const void *lock;
    const char *file;
    int line;
    uint64_t node_id; /* the node the acquisition was counted on */
    uint64_t k;       /* it was acquisition number k of that node */
    uint64_t epoch;   /* in this epoch */
} ld_held;

/* Per-thread state; only ever touched by its own thread, so it needs no lock. */
static _Thread_local struct {
    ld_held held[WEFT__LOCKDEP_HELD_MAX];
    unsigned n;      /* entries in held[], oldest first */
    bool untracked;  /* held[] overflowed once: this thread is no longer checked */
    bool callout;    /* inside a thread-name lookup or a reporter: hooks ignored */
    bool graph_held; /* holds g.mu across fork(): hooks must not take it */
} tl;

/*
 * Stale held entries.
 *
 * Python lets any thread release a Lock, so the thread whose held set records
 * an acquisition is not always the one whose release ends it. If the entry
 * simply stayed in the taker's set, that thread's later acquisitions would
 * record orders with a lock it no longer holds, and a correct program could be
 * reported. Hence the holder record on each node: every acquisition seen
 * increments node->acq and stamps its entry with that number k; every release
 * seen, by whichever thread, increments node->rel (never past acq). Whenever a
 * thread walks its held set (in before(), and in acquired() when the set is
 * full) it keeps only the entries still *live*: same node (same id: the address
 * may have been forgotten and reused), same epoch, and k > rel. A thread that
 * releases its own lock also drops its entry at once, without any search.
 *
 * Counting rather than naming the holder keeps this right when the hooks of
 * two threads run in another order than the operations themselves: when A
 * releases, B takes the lock and B's acquired hook runs before A's released
 * hook, B's entry (k = 2) is still live once rel reaches 1. Releases of
 * acquisitions made while checking was off are ignored (rel is capped at acq),
 * and turning checking on bumps the epoch, which kills every entry made
 * before: a release missed while off leaves no live entry behind.
 *
 * What is left, in tiny windows only: (1) a release by another thread whose
 * hook runs before the taker's acquired hook is taken for the release of an
 * acquisition made while off, and ignored; the taker's entry then stays live
 * until the taker releases that lock itself, and orders it records meanwhile
 * may be false. (2) A release by another thread racing with the holder's next
 * blocking acquire may record one order that was true a moment earlier.
 */

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static size_t hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static size_t hash_pair(const ld_node *a, const ld_node *b)
{
    return hash_ptr(a) ^ (hash_ptr(b) * 31u);
}

size_t weft__lockdep_thread_name(char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    /* The weft name (Python's current_thread().name): "MainThread", the name
     * given at start, or "Dummy-N" for a thread weft did not start. Only when
     * that handle cannot be made (out of memory) the OS name, or the tid. */
    const weft_thread *t = weft_current_thread();
    const char *name = t ? weft_thread_name(t) : NULL;
    char os[16];
    if (name && *name)
        snprintf(buf, cap, "%s", name);
    else if (pthread_getname_np(pthread_self(), os, sizeof os) == 0 && os[0])
        snprintf(buf, cap, "%s", os);
    else
        snprintf(buf, cap, "tid %ld", (long)syscall(SYS_gettid));
    return strlen(buf);
}

/* The calling thread's name, looked up with the hooks switched off for this
 * thread (the lookup may itself take locks). Call without g.mu. */
static void current_thread_name(char *buf, size_t cap)
{
    bool was = tl.callout;
    tl.callout = true;
    weft__lockdep_thread_name(buf, cap);
    tl.callout = was;
}

static void write_stderr(const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, s, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        len -= (size_t)w;
    }
}

/* Call with g.mu held. Say once that some order could not be recorded. */
static void note_oom(void)
{
    if (!g.oom_said) {
        g.oom_said = true;
        /* A plain write, no allocation; safe under g.mu (it does not block on
         * anything of ours). */
        write_stderr("weft lockdep: out of memory; some lock orders are not checked\n");
    }
}

/* ------------------------------------------------------------------------ */
/* Report text                                                               */

/* A growable string. On allocation failure it stops growing and marks itself
 * cut; p NULL means nothing could be allocated at all. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool cut;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->cut)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int w = room ? vsnprintf(b->p + b->len, room, fmt, ap) : -1;
        va_end(ap);
        if (w >= 0 && (size_t)w < room) {
            b->len += (size_t)w;
            return;
        }
        size_t want = b->cap ? b->cap * 2 : 512;
        while (w >= 0 && want < b->len + (size_t)w + 1)
            want *= 2;
        char *np = realloc(b->p, want);
        if (!np) {
            b->cut = true;
            if (b->p)
                b->p[b->len] = '\0'; /* keep what fitted */
            return;
        }
        b->p = np;
        b->cap = want;
    }
}

static const char *base_name(const char *file)
{
    if (!file)
        return "?";
    const char *s = strrchr(file, '/');
    return s ? s + 1 : file;
}

static void sb_lock(sbuf *b, const ld_node *n)
{
    if (n->name)
        sb_printf(b, "\"%s\"", n->name);
    else
        sb_printf(b, "unnamed lock %p", n->lock);
}

/* "thread "T" takes|took "B" (f:l) while holding "A" (f:l)\n" */
static void sb_step(sbuf *b, const char *thread, bool now, const ld_node *taken,
                    const char *tfile, int tline, const ld_node *held, const char *hfile,
                    int hline)
{
    sb_printf(b, "  thread \"%s\" %s ", thread, now ? "takes" : "took");
    sb_lock(b, taken);
    sb_printf(b, " (%s:%d) while holding ", base_name(tfile), tline);
    sb_lock(b, held);
    sb_printf(b, " (%s:%d)\n", base_name(hfile), hline);
}

/* Call with g.mu held. The new order held -> taken (this thread, now) closes a
 * cycle with the chain taken -> ... -> held found by search(): list it. */
static char *report_cycle(const char *thread, ld_node *held, const ld_held *h, ld_node *taken,
                          const char *file, int line)
{
    size_t len = 0;
    for (ld_node *n = held; n != taken; n = n->via->from)
        len++;
    sbuf b = {0};
    if (len == 1)
        sb_printf(&b, "weft lockdep: possible deadlock: locks taken in opposite orders\n");
    else
        sb_printf(&b, "weft lockdep: possible deadlock: %zu locks taken in a cycle\n",
                  len + 1);
    sb_step(&b, thread, true, taken, file, line, held, h->file, h->line);
    /* The chain runs taken -> ... -> held; the via links run backwards from
     * held, so collect them first (len edges, at most the node count). */
    ld_edge **chain = len > 1 ? malloc(len * sizeof *chain) : NULL;
    if (len == 1) {
        ld_edge *e = held->via;
        sb_step(&b, e->thread, false, e->to, e->to_file, e->to_line, e->from, e->from_file,
                e->from_line);
    } else if (chain) {
        size_t i = len;
        for (ld_node *n = held; n != taken; n = n->via->from)
            chain[--i] = n->via;
        for (i = 0; i < len; i++) {
            ld_edge *e = chain[i];
            sb_step(&b, e->thread, false, e->to, e->to_file, e->to_line, e->from,
                    e->from_file, e->from_line);
        }
        sb_printf(&b, "  cycle: ");
        sb_lock(&b, held);
        for (i = 0; i < len; i++) {
            sb_printf(&b, " -> ");
            sb_lock(&b, chain[i]->from);
        }
        sb_printf(&b, " -> ");
        sb_lock(&b, held);
        sb_printf(&b, "\n");
        free(chain);
    } else {
        sb_printf(&b, "  (the rest of the cycle is not shown: out of memory)\n");
    }
    return b.p;
}

/* Call with g.mu held. The thread takes a plain Lock it already holds. */
static char *report_self(const char *thread, ld_node *n, const ld_held *h, const char *file,
                         int line)
{
    sbuf b = {0};
    sb_printf(&b, "weft lockdep: self-deadlock: a thread takes a lock it already holds\n");
    sb_printf(&b, "  thread \"%s\" takes ", thread);
    sb_lock(&b, n);
    sb_printf(&b, " (%s:%d) while already holding it (%s:%d)\n", base_name(file), line,
              base_name(h->file), h->line);
    sb_printf(&b, "  a Lock is not re-entrant: this blocks until another thread releases "
                  "it, for ever if none does and there is no timeout\n");
    return b.p;
}

/* Hand one report to the reporter (or stderr) and free it. Call without g.mu;
 * hooks are ignored for this thread meanwhile (the reporter may take locks). */
static void deliver(char *text, void (*fn)(const char *, void *), void *arg)
{
    const char *s = text ? text
                         : "weft lockdep: possible deadlock (no details: out of memory)\n";
    bool was = tl.callout;
    tl.callout = true;
    if (fn)
        fn(s, arg);
    else
        write_stderr(s); /* one write, unless the kernel cuts it */
    tl.callout = was;
    free(text);
}

/* ------------------------------------------------------------------------ */
/* Graph: all of this section runs with g.mu held                            */

static ld_node *node_find(const void *lock)
{
    if (g.nbuckets == 0)
        return NULL;
    for (ld_node *n = g.nodes[hash_ptr(lock) & (g.nbuckets - 1)]; n; n = n->hnext)
        if (n->lock == lock)
            return n;
    return NULL;
}

/* Grow a chained table to twice its size when it gets full. Failure keeps the
 * old table (longer chains, still correct). */
static void nodes_maybe_grow(void)
{
    if (g.nbuckets && g.nnodes < g.nbuckets)
        return;
    size_t nb = g.nbuckets ? g.nbuckets * 2 : 64;
    ld_node **t = calloc(nb, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; i < g.nbuckets; i++) {
        for (ld_node *n = g.nodes[i], *next; n; n = next) {
            next = n->hnext;
            size_t b = hash_ptr(n->lock) & (nb - 1);
            n->hnext = t[b];
            t[b] = n;
        }
    }
    free(g.nodes);
    g.nodes = t;
    g.nbuckets = nb;
}

static void edges_maybe_grow(void)
{
    if (g.ebuckets && g.nedges < g.ebuckets)
        return;
    size_t nb = g.ebuckets ? g.ebuckets * 2 : 64;
    ld_edge **t = calloc(nb, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; i < g.ebuckets; i++) {
        for (ld_edge *e = g.edges[i], *next; e; e = next) {
            next = e->hnext;
            size_t b = hash_pair(e->from, e->to) & (nb - 1);
            e->hnext = t[b];
            t[b] = e;
        }
    }
    free(g.edges);
    g.edges = t;
    g.ebuckets = nb;
}

static void node_remove(ld_node *n);

/* Do two names given for the same address show two different locks? A lock
 * always passes the name it was made with, so a different one means the old
 * lock is gone (a lock need not be destroyed: a stack lock simply goes out of
 * scope) and a new one lives at its address. */
static bool names_differ(const char *a, const char *b)
{
    if (a == b)
        return false;
    return !a || !b || strcmp(a, b) != 0;
}

/* Find or make the node of `lock`; NULL (and a notice) when memory ran out. */
static ld_node *node_get(const void *lock, const char *name)
{
    ld_node *n = node_find(lock);
    if (n && !names_differ(n->name, name))
        return n;
    if (n)
        node_remove(n); /* a new lock at a reused address starts clean */
    nodes_maybe_grow();
    if (g.nbuckets == 0 || !(n = calloc(1, sizeof *n))) {
        note_oom();
        return NULL;
    }
    n->lock = lock;
    n->name = name;
    n->id = ++g.next_id;
    n->epoch = g.epoch;
    size_t b = hash_ptr(lock) & (g.nbuckets - 1);
    n->hnext = g.nodes[b];
    g.nodes[b] = n;
    g.nnodes++;
    return n;
}

/* Start counting the holder record afresh in a new epoch. */
static void node_sync_epoch(ld_node *n)
{
    if (n->epoch != g.epoch) {
        n->epoch = g.epoch;
        n->acq = n->rel = 0;
    }
}

static ld_edge *edge_find(const ld_node *from, const ld_node *to)
{
    if (g.ebuckets == 0)
        return NULL;
    for (ld_edge *e = g.edges[hash_pair(from, to) & (g.ebuckets - 1)]; e; e = e->hnext)
        if (e->from == from && e->to == to)
            return e;
    return NULL;
}

static bool vec_reserve(ld_vec *v)
{
    if (v->n < v->cap)
        return true;
    uint32_t nc = v->cap ? v->cap * 2 : 4;
    if (nc <= v->cap)
        return false;
    ld_edge **nv = realloc(v->v, nc * sizeof *nv);
    if (!nv)
        return false;
    v->v = nv;
    v->cap = nc;
    return true;
}

/* Room for one more edge everywhere it goes: both lists, the table and the
 * search queue (one slot per node). False when memory ran out. */
static bool edge_room(ld_node *from, ld_node *to)
{
    edges_maybe_grow();
    if (g.ebuckets == 0 || !vec_reserve(&from->out) || !vec_reserve(&to->in))
        return false;
    if (g.qcap < g.nnodes) {
        size_t nc = g.nnodes * 2;
        ld_node **q = realloc(g.queue, nc * sizeof *q);
        if (!q)
            return false;
        g.queue = q;
        g.qcap = nc;
    }
    return true;
}

/* Link e in; edge_room() must have succeeded for its ends. */
static void edge_link(ld_edge *e)
{
    size_t b = hash_pair(e->from, e->to) & (g.ebuckets - 1);
    e->hnext = g.edges[b];
    g.edges[b] = e;
    g.nedges++;
    e->out_idx = e->from->out.n;
    e->from->out.v[e->from->out.n++] = e;
    e->in_idx = e->to->in.n;
    e->to->in.v[e->to->in.n++] = e;
}

static void edge_unlink_free(ld_edge *e)
{
    ld_edge **pp = &g.edges[hash_pair(e->from, e->to) & (g.ebuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    g.nedges--;
    /* Swap-remove from both lists, fixing the index of the edge moved. */
    ld_vec *o = &e->from->out;
    ld_edge *last = o->v[--o->n];
    o->v[e->out_idx] = last;
    last->out_idx = e->out_idx;
    ld_vec *in = &e->to->in;
    last = in->v[--in->n];
    in->v[e->in_idx] = last;
    last->in_idx = e->in_idx;
    free(e);
}

static void node_free(ld_node *n)
{
    while (n->out.n)
        edge_unlink_free(n->out.v[n->out.n - 1]);
    while (n->in.n)
        edge_unlink_free(n->in.v[n->in.n - 1]);
    free(n->out.v);
    free(n->in.v);
    free(n);
}

static void node_remove(ld_node *n)
{
    ld_node **pp = &g.nodes[hash_ptr(n->lock) & (g.nbuckets - 1)];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    g.nnodes--;
    node_free(n);
}

/*
 * Does `from` reach `to` along recorded orders? Breadth-first, so the chain
 * found (to->via, then via->from->via, ... back to from) is a shortest one. The
 * queue holds each node at most once (nodes are marked with this search's
 * generation when queued), so it never needs more than g.nnodes slots, which
 * edge_room() reserved.
 */
static bool search(ld_node *from, ld_node *to)
{
    uint64_t gen = ++g.gen;
    size_t head = 0, tail = 0;
    from->mark = gen;
    from->via = NULL;
    g.queue[tail++] = from;
    while (head < tail) {
        ld_node *n = g.queue[head++];
        if (n == to)
            return true;
        for (uint32_t i = 0; i < n->out.n; i++) {
            ld_edge *e = n->out.v[i];
            if (e->to->mark != gen) {
                e->to->mark = gen;
                e->to->via = e;
                g.queue[tail++] = e->to;
            }
        }
    }
    return false;
}

/* Is held entry h still an acquisition in force? (See "Stale held entries".) */
static ld_node *held_live(const ld_held *h)
{
    ld_node *n = node_find(h->lock);
    if (!n || n->id != h->node_id || h->epoch != g.epoch || n->epoch != g.epoch ||
        h->k <= n->rel)
        return NULL;
    return n;
}

/* Drop the calling thread's dead entries. */
static void held_purge(void)
{
    unsigned j = 0;
    for (unsigned i = 0; i < tl.n; i++)
        if (held_live(&tl.held[i]))
            tl.held[j++] = tl.held[i];
    tl.n = j;
}

/* Is `n` one of the locks the calling thread holds now (live entries only,
 * i.e. after held_purge())? */
static bool held_by_me(const ld_node *n)
{
    for (unsigned i = 0; i < tl.n; i++)
        if (tl.held[i].lock == n->lock)
            return true;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Hooks                                                                     */

/* Hooks do nothing while checking is off (the callers test that first, this is
 * only a second guard), inside our own callouts, or across fork(). */
static bool hook_skip(const void *lock)
{
    return !lock || tl.callout || tl.graph_held || !weft__lockdep_active();
}

void weft__lockdep_before(const void *lock, const char *name, const char *file, int line)
{
    /* With nothing held there is no order to record: no lock, no search. */
    if (hook_skip(lock) || tl.untracked || tl.n == 0)
        return;
    char thread[WEFT__LOCKDEP_THREAD_NAME_MAX];
    current_thread_name(thread, sizeof thread);

    /* Reports made here, delivered once g.mu is dropped: at most one per held
     * lock plus the self-deadlock. */
    char *pending[WEFT__LOCKDEP_HELD_MAX + 1];
    unsigned npending = 0;

    pthread_mutex_lock(&g.mu);
    void (*fn)(const char *, void *) = g.reporter;
    void *arg = g.reporter_arg;
    ld_node *n = node_get(lock, name);
    if (n) {
        node_sync_epoch(n);
        held_purge();
        for (unsigned i = 0; i < tl.n; i++) {
            const ld_held *h = &tl.held[i];
            if (h->lock == lock) {
                /* Only a plain Lock gets here: the RLock code does not call
                 * before() for a lock its caller already owns. */
                if (!n->self_reported) {
                    n->self_reported = true;
                    pending[npending++] = report_self(thread, n, h, file, line);
                    __atomic_add_fetch(&ld_reports, 1, __ATOMIC_RELAXED);
                }
                continue;
            }
            ld_node *hn = node_find(h->lock); /* live, so present */
            if (edge_find(hn, n))
                continue;
            ld_edge *e = calloc(1, sizeof *e);
            if (!e || !edge_room(hn, n)) {
                /* Not recorded, so not checked either: a report now would be
                 * repeated on every later acquisition. */
                free(e);
                note_oom();
                continue;
            }
            e->from = hn;
            e->to = n;
            e->from_file = h->file;
            e->from_line = h->line;
            e->to_file = file;
            e->to_line = line;
            snprintf(e->thread, sizeof e->thread, "%s", thread);
            /* A chain through another lock this thread holds is a longer view
             * of an inversion reported on that lock's own edge (now, or when
             * that cycle formed): report only chains free of them. */
            if (search(n, hn)) {
                bool through_held = false;
                for (ld_node *m = hn->via->from; m != n; m = m->via->from)
                    through_held |= held_by_me(m);
                if (!through_held) {
                    pending[npending++] = report_cycle(thread, hn, h, n, file, line);
                    __atomic_add_fetch(&ld_reports, 1, __ATOMIC_RELAXED);
                }
            }
            edge_link(e);
        }
    }
    pthread_mutex_unlock(&g.mu);

    for (unsigned i = 0; i < npending; i++)
        deliver(pending[i], fn, arg);
}

void weft__lockdep_acquired(const void *lock, const char *name, const char *file, int line)
{
    if (hook_skip(lock))
        return;
    bool overflow = false;
    pthread_mutex_lock(&g.mu);
    ld_node *n = node_get(lock, name);
    if (n) {
        node_sync_epoch(n);
        uint64_t k = ++n->acq;
        /* An untracked thread still counts its acquisitions: its releases may
         * end other threads' entries, and the counts must stay in step. */
        if (!tl.untracked) {
            if (tl.n == WEFT__LOCKDEP_HELD_MAX)
                held_purge();
            if (tl.n == WEFT__LOCKDEP_HELD_MAX) {
                tl.untracked = true;
                tl.n = 0;
                overflow = true;
            } else {
                tl.held[tl.n++] = (ld_held){.lock = lock, .file = file, .line = line,
                                            .node_id = n->id, .k = k, .epoch = g.epoch};
            }
        }
    }
    pthread_mutex_unlock(&g.mu);

    if (overflow) {
        char thread[WEFT__LOCKDEP_THREAD_NAME_MAX], msg[256];
        current_thread_name(thread, sizeof thread);
        snprintf(msg, sizeof msg,
                 "weft lockdep: thread \"%s\" holds more than %d locks at once "
                 "(at %s:%d); its lock order is no longer checked\n",
                 thread, WEFT__LOCKDEP_HELD_MAX, base_name(file), line);
        write_stderr(msg);
    }
}

void weft__lockdep_released(const void *lock)
{
    if (hook_skip(lock))
        return;
    /* Our own acquisition: drop its entry now. (If another thread took it,
     * there is no entry here; the count below ends that thread's entry.) */
    unsigned j = 0;
    for (unsigned i = 0; i < tl.n; i++)
        if (tl.held[i].lock != lock)
            tl.held[j++] = tl.held[i];
    tl.n = j;

    pthread_mutex_lock(&g.mu);
    ld_node *n = node_find(lock);
    if (n) {
        node_sync_epoch(n);
        if (n->rel < n->acq) /* else: taken before checking was on */
            n->rel++;
    }
    pthread_mutex_unlock(&g.mu);
}

void weft__lockdep_forget(const void *lock)
{
    /* Forgetting runs even inside a callout: it never calls out itself, and a
     * node left behind would lend its orders to a new lock at that address. */
    if (!lock || tl.graph_held)
        return;
    pthread_mutex_lock(&g.mu);
    ld_node *n = node_find(lock);
    if (n)
        node_remove(n);
    pthread_mutex_unlock(&g.mu);
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */

WEFT_API bool weft_lockdep_enable(bool on)
{
    if (on) /* before the switch: whoever sees it on also sees this */
        __atomic_store_n(&weft__lockdep_used, 1, __ATOMIC_RELAXED);
    bool was = __atomic_exchange_n(&weft__lockdep_on, on ? 1 : 0, __ATOMIC_RELAXED) != 0;
    if (on && !was && !tl.graph_held) {
        /* Releases were not seen while off: every entry from before is void. */
        pthread_mutex_lock(&g.mu);
        g.epoch++;
        pthread_mutex_unlock(&g.mu);
    }
    return was;
}

WEFT_API bool weft_lockdep_enabled(void)
{
    return weft__lockdep_active();
}

WEFT_API size_t weft_lockdep_reports(void)
{
    return __atomic_load_n(&ld_reports, __ATOMIC_RELAXED);
}

WEFT_API void weft_lockdep_set_reporter(void (*fn)(const char *text, void *arg), void *arg)
{
    pthread_mutex_lock(&g.mu);
    g.reporter = fn;
    g.reporter_arg = fn ? arg : NULL;
    pthread_mutex_unlock(&g.mu);
}

WEFT_API void weft_lockdep_reset(void)
{
    pthread_mutex_lock(&g.mu);
    for (size_t i = 0; i < g.nbuckets; i++) {
        /* Edges first (node_free unlinks them from the edge table), then the
         * nodes of this bucket. */
        while (g.nodes[i]) {
            ld_node *n = g.nodes[i];
            g.nodes[i] = n->hnext;
            g.nnodes--;
            node_free(n);
        }
    }
    free(g.nodes);
    free(g.edges);
    free(g.queue);
    g.nodes = NULL;
    g.edges = NULL;
    g.queue = NULL;
    g.nbuckets = g.nnodes = g.ebuckets = g.nedges = g.qcap = 0;
    g.epoch++; /* every thread's held entries die with their nodes */
    g.oom_said = false;
    __atomic_store_n(&ld_reports, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g.mu);
}

/* ------------------------------------------------------------------------ */
/* fork()                                                                    */

static void lockdep_atfork_prepare(void)
{
    pthread_mutex_lock(&g.mu);
    tl.graph_held = true;
}

static void lockdep_atfork_parent(void)
{
    tl.graph_held = false;
    pthread_mutex_unlock(&g.mu);
}

static void lockdep_atfork_child(void)
{
    /* Only the forking thread exists here; the held sets of the others are
     * gone with them (their entries stay counted as held, which nobody reads:
     * only the owning thread walks its set). */
    tl.graph_held = false;
    pthread_mutex_unlock(&g.mu);
}
