#!/usr/bin/env bash
# run.sh BUILD_DIR [TARGET...] - run each libFuzzer target for a fixed time
# and print one table: target, execs, execs/s, corpus size, crashes.
#
# BUILD_DIR is a -DHERALD_FUZZ=ON build (make fuzz); the targets default to
# every tests/fuzz/fuzz_*.c. Each target starts from a fresh working corpus
# (BUILD_DIR/fuzz-work/<target>/corpus) seeded with a copy of the committed
# one (tests/fuzz/corpus/<target>/), so a run never edits the repository.
# A crash, leak, timeout or out-of-memory input is kept under
# BUILD_DIR/fuzz-work/<target>/crashes/ (never wiped) and the libFuzzer log
# beside it; the script exits 1 if any target crashed.
#
# Environment: FUZZ_TIME seconds per target (600), FUZZ_TIMEOUT seconds one
# input may take before it counts as a hang (10), FUZZ_RSS_MB memory limit
# (2048), FUZZ_FLAGS extra libFuzzer flags.
set -uo pipefail

build=${1:?usage: run.sh BUILD_DIR [TARGET...]}
shift
src=$(cd "$(dirname "$0")" && pwd)
time_s=${FUZZ_TIME:-600}
timeout_s=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
work="$build/fuzz-work"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$src"/fuzz_*.c; do
        targets+=("$(basename "$f" .c)")
    done
fi

# UBSan is fatal in these builds already (-fno-sanitize-recover); the stack
# makes the report usable.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# stat NAME LOG: the value of libFuzzer's final "stat::NAME:" line, or "?".
stat() {
    local v
    v=$(sed -n "s/^stat::$1: *//p" "$2" | tail -n 1)
    echo "${v:-?}"
}

rows=()
failed=0
for t in "${targets[@]}"; do
    bin="$build/tests/fuzz/$t"
    dir="$work/$t"
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing (build with make fuzz)" >&2
        rows+=("$t ? ? ? missing")
        failed=1
        continue
    fi
    rm -rf "$dir/corpus"
    mkdir -p "$dir/corpus" "$dir/crashes"
    if [ -d "$src/corpus/$t" ]; then
        cp "$src/corpus/$t"/* "$dir/corpus/" 2>/dev/null
    fi
    stamp="$dir/.started"
    : >"$stamp"
    t0=$(date +%s.%N)
    echo "fuzz: $t for ${time_s}s (log: $dir/log)"
    "$bin" -max_total_time="$time_s" -timeout="$timeout_s" \
        -rss_limit_mb="$rss_mb" -print_final_stats=1 \
        -artifact_prefix="$dir/crashes/" ${FUZZ_FLAGS:-} \
        "$dir/corpus" >"$dir/log" 2>&1
    rc=$?
    execs=$(stat number_of_executed_units "$dir/log")
    # libFuzzer's own average says 0 for a run under a second (a quick
    # crash): divide by the wall time instead.
    rate=$(awk -v n="$execs" -v t0="$t0" -v t1="$(date +%s.%N)" \
        'BEGIN { if (n == "?" || t1 <= t0) print "?";
                 else printf "%d", n / (t1 - t0) }')
    crashes=$(find "$dir/crashes" -type f -newer "$stamp" | wc -l)
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes="rc=$rc" # died without writing an input: show why
    fi
    if [ "$rc" -ne 0 ] || [ "$crashes" != 0 ]; then
        failed=1
        echo "fuzz: $t FAILED, last lines of $dir/log:" >&2
        grep -v '^#[0-9]' "$dir/log" | tail -n 40 >&2
        find "$dir/crashes" -type f -newer "$stamp" -printf \
            'fuzz: crash input kept: %p\n' >&2
    fi
    rows+=("$t $execs $rate $(find "$dir/corpus" -type f | wc -l) $crashes")
done

printf '%-18s %12s %9s %8s %8s\n' target execs execs/s corpus crashes
for r in "${rows[@]}"; do
    # shellcheck disable=SC2086
    printf '%-18s %12s %9s %8s %8s\n' $r
done
exit $failed
