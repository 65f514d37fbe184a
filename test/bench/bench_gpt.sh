#!/bin/sh
# GPT benchmark: the character GPT of examples/char_gpt.c (d 128, 4 layers,
# 4 heads, context 128) trained at batch 16 (tokens/s) and generating 256
# tokens after a 32-token prompt with the key/value cache (new tokens/s), by
# libbigmodel and by PyTorch, in interleaved pairs (lib, torch, lib, torch,
# ...): the table gives each side's median and the median ratio with its
# min-max over the pairs. PyTorch runs in its best CPU configuration
# (torch.set_num_threads, OPENBLAS_NUM_THREADS=1, the glibc MALLOC_*
# thresholds) both with the environment's OPENBLAS_CORETYPE and without it
# (OpenBLAS choosing its own kernels); the faster of the two counts in each
# pair. Not a test: it prints figures.
#
#     sh test/bench/bench_gpt.sh [BUILD] [PYTHON]
#
# BENCH_THREADS (2) threads for both sides, BENCH_SECONDS (3) timed per run,
# BENCH_PAIRS (5) interleaved pairs per workload.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
python=${2:-/usr/bin/python3}
threads=${BENCH_THREADS:-2}
seconds=${BENCH_SECONDS:-3}
pairs=${BENCH_PAIRS:-5}
cc=${CC:-cc}

[ -e "$build/libbigmodel.so" ] || {
    echo "bench_gpt: $build/libbigmodel.so is missing (make BUILD=$build lib)" >&2
    exit 1
}
mkdir -p "$build/bench"
$cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -Iinclude \
    test/bench/bench_gpt.c -o "$build/bench/bench_gpt" \
    -L"$build" -Wl,-rpath,"$(cd "$build" && pwd)" -lbigmodel -lm || exit 1
export BENCH_THREADS="$threads"
have_torch=0
"$python" -c "import torch" 2>/dev/null && have_torch=1

field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

torch_rate() { # the faster of PyTorch with and without OPENBLAS_CORETYPE
    best=0
    for coretype in keep unset; do
        if [ "$coretype" = unset ]; then
            line=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 \
                MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \
                "$python" test/bench/bench_gpt_torch.py "$1" "$seconds" | grep '^BENCH')
        else
            line=$(OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=4294967296 \
                MALLOC_TRIM_THRESHOLD_=68719476736 \
                "$python" test/bench/bench_gpt_torch.py "$1" "$seconds" | grep '^BENCH')
        fi
        r=$(field rate "$line")
        best=$(awk -v a="$best" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
        rss=$(field rss_mib "$line")
    done
    echo "$best $rss"
}

echo "GPT (d 128, 4 layers, 4 heads, context 128), $threads threads, $pairs interleaved pairs," \
    "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')," \
    "$(grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2)"
printf '%-30s %12s %12s %22s %16s\n' workload libbigmodel PyTorch "ratio median (min-max)" \
    "peak RSS MiB"
for w in gpt_train gpt_generate; do
    libs="" torchs="" ratios="" lrss="-" trss="-"
    i=0
    while [ "$i" -lt "$pairs" ]; do
        line=$("$build/bench/bench_gpt" "$w" "$seconds" | grep '^BENCH') || exit 1
        l=$(field rate "$line")
        lrss=$(field rss_mib "$line")
        libs="$libs $l"
        if [ "$have_torch" = 1 ]; then
            set -- $(torch_rate "$w")
            torchs="$torchs $1"
            trss=$2
            ratios="$ratios $(awk -v a="$l" -v b="$1" 'BEGIN { printf "%.3f", a / b }')"
        fi
        i=$((i + 1))
    done
    lm=$(printf '%s\n' $libs | median)
    if [ "$have_torch" = 1 ]; then
        tm=$(printf '%s\n' $torchs | median)
        rm_=$(printf '%s\n' $ratios | median)
        lo=$(printf '%s\n' $ratios | sort -g | head -1)
        hi=$(printf '%s\n' $ratios | sort -g | tail -1)
        ratio=$(printf '%.2fx (%.2f-%.2f)' "$rm_" "$lo" "$hi")
    else
        tm="-" ratio="-"
    fi
    label="GPT training (tokens/s)"
    [ "$w" = gpt_generate ] && label="GPT generation (tokens/s)"
    [ "$tm" != "-" ] && tm=$(printf '%.0f' "$tm")
    printf '%-30s %12.0f %12s %22s %16s\n' "$label" "$lm" "$tm" "$ratio" "$lrss / $trss"
done
