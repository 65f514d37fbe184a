#!/bin/sh
# Text benchmark: the LSTM text classifier (vocabulary 20,000 x 128, LSTM
# 128, sequence length 100, batch 32) trained by libbigmodel and by PyTorch
# in interleaved pairs (bench_lib.sh), and word2vec training words/s (the
# Brown corpus from tools/fetch_text_data.sh when present, else a synthetic
# corpus; libbigmodel only, BENCH_PAIRS runs). Not a test: it prints figures.
#
#     sh test/bench/bench_text.sh [BUILD] [PYTHON]
#
# BUILD (build) must hold libbigmodel.so; bench_text.c is compiled against it
# into BUILD/bench/. PYTHON (/usr/bin/python3) runs the PyTorch side when it
# can import torch. Knobs: bench_lib.sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
python=${2:-/usr/bin/python3}
. test/bench/bench_lib.sh
TITLES="lstm_train32|LSTM classifier training|seq/s
word2vec|word2vec skip-gram|words/s"

lib_run() { bench_line "$build/bench/bench_text" "$1" "$2"; }
torch_run() { bench_line run_torch "$python" test/bench/bench_text_torch.py "$1" "$2"; }

bench_compile "$build" bench_text || exit 1
bench_start "$python"

run_pairs lstm_train32 "${bench_torch_version:+default}" || exit 1
run_pairs word2vec || exit 1
summarize_pairs "$bench_raw" >"$rows"
save_rows "$rows"
echo "Text models, $BENCH_THREADS threads, $bench_pairs interleaved pairs," \
     "$(field corpus "$(grep -m 1 word2vec "$bench_raw")") corpus for word2vec;" \
     "$(cpu_name), libbigmodel on the $(field isa "$(head -n 1 "$rows")") path"
print_rows "$rows" "$TITLES"
