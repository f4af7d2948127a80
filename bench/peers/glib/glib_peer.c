/*
 * bench/peers/glib/glib_peer.c - the GLib peer of weft_bench: the queue rows and
 * the empty-tasks thread-pool row with what a GLib program uses, GAsyncQueue,
 * GThread and GThreadPool.
 *
 *   - FIFO rows: one GAsyncQueue, g_async_queue_push / g_async_queue_pop.
 *     GAsyncQueue has no bound (no maxsize): producers never wait for room, so the
 *     "bounded1024" rows measure it unbounded - it does less work than a bounded
 *     queue (no full-queue waits), which favours GLib, not weft.
 *   - batch16: GLib's own batching, g_async_queue_lock + 16 x push_unlocked +
 *     unlock; the consumer takes one pop_unlocked (waits) then up to 15
 *     try_pop_unlocked under one lock.
 *   - priority: g_async_queue_push_sorted with a (priority, insertion number)
 *     compare function, g_async_queue_pop: the queue keeps a sorted linked list,
 *     so a push walks it (O(n) per push at depth n; here n <= 1024).
 *   - hand-off: two GAsyncQueues.
 *   - threadpool_empty_tasks_2workers: a GThreadPool of 2 exclusive threads
 *     (started at creation, outside the timed region); each task returns its
 *     argument by pushing it on a results GAsyncQueue. The submitter pushes a
 *     batch of 1024 tasks (g_thread_pool_push), then pops 1024 results, adding
 *     them up; the sum must be n(n+1)/2.
 *
 * Same items, sentinels, checks, sizes (bench/bench.h) and method as weft_bench: a
 * warm-up of a tenth of a run, then 5 rounds, the median reported.
 * GAsyncQueue cannot carry NULL, so the "no more" sentinel is (gpointer)-1 here.
 *
 * Prints glib<TAB>name<TAB>value<TAB>unit lines and '#' notes.
 * Exit status: 0, 3 when an exactness check failed.
 * usage: peer_glib [--quick] [--only NAME]   (or WEFT_BENCH_QUICK=1)
 */
#include <glib.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXSIZE 1024    /* the bounded rows' maxsize (not enforceable here) */
#define PRIO_BATCH 1024 /* priority row: items put before they are all got */
#define BATCH 16        /* _batch16 row */

#define ITEM(v) ((gpointer)(uintptr_t)(v))
#define VAL(p) ((uint64_t)(uintptr_t)(p))
#define SENTINEL ((gpointer)(uintptr_t)-1)

static int failures;
static double aux; /* second figure of the last run (handoff p99) */

static void fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL glib ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct tally {
    uint64_t count, sum, sumsq;
};

static void tally_add(struct tally *t, uint64_t v)
{
    t->count++;
    t->sum += v;
    t->sumsq += v * v;
}

static bool tally_ok(const char *row, const struct tally *t, uint64_t n)
{
    struct tally want = {0};
    for (uint64_t v = 1; v <= n; v++)
        tally_add(&want, v);
    if (t->count == want.count && t->sum == want.sum && t->sumsq == want.sumsq)
        return true;
    fail("%s: got %llu items (sum %llu, sum of squares %llu), expected items 1..%llu "
         "exactly once", row, (unsigned long long)t->count, (unsigned long long)t->sum,
         (unsigned long long)t->sumsq, (unsigned long long)n);
    return false;
}

/* ---- the gate: start threads, release them together, join them ---- */

struct worker {
    GAsyncQueue *q;
    uint64_t first, last;     /* producer: puts first..last */
    uint64_t expect_n;        /* single consumer: takes 1..expect_n in order */
    struct tally tally;       /* consumer: what it got */
    bool order_bad;
    atomic_int *ready, *go;
};

static void gate(struct worker *w)
{
    atomic_fetch_add(w->ready, 1);
    while (!atomic_load_explicit(w->go, memory_order_acquire))
        ;
}

static double run_gated(GThreadFunc *bodies, struct worker *ws, int n, atomic_int *ready,
                        atomic_int *go)
{
    GThread *t[8];
    for (int i = 0; i < n; i++)
        t[i] = g_thread_new("bench", bodies[i], &ws[i]); /* aborts on failure */
    while (atomic_load(ready) < n)
        ;
    int64_t t0 = now_ns();
    atomic_store_explicit(go, 1, memory_order_release);
    for (int i = 0; i < n; i++)
        g_thread_join(t[i]);
    return (double)(now_ns() - t0);
}

