#!/bin/sh
# make check-deb: the Debian packages of debian/ as a user gets them.
#  - dpkg-buildpackage -us -uc -b in a copy of the tree (the checkout stays
#    clean), with a plain PATH so that Debian's python3 builds the Python
#    package; the build runs the C suite once (debian/rules,
#    override_dh_auto_test); lintian must give no error or warning beyond
#    initial-upload-closes-no-bugs (these packages close no Debian ITP);
#  - dpkg -i of every package, then against /usr only: a C program built with
#    pkg-config, the C++ program test/consumer built with CMake (shared and
#    static targets), test/mpi/fit_mpi.c built with pkg-config bigmodel-mpi
#    and run over 2 Open MPI processes, and Debian's python3 importing
#    bigmodel from a neutral folder and fitting a line;
#  - dpkg --purge of the packages, also when a step fails, so the machine is
#    left as it was found: the test refuses to start where any of the
#    packages, or a file they would overwrite, is already there.
# While the packages are installed, other builds on this machine still load
# their own libbigmodel: programs by their RUNPATH, Python by
# $BIGMODEL_LIBRARY or the in-tree build, both before the system's folders.
set -eu
python=${1:-/usr/bin/python3}
fail() { echo "check_deb: FAIL: $*" >&2; exit 1; }
pkgs="libbigmodel-mpi-dev libbigmodel-dev python3-bigmodel libbigmodel-mpi0 libbigmodel0"

[ "$(id -u)" -eq 0 ] || fail "dpkg -i needs root: run make check-deb as root"
for tool in dpkg-buildpackage dh pybuild lintian pkg-config cmake g++ mpirun; do
    command -v "$tool" > /dev/null 2>&1 ||
        fail "$tool not found: sh tools/deps.sh deb installs what building the packages needs (make check-deb runs it)"
done
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$triplet
for p in $pkgs; do
    if dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -qv "not-installed"; then
        fail "$p is installed: this test installs and purges its own packages; remove it first (dpkg --purge $p)"
    fi
done
for f in "$libdir"/libbigmodel* /usr/include/bigmodel.h /usr/include/bigmodel \
         /usr/lib/python3/dist-packages/bigmodel; do
    [ ! -e "$f" ] || fail "$f exists (make install PREFIX=/usr?): dpkg -i would overwrite it and the purge remove it"
done

