#!/bin/sh
# make bench: measures this machine's roofline (sgemm at BENCH_THREADS
# threads through libbigmodel and through OpenBLAS, and the memory bandwidth
# of a STREAM-style triad), then runs the tables of run.sh (image models and
# MLPs), bench_text.sh (LSTM, word2vec) and bench_gpt.sh (GPT) once per
# kernel path of BENCH_ISA.
#
#     sh test/bench/bench.sh BUILD [PYTHON]
#
# BUILD holds libbigmodel.so and bench/bench_models, bench/bench_roofline.
# BENCH_ISA: unset = the path libbigmodel takes in this environment (the
# CPU's widest, capped by BIGMODEL_ISA if set); "all" = every path the CPU
# has (avx512, avx2, generic); or a list of them ("avx2 generic"). Each path
# runs with BIGMODEL_ISA set to it. BENCH_SGEMM_SIZES ("2048 4096") the square
# products of the sgemm peak (the fastest counts). BENCH_TABLES ("models text
# gpt") the tables to run after the roofline: models (run.sh), text
# (bench_text.sh), gpt (bench_gpt.sh; BENCH_GPT768=0 leaves out its d 768
# row). Other knobs: bench_lib.sh.
set -u

BUILD=${1:?usage: bench.sh BUILD [PYTHON]}
PY=${2:-/usr/bin/python3}
HERE=$(dirname "$0")
. "$HERE/bench_lib.sh"
ROOF="$BUILD/bench/bench_roofline"
SIZES=${BENCH_SGEMM_SIZES:-"2048 4096"}
TABLES=${BENCH_TABLES:-"models text gpt"}

# best_roof KIND: the highest gflops of the ROOF lines of KIND on stdin.
best_roof() {
    awk -v kind="$1" "$bench_awk_val"'
        $1 == "ROOF" && val("kind") == kind && val("gflops") + 0 > best { best = val("gflops") + 0 }
        END { printf "%.1f\n", best }'
}

# roof_list: "N: G GFLOP/s, ..." of the sgemm ROOF lines on stdin.
roof_list() {
    awk "$bench_awk_val"'
        $1 == "ROOF" { printf "%s%s: %s GFLOP/s", (n++ ? ", " : ""), val("n"), val("gflops") }'
}

# The paths to run: BENCH_ISA's, those the CPU lacks left out (libbigmodel
# falls back from a path the CPU lacks to the next one down).
isa_paths() {
    case "${BENCH_ISA:-}" in
    "") "$ROOF" isa | sed -n 's/^ISA //p'; return ;;
    all) _want="avx512 avx2 generic" ;;
    *) _want=$BENCH_ISA ;;
    esac
    for _p in $_want; do
        case "$_p" in
        avx512 | avx2 | generic) ;;
        *) echo "bench: BENCH_ISA: unknown path '$_p' (avx512, avx2, generic, all)" >&2
           return 1 ;;
        esac
        _got=$(BIGMODEL_ISA=$_p "$ROOF" isa | sed -n 's/^ISA //p')
        if [ "$_got" = "$_p" ]; then
            echo "$_p"
        else
            echo "bench: this CPU has no $_p path (it would run $_got): left out" >&2
        fi
    done
}

for t in $TABLES; do
    case "$t" in
    models | text | gpt) ;;
    *) echo "bench: BENCH_TABLES: unknown table '$t' (models, text, gpt)" >&2; exit 1 ;;
    esac
done
paths=$(isa_paths) || exit 1
[ -n "$paths" ] || exit 1
commit=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$HERE" diff --quiet HEAD 2>/dev/null || commit="$commit with uncommitted changes"
echo "libbigmodel bench, commit $commit," \
     "$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "CPU: $(cpu_name), $(nproc) cores online; ISA paths to run: $(printf "%s " $paths)"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

# OpenBLAS on its own kernels for this CPU (OPENBLAS_CORETYPE unset), and
# the bandwidth: the same for every path, measured once.
blas=$(unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
       OPENBLAS_NUM_THREADS=$BENCH_THREADS "$ROOF" sgemm-blas $SIZES) || exit 1
triad=$("$ROOF" triad) || exit 1
blas_peak=$(printf '%s\n' "$blas" | best_roof sgemm_blas)
BENCH_BW_GBPS=$(field gbps "$triad")
export BENCH_BW_GBPS
echo "roofline, $BENCH_THREADS threads: OpenBLAS cblas_sgemm" \
     "($(field core "$(printf '%s\n' "$blas" | head -n 1)") kernels)" \
     "$(printf '%s\n' "$blas" | roof_list);" \
     "triad $BENCH_BW_GBPS GB/s over 3 x $(field mib "$triad") MiB"

status=0
for p in $paths; do
    if [ -n "${BENCH_ISA:-}" ]; then
        BIGMODEL_ISA=$p
        export BIGMODEL_ISA
    fi
    lib=$("$ROOF" sgemm-lib $SIZES) || exit 1
    lib_peak=$(printf '%s\n' "$lib" | best_roof sgemm_lib)
    BENCH_PEAK_GFLOPS=$(awk -v a="$lib_peak" -v b="$blas_peak" 'BEGIN { print (a > b ? a : b) }')
    export BENCH_PEAK_GFLOPS
    echo
    echo "=== ISA path $p (bgm_kernel_isa), $(cpu_name) ==="
    echo "sgemm through libbigmodel on this path" \
         "$(printf '%s\n' "$lib" | roof_list);" \
         "peak used for % of peak and floors: $BENCH_PEAK_GFLOPS GFLOP/s" \
         "(the better of libbigmodel's $lib_peak and OpenBLAS's $blas_peak)"
    for t in $TABLES; do
        echo
        case "$t" in
        models) sh "$HERE/run.sh" "$BUILD/bench/bench_models" "$PY" || status=1 ;;
        text) sh "$HERE/bench_text.sh" "$BUILD" "$PY" || status=1 ;;
        gpt) sh "$HERE/bench_gpt.sh" "$BUILD" "$PY" || status=1 ;;
        esac
    done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
exit $status
