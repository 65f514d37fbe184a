#!/bin/sh
# Installs the Debian packages libbigmodel needs to build, test and run its
# demo; `deps.sh deb` also those that build its Debian packages. As root it
# runs apt-get; otherwise it prints the command and stops.
set -eu

# command-line tools, libraries, and the Python side of the tests
PACKAGES="gcc make pkg-config libopenblas-dev libblas-dev zlib1g-dev check valgrind \
clang abigail-tools python3 python3-numpy python3-pytest python3-torch python3-sklearn \
dataset-fashion-mnist bible-kjv bible-kjv-text graphviz \
python3-pip python3-setuptools python3-wheel python3-venv cmake g++ doxygen \
openmpi-bin libopenmpi-dev"
# plots: bigmodel.plot (matplotlib), tools/plot_history.gp and make demo (gnuplot)
PACKAGES="$PACKAGES python3-matplotlib gnuplot-nox"
# Building the Debian packages (debian/, make check-deb) needs these as well;
# `deps.sh deb` asks for them.
if [ "${1:-}" = deb ]; then
    PACKAGES="$PACKAGES debhelper dh-python pybuild-plugin-pyproject python3-all dpkg-dev lintian"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps: all required packages are installed"
    exit 0
fi

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root:  apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
