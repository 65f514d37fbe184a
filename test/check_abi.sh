#!/bin/sh
# Compares the ABI of libbigmodel.so (functions, their parameter and return
# types, the public structures and enums of include/) with the checked-in
# baseline of the last release; any removed or changed symbol or type fails.
# Added functions and fields appended to size-versioned option structures
# (test/abi/suppressions) are allowed.
# Usage: check_abi.sh LIB BASELINE          compare
#        check_abi.sh LIB BASELINE --update  rewrite the baseline (a release)
set -eu
lib=$1
baseline=$2
here=$(dirname "$0")
if ! command -v abidw > /dev/null || ! command -v abidiff > /dev/null; then
    echo "check_abi: FAIL: abidw/abidiff not found; run 'make deps' (Debian: abigail-tools)"
    exit 1
fi
# No source locations: the baseline changes only when the ABI does.
dump() { abidw --headers-dir include --no-corpus-path --drop-private-types --no-show-locs "$lib"; }
if [ "${3:-}" = "--update" ]; then
    dump > "$baseline"
    echo "check_abi: wrote the ABI of $lib to $baseline"
    exit 0
fi
current=$(mktemp)
report=$(mktemp)
trap 'rm -f "$current" "$report"' EXIT
dump > "$current"
if abidiff --no-added-syms --suppressions "$here/abi/suppressions" \
        "$baseline" "$current" > "$report" 2>&1; then
    echo "check_abi: the ABI matches $baseline (additions allowed)"
    exit 0
else
    rc=$?
fi
echo "check_abi: FAIL: the ABI changed against $baseline (abidiff status $rc):"
cat "$report"
echo "check_abi: removing or changing a public symbol or type breaks callers built against"
echo "check_abi: the last release; at a release that may break it, run 'make abi-baseline'"
exit 1
