#!/bin/sh
# Plots the training curves of a CSVLogger file as a PNG with
# tools/plot_history.gp, saying which Debian package to install when gnuplot
# is missing.
#
# usage: sh tools/plot_history.sh HISTORY.csv [OUT.png]   (default: HISTORY.png)
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: sh tools/plot_history.sh HISTORY.csv [OUT.png]" >&2
    exit 2
fi
csv=$1
png=${2:-${csv%.csv}.png}
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "plot_history: gnuplot is not installed: apt-get install gnuplot-nox" >&2
    exit 1
fi
if [ ! -r "$csv" ]; then
    echo "plot_history: cannot read $csv" >&2
    exit 1
fi
exec gnuplot -c "$(dirname "$0")/plot_history.gp" "$csv" "$png"
