#!/bin/sh
# make docs / make check-docs: the API reference with Doxygen (docs/Doxyfile),
# HTML in OUT/html and XML in OUT/xml; with --check, every symbol of
# test/exported_symbols.txt must have a doc comment (test/check_docs.py),
# after a self-test on test/docs/fixture.h shows the check catches a
# function without one.
#   docs.sh PYTHON OUT VERSION [--check]
set -eu
python=$1
out=$2
version=$3
check=${4:-}
fail() { echo "check_docs: FAIL: $*"; exit 1; }
command -v doxygen > /dev/null 2>&1 ||
    fail "doxygen not found: apt-get install doxygen (make deps installs it)"

# doxygen DIR [SETTINGS...]: docs/Doxyfile with SETTINGS appended, output in DIR.
doxygen_run() {
    dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    { cat docs/Doxyfile
      echo "OUTPUT_DIRECTORY = $dir"
      echo "PROJECT_NUMBER = $version"
      echo "WARN_LOGFILE = $dir/warnings.log"
      for setting in "$@"; do echo "$setting"; done
    } | doxygen - || fail "doxygen failed (settings: docs/Doxyfile $*)"
}

doxygen_run "$out"
warnings=$(grep -c 'warning:' "$out/warnings.log" || true)
echo "docs: API reference in $out/html/index.html ($warnings Doxygen warnings: $out/warnings.log)"
[ "$check" = --check ] || exit 0

doxygen_run "$out/fixture" "INPUT = test/docs/fixture.h" "USE_MDFILE_AS_MAINPAGE =" \
    "GENERATE_HTML = NO"
if "$python" test/check_docs.py "$out/fixture/xml" test/docs/fixture_symbols.txt \
        > "$out/fixture/report.txt"; then
    fail "the check passed test/docs/fixture.h, which has an undocumented function"
fi
got=$(grep -o 'bgm_fixture_[a-z_]*' "$out/fixture/report.txt" | sort | tr '\n' ' ')
[ "$got" = "bgm_fixture_missing bgm_fixture_undocumented " ] ||
    { cat "$out/fixture/report.txt"; fail "on test/docs/fixture.h the check named: $got"; }
rm -rf "$out/fixture"
"$python" test/check_docs.py "$out/xml" test/exported_symbols.txt
