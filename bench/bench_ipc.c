/*
 * bench/bench_ipc.c - the rows of weft/ipc.h's queue between processes, for weft
 * and for its raw twin (a pipe(2) carrying the same messages; memcpy for the
 * bandwidth row). Every row runs its producers and consumers in processes forked
 * before the clock starts, released together from a spin gate in shared memory,
 * and checks what the consumers got.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/ipc.h"

/* The shared page: gate, per-consumer tallies. */
struct ipc_area {
    _Alignas(64) atomic_int gate;
    _Alignas(64) struct bench_tally tally[2];
};

/* One side of a row, run in a child: `role` 0..np-1 produce, np.. consume. */
struct ipc_row {
    const char *impl, *name;
    int np, nc;       /* producers, consumers */
    long n;           /* messages in all */
    size_t size;      /* bytes per message */
    weft_ipc_queue *q; /* weft */
    int fd[2];        /* raw pipe */
    struct ipc_area *area;
};

static int put_msg(struct ipc_row *r, const unsigned char *buf)
{
    if (r->q)
        return weft_ipc_queue_put(r->q, buf, r->size, WEFT_FOREVER);
    for (size_t done = 0; done < r->size;) {
        ssize_t w = write(r->fd[1], buf + done, r->size - done);
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return 0;
}

/* Returns 1 (got a message), 0 (got the end sentinel: a message whose first 8
 * bytes are 0), or a negative code. */
static int get_msg(struct ipc_row *r, unsigned char *buf, uint64_t *v)
{
    if (r->q) {
        size_t len;
        int rc = weft_ipc_queue_get(r->q, buf, r->size, &len, WEFT_FOREVER);
        if (rc != 0)
            return rc;
        if (len != r->size)
            return -EPROTO;
    } else {
        for (size_t done = 0; done < r->size;) {
            ssize_t got = read(r->fd[0], buf + done, r->size - done);
            if (got <= 0)
                return got == 0 ? -EPIPE : -errno;
            done += (size_t)got;
        }
    }
    memcpy(v, buf, sizeof *v);
    return *v != 0;
}

static void producer(struct ipc_row *r, int p, unsigned char *buf)
{
    long per = r->n / r->np;
    for (long i = 0; i < per; i++) {
        uint64_t v = (uint64_t)(p * per + i + 1); /* 1..n, never 0 */
        memcpy(buf, &v, sizeof v);
        if (put_msg(r, buf) != 0)
            _exit(1);
    }
    _exit(0);
}

static void consumer(struct ipc_row *r, int c, unsigned char *buf)
{
    struct bench_tally t = {0};
    uint64_t v = 0;
    int rc;
    while ((rc = get_msg(r, buf, &v)) == 1)
        bench_tally_add(&t, v);
    r->area->tally[c] = t;
    _exit(rc == 0 ? 0 : 1);
}

/* Fork the row's processes, time them from the gate until all are reaped, add
 * the end sentinels once the producers are done; returns ns or -1. */
static int64_t run_row(struct ipc_row *r)
{
    int np = r->np, nc = r->nc;
    pid_t pid[4];
    unsigned char *buf = calloc(1, r->size);
    if (!buf)
        return -1;
    atomic_store(&r->area->gate, 0);
    for (int i = 0; i < np + nc; i++) {
        if ((pid[i] = fork()) < 0) {
            bench_error("fork", -errno);
            for (int j = 0; j < i; j++)
                kill(pid[j], SIGKILL), waitpid(pid[j], NULL, 0);
            free(buf);
            return -1;
        }
        if (pid[i] == 0) {
            if (!r->q) /* each side keeps only its end, so EOF means something */
                close(i < np ? r->fd[0] : r->fd[1]);
            bench_wait_gate(&r->area->gate);
            if (i < np)
                producer(r, i, buf);
            consumer(r, i - np, buf);
        }
    }
    int64_t t0 = bench_now_ns();
    atomic_store_explicit(&r->area->gate, 1, memory_order_release);
    int bad = 0;
    for (int i = 0; i < np; i++) {
        int st;
        bad += waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st);
    }
    memset(buf, 0, r->size); /* the end sentinel: first 8 bytes 0 */
    for (int c = 0; c < nc; c++)
        bad += put_msg(r, buf) != 0;
    for (int i = np; i < np + nc; i++) {
        int st;
        bad += waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st);
    }
    int64_t t1 = bench_now_ns();
    free(buf);
    if (bad) {
        bench_fail("%s %s: %d process(es) failed", r->impl, r->name, bad);
        return -1;
    }
    return t1 - t0;
}

