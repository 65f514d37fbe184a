#!/bin/sh
# `make demo`: trains the flagship example on real data, saves the model in
# $build/demo/ and draws its training curves next to it (tools/plot_history.sh,
# gnuplot); the tape-based XOR example when the flagship is not built.
set -eu
build=$1
if [ -x "$build/examples/cifar10_cnn" ]; then
    shift
    out=$build/demo
    mkdir -p "$out"
    "$build/examples/cifar10_cnn" -o "$out/model.bgm" -l "$out/history.csv" "$@"
    sh "$(dirname "$0")/plot_history.sh" "$out/history.csv" "$out/history.png"
    echo "demo: the model is in $out/model.bgm, its training curves in $out/history.png"
    exit 0
fi
echo "demo: training a 2-8-1 network on XOR with the gradient tape and hand-written SGD"
exec "$build/examples/xor_tape"
