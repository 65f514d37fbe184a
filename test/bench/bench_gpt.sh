#!/bin/sh
# GPT benchmark: the character GPT of examples/char_gpt.c (d 128, 4 layers,
# 4 heads, context 128) trained at batch 16 (tokens/s) and generating 256
# tokens after a 32-token prompt with the key/value cache (new tokens/s), by
# libbigmodel and by PyTorch in interleaved pairs (bench_lib.sh: each side's
# median, the median ratio with its min-max, each side's spread). PyTorch
# runs in its best CPU configuration (run_torch in bench_lib.sh). Not a
# test: it prints figures.
#
#     sh test/bench/bench_gpt.sh [BUILD] [PYTHON]
#
# Knobs: bench_lib.sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
python=${2:-/usr/bin/python3}
. test/bench/bench_lib.sh
TITLES="gpt_train|GPT training (batch x 128)|tokens/s
gpt_generate|GPT generation, KV cache|tokens/s"

lib_run() { bench_line "$build/bench/bench_gpt" "$1" "$2"; }
torch_run() { bench_line run_torch "$python" test/bench/bench_gpt_torch.py "$1" "$2"; }

bench_compile "$build" bench_gpt || exit 1
bench_start "$python"

for w in gpt_train gpt_generate; do
    run_pairs "$w" "${bench_torch_version:+default}" || exit 1
done
summarize_pairs "$bench_raw" >"$rows"
save_rows "$rows"
echo "GPT (d 128, 4 layers, 4 heads, context 128), $BENCH_THREADS threads," \
     "$bench_pairs interleaved pairs; $(cpu_name), libbigmodel on the" \
     "$(field isa "$(head -n 1 "$rows")") path"
print_rows "$rows" "$TITLES"