/* Set up the transport, run, check the tallies; returns messages per second, or
 * GB/s when gbps is set. */
static double ipc_row(const char *impl, const char *name, int np, int nc, long n, size_t size,
                      bool gbps)
{
    struct ipc_row r = {.impl = impl, .name = name, .np = np, .nc = nc,
                        .n = n / np * np, .size = size};
    r.area = mmap(NULL, sizeof *r.area, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                  -1, 0);
    if (r.area == MAP_FAILED) {
        bench_error("mmap", -errno);
        return -1;
    }
    memset(r.area->tally, 0, sizeof r.area->tally);
    int rc;
    if (!strcmp(impl, "weft"))
        rc = weft_ipc_queue_new(&r.q, &(weft_ipc_queue_opts){
                                          .capacity = size >= 4096 ? 2 * size + 64 : 1u << 16});
    else
        rc = pipe(r.fd) == 0 ? 0 : -errno;
    if (rc != 0) {
        bench_error(strcmp(impl, "weft") ? "pipe" : "weft_ipc_queue_new", rc);
        munmap(r.area, sizeof *r.area);
        return -1;
    }
    int64_t ns = run_row(&r);
    double v = -1;
    if (ns > 0) {
        struct bench_tally t = r.area->tally[0];
        for (int c = 1; c < nc; c++) {
            t.count += r.area->tally[c].count;
            t.sum += r.area->tally[c].sum;
            t.sumsq += r.area->tally[c].sumsq;
        }
        if (bench_tally_check(&t, (uint64_t)r.n, impl, name) == 0)
            v = gbps ? (double)r.n * (double)size / (double)ns : (double)r.n * 1e9 / (double)ns;
    }
    if (r.q)
        weft_ipc_queue_free(r.q);
    else
        close(r.fd[0]), close(r.fd[1]);
    munmap(r.area, sizeof *r.area);
    return v;
}

double weft_ipcq_64_1p1c(long n)
{
    return ipc_row("weft", "ipc_queue_64B_1prod_1cons", 1, 1, n, 64, false);
}

double raw_pipe_64_1p1c(long n)
{
    return ipc_row("pthread", "ipc_queue_64B_1prod_1cons", 1, 1, n, 64, false);
}

double weft_ipcq_64_2p2c(long n)
{
    return ipc_row("weft", "ipc_queue_64B_2prod_2cons", 2, 2, n, 64, false);
}

double raw_pipe_64_2p2c(long n)
{
    return ipc_row("pthread", "ipc_queue_64B_2prod_2cons", 2, 2, n, 64, false);
}

double weft_ipcq_1mib(long n)
{
    return ipc_row("weft", "ipc_queue_1MiB_throughput", 1, 1, n, 1u << 20, true);
}

/* The bandwidth row's raw figure: one core copying 1 MiB buffers (GB/s), the
 * yardstick the issue sets for the queue (two copies per message, one in each
 * process). */
