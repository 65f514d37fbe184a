#!/bin/sh
# Text benchmark: the LSTM text classifier (vocabulary 20,000 x 128, LSTM
# 128, sequence length 100, batch 32) trained by libbigmodel and by PyTorch
# in the same run, with their ratio, and word2vec training words/s (the
# Brown corpus from tools/fetch_text_data.sh when present, else a synthetic
# corpus). Not a test: it prints figures.
#
#     sh test/bench/bench_text.sh [BUILD] [PYTHON]
#
# BUILD (build) must hold libbigmodel.so; bench_text.c is compiled against it
# into BUILD/bench/. PYTHON (/usr/bin/python3) runs the PyTorch side when it
# can import torch. BENCH_THREADS (2) threads for both sides, BENCH_SECONDS (3)
# timed per workload.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
python=${2:-/usr/bin/python3}
threads=${BENCH_THREADS:-2}
seconds=${BENCH_SECONDS:-3}
cc=${CC:-cc}

[ -e "$build/libbigmodel.so" ] || {
    echo "bench_text: $build/libbigmodel.so is missing (make BUILD=$build lib)" >&2
    exit 1
}
mkdir -p "$build/bench"
$cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -Iinclude \
    test/bench/bench_text.c -o "$build/bench/bench_text" \
    -L"$build" -Wl,-rpath,"$(cd "$build" && pwd)" -lbigmodel -lm || exit 1

export BENCH_THREADS="$threads"
# field NAME LINE: the value of NAME=... in a BENCH line
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

lib_lstm=$("$build/bench/bench_text" lstm_train32 "$seconds" | grep '^BENCH') || exit 1
torch_lstm=""
if "$python" -c "import torch" 2>/dev/null; then
    # PyTorch's best CPU setup: one BLAS thread pool only, and glibc keeping
    # its big buffers mapped instead of faulting them in every step.
    torch_lstm=$(OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=4294967296 \
        MALLOC_TRIM_THRESHOLD_=68719476736 \
        "$python" test/bench/bench_text_torch.py lstm_train32 "$seconds" | grep '^BENCH')
fi
lib_w2v=$("$build/bench/bench_text" word2vec "$seconds" | grep '^BENCH') || exit 1

echo "Text models, $threads threads ($(field corpus "$lib_w2v") corpus for word2vec)"
printf '%-34s %14s %12s %10s\n' workload libbigmodel PyTorch ratio
lr=$(field rate "$lib_lstm")
if [ -n "$torch_lstm" ]; then
    tr_=$(field rate "$torch_lstm")
    ratio=$(awk -v a="$lr" -v b="$tr_" 'BEGIN { printf "%.2fx", a / b }')
else
    tr_="-"
    ratio="-"
fi
printf '%-34s %14s %12s %10s\n' "LSTM classifier train (seq/s)" "$lr" "$tr_" "$ratio"
printf '%-34s %14s %12s %10s\n' "  step time (ms)" "$(field latency_ms "$lib_lstm")" \
    "$( [ -n "$torch_lstm" ] && field latency_ms "$torch_lstm" || echo -)" ""
printf '%-34s %14s %12s %10s\n' "  peak RSS (MiB)" "$(field rss_mib "$lib_lstm")" \
    "$( [ -n "$torch_lstm" ] && field rss_mib "$torch_lstm" || echo -)" ""
printf '%-34s %14s %12s %10s\n' "word2vec skip-gram (words/s)" "$(field rate "$lib_w2v")" \
    "-" ""
