#!/bin/sh
# Builds and runs the C example of README.md, so the README stays true.
set -eu
build=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' README.md > "$dir/readme.c"
cc -std=c11 -Wall -Wextra -Werror -Iinclude -o "$dir/readme" "$dir/readme.c" \
    -L"$build" -Wl,-rpath,"$(cd "$build" && pwd)" -lbigmodel
out=$("$dir/readme")
echo "check_readme: README example printed: $out"
[ "$out" = "w = 2.000, b = 1.000" ] || { echo "check_readme: FAIL: expected w = 2.000, b = 1.000"; exit 1; }
