#!/bin/sh
# Compares the dynamic symbols libbigmodel.so exports with the checked-in
# list; with --update, rewrites the list instead. Only bgm_* may be exported
# (not the private bgm__*).
set -eu
lib=$1
list=$2
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
# Functions, data, ifuncs (GCC's target_clones) and weak symbols alike.
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRiWV]$/ {print $3}' | sed 's/@.*//' | sort -u > "$actual"
if [ "${3:-}" = "--update" ]; then
    cp "$actual" "$list"
    echo "check_symbols: wrote $(wc -l < "$list") symbols to $list"
    exit 0
fi
bad=$(grep -v '^bgm_[^_]' "$actual" || true)
if [ -n "$bad" ]; then
    echo "check_symbols: FAIL: symbols other than bgm_ ones (bgm__ are private) exported:"
    echo "$bad"; exit 1
fi
if ! diff -u "$list" "$actual" > /dev/null; then
    echo "check_symbols: FAIL: exported symbols differ from $list (- listed, + exported):"
    diff -u "$list" "$actual" | sed -n '3,$p' | grep '^[-+]'
    echo "check_symbols: if the change is intended, run 'make update-symbols'"
    exit 1
fi
echo "check_symbols: $(wc -l < "$list") exported symbols match $list"
