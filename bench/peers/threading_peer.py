#!/usr/bin/env python3
"""The CPython peer of weft_bench: the same benchmarks written with the threading
and queue modules the way the tutorials use them (Thread(...).start(); join(),
`with lock:`, Event set/wait/clear, queue.Queue put/get, PriorityQueue of
(priority, item) tuples), and concurrent.futures.ThreadPoolExecutor for the
executor rows (submit + result(); no figure for the recursive fib, see NOTES).

Prints python<TAB>name<TAB>value<TAB>unit lines and '#' notes, with the same method
as weft_bench: a warm-up, then REPEATS rounds, the median reported (the best for
lock_acquire_release). Iteration counts are smaller than in C; every figure is per
operation, so that does not change what is compared.

Exit status: 0, 3 when an exactness check failed.
usage: threading_peer.py [--quick]   (or WEFT_BENCH_QUICK=1)
"""
import os
import platform
import queue
import concurrent.futures
import statistics
import sys
import threading
import time

MASK = (1 << 64) - 1
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL python " + msg, file=sys.stderr)


def now_ns():
    return time.perf_counter_ns()


def spawn_join(n):
    runs = []

    def body(i):
        runs.append(i)

    t0 = now_ns()
    for i in range(n):
        t = threading.Thread(target=body, args=(i,))
        t.start()
        t.join()
    t1 = now_ns()
    if len(runs) != n:
        fail("thread_spawn_join: %d bodies ran, expected %d" % (len(runs), n))
        return None
    return (t1 - t0) / 1e3 / n  # us per start+join


def lock_acquire_release(n):
    lock = threading.Lock()
    t0 = now_ns()
    for _ in range(n):
        with lock:
            pass
    t1 = now_ns()
    return (t1 - t0) / n  # ns per acquire+release


def counter_2threads(n):
    lock = threading.Lock()
    state = {"counter": 0}
    per_thread = n // 2
    go = threading.Event()

    def body():
        go.wait()
        for _ in range(per_thread):
            with lock:
                state["counter"] += 1

    threads = [threading.Thread(target=body) for _ in range(2)]
    for t in threads:
        t.start()
    t0 = now_ns()
    go.set()
    for t in threads:
        t.join()
    t1 = now_ns()
    total = 2 * per_thread
    if state["counter"] != total:
        fail("counter_lock_per_increment_2threads: counter %d, expected %d"
             % (state["counter"], total))
        return None
    return (t1 - t0) / total  # ns per increment


def cpu_work(seed, iters):
    # the same xorshift64 steps as bench_cpu_work() in bench/main.c
    x = (seed * 0x9E3779B97F4A7C15 + 1) & MASK
    for _ in range(iters):
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
    return x


def cpu_2threads(n):
    t0 = now_ns()
    seq = [cpu_work(1, n), cpu_work(2, n)]
    t1 = now_ns()
    par = [None, None]

    def body(i):
        par[i] = cpu_work(i + 1, n)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t2 = now_ns()
    if seq != par:
        fail("cpu_bound_2threads_speedup: threads computed %r, sequential %r" % (par, seq))
        return None
    return (t1 - t0) / (t2 - t1)  # speedup t_seq / t_par


def event_pingpong(n):
    ping, pong = threading.Event(), threading.Event()
    bounced = [0]

    def ponger():
        for _ in range(n):
            ping.wait()
            ping.clear()
            bounced[0] += 1
            pong.set()

    t = threading.Thread(target=ponger)
    t.start()
    t0 = now_ns()
    for _ in range(n):
        ping.set()
        pong.wait()
        pong.clear()
    t1 = now_ns()
    t.join()
    if bounced[0] != n:
        fail("event_pingpong_2threads: %d bounces, expected %d" % (bounced[0], n))
        return None
    return (t1 - t0) / 1e3 / n  # us per round trip


# ---- queue rows: items are the integers 1..n, 0 the "no more" sentinel; every
# consumer tallies what it got and the totals must be those of 1..n ----

MAXSIZE = 1024     # bounded rows (BENCH_QUEUE_MAXSIZE in bench/bench.h)
PRIO_BATCH = 1024  # priority row: items put before they are all got


