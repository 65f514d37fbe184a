#!/bin/sh
# The Python package as a user installs it: a fresh virtual environment
# (python3 -m venv --system-site-packages, which sees Debian's pip, setuptools
# and numpy), `pip install --no-build-isolation` of bindings/python offline,
# then, from a folder outside the source tree, a small training run with the
# library named by $BIGMODEL_LIBRARY, the library found next to the package
# and through the system loader, and the messages when none can be loaded.
set -eu
build=$1
python=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_python_package: FAIL: $*"; exit 1; }
build=$(cd "$build" && pwd)
lib=$build/libbigmodel.so
[ -e "$lib" ] || fail "$lib not built"

"$python" -m venv --system-site-packages --without-pip "$tmp/venv" ||
    fail "$python -m venv failed: apt-get install python3-venv (make deps installs it)"
venv=$tmp/venv/bin/python
# A copy, so that pip's build folders never land in (or race in) the source tree.
cp -R bindings/python "$tmp/src"
"$venv" -m pip install --quiet --no-build-isolation --no-index --no-deps \
    --disable-pip-version-check "$tmp/src" > "$tmp/pip.log" 2>&1 ||
    { cat "$tmp/pip.log"; fail "pip install --no-build-isolation bindings/python (needs Debian's python3-pip python3-setuptools python3-wheel)"; }
mkdir "$tmp/work"
cd "$tmp/work"
pkgdir=$(BIGMODEL_LIBRARY="$lib" "$venv" -c \
    'import os, bigmodel; print(os.path.dirname(bigmodel.__file__))')
case $pkgdir in
    "$tmp/venv/"*) ;;
    *) fail "bigmodel imported from $pkgdir, not from the virtual environment" ;;
esac

cat > train.py <<'PY'
"""Fits y = x0 - 2 x1 + 0.5 with a small MLP; prints what the package loaded."""
import importlib.metadata
import numpy as np
import bigmodel as bm

rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
y = (x[:, :1] - 2 * x[:, 1:] + 0.5).astype(np.float32)
model = bm.Sequential([bm.layers.Dense(16, activation="tanh"), bm.layers.Dense(1)],
                      input_shape=(2,), seed=1)
model.compile(optimizer=bm.optimizers.Adam(0.02), loss="mse")
before = model.evaluate(x, y)
history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
after = model.evaluate(x, y)
assert len(history.history["loss"]) == 40
assert after < before / 20, (before, after)
# The package is released with the library: one version number.
if not bm.__version__ == bm.library_version() == importlib.metadata.version("bigmodel"):
    raise SystemExit("bigmodel.__version__ %s (bindings/python/bigmodel/__init__.py), the "
                     "installed distribution's %s and the library's %s differ: bump them "
                     "together" % (bm.__version__, importlib.metadata.version("bigmodel"),
                                   bm.library_version()))
print("trained: mse %.4f -> %.4f" % (before, after))
print(bm.library_origin(), bm.library_path(), sep="|")
PY
out=$(BIGMODEL_LIBRARY="$lib" "$venv" train.py) || fail "the training example failed (above)"
echo "$out" | grep -q "^trained: mse" || fail "the training example printed: $out"
[ "$(echo "$out" | tail -n 1)" = "\$BIGMODEL_LIBRARY|$lib" ] ||
    fail "library_origin() and library_path() said '$(echo "$out" | tail -n 1)', expected '\$BIGMODEL_LIBRARY|$lib'"
echo "check_python_package: pip-installed in a venv, trained from $tmp/work ($(echo "$out" | head -n 1))"

# A wrong $BIGMODEL_LIBRARY is the only candidate, and the message says so.
if env BIGMODEL_LIBRARY=/nonexistent/libbigmodel.so "$venv" -c 'import bigmodel' 2> err.txt; then
    fail "import bigmodel succeeded with BIGMODEL_LIBRARY=/nonexistent/libbigmodel.so"
fi
for want in "ImportError: bigmodel: no usable libbigmodel" \
            "\$BIGMODEL_LIBRARY: /nonexistent/libbigmodel.so: cannot load" \
            "set BIGMODEL_LIBRARY to the path of libbigmodel.so"; do
    grep -qF "$want" err.txt || { cat err.txt; fail "the import error lacks: $want"; }
done
echo "check_python_package: a wrong BIGMODEL_LIBRARY fails the import, naming the variable and the path"

# Without the variable: nothing next to the package, no in-tree build and no
# make install LIBDIR for a pip-installed package; the system may have one.
if ldconfig -p 2> /dev/null | grep -q 'libbigmodel\.so'; then
    echo "check_python_package: this system's loader has a libbigmodel (ldconfig -p): not checking the message when none is found"
else
    if env -u BIGMODEL_LIBRARY -u LD_LIBRARY_PATH "$venv" -c 'import bigmodel' 2> err.txt; then
        fail "import bigmodel succeeded with no library to find"
    fi
    for want in "ImportError: bigmodel: no usable libbigmodel" \
                "next to the package: $pkgdir/libbigmodel.so.0: cannot load" \
                "system loader: libbigmodel.so.0: cannot load" \
                "set BIGMODEL_LIBRARY to the path of libbigmodel.so"; do
        grep -qF "$want" err.txt || { cat err.txt; fail "the import error lacks: $want"; }
    done
    grep -q "in-tree build" err.txt && fail "an installed package looked for an in-tree build"
    echo "check_python_package: with no library anywhere the import fails, naming each place tried and BIGMODEL_LIBRARY"
fi

# The system loader's search (LD_LIBRARY_PATH here): library_path() names the file.
real=$build/libbigmodel.so.0
out=$(env -u BIGMODEL_LIBRARY LD_LIBRARY_PATH="$(dirname "$real")" "$venv" -c \
    'import bigmodel as bm; print(bm.library_path())')
[ "$out" = "$real" ] || fail "found through LD_LIBRARY_PATH, library_path() said $out, expected $real"
echo "check_python_package: found by the system loader, library_path() is $out"

# A copy next to the package comes before the system's.
cp "$lib" "$pkgdir/libbigmodel.so.0"
out=$(env -u BIGMODEL_LIBRARY LD_LIBRARY_PATH="$(dirname "$real")" "$venv" -c \
    'import bigmodel as bm; print(bm.library_origin(), bm.library_path(), sep="|")')
[ "$out" = "next to the package|$pkgdir/libbigmodel.so.0" ] ||
    fail "with a library in the package folder the package said '$out'"
echo "check_python_package: a library in the package's folder is found there first"
