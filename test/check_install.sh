#!/bin/sh
# Installs into a temporary prefix, then builds and runs a program using only
# `pkg-config --cflags --libs bigmodel` (shared) and `--static` (archive).
set -eu
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory -s install BUILD="$build" PREFIX="$prefix" > /dev/null
PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export PKG_CONFIG_PATH
for f in include/bigmodel.h include/bigmodel/core.h lib/libbigmodel.a lib/libbigmodel.so; do
    [ -e "$prefix/$f" ] || { echo "check_install: FAIL: $f not installed"; exit 1; }
done
# shellcheck disable=SC2046
cc -o "$prefix/smoke" test/install_smoke.c $(pkg-config --cflags --libs bigmodel)
LD_LIBRARY_PATH="$prefix/lib" "$prefix/smoke"
# shellcheck disable=SC2046
cc -o "$prefix/smoke_static" test/install_smoke.c $(pkg-config --cflags bigmodel) \
    "$prefix/lib/libbigmodel.a" $(pkg-config --static --libs bigmodel | sed 's/-lbigmodel//')
"$prefix/smoke_static"
if ldd "$prefix/smoke_static" | grep -q libbigmodel; then
    echo "check_install: FAIL: static build still links libbigmodel.so"; exit 1
fi
echo "check_install: shared and static programs built with pkg-config ran"
# The core links no MPI; libbigmodel-mpi, when built, installs with its own .pc.
if ldd "$prefix/lib/libbigmodel.so" | grep -q libmpi; then
    echo "check_install: FAIL: libbigmodel.so links MPI"; exit 1
fi
if [ -e "$prefix/lib/libbigmodel-mpi.so" ]; then
    # shellcheck disable=SC2046
    cc -std=c11 -Iexamples -o "$prefix/ddp" examples/ddp_fashion.c \
        $(pkg-config --cflags --libs bigmodel-mpi)
    echo "check_install: examples/ddp_fashion.c built with pkg-config bigmodel-mpi"
fi
