#!/bin/sh
# `make demo`: runs the flagship example on real data once it exists, and the
# tape-based XOR example meanwhile.
set -eu
build=$1
if [ -x "$build/examples/cifar10_cnn" ]; then
    shift
    exec "$build/examples/cifar10_cnn" "$@"
fi
echo "demo: training a 2-8-1 network on XOR with the gradient tape and hand-written SGD"
exec "$build/examples/xor_tape"
