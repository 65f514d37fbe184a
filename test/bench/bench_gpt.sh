#!/bin/sh
# GPT benchmark: the character GPT of examples/char_gpt.c (context 128) by
# libbigmodel and by PyTorch in interleaved pairs (bench_lib.sh: each side's
# median, the median ratio with its min-max, each side's spread):
#   gpt_train     d 128, 4 layers, 4 heads, trained at batch 16 (tokens/s);
#   gpt_generate  the same model generating 256 tokens after a 32-token
#                 prompt with the key/value cache (new tokens/s);
#   gpt768_train  d 768, 12 layers, 12 heads (GPT-2 small's shape, 85 M
#                 parameters) trained at batch 4 (tokens/s), about 2 s a step
#                 here: with 1 warm-up step a pair takes about 20 s.
# Then the roofline floor of the training rows (with bench.sh's
# BENCH_PEAK_GFLOPS and BENCH_BW_GBPS), both sides' parameter counts (the
# script fails when they differ) and the targets of issue 16. PyTorch runs in
# its best CPU configuration (run_torch in bench_lib.sh). Not a test: it
# prints figures.
#
#     sh test/bench/bench_gpt.sh [BUILD] [PYTHON]
#
# Knobs: bench_lib.sh's, and BENCH_GPT768=0 to leave out gpt768_train (about
# 1.5-2 minutes of the default 5 pairs).
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
python=${2:-/usr/bin/python3}
. test/bench/bench_lib.sh
TITLES="gpt_train|GPT training (batch x 128)|tokens/s
gpt_generate|GPT generation, KV cache|tokens/s
gpt768_train|GPT d768 training (b x 128)|tokens/s"
workloads="gpt_train gpt_generate"
[ "${BENCH_GPT768:-1}" = 0 ] || workloads="$workloads gpt768_train"

lib_run() { bench_line "$build/bench/bench_gpt" "$1" "$2"; }
torch_run() { bench_line run_torch "$python" test/bench/bench_gpt_torch.py "$1" "$2"; }

# The goals of issue 16 for the GPT rows, from the medians of the pairs.
print_targets() {
    awk -v peak="${BENCH_PEAK_GFLOPS:-}" -v bw="${BENCH_BW_GBPS:-}" \
        "$bench_awk_val$bench_awk_floor"'
    $1 == "ROW" {
        w = val("name"); r[w] = val("ratio")
        if (floor_ms() > 0) f[w] = val("lib_ms") / floor_ms()
    }
    END {
        print "targets of issue 16 (medians of the pairs):"
        check("GPT (d 128) training >= 1.5x PyTorch", r["gpt_train"], r["gpt_train"] >= 1.5, "%.2fx")
        if ("gpt768_train" in r) {
            w = "gpt768_train"
            check("GPT d768 training >= 2x PyTorch", r[w], r[w] >= 2, "%.2fx")
            if (w in f)
                check("GPT d768 training step <= 1.4x its roofline floor", f[w], f[w] <= 1.4, "%.2fx")
        }
    }' "$1"
}

bench_compile "$build" bench_gpt || exit 1
bench_start "$python"

for w in $workloads; do
    run_pairs "$w" "${bench_torch_version:+default}" || exit 1
done
summarize_pairs "$bench_raw" >"$rows"
save_rows "$rows"
echo "GPT (context 128, vocabulary 65: d 128 with 4 layers and 4 heads; d 768 with 12 and" \
     "12), $BENCH_THREADS threads, $bench_pairs interleaved pairs; $(cpu_name)," \
     "libbigmodel on the $(field isa "$(head -n 1 "$rows")") path"
print_rows "$rows" "$TITLES"
print_floors "$rows"
status=0
check_params "$rows" || status=1
print_targets "$rows"
exit $status
