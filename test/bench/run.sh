#!/bin/sh
# make bench: runs every workload of test/bench/bench_models.c and, when
# PYTHON can import torch, of test/bench/bench_torch.py, each in a process of
# its own (so each peak RSS is that workload's), then prints one table.
#
#     sh test/bench/run.sh BENCH_MODELS_BINARY [PYTHON]
#
# BENCH_THREADS (2) threads for both sides, BENCH_SECONDS (3) timed per
# workload, BENCH_REPEAT (1) runs per workload and side, keeping the fastest
# (helps on a shared machine). PyTorch runs in its best CPU configuration:
# torch.set_num_threads(BENCH_THREADS), OPENBLAS_NUM_THREADS=1 so its two
# thread pools do not fight, and glibc malloc thresholds that keep its big
# buffers mapped between steps; for the ResNet it also tries the
# channels_last memory format and, for inference, a frozen TorchScript model
# (BatchNorm folded into the convolutions), keeping the fastest. When
# OPENBLAS_CORETYPE is set, everything runs a second time without it.
set -u

BIN=${1:?usage: run.sh BENCH_MODELS_BINARY [PYTHON]}
PY=${2:-/usr/bin/python3}
HERE=$(dirname "$0")
THREADS=${BENCH_THREADS:-2}
SECONDS_EACH=${BENCH_SECONDS:-3}
REPEAT=${BENCH_REPEAT:-1}
WORKLOADS="cnn_train32 cnn_train64 mlp_train64 cnn_infer256 cnn_latency1 resnet_train64
resnet_infer64"
export BENCH_THREADS="$THREADS"

if "$PY" -c "import torch" >/dev/null 2>&1; then
    TORCH_VERSION=$("$PY" -c "import torch; print(torch.__version__)")
else
    TORCH_VERSION=""
fi

# The BENCH line of highest rate among the lines on stdin.
best_line() {
    awk '
        /^BENCH/ {
            for (f = 2; f <= NF; f++)
                if (split($f, kv, "=") == 2 && kv[1] == "rate")
                    r = kv[2] + 0
            if (r > top) { top = r; keep = $0 }
        }
        END { print keep }'
}

# The fastest of REPEAT runs of "$@" (the command prints one BENCH line).
fastest() {
    best=""
    i=0
    while [ "$i" -lt "$REPEAT" ]; do
        line=$("$@" | grep '^BENCH ') || { echo "bench: '$*' failed" >&2; return 1; }
        best=$(printf '%s\n%s\n' "$best" "$line" | best_line)
        i=$((i + 1))
    done
    printf '%s\n' "$best"
}

# How PyTorch may run workload $1 (bench_torch.py's VARIANT); the fastest counts.
torch_variants() {
    case "$1" in
    resnet_train*) echo "nchw channels_last" ;;
    resnet_infer*) echo "nchw channels_last frozen" ;;
    *) echo "nchw" ;;
    esac
}

# One pass over the workloads; $1 labels it. Leaves lines "lib|torch BENCH ..." in $OUT.
run_pass() {
    for w in $WORKLOADS; do
        line=$(fastest "$BIN" "$w" "$SECONDS_EACH") || exit 1
        echo "lib $line" >>"$OUT"
        if [ -n "$TORCH_VERSION" ]; then
            lines=""
            for v in $(torch_variants "$w"); do
                line=$(fastest env OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=4294967296 \
                           MALLOC_TRIM_THRESHOLD_=68719476736 \
                           "$PY" "$HERE/bench_torch.py" "$w" "$SECONDS_EACH" "$v") || exit 1
                lines=$(printf '%s\n%s\n' "$lines" "$line")
            done
            echo "torch $(printf '%s\n' "$lines" | best_line)" >>"$OUT"
        fi
    done
}

