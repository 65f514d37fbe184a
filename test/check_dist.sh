#!/bin/sh
# Checks the source tarball of `make dist`: it unpacks into
# libbigmodel-VERSION/, holds exactly the files git tracks at HEAD, and builds
# in a fresh folder: the library, the examples and the C suite, which runs
# there. With a make target as third argument, that target runs in the
# unpacked tree instead (CI: `check`, the whole `make check`).
# Usage: check_dist.sh TARBALL VERSION [TARGET]
set -eu
tarball=$1
version=$2
target=${3:-}
fail() { echo "check_dist: FAIL: $*"; exit 1; }
[ -f "$tarball" ] || fail "$tarball is missing (make dist)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tarball" -C "$tmp"
top=$tmp/libbigmodel-$version
[ -d "$top" ] || fail "$tarball does not unpack into libbigmodel-$version/"
[ "$(ls "$tmp")" = "libbigmodel-$version" ] || fail "$tarball unpacks more than libbigmodel-$version/"

if git rev-parse --verify -q HEAD > /dev/null 2>&1; then
    tar -tzf "$tarball" | sed -n "s|^libbigmodel-$version/||p" | grep -v '/$' | grep . |
        sort > "$tmp/packed"
    git ls-tree -r --name-only HEAD | sort > "$tmp/tracked"
    if ! diff -u "$tmp/tracked" "$tmp/packed" > "$tmp/diff"; then
        sed -n '3,$p' "$tmp/diff" | grep '^[-+]' | head -20
        fail "$tarball does not hold exactly the files of HEAD (- tracked, + packed)"
    fi
fi
grep -q "^#define BGM_VERSION_STRING \"$version\"" "$top/include/bigmodel/core.h" ||
    fail "the unpacked include/bigmodel/core.h is not version $version"

cd "$top"
if [ -n "$target" ]; then
    make -j2 --no-print-directory all build/test/runner > "$tmp/build.log" 2>&1 ||
        { tail -30 "$tmp/build.log"; fail "the unpacked tree does not build"; }
    make --no-print-directory "$target" || fail "make $target fails in the unpacked tree"
    echo "check_dist: $tarball unpacks, builds and passes make $target"
    exit 0
fi
make -j2 --no-print-directory lib examples build/test/runner > "$tmp/build.log" 2>&1 ||
    { tail -30 "$tmp/build.log"; fail "the unpacked tree does not build (make lib examples)"; }
for e in xor_tape cifar10_cnn char_gpt resnet_fashion; do
    [ -x "build/examples/$e" ] || fail "the unpacked tree did not build examples/$e"
done
CK_VERBOSITY=minimal build/test/runner || fail "the C suite fails in the unpacked tree"
echo "check_dist: $tarball unpacks into libbigmodel-$version/, holds the files of HEAD," \
     "builds the library and examples, and passes the C suite"