def tally_ok(row, count, total, squares, n):
    want = (n, n * (n + 1) // 2, n * (n + 1) * (2 * n + 1) // 6)
    if (count, total, squares) == want:
        return True
    fail("%s: got %d items (sum %d, sum of squares %d), expected items 1..%d exactly "
         "once (sum %d, sum of squares %d)" % (row, count, total, squares, n, want[1], want[2]))
    return False


def run_gated(bodies):
    """Start one thread per body, release them together, join: seconds taken."""
    go = threading.Event()
    threads = [threading.Thread(target=lambda b=b: (go.wait(), b())) for b in bodies]
    for t in threads:
        t.start()
    t0 = now_ns()
    go.set()
    for t in threads:
        t.join()
    return (now_ns() - t0) / 1e9


def queue_spsc(n):
    q = queue.Queue(MAXSIZE)
    got = [0, 0, 0, True]  # count, sum, sum of squares, in order

    def producer():
        put = q.put
        for v in range(1, n + 1):
            put(v)

    def consumer():
        get = q.get
        count = total = squares = 0
        in_order = True
        for i in range(1, n + 1):
            v = get()
            in_order = in_order and v == i
            count += 1
            total += v
            squares += v * v
        got[:] = [count, total, squares, in_order]

    secs = run_gated([producer, consumer])
    if not got[3]:
        fail("queue_fifo_spsc_bounded1024: items out of FIFO order")
        return None
    if not tally_ok("queue_fifo_spsc_bounded1024", got[0], got[1], got[2], n):
        return None
    return n / secs  # items per second


def queue_mpmc(n):
    q = queue.Queue(MAXSIZE)
    half = n // 2
    tallies = []

    def producer(first, last):
        put = q.put
        for v in range(first, last + 1):
            put(v)
        put(0)

    def consumer():
        get = q.get
        count = total = squares = 0
        while True:
            v = get()
            if v == 0:
                break
            count += 1
            total += v
            squares += v * v
        tallies.append((count, total, squares))  # list.append is atomic

    secs = run_gated([lambda: producer(1, half), lambda: producer(half + 1, 2 * half),
                      consumer, consumer])
    sums = [sum(t[i] for t in tallies) for i in range(3)]
    if not tally_ok("queue_fifo_mpmc_2p2c_bounded1024", sums[0], sums[1], sums[2], 2 * half):
        return None
    return 2 * half / secs  # items per second


def prio_put_get(n):
    n = max(n - n % PRIO_BATCH, PRIO_BATCH)
    q = queue.PriorityQueue()
    rng = 42
    count = total = squares = 0
    in_order = True
    t0 = now_ns()
    for b in range(0, n, PRIO_BATCH):
        for k in range(1, PRIO_BATCH + 1):
            # the LCG of bench_prio_next() in bench/bench.h
            rng = (rng * 6364136223846793005 + 1442695040888963407) & MASK
            q.put((rng >> 44, b + k))
        prev = -1
        for _ in range(PRIO_BATCH):
            prio, v = q.get()
            in_order = in_order and prio >= prev
            prev = prio
            count += 1
            total += v
            squares += v * v
    t1 = now_ns()
    if not in_order:
        fail("priority_queue_put_get_1thread: priorities out of order")
        return None
    if not tally_ok("priority_queue_put_get_1thread", count, total, squares, n):
        return None
    return n / ((t1 - t0) / 1e9)  # put+get pairs per second


def percentile(v, p):
    """Nearest rank, as bench_percentile() in bench/main.c (sorts v)."""
    v.sort()
    rank = min(max(-(-len(v) * p // 100), 1), len(v))
    return v[int(rank) - 1]


def queue_handoff(n):
    ping, pong = queue.Queue(), queue.Queue()

    def partner():
        for _ in range(n):
            pong.put(ping.get() + 1)

    t = threading.Thread(target=partner)
    t.start()
    lat = []
    wrong = False
    for i in range(n):
        t0 = now_ns()
        ping.put(2 * i)
        back = pong.get()
        t1 = now_ns()
        wrong = wrong or back != 2 * i + 1
        lat.append((t1 - t0) / 1e3)
    t.join()
    if wrong:
        fail("queue_handoff_latency: an item came back changed")
        return None
    return percentile(lat, 50), percentile(lat, 99)  # us per round trip


# ---- executor rows (the sizes of bench/bench.h) ----

TASK_BATCH = 1024  # BENCH_TASK_BATCH: futures submitted before their results are taken
PF_STEPS = 1000    # BENCH_PF_STEPS: xorshift steps per index


def empty_task(a):
    return a


def empty_tasks(n):
    """ThreadPoolExecutor(2): submit a batch of tasks, then result() each, summing."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        submit = ex.submit
        total = done = 0
        t0 = now_ns()
        for base in range(0, n, TASK_BATCH):
            fs = [submit(empty_task, v) for v in range(base + 1, min(base + TASK_BATCH, n) + 1)]
            for f in fs:
                total += f.result()
                done += 1
        t1 = now_ns()
    if done != n or total != n * (n + 1) // 2:
        fail("threadpool_empty_tasks_2workers: %d results summing to %d, expected %d summing "
             "to %d" % (done, total, n, n * (n + 1) // 2))
        return None
    return n / ((t1 - t0) / 1e9)  # tasks per second


def pf_range(lo, hi):
    s = 0
    for i in range(lo, hi):
        s += cpu_work(i + 1, PF_STEPS)
    return s & MASK


def parallel_for_2threads(n):
    """The loop in this thread, then its two halves on ThreadPoolExecutor(2)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        t0 = now_ns()
        seq = pf_range(0, n)
        t1 = now_ns()
        halves = [ex.submit(pf_range, 0, n // 2), ex.submit(pf_range, n // 2, n)]
        par = (halves[0].result() + halves[1].result()) & MASK
        t2 = now_ns()
    if par != seq:
        fail("parallel_for_speedup_2threads: parallel sum %x, sequential %x" % (par, seq))
        return None
    return (t1 - t0) / (t2 - t1)  # speedup t_seq / t_par


# Rows with no CPython figure, and why (printed as notes).
NOTES = {
    "threadpool_fib25_recursive":
        "no figure - in ThreadPoolExecutor a task waiting on its children's futures "
        "blocks its worker thread, so a recursive fib deadlocks once every worker "
        "waits (fib(25) has 121392 calls waiting on children)",
}

# name, unit, reduce, function, iterations (full run); a function that returns a
# pair (handoff) gives the row and its "aux" row (name in AUX) from the same runs.
AUX = {"queue_handoff_latency_p50": "queue_handoff_latency_p99"}
BENCHES = [
    ("thread_spawn_join", "us/op", "median", spawn_join, 2000),
    ("lock_acquire_release", "ns/op", "best", lock_acquire_release, 2000000),
    ("counter_lock_per_increment_2threads", "ns/incr", "median", counter_2threads, 400000),
    ("cpu_bound_2threads_speedup", "x", "median", cpu_2threads, 1000000),
    ("event_pingpong_2threads", "us/rtt", "median", event_pingpong, 5000),
    ("queue_fifo_spsc_bounded1024", "ops/s", "median", queue_spsc, 400000),
    ("queue_fifo_mpmc_2p2c_bounded1024", "ops/s", "median", queue_mpmc, 400000),
    ("priority_queue_put_get_1thread", "ops/s", "median", prio_put_get, 204800),
    ("queue_handoff_latency_p50", "us/rtt", "median", queue_handoff, 20000),
    ("threadpool_empty_tasks_2workers", "tasks/s", "median", empty_tasks, 100000),
    ("parallel_for_speedup_2threads", "x", "median", parallel_for_2threads, 1000),
]


def run(label, benches, notes=None, aux=None, min_n=1):
    """The method shared by the CPython peers: for each (name, unit, how, fn, n)
    a warm-up of n/10, then REPEATS rounds, the median (or the best) printed as
    a data line; fn returns None after a failed check, which skips the row.
    aux maps a row to a second row fn returns beside it, as a pair."""
    quick = "--quick" in sys.argv[1:] or os.environ.get("WEFT_BENCH_QUICK", "0") not in ("", "0")
    repeats = 2 if quick else 3
    print("# python %s: %s %s, %d repeats%s" % (
        label, platform.python_implementation(), platform.python_version(), repeats,
        ", QUICK (not for quoting)" if quick else ""))
    sys.stdout.flush()
    for name, note in (notes or {}).items():
        print("# python %s: %s" % (name, note))
    aux = aux or {}
    for name, unit, how, fn, n in benches:
        if quick:
            n = max(n // 20, min_n)
        if fn(max(n // 10, min_n)) is None:  # warm-up
            continue
        values = []
        for _ in range(repeats):
            v = fn(n)
            if v is None:
                break
            values.append(v)
        if len(values) != repeats:
            continue
        rows = [(name, values)]
        if name in aux:
            rows = [(name, [v[0] for v in values]), (aux[name], [v[1] for v in values])]
        for row, vals in rows:
            value = min(vals) if how == "best" else statistics.median(vals)
            print("# python %s n=%d rounds: %s (%s)" % (
                row, n, " ".join("%.4g" % v for v in vals), how))
            print("python\t%s\t%.4g\t%s" % (row, value, unit))
        sys.stdout.flush()


def main():
    run("peer", BENCHES, NOTES, AUX)
    return 3 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