print_table() {
    awk -v label="$1" -v torch="$TORCH_VERSION" '
    function field(line, key,    n, i, kv, parts) {
        n = split(line, parts, " ")
        for (i = 1; i <= n; i++) { split(parts[i], kv, "="); if (kv[1] == key) return kv[2] }
        return ""
    }
    {
        side = $1; sub(/^[a-z]+ /, "")
        w = field($0, "name")
        if (!(w in seen)) { seen[w] = 1; order[++n] = w }
        rate[side, w] = field($0, "rate"); ms[side, w] = field($0, "latency_ms")
        rss[side, w] = field($0, "rss_mib"); batch[w] = field($0, "batch")
        if (side == "torch") variant[w] = field($0, "variant")
    }
    END {
        title["cnn_train32"] = "seed CNN training"; unit["cnn_train32"] = "img/s"
        title["cnn_train64"] = "seed CNN training"; unit["cnn_train64"] = "img/s"
        title["mlp_train64"] = "MLP training (Fashion-MNIST)"; unit["mlp_train64"] = "samples/s"
        title["cnn_infer256"] = "seed CNN inference"; unit["cnn_infer256"] = "img/s"
        title["cnn_latency1"] = "seed CNN latency"; unit["cnn_latency1"] = "img/s"
        title["resnet_train64"] = "ResNet training"; unit["resnet_train64"] = "img/s"
        title["resnet_infer64"] = "ResNet predict"; unit["resnet_infer64"] = "img/s"
        printf "\n%s\n", label
        printf "%-30s %5s %10s %12s %12s %7s %10s %10s %9s %9s\n", "workload", "batch", "unit",
               "libbigmodel", (torch != "" ? "PyTorch" : "-"), "ratio", "ms/step", "torch ms",
               "RSS MiB", "torch RSS"
        for (i = 1; i <= n; i++) {
            w = order[i]
            lr = rate["lib", w]; tr = rate["torch", w]
            printf "%-30s %5s %10s %12.0f ", title[w], batch[w], unit[w], lr
            if (tr != "") printf "%12.0f %6.2fx ", tr, lr / tr
            else printf "%12s %7s ", "-", "-"
            printf "%10.3f ", ms["lib", w]
            if (tr != "") printf "%10.3f ", ms["torch", w]; else printf "%10s ", "-"
            printf "%9.1f ", rss["lib", w]
            if (tr != "") printf "%9.1f", rss["torch", w]; else printf "%9s", "-"
            printf "\n"
        }
        if (torch == "") { print "(PyTorch not importable: libbigmodel figures only)"; exit }
        # Targets of the issue.
        t32 = rate["lib", "cnn_train32"] / rate["torch", "cnn_train32"]
        t64 = rate["lib", "cnn_train64"] / rate["torch", "cnn_train64"]
        mlp = rate["lib", "mlp_train64"] / rate["torch", "mlp_train64"]
        lat = ms["lib", "cnn_latency1"] / ms["torch", "cnn_latency1"]
        over = ""; worst = 0
        for (i = 1; i <= n; i++) {
            r = rss["lib", order[i]] / rss["torch", order[i]]
            if (r > worst) worst = r
            if (r * 3 > 1) over = over " " order[i]
        }
        printf "targets: CNN training >= 1.25x (%.2fx at batch 32, %.2fx at 64): %s; ",
               t32, t64, ((t32 >= 1.25 && t64 >= 1.25) ? "met" : "NOT met")
        printf "MLP >= 2x (%.2fx): %s\n", mlp, (mlp >= 2 ? "met" : "NOT met")
        printf "         batch-1 latency <= 0.6x (%.3f / %.3f ms = %.2fx): %s; ",
               ms["lib", "cnn_latency1"], ms["torch", "cnn_latency1"], lat,
               (lat <= 0.6 ? "met" : "NOT met")
        printf "peak RSS <= 1/3 of PyTorch, every workload (worst %.2f): %s\n", worst,
               (over == "" ? "met" : "NOT met for" over)
        rt = rate["lib", "resnet_train64"] / rate["torch", "resnet_train64"]
        rp = rate["lib", "resnet_infer64"] / rate["torch", "resnet_infer64"]
        printf "         ResNet training >= 1.5x (%.2fx, PyTorch %s): %s; ", rt,
               variant["resnet_train64"], (rt >= 1.5 ? "met" : "NOT met")
        printf "ResNet predict >= 1.5x (%.2fx, PyTorch %s): %s\n", rp,
               variant["resnet_infer64"], (rp >= 1.5 ? "met" : "NOT met")
    }' "$OUT"
}

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT INT TERM

CPU=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "machine: ${CPU:-unknown CPU}, $(nproc) cores; threads: $THREADS each side;" \
     "$SECONDS_EACH s timed per workload, fastest of $REPEAT"
if [ -n "$TORCH_VERSION" ]; then
    echo "PyTorch $TORCH_VERSION from $PY"
else
    echo "PyTorch: not importable by $PY"
fi
# Other load skews both sides, PyTorch's spinning OpenMP threads the most.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

run_pass
print_table "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    : >"$OUT"
    (unset OPENBLAS_CORETYPE; run_pass)
    print_table "OPENBLAS_CORETYPE unset (OpenBLAS picks its kernels for this CPU)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