static gpointer producer(gpointer arg)
{
    struct worker *w = arg;
    gate(w);
    for (uint64_t v = w->first; v <= w->last; v++)
        g_async_queue_push(w->q, ITEM(v));
    return NULL;
}

static gpointer producer_sentinel(gpointer arg)
{
    struct worker *w = arg;
    producer(arg);
    g_async_queue_push(w->q, SENTINEL);
    return NULL;
}

static gpointer consumer_n(gpointer arg)
{
    struct worker *w = arg;
    gate(w);
    for (uint64_t i = 1; i <= w->expect_n; i++) {
        uint64_t v = VAL(g_async_queue_pop(w->q));
        w->order_bad |= v != i;
        tally_add(&w->tally, v);
    }
    return NULL;
}

static gpointer consumer_sentinel(gpointer arg)
{
    struct worker *w = arg;
    gate(w);
    for (;;) {
        gpointer p = g_async_queue_pop(w->q);
        if (p == SENTINEL)
            break;
        tally_add(&w->tally, VAL(p));
    }
    return NULL;
}

/* ---- queue_fifo_spsc_bounded1024 (unbounded here) ---- */

static double queue_spsc(long n)
{
    GAsyncQueue *q = g_async_queue_new();
    atomic_int ready = 0, go = 0;
    struct worker w[2] = {{.q = q, .first = 1, .last = (uint64_t)n, .ready = &ready, .go = &go},
                          {.q = q, .expect_n = (uint64_t)n, .ready = &ready, .go = &go}};
    GThreadFunc bodies[] = {producer, consumer_n};
    double ns = run_gated(bodies, w, 2, &ready, &go);
    g_async_queue_unref(q);
    if (w[1].order_bad) {
        fail("queue_fifo_spsc_bounded1024: items out of FIFO order");
        return -1;
    }
    if (!tally_ok("queue_fifo_spsc_bounded1024", &w[1].tally, (uint64_t)n))
        return -1;
    return (double)n / (ns / 1e9);
}

/* ---- queue_fifo_mpmc_2p2c_bounded1024 (unbounded here) ---- */

static double queue_mpmc(long n)
{
    GAsyncQueue *q = g_async_queue_new();
    uint64_t half = (uint64_t)n / 2;
    atomic_int ready = 0, go = 0;
    struct worker w[4] = {
        {.q = q, .first = 1, .last = half, .ready = &ready, .go = &go},
        {.q = q, .first = half + 1, .last = 2 * half, .ready = &ready, .go = &go},
        {.q = q, .ready = &ready, .go = &go},
        {.q = q, .ready = &ready, .go = &go},
    };
    GThreadFunc bodies[] = {producer_sentinel, producer_sentinel, consumer_sentinel,
                            consumer_sentinel};
    double ns = run_gated(bodies, w, 4, &ready, &go);
    g_async_queue_unref(q);
    struct tally t = {w[2].tally.count + w[3].tally.count, w[2].tally.sum + w[3].tally.sum,
                      w[2].tally.sumsq + w[3].tally.sumsq};
    if (!tally_ok("queue_fifo_mpmc_2p2c_bounded1024", &t, 2 * half))
        return -1;
    return (double)(2 * half) / (ns / 1e9);
}

/* ---- queue_fifo_spsc_bounded1024_batch16: lock + push_unlocked x 16 ---- */

static gpointer batch_producer(gpointer arg)
{
    struct worker *w = arg;
    gate(w);
    for (uint64_t v = w->first; v <= w->last; v += BATCH) {
        g_async_queue_lock(w->q);
        for (int k = 0; k < BATCH; k++)
            g_async_queue_push_unlocked(w->q, ITEM(v + (uint64_t)k));
        g_async_queue_unlock(w->q);
    }
    return NULL;
}

static gpointer batch_consumer(gpointer arg)
{
    struct worker *w = arg;
    gate(w);
    uint64_t next = 1;
    while (next <= w->expect_n) {
        gpointer items[BATCH];
        int got = 0;
        g_async_queue_lock(w->q);
        items[got++] = g_async_queue_pop_unlocked(w->q);
        while (got < BATCH && (items[got] = g_async_queue_try_pop_unlocked(w->q)) != NULL)
            got++;
        g_async_queue_unlock(w->q);
        for (int k = 0; k < got; k++, next++) {
            w->order_bad |= VAL(items[k]) != next;
            tally_add(&w->tally, VAL(items[k]));
        }
    }
    return NULL;
}