tmp=$(mktemp -d)
root=$(pwd)
# dpkg waits for no lock: retry while another apt or dpkg holds it.
run_dpkg() {
    tries=0
    until dpkg "$@" > "$tmp/dpkg.log" 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 60 ] || ! grep -qi "lock" "$tmp/dpkg.log"; then
            cat "$tmp/dpkg.log" >&2
            return 1
        fi
        sleep 5
    done
}
cleanup() {
    rc=$?
    trap - EXIT
    cd "$root"
    # shellcheck disable=SC2086
    run_dpkg --purge $pkgs || { echo "check_deb: dpkg --purge $pkgs failed" >&2; rc=1; }
    left=$(ls -d "$libdir"/libbigmodel* /usr/include/bigmodel* \
              /usr/lib/python3/dist-packages/bigmodel* 2> /dev/null || true)
    [ -z "$left" ] || { echo "check_deb: the purge left $left" >&2; rc=1; }
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# ---- build ------------------------------------------------------------------
src=$tmp/libbigmodel
mkdir "$src"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$src"
else
    tar --exclude=./build -cf - . | tar -xf - -C "$src"
fi
version=$(make -s --no-print-directory print-version)
echo "check_deb: building libbigmodel $version in $src (dpkg-buildpackage -us -uc -b)"
start=$(date +%s)
(cd "$src" && env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1 ||
    { tail -n 40 "$tmp/build.log"; fail "dpkg-buildpackage failed (the end of its log is above)"; }
grep "Checks:" "$tmp/build.log" || echo "check_deb: the build ran no C suite (DEB_BUILD_OPTIONS=nocheck)"
changes=$(ls "$tmp"/libbigmodel_*.changes)
lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs "$changes" \
    > "$tmp/lintian.log" 2>&1 || { cat "$tmp/lintian.log"; fail "lintian (above)"; }
echo "check_deb: built and lintian-clean in $(($(date +%s) - start)) s: $pkgs"

# ---- install and use --------------------------------------------------------
# shellcheck disable=SC2046
run_dpkg -i $(for p in $pkgs; do ls "$tmp/${p}_"*.deb; done) ||
    fail "dpkg -i of the packages failed (above): a dependency missing? make deps installs them"
ldconfig -p | grep -q "^[[:space:]]*libbigmodel\.so\.0 " || fail "ldconfig does not know libbigmodel.so.0"

# Only the system's folders: nothing from the caller's environment.
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH BIGMODEL_LIBRARY BIGMODEL_MPI_LIBRARY \
    PYTHONPATH
[ "$(pkg-config --modversion bigmodel)" = "$version" ] ||
    fail "pkg-config bigmodel says $(pkg-config --modversion bigmodel), expected $version"
# The file a program loads for SONAME, as ldd resolves it, links followed
# (the loader may name it through /lib, the merged /usr's link).
loads() {
    f=$(ldd "$1" | awk -v so="$2" '$1 == so { print $3 }')
    [ -z "$f" ] || readlink -f "$f"
}
shlib=$libdir/libbigmodel.so.$version

# shellcheck disable=SC2046
cc -o "$tmp/smoke" test/install_smoke.c $(pkg-config --cflags --libs bigmodel)
"$tmp/smoke"
[ "$(loads "$tmp/smoke" libbigmodel.so.0)" = "$shlib" ] ||
    fail "the pkg-config program loads $(loads "$tmp/smoke" libbigmodel.so.0)"
echo "check_deb: a C program built with pkg-config bigmodel ran on $shlib"

major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
cmake -S test/consumer -B "$tmp/cmake" -DBIGMODEL_VERSION="$major.$minor" > "$tmp/cmake.log" 2>&1 &&
    cmake --build "$tmp/cmake" >> "$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log"; fail "the CMake consumer did not build against /usr"; }
grep -qx "bigmodel_DIR:PATH=$libdir/cmake/bigmodel" "$tmp/cmake/CMakeCache.txt" ||
    fail "CMake found $(grep '^bigmodel_DIR' "$tmp/cmake/CMakeCache.txt"), not $libdir/cmake/bigmodel"
"$tmp/cmake/app"
"$tmp/cmake/app_static"
[ "$(loads "$tmp/cmake/app" libbigmodel.so.0)" = "$shlib" ] ||
    fail "the CMake program loads $(loads "$tmp/cmake/app" libbigmodel.so.0)"
[ -z "$(loads "$tmp/cmake/app_static" libbigmodel.so.0)" ] ||
    fail "bigmodel::bigmodel_static links libbigmodel.so"
echo "check_deb: C++ programs built with CMake (bigmodel::bigmodel, bigmodel::bigmodel_static) ran"

# libbigmodel-mpi0: its own package, and libbigmodel0 links no MPI.
if ldd "$libdir/libbigmodel.so.0" | grep -q libmpi; then
    fail "libbigmodel.so.0 links MPI"
fi
# shellcheck disable=SC2046
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Itest -o "$tmp/fit_mpi" test/mpi/fit_mpi.c test/dist_problem.c \
    $(pkg-config --cflags --libs bigmodel-mpi) -lm
[ "$(loads "$tmp/fit_mpi" libbigmodel-mpi.so.0)" = "$libdir/libbigmodel-mpi.so.$version" ] ||
    fail "fit_mpi loads $(loads "$tmp/fit_mpi" libbigmodel-mpi.so.0)"
sh test/mpi/check_mpi.sh "$tmp/fit_mpi" "$(command -v mpirun)" > "$tmp/mpi.log" 2>&1 ||
    { cat "$tmp/mpi.log"; fail "fit_mpi over 2 processes against the packages"; }
echo "check_deb: test/mpi/fit_mpi.c built with pkg-config bigmodel-mpi passed over 2 Open MPI processes"

mkdir "$tmp/neutral"
out=$(cd "$tmp/neutral" && "$python" - "$shlib" "$version" <<'PY'
"""python3-bigmodel: where it is, what it loaded; fits y = 2a - b + 1."""
import importlib.metadata
import os
import sys

import numpy as np
import bigmodel as bm

want_lib, want_version = sys.argv[1:]
if bm.__file__ != "/usr/lib/python3/dist-packages/bigmodel/__init__.py":
    sys.exit("bigmodel imported from %s" % bm.__file__)
if os.path.realpath(bm.library_path()) != want_lib:
    sys.exit("bigmodel loaded %s (%s), not %s" % (bm.library_path(), bm.library_origin(),
                                                   want_lib))
versions = {bm.__version__, bm.library_version(), importlib.metadata.version("bigmodel")}
if versions != {want_version}:
    sys.exit("versions %s, expected %s" % (sorted(versions), want_version))
x = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [2, 1], [1, 2]], np.float32)
y = 2 * x[:, :1] - x[:, 1:] + 1
model = bm.Sequential([bm.layers.Dense(1)], input_shape=(2,), seed=42)
model.compile(optimizer=bm.optimizers.SGD(0.05), loss="mse")
model.fit(x, y, epochs=500, batch_size=6, verbose=0)
predicted = float(model.predict(np.array([[4, 1]], np.float32))[0, 0])
if abs(predicted - 8) > 0.05:
    sys.exit("predicted %.4f for (4, 1), expected 8" % predicted)
print("bigmodel %s from %s, library %s (%s), predicted %.3f for (4, 1)"
      % (bm.__version__, bm.__file__, bm.library_path(), bm.library_origin(), predicted))
PY
) || fail "python3-bigmodel from a neutral folder (above)"
echo "check_deb: $out"
echo "check_deb: all packages built, installed and used; purging them"
