#!/usr/bin/env python3
"""The CPython peer of weft_bench: the same benchmarks written with the threading
module the way the tutorials use it (Thread(...).start(); join(), `with lock:`,
Event set/wait/clear).

Prints python<TAB>name<TAB>value<TAB>unit lines and '#' notes, with the same method
as weft_bench: a warm-up, then REPEATS rounds, the median reported (the best for
lock_acquire_release). Iteration counts are smaller than in C; every figure is per
operation, so that does not change what is compared.

Exit status: 0, 3 when an exactness check failed.
usage: threading_peer.py [--quick]   (or WEFT_BENCH_QUICK=1)
"""
import os
import platform
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


# name, unit, reduce, function, iterations (full run)
BENCHES = [
    ("thread_spawn_join", "us/op", "median", spawn_join, 2000),
    ("lock_acquire_release", "ns/op", "best", lock_acquire_release, 2000000),
    ("counter_lock_per_increment_2threads", "ns/incr", "median", counter_2threads, 400000),
    ("cpu_bound_2threads_speedup", "x", "median", cpu_2threads, 1000000),
    ("event_pingpong_2threads", "us/rtt", "median", event_pingpong, 5000),
]


def main():
    quick = "--quick" in sys.argv[1:] or os.environ.get("WEFT_BENCH_QUICK", "0") not in ("", "0")
    repeats = 2 if quick else 3
    print("# python peer: %s %s, %d repeats%s" % (
        platform.python_implementation(), platform.python_version(), repeats,
        ", QUICK (not for quoting)" if quick else ""))
    sys.stdout.flush()
    for name, unit, how, fn, n in BENCHES:
        if quick:
            n = max(n // 20, 1)
        if fn(max(n // 10, 1)) is None:  # warm-up
            continue
        values = []
        for _ in range(repeats):
            v = fn(n)
            if v is None:
                break
            values.append(v)
        if len(values) != repeats:
            continue
        value = min(values) if how == "best" else statistics.median(values)
        print("# python %s n=%d rounds: %s (%s)" % (
            name, n, " ".join("%.4g" % v for v in values), how))
        print("python\t%s\t%.4g\t%s" % (name, value, unit))
        sys.stdout.flush()
    return 3 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