static double queue_spsc_batch(long n)
{
    n -= n % BATCH;
    GAsyncQueue *q = g_async_queue_new();
    atomic_int ready = 0, go = 0;
    struct worker w[2] = {{.q = q, .first = 1, .last = (uint64_t)n, .ready = &ready, .go = &go},
                          {.q = q, .expect_n = (uint64_t)n, .ready = &ready, .go = &go}};
    GThreadFunc bodies[] = {batch_producer, batch_consumer};
    double ns = run_gated(bodies, w, 2, &ready, &go);
    g_async_queue_unref(q);
    if (w[1].order_bad) {
        fail("queue_fifo_spsc_bounded1024_batch16: items out of FIFO order");
        return -1;
    }
    if (!tally_ok("queue_fifo_spsc_bounded1024_batch16", &w[1].tally, (uint64_t)n))
        return -1;
    return (double)n / (ns / 1e9);
}

/* ---- priority_queue_put_get_1thread: push_sorted / pop ---- */

struct pentry {
    uint64_t prio, seq, item;
};

static gint pentry_cmp(gconstpointer a, gconstpointer b, gpointer user_data)
{
    (void)user_data;
    const struct pentry *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static double prio_put_get(long n)
{
    n -= n % PRIO_BATCH;
    if (n == 0)
        n = PRIO_BATCH;
    GAsyncQueue *q = g_async_queue_new();
    /* The entries live in one array reused by every batch: no allocation per item
     * (GAsyncQueue itself allocates a list node per push). */
    struct pentry *e = g_new(struct pentry, PRIO_BATCH);
    struct tally t = {0};
    uint64_t rng = 42, seq = 0;
    bool order_bad = false;
    int64_t t0 = now_ns();
    for (long b = 0; b < n; b += PRIO_BATCH) {
        for (long k = 0; k < PRIO_BATCH; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull; /* bench_prio_next */
            e[k] = (struct pentry){rng >> 44, seq++, (uint64_t)(b + k + 1)};
            g_async_queue_push_sorted(q, &e[k], pentry_cmp, NULL);
        }
        uint64_t prev = 0;
        for (long k = 0; k < PRIO_BATCH; k++) {
            const struct pentry *x = g_async_queue_pop(q);
            order_bad |= x->prio < prev;
            prev = x->prio;
            tally_add(&t, x->item);
        }
    }
    int64_t t1 = now_ns();
    g_free(e);
    g_async_queue_unref(q);
    if (order_bad) {
        fail("priority_queue_put_get_1thread: priorities out of order");
        return -1;
    }
    if (!tally_ok("priority_queue_put_get_1thread", &t, (uint64_t)n))
        return -1;
    return (double)n / ((double)(t1 - t0) / 1e9);
}

/* ---- queue_handoff_latency: two GAsyncQueues ---- */

struct handoff {
    GAsyncQueue *ping, *pong;
    long rounds;
};

static gpointer handoff_partner(gpointer arg)
{
    struct handoff *h = arg;
    for (long i = 0; i < h->rounds; i++)
        g_async_queue_push(h->pong, ITEM(VAL(g_async_queue_pop(h->ping)) + 1));
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest rank, as bench_percentile() in bench/main.c; v must be sorted */
static double percentile_sorted(const double *v, long k, double p)
{
    long rank = (long)((p / 100.0) * (double)k + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > k)
        rank = k;
    return v[rank - 1];
}

static double queue_handoff(long n)
{
    struct handoff h = {g_async_queue_new(), g_async_queue_new(), n};
    double *lat = g_new(double, n);
    GThread *t = g_thread_new("partner", handoff_partner, &h);
    bool wrong = false;
    for (long i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        g_async_queue_push(h.ping, ITEM(2 * i + 2)); /* never NULL */
        gpointer back = g_async_queue_pop(h.pong);
        int64_t t1 = now_ns();
        wrong |= VAL(back) != (uint64_t)(2 * i + 3);
        lat[i] = (double)(t1 - t0) / 1e3;
    }
    g_thread_join(t);
    g_async_queue_unref(h.ping);
    g_async_queue_unref(h.pong);
    if (wrong) {
        fail("queue_handoff_latency: an item came back changed");
        g_free(lat);
        return -1;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    double p50 = percentile_sorted(lat, n, 50);
    aux = percentile_sorted(lat, n, 99);
    g_free(lat);
    return p50;
}

/* ---- threadpool_empty_tasks_2workers: GThreadPool, results on a GAsyncQueue ---- */

#define TASK_BATCH 1024 /* BENCH_TASK_BATCH */

static gpointer empty_task(gpointer arg)
{
    return arg;
}

/* The pool's function: run the task, hand its result back. */
static void pool_func(gpointer data, gpointer user_data)
{
    g_async_queue_push((GAsyncQueue *)user_data, empty_task(data));
}

static double empty_tasks(long n)
{
    GAsyncQueue *results = g_async_queue_new();
    GError *err = NULL;
    GThreadPool *pool = g_thread_pool_new(pool_func, results, 2, TRUE, &err);
    if (!pool) {
        fprintf(stderr, "ERROR g_thread_pool_new: %s\n", err ? err->message : "?");
        exit(1);
    }
    uint64_t sum = 0, done = 0;
    int64_t t0 = now_ns();
    for (long base = 0; base < n; base += TASK_BATCH) {
        long k = n - base < TASK_BATCH ? n - base : TASK_BATCH;
        for (long i = 0; i < k; i++)
            g_thread_pool_push(pool, ITEM(base + i + 1), NULL); /* never NULL */
        for (long i = 0; i < k; i++) {
            sum += VAL(g_async_queue_pop(results));
            done++;
        }
    }
    int64_t t1 = now_ns();
    g_thread_pool_free(pool, FALSE, TRUE);
    g_async_queue_unref(results);
    uint64_t want = (uint64_t)n * (uint64_t)(n + 1) / 2;
    if (done != (uint64_t)n || sum != want) {
        fail("threadpool_empty_tasks_2workers: %llu results summing to %llu, expected %ld "
             "summing to %llu",
             (unsigned long long)done, (unsigned long long)sum, n, (unsigned long long)want);
        return -1;
    }
    return (double)n / ((double)(t1 - t0) / 1e9); /* tasks per second */
}

/* ---- driver ---- */

struct bench {
    const char *name, *unit;
    double (*fn)(long n);
    long n;
    const char *aux; /* row fed by `aux` after each run, or NULL */
};

static const struct bench benches[] = {
    {"queue_fifo_spsc_bounded1024", "ops/s", queue_spsc, 4000000, NULL},
    {"queue_fifo_mpmc_2p2c_bounded1024", "ops/s", queue_mpmc, 2000000, NULL},
    {"queue_fifo_spsc_bounded1024_batch16", "ops/s", queue_spsc_batch, 8000000, NULL},
    {"priority_queue_put_get_1thread", "ops/s", prio_put_get, 204800, NULL},
    {"queue_handoff_latency_p50", "us/rtt", queue_handoff, 20000, "queue_handoff_latency_p99"},
    {"threadpool_empty_tasks_2workers", "tasks/s", empty_tasks, 1000000, NULL},
};

#define REPEATS 5

static void report(const char *name, const char *unit, long n, double *v, int k)
{
    printf("# glib %s n=%ld rounds:", name, n);
    for (int r = 0; r < k; r++)
        printf(" %.4g", v[r]);
    printf(" (median)\n");
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    double m = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    printf("glib\t%s\t%.4g\t%s\n", name, m, unit);
}

int main(int argc, char **argv)
{
    const char *q = getenv("WEFT_BENCH_QUICK");
    bool quick = q && *q && strcmp(q, "0") != 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: peer_glib [--quick] [--only NAME]\n");
            return 1;
        }
    }
    int repeats = quick ? 2 : REPEATS;
    printf("# glib peer: GLib %u.%u.%u, GAsyncQueue (unbounded: no maxsize), %d repeats%s\n",
           glib_major_version, glib_minor_version, glib_micro_version, repeats,
           quick ? ", QUICK (not for quoting)" : "");
    fflush(stdout);
    for (size_t b = 0; b < sizeof benches / sizeof *benches; b++) {
        const struct bench *bn = &benches[b];
        if (only && strcmp(only, bn->name) && !(bn->aux && !strcmp(only, bn->aux)))
            continue;
        long n = quick ? bn->n / 20 : bn->n;
        if (bn->fn(n / 10 > 0 ? n / 10 : 1) < 0) /* warm-up */
            continue;
        double v[REPEATS], a[REPEATS];
        bool ok = true;
        for (int r = 0; r < repeats && ok; r++) {
            aux = 0;
            v[r] = bn->fn(n);
            a[r] = aux;
            ok = v[r] >= 0;
        }
        if (!ok)
            continue;
        report(bn->name, bn->unit, n, v, repeats);
        if (bn->aux)
            report(bn->aux, bn->unit, n, a, repeats);
        fflush(stdout);
    }
    return failures ? 3 : 0;
}
