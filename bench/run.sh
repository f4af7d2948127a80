#!/bin/sh
# bench/run.sh BUILD_DIR - `make bench`: run weft_bench (weft + raw pthread rows)
# and every peer available on this machine in the same run, save the raw lines to
# BUILD_DIR/bench.tsv and print a side-by-side table with ratios and targets.
#
# Every program prints  impl<TAB>name<TAB>value<TAB>unit  lines ('#' lines are
# notes) and exits 3 when one of its exactness checks failed.
#
# Exit status: 0; 1 when weft_bench failed, any exactness check failed, or a peer
# whose toolchain is present failed. A missing toolchain only gives "n/a" and a note.
#
# Environment: WEFT_BENCH_QUICK=1 shrinks every program's run (harness check only),
# BENCH_TIMEOUT (seconds, default 600) bounds each program.
#
# Adding a peer: write a peer_NAME function below (build if needed, then
# `run_prog NAME cmd...`, or `peer_missing NAME "why"`), call it in the list at the
# bottom, and add NAME to IMPLS so it gets a column and a ratio column.

set -u

# Table columns, in order. go_pertask: the Go peer's second form of the
# thread-pool row (a goroutine per task beside the pool of goroutines).
IMPLS="weft pthread python go go_pertask glib"

if [ $# -ne 1 ]; then
    echo "usage: sh bench/run.sh BUILD_DIR" >&2
    exit 2
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$1" && pwd) || exit 2
TSV=$B/bench.tsv
STATUS=$B/bench.status    # impl<TAB>ok|missing|failed<TAB>note
RUNDIR=$B/bench-run       # per-program output
mkdir -p "$RUNDIR"
: >"$TSV"
: >"$STATUS"
rc=0
TIMEOUT=${BENCH_TIMEOUT:-600}
if command -v timeout >/dev/null 2>&1; then TO="timeout $TIMEOUT"; else TO=""; fi

note() { printf '# %s\n' "$*"; }

peer_missing() { # NAME WHY
    printf '%s\tmissing\t%s\n' "$1" "$2" >>"$STATUS"
    note "$1: n/a - $2"
}

# run_prog NAME CMD... : run one program, show its output as it comes, keep its
# data lines. A program may print rows for several implementations.
run_prog() {
    name=$1
    shift
    out=$RUNDIR/$name.out
    note "running $name: $*"
    { $TO "$@"; echo $? >"$RUNDIR/$name.rc"; } | tee "$out"
    prc=$(cat "$RUNDIR/$name.rc")
    grep -v '^#' "$out" | awk -F '\t' 'NF == 4' >>"$TSV"
    case $prc in
    0) printf '%s\tok\t\n' "$name" >>"$STATUS" ;;
    3) printf '%s\tfailed\texactness check failed\n' "$name" >>"$STATUS"
       note "$name: EXACTNESS CHECK FAILED (see FAIL lines above)"
       rc=1 ;;
    124) printf '%s\tfailed\ttimed out after %ss\n' "$name" "$TIMEOUT" >>"$STATUS"
       note "$name: timed out after ${TIMEOUT}s"
       rc=1 ;;
    *) printf '%s\tfailed\texit status %s\n' "$name" "$prc" >>"$STATUS"
       note "$name: failed with exit status $prc"
       rc=1 ;;
    esac
}

# ---- the C program: weft and raw pthread rows ----
peer_weft_bench() {
    if [ ! -x "$B/weft_bench" ]; then
        echo "run.sh: $B/weft_bench not found (build with -DWEFT_BENCH=ON)" >&2
        exit 1
    fi
    # lock-order checking costs time on every acquire; the rows measure weft as
    # shipped, with it off (its default).
    run_prog weft_bench env -u WEFT_LOCKDEP "$B/weft_bench"
    if ! grep -q '^weft	' "$TSV"; then
        note "weft_bench printed no weft rows"
    fi
}

# ---- CPython: threading as the tutorials use it ----
peer_python() {
    if ! command -v python3 >/dev/null 2>&1; then
        peer_missing python "python3 not on PATH"
        return
    fi
    run_prog python python3 "$SRC/bench/peers/threading_peer.py"
    run_prog python_mp python3 "$SRC/bench/peers/multiprocessing_peer.py"
}

