# Shell functions shared by the scripts of `make bench` (run.sh,
# bench_text.sh, bench_gpt.sh); sourced, not run: . test/bench/bench_lib.sh
#
# How a workload is measured: its two sides run in interleaved pairs (lib,
# torch, lib, torch, ...; BENCH_PAIRS, 5), every run a process of its own, so
# that both sides see the same load and a slow minute of the machine hits
# both. The table gives each side's median, the median of the pairs' ratios
# with its min-max, and each side's spread, (max - min) / median.
#
# A script using them defines
#     lib_run WORKLOAD SECONDS            prints the library's BENCH line
#     torch_run WORKLOAD SECONDS VARIANT  prints PyTorch's BENCH line (run it
#                                         through run_torch)
# and sets bench_raw to a file that collects the runs' lines.
#
# Knobs (environment): BENCH_THREADS (2) threads each side, BENCH_SECONDS (3)
# timed per run, BENCH_PAIRS (5), BENCH_PREPASS_SECONDS (1) per PyTorch variant
# in the pre-pass that picks the fastest, BENCH_TORCH=0 to run the library
# side only (also what happens when PYTHON cannot import torch),
# BENCH_SUMMARY (a file) to which every table row is appended as a ROW line
# (test/bench/compare_runs.sh compares two such files).

BENCH_THREADS=${BENCH_THREADS:-2}
export BENCH_THREADS
bench_seconds=${BENCH_SECONDS:-3}
bench_pairs=${BENCH_PAIRS:-5}
bench_prepass=${BENCH_PREPASS_SECONDS:-1}

# The awk function every table reads its lines with: val(KEY), the value of
# KEY=... in the current line (a BENCH or ROW line). Put it before a program:
# awk "$bench_awk_val"'PROGRAM'.
bench_awk_val='
function val(key,    i, kv) {
    for (i = 2; i <= NF; i++)
        if (split($i, kv, "=") == 2 && kv[1] == key) return kv[2]
    return ""
}
'

# Awk functions of the roofline floor and of the targets, for programs given
# peak (GFLOP/s) and bw (GB/s) as variables: awk -v peak=... -v bw=...
# "$bench_awk_val$bench_awk_floor"'PROGRAM'.
# floor_ms(), on a ROW line: the step's products (flops x per_step) at the
# sgemm peak plus its counted bytes at the triad's bandwidth, in ms; 0 where
# the row counts no bytes or the roofline was not measured.
# check(LABEL, X, OK, FMT): a target's line, X printed with FMT, "met" or
# "NOT met" as OK says; "-" where X is missing.
bench_awk_floor='
function floor_ms() {
    if (val("bytes") + 0 <= 0 || peak + 0 <= 0 || bw + 0 <= 0) return 0
    return 1e3 * (val("flops") * val("per_step") / (peak * 1e9) + val("bytes") / (bw * 1e9))
}
function check(label, x, ok, fmt) {
    if (x == "" || x == "-") { printf "  %-50s -\n", label; return }
    printf "  %-50s " fmt " %s\n", label, x, (ok ? "met" : "NOT met")
}
'

# bench_start PYTHON: sets bench_torch_version (see bench_torch_init) and
# bench_raw and rows, two temporary files removed when the script exits.
bench_start() {
    bench_torch_init "$1"
    bench_raw=$(mktemp)
    rows=$(mktemp)
    trap 'rm -f "$bench_raw" "$rows"' EXIT INT TERM
}

# field NAME LINE: the value of NAME=... in a BENCH, ROOF or ROW line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# bench_torch_init PYTHON: sets bench_torch_version ("" when PyTorch is not
# to run: BENCH_TORCH=0, or PYTHON cannot import torch).
bench_torch_init() {
    bench_torch_version=""
    [ "${BENCH_TORCH:-1}" = 0 ] && return 0
    bench_torch_version=$("$1" -c "import torch; print(torch.__version__)" 2>/dev/null) ||
        bench_torch_version=""
}

