#!/usr/bin/env python3
"""The CPython multiprocessing peer of weft_bench: the process rows written with
multiprocessing the way the tutorials use it (ctx.Process(target=f).start();
join(), `with lock:` on a multiprocessing.Lock, a Value's get_lock()).

Prints python<TAB>name<TAB>value<TAB>unit lines and '#' notes, with the method of
weft_bench: a warm-up, then REPEATS rounds, the median reported (the best for
shared_lock_acquire_release). Iteration counts are smaller than in C; every figure
is per operation, so that does not change what is compared.

Exit status: 0, 3 when an exactness check failed.
usage: multiprocessing_peer.py [--quick]   (or WEFT_BENCH_QUICK=1)
"""
import multiprocessing as mp
import sys
import time

import threading_peer  # the shared method (run); this file sits beside it

failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL python " + msg, file=sys.stderr)


def child_exit(code):
    # a target's exit code: SystemExit(code) is how a Python child chooses it
    sys.exit(code)


def spawn_join(method, n):
    ctx = mp.get_context(method)
    t0 = time.perf_counter_ns()
    for i in range(n):
        p = ctx.Process(target=child_exit, args=(i & 0x7F,))
        p.start()
        p.join()
        if p.exitcode != (i & 0x7F):
            fail("process_spawn_join_%s: exitcode %r, expected %d" % (method, p.exitcode, i & 0x7F))
            return None
    t1 = time.perf_counter_ns()
    return (t1 - t0) / 1e3 / n  # us per start+join


def spawn_join_fork(n):
    return spawn_join("fork", n)


def spawn_join_forkserver(n):
    return spawn_join("forkserver", n)


def shared_lock_acquire_release(n):
    lock = mp.get_context("fork").Lock()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        with lock:
            pass
    t1 = time.perf_counter_ns()
    return (t1 - t0) / n  # ns per acquire+release


def counter_body(counter, go, per_proc):
    go.wait()
    for _ in range(per_proc):
        with counter.get_lock():
            counter.value += 1


def shared_counter_2procs(n):
    ctx = mp.get_context("fork")
    counter = ctx.Value("q", 0)  # a shared int64 with its own lock (lock=True)
    go = ctx.Event()
    per_proc = n // 2
    procs = [ctx.Process(target=counter_body, args=(counter, go, per_proc)) for _ in range(2)]
    for p in procs:
        p.start()
    t0 = time.perf_counter_ns()
    go.set()
    for p in procs:
        p.join()
    t1 = time.perf_counter_ns()
    if counter.value != 2 * per_proc:
        fail("shared_counter_lock_per_increment_2procs: counter %d, expected %d"
             % (counter.value, 2 * per_proc))
        return None
    return (t1 - t0) / (2 * per_proc)  # ns per increment


def queue_producer(q, go, first, count, size):
    pad = b"x" * (size - 8)
    go.wait()
    for v in range(first, first + count):
        q.put(v.to_bytes(8, "little") + pad)


def queue_consumer(q, go, out, slot):
    go.wait()
    count = total = 0
    while True:
        m = q.get()
        v = int.from_bytes(m[:8], "little")
        if v == 0:
            break
        count += 1
        total += v
    out[2 * slot] = count
    out[2 * slot + 1] = total


def queue_row(name, np_, nc, n, size):
    """np_ producer and nc consumer processes on one multiprocessing.Queue, as the
    tutorials use it; consumers stop at a message whose first 8 bytes are 0."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    go = ctx.Event()
    out = ctx.Array("q", 2 * nc, lock=False)
    per = n // np_
    prods = [ctx.Process(target=queue_producer, args=(q, go, 1 + p * per, per, size))
             for p in range(np_)]
    conss = [ctx.Process(target=queue_consumer, args=(q, go, out, c)) for c in range(nc)]
    for p in prods + conss:
        p.start()
    t0 = time.perf_counter_ns()
    go.set()
    for p in prods:
        p.join()
    for _ in range(nc):
        q.put(bytes(size))
    for p in conss:
        p.join()
    t1 = time.perf_counter_ns()
    total_n = per * np_
    count = sum(out[2 * c] for c in range(nc))
    total = sum(out[2 * c + 1] for c in range(nc))
    if count != total_n or total != total_n * (total_n + 1) // 2:
        fail("%s: got %d messages summing to %d, expected 1..%d" % (name, count, total, total_n))
        return None
    return (t1 - t0), total_n


def queue_64_1p1c(n):
    r = queue_row("ipc_queue_64B_1prod_1cons", 1, 1, n, 64)
    return None if r is None else r[1] * 1e9 / r[0]  # messages per second


def queue_64_2p2c(n):
    r = queue_row("ipc_queue_64B_2prod_2cons", 2, 2, n, 64)
    return None if r is None else r[1] * 1e9 / r[0]


def queue_1mib(n):
    r = queue_row("ipc_queue_1MiB_throughput", 1, 1, n, 1 << 20)
    return None if r is None else r[1] * (1 << 20) / r[0]  # GB/s


def pipe_echo(conn):
    while True:
        m = conn.recv_bytes()
        v = int.from_bytes(m[:8], "little")
        if v == 0:
            break
        conn.send_bytes((v + 1).to_bytes(8, "little") + m[8:])


def pipe_roundtrip(n):
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=pipe_echo, args=(b,))
    p.start()
    pad = b"x" * 56
    t0 = time.perf_counter_ns()
    for i in range(1, n + 1):
        a.send_bytes(i.to_bytes(8, "little") + pad)
        back = int.from_bytes(a.recv_bytes()[:8], "little")
        if back != i + 1:
            fail("pipe_roundtrip_64B: sent %d, got back %d" % (i, back))
            return None
    t1 = time.perf_counter_ns()
    a.send_bytes(bytes(64))
    p.join()
    return (t1 - t0) / 1e3 / n  # us per round trip


BENCHES = [
    ("process_spawn_join_fork", "us/op", "median", spawn_join_fork, 300),
    ("process_spawn_join_forkserver", "us/op", "median", spawn_join_forkserver, 100),
    ("shared_lock_acquire_release", "ns/op", "best", shared_lock_acquire_release, 1000000),
    ("shared_counter_lock_per_increment_2procs", "ns/incr", "median", shared_counter_2procs,
     200000),
    ("ipc_queue_64B_1prod_1cons", "msgs/s", "median", queue_64_1p1c, 200000),
    ("ipc_queue_64B_2prod_2cons", "msgs/s", "median", queue_64_2p2c, 200000),
    ("ipc_queue_1MiB_throughput", "GB/s", "median", queue_1mib, 200),
    ("pipe_roundtrip_64B", "us/rtt", "median", pipe_roundtrip, 20000),
]


def main():
    # n >= 2: the 2-process rows split n between two children; the warm-up
    # also starts the forkserver, outside the timed rounds
    threading_peer.run("multiprocessing peer", BENCHES, min_n=2)
    return 3 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
