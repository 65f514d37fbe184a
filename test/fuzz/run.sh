#!/bin/sh
# Runs each fuzz target for a bounded time: run.sh FUZZ_DIR SECONDS NAME...
# Prints every target's crash-free seconds; exits 1 if any target failed.
set -u
dir=$1
seconds=$2
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
    "$dir/fuzz_$name" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=1024 \
        -timeout=10 -artifact_prefix="$dir/crash-$name-" -print_final_stats=1 \
        "$corpus" "$here/corpus/$name" >"$log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        echo "fuzz_$name: ${elapsed} s crash-free (${runs:-?} inputs)"
    else
        echo "fuzz_$name: FAILED after ${elapsed} s (exit $rc), log $log:"
        tail -n 40 "$log"
        failed=1
    fi
done
exit $failed
