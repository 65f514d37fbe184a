#!/bin/sh
# Installs as users do, then builds and runs programs against the installed
# trees only:
#  - `make install PREFIX=<tmp>`: a C program with `pkg-config --cflags --libs
#    bigmodel` (shared) and `--static` (archive), the C++ program
#    test/consumer/app.cpp with pkg-config and g++, and `import bigmodel` by
#    Debian's python3 from outside the source tree (the package finds the
#    library in make install's LIBDIR);
#  - `make install DESTDIR=<tmp> PREFIX=/usr LIBDIR=/usr/lib/<triplet>`: the
#    C++ program with CMake (find_package(bigmodel MAJOR.MINOR),
#    bigmodel::bigmodel and bigmodel::bigmodel_static), the version rules of
#    the CMake package, pkg-config with the staged tree as sysroot, and
#    `make uninstall` leaving no file behind.
set -eu
build=$1
python=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_install: FAIL: $*"; exit 1; }
for tool in cmake g++ pkg-config; do
    command -v "$tool" > /dev/null 2>&1 ||
        fail "$tool not found: apt-get install $tool (make deps installs it)"
done
root=$(pwd)

# ---- PREFIX install: pkg-config, C and C++; Python --------------------------
prefix=$tmp/prefix
make --no-print-directory -s install BUILD="$build" PREFIX="$prefix" PYTHON="$python" > /dev/null
PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export PKG_CONFIG_PATH
for f in include/bigmodel.h include/bigmodel/core.h lib/libbigmodel.a lib/libbigmodel.so \
         lib/cmake/bigmodel/bigmodelConfig.cmake lib/cmake/bigmodel/bigmodelConfigVersion.cmake; do
    [ -e "$prefix/$f" ] || fail "$f not installed"
done
# shellcheck disable=SC2046
cc -o "$tmp/smoke" test/install_smoke.c $(pkg-config --cflags --libs bigmodel)
LD_LIBRARY_PATH="$prefix/lib" "$tmp/smoke"
# shellcheck disable=SC2046
cc -o "$tmp/smoke_static" test/install_smoke.c $(pkg-config --cflags bigmodel) \
    "$prefix/lib/libbigmodel.a" $(pkg-config --static --libs bigmodel | sed 's/-lbigmodel//')
"$tmp/smoke_static"
if ldd "$tmp/smoke_static" | grep -q libbigmodel; then
    fail "static build still links libbigmodel.so"
fi
# shellcheck disable=SC2046
g++ -o "$tmp/app_pc" test/consumer/app.cpp $(pkg-config --cflags --libs bigmodel)
LD_LIBRARY_PATH="$prefix/lib" "$tmp/app_pc"
echo "check_install: C (shared, static) and C++ programs built with pkg-config ran"
# The core links no MPI; libbigmodel-mpi, when built, installs with its own .pc.
if ldd "$prefix/lib/libbigmodel.so" | grep -q libmpi; then
    fail "libbigmodel.so links MPI"
fi
if [ -e "$prefix/lib/libbigmodel-mpi.so" ]; then
    # shellcheck disable=SC2046
    cc -std=c11 -Iexamples -o "$tmp/ddp" examples/ddp_fashion.c \
        $(pkg-config --cflags --libs bigmodel-mpi)
    echo "check_install: examples/ddp_fashion.c built with pkg-config bigmodel-mpi"
fi

version=$(pkg-config --modversion bigmodel)
pydir=$(find "$prefix/lib" -path '*-packages/bigmodel' -type d)
[ -f "$pydir/__init__.py" ] || fail "make install did not install the Python package"
out=$(cd "$tmp" && env -u BIGMODEL_LIBRARY PYTHONPATH="$(dirname "$pydir")" "$python" -c '
import bigmodel as bm
print(bm.__version__, bm.library_origin(), bm.library_path())')
[ "$out" = "$version make install's LIBDIR $prefix/lib/libbigmodel.so.0" ] ||
    fail "the installed Python package printed '$out', expected '$version make install's LIBDIR $prefix/lib/libbigmodel.so.0'"
echo "check_install: the Python package make install wrote imports and loads $prefix/lib/libbigmodel.so.0"

# ---- DESTDIR install, Debian layout: CMake, pkg-config sysroot, uninstall ----
stage=$tmp/stage
libdir=/usr/lib/$(cc -dumpmachine)
make --no-print-directory -s install BUILD="$build" DESTDIR="$stage" PREFIX=/usr \
    LIBDIR="$libdir" PYTHON="$python" > /dev/null
[ -f "$stage/usr/lib/python3/dist-packages/bigmodel/__init__.py" ] ||
    fail "PREFIX=/usr did not put the Python package in /usr/lib/python3/dist-packages"
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
grep -qF "find_package(bigmodel $major.$minor REQUIRED)" README.md ||
    fail "README.md's find_package line does not ask for this release, $major.$minor"
cmake -S test/consumer -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$stage/usr" \
    -DBIGMODEL_VERSION="$major.$minor" > "$tmp/cmake.log" 2>&1 &&
    cmake --build "$tmp/cmake" >> "$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log"; fail "the CMake consumer did not build"; }
"$tmp/cmake/app"
"$tmp/cmake/app_static"
ldd "$tmp/cmake/app" | grep -q "$stage$libdir/libbigmodel.so.$major" ||
    fail "the CMake program does not load the staged libbigmodel.so.$major"
if ldd "$tmp/cmake/app_static" | grep -q libbigmodel; then
    fail "bigmodel::bigmodel_static still links libbigmodel.so"
fi
echo "check_install: C++ programs built with CMake (bigmodel::bigmodel, bigmodel::bigmodel_static) ran"

# Version rules (docs/abi.md): this minor and older patches of it; never
# another major; in 0.x never another minor; a range holding the version.
accept="$major.$minor;$version;0.0...<$((major + 1)).0"
reject="$((major + 1)).0;$major.$((minor + 1));0.0...<$version"
if [ "$major" -eq 0 ] && [ "$minor" -gt 0 ]; then
    reject="$reject;0.$((minor - 1))"
elif [ "$major" -gt 0 ]; then
    accept="$accept;$major.0"
fi
cmake -S test/consumer/versions -B "$tmp/versions" -DCONFIG_DIR="$stage$libdir/cmake/bigmodel" \
    "-DACCEPT=$accept" "-DREJECT=$reject" > "$tmp/versions.log" 2>&1 ||
    { cat "$tmp/versions.log"; fail "the CMake package's version rules"; }
echo "check_install: find_package(bigmodel ...) accepted $accept and rejected $reject"

# shellcheck disable=SC2046
g++ -o "$tmp/app_sysroot" test/consumer/app.cpp $(PKG_CONFIG_SYSROOT_DIR="$stage" \
    PKG_CONFIG_PATH="$stage$libdir/pkgconfig" pkg-config --cflags --libs bigmodel)
LD_LIBRARY_PATH="$stage$libdir" "$tmp/app_sysroot"
echo "check_install: the C++ program built with pkg-config against the DESTDIR tree ran"

make --no-print-directory -s uninstall BUILD="$build" DESTDIR="$stage" PREFIX=/usr \
    LIBDIR="$libdir" PYTHON="$python" > /dev/null
left=$(cd "$stage" && find . ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "check_install: make uninstall removed every file it installed"
cd "$root"
