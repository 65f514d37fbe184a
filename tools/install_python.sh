#!/bin/sh
# `make install` / `make uninstall` of the Python package (bindings/python).
#   install_python.sh install|uninstall PYTHON PREFIX LIBDIR STAGE [PYTHONDIR]
# install copies the package to STAGE, writes LIBDIR into bigmodel/_libdir.py
# (the package looks for the library there before the system's folders) and
# pip-installs it offline into $DESTDIR$PYTHONDIR. PYTHONDIR defaults to the
# folder PYTHON searches for packages of PREFIX: for Debian's python3,
# /usr/lib/python3/dist-packages when PREFIX is /usr, else
# PREFIX/lib/python3.X/dist-packages; for other builds, their site-packages.
set -eu
action=$1
python=$2
prefix=$3
libdir=$4
stage=$5
pythondir=${6:-}
debs="python3 python3-pip python3-setuptools python3-wheel"

if ! command -v "$python" > /dev/null 2>&1; then
    echo "install: $python not found: the Python package needs Debian's $debs" >&2
    echo "install: apt-get install $debs, or leave the package out: make $action INSTALL_PYTHON=no" >&2
    exit 1
fi
if [ -z "$pythondir" ]; then
    pythondir=$("$python" -c '
import sys, sysconfig
prefix = sys.argv[1]
if "deb_system" in sysconfig.get_scheme_names():
    print("/usr/lib/python3/dist-packages" if prefix == "/usr" else
          "%s/lib/python%d.%d/dist-packages" % ((prefix,) + sys.version_info[:2]))
else:
    print(sysconfig.get_path("purelib", "posix_prefix", {"base": prefix, "platbase": prefix}))
' "$prefix")
fi
target=${DESTDIR:-}$pythondir

if [ "$action" = uninstall ]; then
    rm -rf "$target/bigmodel" "$target"/bigmodel-*.dist-info
    exit 0
fi

if ! "$python" -c 'import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in ("pip", "setuptools", "wheel")))' 2> /dev/null; then
    echo "install: $python cannot build the Python package offline: it needs Debian's $debs" >&2
    echo "install: apt-get install $debs, or leave the package out: make install INSTALL_PYTHON=no" >&2
    exit 1
fi
rm -rf "$stage"
mkdir -p "$stage"
cp -R bindings/python/pyproject.toml bindings/python/README.md bindings/python/bigmodel "$stage/"
rm -rf "$stage/bigmodel/__pycache__"
"$python" -c 'import sys; print("LIBDIR = %r  # written by make install" % sys.argv[1])' \
    "$libdir" > "$stage/bigmodel/_libdir.py"
"$python" -m pip install --quiet --no-build-isolation --no-index --no-deps --upgrade \
    --disable-pip-version-check --root-user-action=ignore --target "$target" "$stage"
echo "install: Python package bigmodel in $target (library from $libdir)"
