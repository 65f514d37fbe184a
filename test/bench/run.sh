#!/bin/sh
# make bench, image models and MLPs: every workload of
# test/bench/bench_models.c and, when PYTHON can import torch, the same in
# test/bench/bench_torch.py, in interleaved pairs of processes (see
# bench_lib.sh), then one table with the ratios, the GFLOP/s and the peak RSS
# of each side, the roofline floor of the dense MLPs, and the targets of
# issue 16.
#
#     sh test/bench/run.sh BENCH_MODELS_BINARY [PYTHON]
#
# Knobs: those of bench_lib.sh, and BENCH_WORKLOADS (a subset, by name).
# PyTorch runs in its best CPU configuration (run_torch in bench_lib.sh); for
# the ResNet it may also run in the channels_last memory format and, for
# inference, as a frozen TorchScript model (BatchNorm folded into the
# convolutions): a short pre-pass picks the fastest variant, which the pairs
# then run. bench.sh sets BENCH_PEAK_GFLOPS and BENCH_BW_GBPS (the measured
# roofline); without them the % of peak and the floors are left out.
set -u

BIN=${1:?usage: run.sh BENCH_MODELS_BINARY [PYTHON]}
PY=${2:-/usr/bin/python3}
HERE=$(dirname "$0")
. "$HERE/bench_lib.sh"
WORKLOADS=${BENCH_WORKLOADS:-"cnn_train32 cnn_train64 mlp_train64 cnn_infer256 cnn_latency1
resnet_train64 resnet_infer64 mlp37m_train64"}
TITLES="cnn_train32|seed CNN training|img/s
cnn_train64|seed CNN training|img/s
mlp_train64|MLP training (Fashion-MNIST)|samples/s
cnn_infer256|seed CNN inference|img/s
cnn_latency1|seed CNN latency|img/s
resnet_train64|ResNet training|img/s
resnet_infer64|ResNet predict|img/s
mlp37m_train64|MLP 37M training|samples/s"

lib_run() { bench_line "$BIN" "$1" "$2"; }
torch_run() { bench_line run_torch "$PY" "$HERE/bench_torch.py" "$1" "$2" "$3"; }

# How PyTorch may run workload $1 (bench_torch.py's VARIANT).
torch_variants() {
    case "$1" in
    resnet_train*) echo "nchw channels_last" ;;
    resnet_infer*) echo "nchw channels_last frozen" ;;
    *) echo "nchw" ;;
    esac
}

# The goals of issue 16, from the medians of the pairs (ratio = lib/torch
# rate; the latency compares step times: its median ratio is torch/lib's).
print_targets() {
    awk -v peak="${BENCH_PEAK_GFLOPS:-}" -v bw="${BENCH_BW_GBPS:-}" \
        "$bench_awk_val$bench_awk_floor"'
    $1 == "ROW" {
        w = val("name")
        r[w] = val("ratio"); ms[w] = val("lib_ms"); fm[w] = floor_ms()
        g[w] = val("flops") * val("lib") / 1e9; s1 = val("spread_lib"); s2 = val("spread_torch")
        if (s1 + 0 > worst) { worst = s1; worst_w = w " (lib)" }
        if (s2 != "-" && s2 + 0 > worst) { worst = s2; worst_w = w " (torch)" }
        # The 1/3 RSS target is for the small models: the weights, gradients
        # and Adam moments of the 37M MLP alone take 562 MiB.
        if (val("torch_rss") != "-" && w != "mlp37m_train64") rss[w] = val("lib_rss") / val("torch_rss")
    }
    END {
        print "targets of issue 16 (medians of the pairs):"
        for (w in r) if (r[w] != "-") q[w] = r[w] + 0; else q[w] = ""
        check("seed CNN training b32 >= 2.0x PyTorch", q["cnn_train32"], q["cnn_train32"] >= 2, "%.2fx")
        check("seed CNN training b64 >= 2.0x PyTorch", q["cnn_train64"], q["cnn_train64"] >= 2, "%.2fx")
        check("seed CNN inference >= 2.0x PyTorch", q["cnn_infer256"], q["cnn_infer256"] >= 2, "%.2fx")
        lat = ("cnn_latency1" in q && q["cnn_latency1"] > 0) ? 1 / q["cnn_latency1"] : ""
        check("seed CNN latency <= 0.35x PyTorch", lat, lat != "" && lat <= 0.35, "%.2fx")
        check("MLP training >= 3.0x PyTorch", q["mlp_train64"], q["mlp_train64"] >= 3, "%.2fx")
        check("ResNet training >= 1.5x PyTorch", q["resnet_train64"], q["resnet_train64"] >= 1.5, "%.2fx")
        check("ResNet predict >= 1.5x PyTorch", q["resnet_infer64"], q["resnet_infer64"] >= 1.5, "%.2fx")
        if (peak > 0)
            for (i = 32; i <= 64; i *= 2) {
                w = "cnn_train" i
                p = (w in g) ? 100 * g[w] / peak : ""
                check("seed CNN training b" i " >= 65% of the sgemm peak", p, p >= 65, "%.0f%%")
            }
        w = "mlp37m_train64"
        check("MLP 37M training >= 2x PyTorch", q[w], q[w] >= 2, "%.2fx")
        if (fm[w] > 0) {
            f = ms[w] / fm[w]
            check("MLP 37M training step <= 1.4x its roofline floor", f, f <= 1.4, "%.2fx")
        }
        over = ""; nrss = 0
        for (w in rss) { nrss++; if (rss[w] * 3 > 1) over = over " " w }
        if (nrss) check("peak RSS <= 1/3 of PyTorch (all but MLP 37M)", over == "" ? "all" : over, over == "", "%s")
        printf "largest spread of a side: %.0f%% (%s)\n", 100 * worst, worst_w
    }' "$1"
}

bench_start "$PY"

echo "image models and MLPs: threads $BENCH_THREADS each side, $bench_seconds s a run," \
     "$bench_pairs interleaved pairs"
if [ -n "$bench_torch_version" ]; then
    echo "PyTorch $bench_torch_version from $PY (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)"
else
    echo "PyTorch: not run (BENCH_TORCH=0 or not importable by $PY): libbigmodel only"
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
for w in $WORKLOADS; do
    v=""
    if [ -n "$bench_torch_version" ]; then
        v=$(pick_variant "$w" $(torch_variants "$w")) || exit 1
    fi
    run_pairs "$w" "$v" || exit 1
done
summarize_pairs "$bench_raw" >"$rows"
save_rows "$rows"
echo "libbigmodel's kernel path: $(field isa "$(head -n 1 "$rows")")"
print_rows "$rows" "$TITLES"
print_floors "$rows"
print_targets "$rows"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