# run_torch COMMAND...: COMMAND in PyTorch's best CPU configuration on this
# machine. OpenBLAS picks its own kernels for the CPU (OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset, for this process only: libbigmodel keeps the
# environment as it is); one BLAS thread, so that OpenBLAS's pool and
# PyTorch's OpenMP threads do not fight; glibc malloc thresholds that keep
# its big buffers mapped between steps instead of faulting them in again.
run_torch() (
    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    export OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=4294967296 \
        MALLOC_TRIM_THRESHOLD_=68719476736
    exec "$@"
)

# bench_line COMMAND...: the BENCH line COMMAND prints; fails, naming it, when
# it prints none.
bench_line() {
    _bl_out=$("$@") && _bl_line=$(printf '%s\n' "$_bl_out" | grep '^BENCH ') || {
        echo "bench: '$*' failed" >&2
        return 1
    }
    printf '%s\n' "$_bl_line"
}

# pick_variant WORKLOAD VARIANTS...: the fastest of PyTorch's VARIANTS for
# WORKLOAD, each run once for BENCH_PREPASS_SECONDS (none when there is one).
pick_variant() {
    _pv_w=$1
    shift
    if [ $# -le 1 ]; then
        echo "$1"
        return 0
    fi
    _pv_best="" _pv_top=0
    for _pv_v in "$@"; do
        _pv_line=$(torch_run "$_pv_w" "$bench_prepass" "$_pv_v") || return 1
        _pv_rate=$(field rate "$_pv_line")
        if awk -v a="$_pv_rate" -v b="$_pv_top" 'BEGIN { exit !(a > b) }'; then
            _pv_best=$_pv_v _pv_top=$_pv_rate
        fi
    done
    echo "$_pv_best"
}

# run_pairs WORKLOAD [VARIANT]: BENCH_PAIRS interleaved runs of the library
# and, with a VARIANT, of PyTorch, appended to $bench_raw as "lib BENCH ..."
# and "torch BENCH ..." lines.
run_pairs() {
    _rp_i=0
    while [ "$_rp_i" -lt "$bench_pairs" ]; do
        _rp_line=$(lib_run "$1" "$bench_seconds") || return 1
        echo "lib $_rp_line" >>"$bench_raw"
        if [ -n "${2:-}" ]; then
            _rp_line=$(torch_run "$1" "$bench_seconds" "$2") || return 1
            echo "torch $_rp_line" >>"$bench_raw"
        fi
        _rp_i=$((_rp_i + 1))
    done
}

# summarize_pairs [FILE]: one ROW line per workload of the lib/torch lines
# run_pairs wrote, in the order the workloads ran:
#     ROW name= batch= pairs= lib= torch= ratio= ratio_min= ratio_max=
#         spread_lib= spread_torch= lib_ms= torch_ms= lib_rss= torch_rss=
#         flops= bytes= per_step= lib_params= torch_params= variant= isa=
# lib/torch are median rates; ratio the median of lib/torch over the pairs
# (the k-th lib run against the k-th PyTorch run); spreads (max - min) /
# median of a side's rates; *_ms median step times; *_rss the largest peak
# RSS; flops and bytes the library's flops_per_sample and bytes_per_step;
# per_step its samples_per_step (the batch where it prints none); *_params
# each side's parameter count where it prints one ("-" where not, or where
# its runs disagree). "-" where PyTorch did not run.
summarize_pairs() {
    awk "$bench_awk_val"'
    # Sorts a[1..n] (numbers) and returns its median.
    function median(a, n,    i, j, t) {
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function spread(a, n,    m) { m = median(a, n); return m > 0 ? (a[n] - a[1]) / m : 0 }
    function dash(x) { return x == "" ? "-" : x }
    $2 == "BENCH" {
        side = $1; $1 = ""; $0 = $0
        w = val("name")
        if (!(w in seen)) { seen[w] = 1; order[++nw] = w }
        k = ++count[side, w]
        rate[side, w, k] = val("rate"); ms[side, w, k] = val("latency_ms")
        if (val("rss_mib") + 0 > rss[side, w]) rss[side, w] = val("rss_mib") + 0
        batch[w] = val("batch")
        p = val("params")
        if (!((side, w) in params)) params[side, w] = p
        else if (params[side, w] != p) params[side, w] = ""
        if (side == "lib") {
            flops[w] = val("flops_per_sample"); bytes[w] = val("bytes_per_step"); isa[w] = val("isa")
            per_step[w] = val("samples_per_step")
        } else variant[w] = val("variant")
    }
    END {
        for (i = 1; i <= nw; i++) {
            w = order[i]; n = count["lib", w]; nt = count["torch", w]
            split("", lr); split("", lm); split("", tr); split("", tm); split("", q)
            for (k = 1; k <= n; k++) { lr[k] = rate["lib", w, k]; lm[k] = ms["lib", w, k] }
            for (k = 1; k <= nt; k++) {
                tr[k] = rate["torch", w, k]; tm[k] = ms["torch", w, k]
                if (k <= n && tr[k] > 0) q[++nq[w]] = lr[k] / tr[k]
            }
            printf "ROW name=%s batch=%s pairs=%d lib=%.6g", w, batch[w], n, median(lr, n)
            if (nq[w]) {
                m = median(q, nq[w])
                printf " torch=%.6g ratio=%.4f ratio_min=%.4f ratio_max=%.4f", median(tr, nt), m,
                       q[1], q[nq[w]]
            } else printf " torch=- ratio=- ratio_min=- ratio_max=-"
            printf " spread_lib=%.4f", spread(lr, n)
            printf " spread_torch=%s", nq[w] ? sprintf("%.4f", spread(tr, nt)) : "-"
            printf " lib_ms=%.6g torch_ms=%s", median(lm, n), nq[w] ? sprintf("%.6g", median(tm, nt)) : "-"
            printf " lib_rss=%.1f torch_rss=%s", rss["lib", w], nq[w] ? sprintf("%.1f", rss["torch", w]) : "-"
            printf " flops=%s bytes=%s per_step=%s", (flops[w] == "" ? 0 : flops[w]),
                   (bytes[w] == "" ? 0 : bytes[w]), (per_step[w] == "" ? batch[w] : per_step[w])
            printf " lib_params=%s torch_params=%s", dash(params["lib", w]), dash(params["torch", w])
            printf " variant=%s isa=%s\n", dash(variant[w]), dash(isa[w])
        }
    }' "${1:--}"
}

# print_rows FILE TITLES: the table of the ROW lines in FILE. TITLES has a
# line "name|title|unit" per workload. BENCH_PEAK_GFLOPS (set by bench.sh
# from its sgemm measurements) adds each row's share of the peak.
print_rows() {
    awk -v titles="$2" -v peak="${BENCH_PEAK_GFLOPS:-}" "$bench_awk_val"'
    # a figure to 3 significant digits, without an exponent
    function num(x) { return sprintf(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : x >= 1 ? "%.2f" : "%.3f", x) }
    function pair(a, b) { return num(a) (b == "-" ? "/-" : "/" num(b)) }
    BEGIN {
        n = split(titles, t, "\n")
        for (i = 1; i <= n; i++) { split(t[i], f, "|"); title[f[1]] = f[2]; unit[f[1]] = f[3] }
        printf "%-30s %5s %9s %11s %9s %22s %11s %15s %13s %6s %13s\n", "workload", "batch",
               "unit", "libbigmodel", "PyTorch", "ratio (min-max)", "spread l/t",
               "ms/step l/t", "GFLOP/s l/t", "% peak", "RSS MiB l/t"
    }
    $1 == "ROW" {
        w = val("name"); tr = val("torch"); fl = val("flops")
        printf "%-30s %5s %9s %11.0f ", (w in title ? title[w] : w), val("batch"),
               unit[w], val("lib")
        if (tr == "-") printf "%9s %22s ", "-", "-"
        else printf "%9.0f %22s ", tr, sprintf("%.2fx (%.2f-%.2f)", val("ratio"),
                                                val("ratio_min"), val("ratio_max"))
        st = val("spread_torch")
        printf "%11s ", sprintf("%d%%", 100 * val("spread_lib") + 0.5) \
                        (st == "-" ? "/-" : sprintf("/%d%%", 100 * st + 0.5))
        printf "%15s ", pair(val("lib_ms"), val("torch_ms"))
        if (fl > 0) {
            g = fl * val("lib") / 1e9
            printf "%13s ", pair(g, tr == "-" ? "-" : fl * tr / 1e9)
            printf "%6s ", (peak > 0 ? sprintf("%.0f%%", 100 * g / peak) : "-")
        } else printf "%13s %6s ", "-", "-"
        printf "%13s\n", pair(val("lib_rss"), val("torch_rss"))
    }' "$1"
}

# print_floors FILE: the roofline floor of each ROW line of FILE with counted
# bytes (bytes > 0), from BENCH_PEAK_GFLOPS and BENCH_BW_GBPS (set by
# bench.sh; nothing without them), against each side's median step time.
print_floors() {
    awk -v peak="${BENCH_PEAK_GFLOPS:-}" -v bw="${BENCH_BW_GBPS:-}" \
        "$bench_awk_val$bench_awk_floor"'
    $1 == "ROW" && (floor = floor_ms()) > 0 {
        flop = val("flops") * val("per_step"); bytes = val("bytes")
        gemm = 1e3 * flop / (peak * 1e9); mem = floor - gemm
        printf "roofline floor of %s (batch %s): %.2f GFLOP at %.0f GFLOP/s = %.5g ms", val("name"),
               val("batch"), flop / 1e9, peak, gemm
        printf " + %.0f MB at %.1f GB/s = %.5g ms -> %.5g ms;", bytes / 1e6, bw, mem, floor
        printf " libbigmodel %.5g ms = %.2fx the floor", val("lib_ms"), val("lib_ms") / floor
        if (val("torch_ms") != "-")
            printf ", PyTorch %.5g ms = %.2fx", val("torch_ms"), val("torch_ms") / floor
        printf "\n"
    }' "$1"
}

# check_params FILE: each ROW line of FILE whose sides print their parameter
# counts, with the two counts; fails when they differ (the two sides would not
# run the same model).
check_params() {
    awk "$bench_awk_val"'
    $1 == "ROW" && val("lib_params") != "-" && val("torch_params") != "-" {
        same = val("lib_params") == val("torch_params")
        printf "parameters of %s: libbigmodel %s, PyTorch %s%s\n", val("name"),
               val("lib_params"), val("torch_params"), (same ? "" : ": DIFFERENT MODELS")
        if (!same) bad = 1
    }
    END { exit bad }' "$1"
}

# bench_compile BUILD NAME: compiles test/bench/NAME.c against BUILD's
# libbigmodel.so into BUILD/bench/NAME (run from the repository's root).
bench_compile() {
    [ -e "$1/libbigmodel.so" ] || {
        echo "bench: $1/libbigmodel.so is missing (make BUILD=$1 lib)" >&2
        return 1
    }
    mkdir -p "$1/bench"
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -Iinclude \
        "test/bench/$2.c" -o "$1/bench/$2" \
        -L"$1" -Wl,-rpath,"$(cd "$1" && pwd)" -lbigmodel -lm
}

# save_rows FILE: appends the ROW lines of FILE to $BENCH_SUMMARY when set.
save_rows() {
    [ -n "${BENCH_SUMMARY:-}" ] && grep '^ROW ' "$1" >>"$BENCH_SUMMARY"
    return 0
}

# cpu_name: the CPU's model name with its family and model numbers.
cpu_name() {
    awk -F': *' '
        /^model name/ && !n { n = $2 } /^cpu family/ && !f { f = $2 } /^model\t/ && !m { m = $2 }
        END { printf "%s (family %s, model %s)", (n ? n : "unknown CPU"), f, m }' /proc/cpuinfo
}
