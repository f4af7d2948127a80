#!/bin/sh
# bench/futex-stats.sh BUILD_DIR [ROW...] - for tuning, not part of `make bench`:
# run each weft_bench row once per implementation (weft, then pthread) under
# `perf stat` and print futex system calls and context switches per operation.
# Needs perf with the syscalls tracepoints (perf_event_paranoid <= 2 as root).
# The operation count is the row's n plus the warm-up's n/10, as weft_bench runs
# them with --repeats 1.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: sh bench/futex-stats.sh BUILD_DIR [ROW...]" >&2
    exit 2
fi
B=$1
shift
[ $# -gt 0 ] || set -- queue_fifo_spsc_bounded1024 queue_fifo_mpmc_2p2c_bounded1024 \
    queue_fifo_spsc_bounded1024_batch16 priority_queue_put_get_1thread \
    queue_handoff_latency_p50
printf '%-36s %-8s %12s %10s %10s %10s\n' row impl figure ops futex/op cs/op
for row in "$@"; do
    for impl in weft pthread; do
        out=$(perf stat -x, -e syscalls:sys_enter_futex,context-switches \
              "$B/weft_bench" --only "$row" --impl "$impl" --repeats 1 2>&1) || true
        echo "$out" | awk -F '[\t,]' -v row="$row" -v impl="$impl" '
            /^# .* n=/ { if (index($0, "# " impl " " row " n=")) { split($0, a, "n="); split(a[2], b, " "); n = b[1] } }
            $1 == impl && $2 == row { fig = $3 }
            /sys_enter_futex/ { fx = $1 }
            /context-switches/ { cs = $1 }
            END {
                ops = n + int(n / 10)
                if (ops > 0)
                    printf "%-36s %-8s %12s %10d %10.4f %10.4f\n", row, impl, fig, ops, fx / ops, cs / ops
            }'
    done
done
