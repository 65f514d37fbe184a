#!/bin/sh
# Runs each fuzz target for a bounded time or number of executions:
# run.sh FUZZ_DIR LIMIT NAME..., LIMIT a libFuzzer flag (-max_total_time=30,
# -runs=1000000). Prints every target's executions and crash-free seconds;
# exits 1 if any target failed.
set -u
dir=$1
limit=$2
shift 2
here=$(dirname "$0")
failed=0
for name in "$@"; do
    corpus="$dir/corpus-$name"
    log="$dir/fuzz_$name.log"
    mkdir -p "$corpus"
    start=$(date +%s)
    # -rss_limit_mb also caps single allocations: a parser that believes a
    # file's declared size and allocates it fails here as a crash.
    "$dir/fuzz_$name" "$limit" -max_len=8192 -rss_limit_mb=1024 \
        -timeout=10 -artifact_prefix="$dir/crash-$name-" -print_final_stats=1 \
        "$corpus" "$here/corpus/$name" >"$log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        echo "fuzz_$name: ${runs:-?} executions, 0 crashes, ${elapsed} s"
    else
        echo "fuzz_$name: FAILED after ${elapsed} s (exit $rc), log $log:"
        tail -n 40 "$log"
        failed=1
    fi
done
exit $failed
