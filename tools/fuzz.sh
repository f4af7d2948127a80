#!/bin/sh
# tools/fuzz.sh [SECONDS] - build the libFuzzer targets in tests/fuzz/ with clang
# (ASan + UBSan + libFuzzer) and run each for SECONDS (default 20) from its seed
# corpus tests/fuzz/corpus_NAME/ (new inputs go to BUILD/fuzz/corpus_NAME/, so the
# tree is not touched). Exit status non-zero when a target crashes or fails to
# build. Needs Debian's clang and libclang-rt-dev (make test installs them).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-20}
OUT=${FUZZ_BUILD:-$SRC/build/fuzz}
CLANG=${CLANG:-clang}
mkdir -p "$OUT"
# The library, compiled into each target with the fuzzer's flags.
LIB=$(ls "$SRC"/src/*/*.c)
for t in "$SRC"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    bin=$OUT/$name
    "$CLANG" -std=gnu11 -g -O1 -D_GNU_SOURCE -DWEFT_BUILDING=1 -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=all -I"$SRC/include" -I"$SRC/src" "$t" $LIB -lpthread -lm -o "$bin"
    corpus=$OUT/corpus_${name#fuzz_}
    mkdir -p "$corpus"
    seeds=$SRC/tests/fuzz/corpus_${name#fuzz_}
    echo "fuzz: $name for ${SECS}s"
    log=$OUT/$name.log
    rc=0
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$OUT/$name-" "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) \
        >"$log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 60 "$log"
        echo "fuzz: $name FAILED (exit $rc); the input is in $OUT/$name-*" >&2
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" || true
done
