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

# The generation example (the block after "## Generating text") runs on a
# small language model and returns max_new_tokens tokens.
{
    echo '#include <bigmodel.h>'
    echo 'int main(void)'
    echo '{'
    echo '    bgm_model *m = NULL;'
    echo '    int32_t prompt_ids[3] = {1, 2, 3};'
    echo '    int64_t prompt_len = 3, n;'
    echo '    bgm_model_create(&m, (int64_t[]){16}, 1, 1);'
    echo '    bgm_model_add(m, bgm_layer_embedding(50, 8));'
    echo '    bgm_model_add(m, bgm_layer_dense(50, BGM_ACT_LINEAR));'
    awk '/^## Generating text/ {f = 1} f && /^```c$/ {on = 1; next} on && /^```$/ {exit} on' README.md
    echo '    n = bgm_tensor_numel(tokens);'
    echo '    bgm_tensor_free(tokens);'
    echo '    bgm_model_free(m);'
    echo '    return n == 200 ? 0 : 1;'
    echo '}'
} > "$dir/generate.c"
cc -std=c11 -Wall -Wextra -Werror -Iinclude -o "$dir/generate" "$dir/generate.c" \
    -L"$build" -Wl,-rpath,"$(cd "$build" && pwd)" -lbigmodel
"$dir/generate" || { echo "check_readme: FAIL: the generation example did not generate 200 tokens"; exit 1; }
echo "check_readme: README generation example generated 200 tokens"
