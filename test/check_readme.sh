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

# The graph example (the block after "## Models are graphs") builds and runs as a
# program body.
{
    echo '#include <bigmodel.h>'
    echo 'int main(void)'
    echo '{'
    awk '/^## Models are graphs/ {f = 1} f && /^```c$/ {on = 1; next} on && /^```$/ {exit} on' README.md
    echo '    if (bgm_model_num_layers(m) != 3) return 1;'
    echo '    bgm_model_free(m);'
    echo '    return 0;'
    echo '}'
} > "$dir/graph.c"
cc -std=c11 -Wall -Wextra -Werror -Iinclude -o "$dir/graph" "$dir/graph.c" \
    -L"$build" -Wl,-rpath,"$(cd "$build" && pwd)" -lbigmodel
"$dir/graph" || { echo "check_readme: FAIL: the graph example did not build its model"; exit 1; }
echo "check_readme: README graph example built a 3-layer model"