double raw_memcpy_1mib(long n)
{
    size_t size = 1u << 20;
    unsigned char *a = malloc(size), *b = malloc(size);
    if (!a || !b) {
        free(a);
        free(b);
        return -1;
    }
    memset(a, 1, size);
    memset(b, 2, size);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        memcpy(i % 2 ? a : b, i % 2 ? b : a, size);
        __asm__ __volatile__("" ::"r"(a), "r"(b) : "memory"); /* keep every copy */
    }
    int64_t t1 = bench_now_ns();
    int ok = a[size - 1] == b[size - 1];
    free(a);
    free(b);
    if (!ok) {
        bench_fail("pthread ipc_queue_1MiB_throughput: memcpy buffers differ");
        return -1;
    }
    return (double)n * (double)size / (double)(t1 - t0);
}

/* ---- pipe_roundtrip_64B: a 64-byte message to a child and back, n times ---- */

/* The two sides of a round trip, for weft's connections or raw pipes. */
struct rt_ends {
    weft_conn *parent, *child; /* weft: a duplex Pipe */
    int to_child[2], to_parent[2]; /* raw: two pipe(2)s */
};

static int rt_send(struct rt_ends *e, bool in_child, const unsigned char *buf)
{
    if (e->parent)
        return weft_conn_send_bytes(in_child ? e->child : e->parent, buf, 64, WEFT_FOREVER);
    int fd = in_child ? e->to_parent[1] : e->to_child[1];
    return write(fd, buf, 64) == 64 ? 0 : -EIO; /* 64 <= PIPE_BUF: one write */
}

static int rt_recv(struct rt_ends *e, bool in_child, unsigned char *buf)
{
    if (e->parent) {
        size_t len;
        int rc = weft_conn_recv_bytes(in_child ? e->child : e->parent, buf, 64, &len,
                                      WEFT_FOREVER);
        return rc ? rc : len == 64 ? 0 : -EPROTO;
    }
    int fd = in_child ? e->to_child[0] : e->to_parent[0];
    for (size_t done = 0; done < 64;) {
        ssize_t got = read(fd, buf + done, 64 - done);
        if (got <= 0)
            return -EIO;
        done += (size_t)got;
    }
    return 0;
}

static double roundtrip(const char *impl, long n)
{
    struct rt_ends e = {0};
    int rc = !strcmp(impl, "weft") ? weft_pipe(&e.parent, &e.child, NULL)
             : pipe(e.to_child) == 0 && pipe(e.to_parent) == 0 ? 0 : -errno;
    if (rc != 0) {
        bench_error("pipe", rc);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) { /* the echo: add 1 to the number in the first 8 bytes */
        unsigned char buf[64];
        uint64_t v;
        do {
            if (rt_recv(&e, true, buf) != 0)
                _exit(1);
            memcpy(&v, buf, sizeof v);
            v += v != 0;
            memcpy(buf, &v, sizeof v);
            if (v && rt_send(&e, true, buf) != 0)
                _exit(1);
        } while (v);
        _exit(0);
    }
    unsigned char buf[64] = {0};
    int bad = pid < 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n && !bad; i++) {
        uint64_t v = (uint64_t)i + 1, back;
        memcpy(buf, &v, sizeof v);
        bad = rt_send(&e, false, buf) != 0 || rt_recv(&e, false, buf) != 0;
        memcpy(&back, buf, sizeof back);
        bad |= back != v + 1;
    }
    int64_t t1 = bench_now_ns();
    memset(buf, 0, sizeof buf);
    if (pid > 0) {
        rt_send(&e, false, buf);
        int st;
        bad |= waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    if (e.parent) {
        weft_conn_free(e.parent);
        weft_conn_free(e.child);
    } else {
        close(e.to_child[0]), close(e.to_child[1]), close(e.to_parent[0]), close(e.to_parent[1]);
    }
    if (bad) {
        bench_fail("%s pipe_roundtrip_64B: a round trip came back wrong", impl);
        return -1;
    }
    return (double)(t1 - t0) / 1e3 / (double)n; /* us per round trip */
}

double weft_pipe_roundtrip(long n)
{
    return roundtrip("weft", n);
}

double raw_pipe_roundtrip(long n)
{
    return roundtrip("pthread", n);
}