# ---- Go: goroutines, sync.Mutex, channels (Debian golang-go) ----
peer_go() {
    if ! command -v go >/dev/null 2>&1; then
        peer_missing go "go not on PATH (Debian: golang-go)"
        return
    fi
    gob=$B/go
    mkdir -p "$gob"
    # Everything the go command writes stays under the build dir; GOENV=off so a
    # user's `go env -w` settings are neither read nor needed (no dependencies).
    if ! (cd "$SRC/bench/peers/go" &&
          GOCACHE=$gob/cache GOPATH=$gob/path GOMODCACHE=$gob/path/pkg/mod \
          GOENV=off GOFLAGS= GO111MODULE=on go build -o "$B/peer_go" .); then
        printf 'go\tfailed\tgo build failed\n' >>"$STATUS"
        note "go: build failed"
        rc=1
        return
    fi
    run_prog go "$B/peer_go"
}

# ---- GLib: C peers in bench/peers/glib/*.c, one program, built here ----
peer_glib() {
    set -- "$SRC"/bench/peers/glib/*.c
    if [ ! -e "$1" ]; then
        peer_missing glib "no GLib peer written yet (bench/peers/glib/*.c)"
        return
    fi
    if ! pkg-config --exists glib-2.0 2>/dev/null; then
        peer_missing glib "pkg-config glib-2.0 not found (Debian: libglib2.0-dev)"
        return
    fi
    # shellcheck disable=SC2046 # pkg-config output is meant to be split
    if ! ${CC:-cc} -O2 -std=gnu11 -Wall -o "$B/peer_glib" "$@" \
            $(pkg-config --cflags glib-2.0) $(pkg-config --libs glib-2.0) -lpthread; then
        printf 'glib\tfailed\tbuild failed\n' >>"$STATUS"
        note "glib: build failed"
        rc=1
        return
    fi
    run_prog glib "$B/peer_glib"
}

# ---- header: what ran where ----
echo "== weft bench: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -srm), $(nproc 2>/dev/null || echo '?') CPUs"
note "cc: $(${CC:-cc} --version 2>/dev/null | head -n 1)"
command -v python3 >/dev/null 2>&1 && note "python3: $(python3 --version 2>&1)"
command -v go >/dev/null 2>&1 && note "go: $(go version 2>/dev/null)"
[ -n "${WEFT_BENCH_QUICK:-}" ] && [ "${WEFT_BENCH_QUICK}" != 0 ] &&
    note "WEFT_BENCH_QUICK set: short runs, figures not for quoting"

[ -r /proc/loadavg ] && note "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (anything above ~0.1 on 2 cores skews the figures)"

peer_weft_bench
peer_python
peer_go
peer_glib

[ -r /proc/loadavg ] && note "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== raw results ($TSV)"
cat "$TSV"

echo
awk -F '\t' -v impls="$IMPLS" '
function better_of(name, unit) {
    if (name in better) return better[name]
    return (unit == "x" || unit ~ /\/s$/) ? "higher" : "lower"
}
function fmt(v) { return sprintf("%.4g", v) }
# how many times better weft is than x: >1 means weft is better
function ratio(name, w, x) {
    if (w <= 0 || x <= 0) return ""
    return better_of(name, unit[name]) == "higher" ? w / x : x / w
}
FILENAME == ARGV[1] {                      # targets.tsv
    if ($0 ~ /^#/ || NF < 3) next
    better[$1] = $2; target[$1] = $3; ttext[$1] = $4
    next
}
FILENAME == ARGV[2] {                      # status: impl state note
    state[$1] = $2
    next
}
NF == 4 {                                  # impl name value unit
    if (!($2 in seen)) { seen[$2] = 1; order[++nb] = $2 }
    val[$1, $2] = $3; unit[$2] = $4; have[$1, $2] = 1
}
END {
    ni = split(impls, im, " ")
    # a program that wrote several implementations (weft_bench) counts for them all
    if ("weft_bench" in state) { state["weft"] = state["weft_bench"]; state["pthread"] = state["weft_bench"] }
    if ("go" in state) state["go_pertask"] = state["go"]
    # the multiprocessing peer writes python rows too: a failure there shows
    if ("python_mp" in state && state["python_mp"] != "ok") state["python"] = state["python_mp"]
    # column widths: at least the old fixed ones, wider for longer names
    for (i = 1; i <= ni; i++) {
        vw[i] = length(im[i]) > 9 ? length(im[i]) : 9
        rw[i] = length("weft/" im[i]) > 12 ? length("weft/" im[i]) : 12
    }
    tw = 20
    for (n in target) if (length(target[n]) > tw) tw = length(target[n])
    print "== side by side (same run; values as printed above)"
    print "   ratio columns \"weft/X\": how many times better weft is than X (>1: weft better;"
    print "   X/weft for time rows, weft/X for speedup rows). n/a: that peer could not run."
    line = sprintf("%-36s %-7s", "benchmark", "unit")
    for (i = 1; i <= ni; i++) line = line sprintf(" %" vw[i] "s", im[i])
    line = line " |"
    for (i = 2; i <= ni; i++) line = line sprintf(" %" rw[i] "s", "weft/" im[i])
    line = line sprintf(" | %-" tw "s %s", "target", "met")
    print line
    gsub(/./, "-", line); print line
    nmiss = 0
    for (b = 1; b <= nb; b++) {
        n = order[b]
        line = sprintf("%-36s %-7s", n, unit[n])
        for (i = 1; i <= ni; i++) {
            x = im[i]
            if ((x, n) in have) cell = fmt(val[x, n])
            else if (x in state && state[x] != "ok") cell = "n/a"
            else cell = ""
            line = line sprintf(" %" vw[i] "s", cell)
        }
        line = line " |"
        for (i = 2; i <= ni; i++) {
            x = im[i]; cell = ""
            if ((("weft", n) in have) && ((x, n) in have)) {
                r = ratio(n, val["weft", n], val[x, n])
                if (r != "") cell = sprintf("%.2f", r)
            } else if (x in state && state[x] != "ok") cell = "n/a"
            line = line sprintf(" %" rw[i] "s", cell)
        }
        t = (n in target) ? target[n] : "-"
        met = "-"
        if (t != "-") {
            # several targets separated by ",": NO if any is missed, ? if any
            # cannot be checked (a figure missing) and none is missed
            nt = split(t, tl, ","); met = "yes"; missed = ""
            for (k = 1; k <= nt; k++) {
                op = substr(tl[k], 1, 2); rhs = substr(tl[k], 3); bound = ""
                if (rhs ~ /^[0-9.]+$/) bound = rhs + 0
                else {
                    # IMPL*F, or IMPL@ROW*F: the figure of IMPL on another row
                    split(rhs, p, "*"); f = (p[2] == "") ? 1 : p[2] + 0
                    ri = p[1]; rn = n
                    if (index(ri, "@")) { rn = substr(ri, index(ri, "@") + 1); ri = substr(ri, 1, index(ri, "@") - 1) }
                    if ((ri, rn) in have) bound = val[ri, rn] * f
                }
                if (!(("weft", n) in have) || bound == "") m1 = "?"
                else if (op == "<=") m1 = (val["weft", n] <= bound) ? "yes" : "NO"
                else m1 = (val["weft", n] >= bound) ? "yes" : "NO"
                if (m1 == "NO") { met = "NO"; missed = missed (missed == "" ? "" : ",") tl[k] }
                else if (m1 == "?" && met == "yes") met = "?"
            }
            if (met == "NO") nmiss++
            # with several targets, name the missed ones
            if (met == "NO" && nt > 1) met = "NO: " missed
        }
        line = line sprintf(" | %-" tw "s %s", t, met)
        print line
    }
    print ""
    print "targets (docs/benchmarks.md):"
    for (b = 1; b <= nb; b++)
        if (order[b] in ttext) printf "   %-36s %s\n", order[b], ttext[order[b]]
    if (nmiss) printf "%d target(s) not met in this run.\n", nmiss
    # raw pthreads on two CPU-bound threads are the canary for a busy machine
    c = "cpu_bound_2threads_speedup"
    if (("pthread", c) in have && val["pthread", c] < 1.6)
        printf "WARNING: raw pthreads reached only %.2fx on %s: something else was using a CPU;\n" \
               "         the two-thread rows of this run are not representative. Re-run on a quiet machine.\n",
               val["pthread", c], c
}
' "$SRC/bench/targets.tsv" "$STATUS" "$TSV"

# reasons for n/a columns, from the status file
awk -F '\t' '$2 != "ok" { printf "note: %s: %s (%s)\n", $1, $2, $3 }' "$STATUS"
if ! grep -q '^weft	' "$TSV"; then
    echo "note: no weft rows in this run (weft_bench printed none)"
fi
exit $rc
