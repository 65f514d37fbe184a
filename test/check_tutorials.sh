#!/bin/sh
# make check-tutorials: every page of docs/tutorials/ holds one C and one Python
# program (its ```c blocks and its ```python blocks, each in page order); this
# builds the C against the built library, runs both with
# BIGMODEL_TUTORIAL_QUICK=1 (a small slice, one epoch) and fails when one
# does not build, exits nonzero, prints "error" or a traceback, or misses a
# line its page promises (<!-- expect: ERE -->, <!-- expect-c: ERE -->,
# <!-- expect-python: ERE -->). A page marked <!-- run: mpi --> is built with
# mpicc and run under `mpirun -np 2`, and skipped, saying why, without mpirun.
# The convention is written down in docs/tutorials/README.md.
#   check_tutorials.sh BUILD PYTHON [PAGE...]
set -eu
build=$(cd "$1" && pwd)
python=$2
shift 2
root=$(pwd)
pages=${*:-$(ls docs/tutorials/[0-9]*.md)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "check-tutorials: FAIL: $*"
    exit 1
}

# The spam corpus of `make data`, else a small one written here (two words of
# each class repeated, with mail headers the programs strip), so the text page
# runs on a fresh clone too.
corpus() {
    if [ -d "$root/data/spam-assassin/data/spam-1" ]; then
        ln -s "$root/data" "$1/data"
        echo "check-tutorials: spam corpus: data/spam-assassin (make data)"
        return
    fi
    echo "check-tutorials: spam corpus: data/spam-assassin missing (make data fetches it)," \
        "a small generated one instead"
    for g in easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2; do
        mkdir -p "$1/data/spam-assassin/data/$g"
        case $g in
            spam*) body="win free money now claim your prize offer click here cash" ;;
            *) body="the patch fixes the build please review before the meeting tomorrow" ;;
        esac
        i=0
        while [ $i -lt 40 ]; do
            printf 'From: someone@example.org\nSubject: note %d\n\n%s %s %d\n' \
                $i "$body" "$body" $i > "$1/data/spam-assassin/data/$g/$(printf %05d $i).txt"
            i=$((i + 1))
        done
    done
}

# The lines of a page's HTML comments "<!-- KEY: VALUE -->": VALUE, one a line.
marker() {
    sed -n "s/^<!-- $2: \(.*\) -->\$/\1/p" "$1"
}

# check_output NAME LOG LANG PAGE: the run's promised lines, and no error.
check_output() {
    if grep -n -E 'Traceback|[Ee]rror' "$2" > "$tmp/errors"; then
        cat "$2"
        fail "$1 printed an error: $(head -n 1 "$tmp/errors")"
    fi
    { marker "$4" expect; marker "$4" "expect-$3"; } > "$tmp/expect"
    while IFS= read -r pattern; do
        grep -q -E "$pattern" "$2" || { cat "$2"; fail "$1 printed no line matching /$pattern/"; }
    done < "$tmp/expect"
    echo "check-tutorials: $1: ok ($(wc -l < "$tmp/expect") promised lines seen)"
}

mpirun=$(command -v mpirun 2>/dev/null || true)
total_start=$(date +%s)
for page in $pages; do
    name=$(basename "$page" .md)
    work=$tmp/$name
    mkdir -p "$work"
    awk -v c="$work/$name.c" -v py="$work/$name.py" '
        /^```c$/ { out = c; next }
        /^```python$/ { out = py; next }
        /^```/ { out = ""; next }
        out != "" { print > out }' "$page"
    [ -s "$work/$name.c" ] || fail "$page has no \`\`\`c block"
    [ -s "$work/$name.py" ] || fail "$page has no \`\`\`python block"
    mpi=$(marker "$page" run)
    if [ "$mpi" = mpi ] && [ -z "$mpirun" ]; then
        echo "check-tutorials: $name: SKIPPED: no mpirun on PATH (make deps installs openmpi-bin)"
        continue
    fi
    [ "$name" != "04-text-classification" ] || corpus "$work"
    if [ "$mpi" = mpi ]; then
        [ -e "$build/libbigmodel-mpi.so" ] || fail "$name needs $build/libbigmodel-mpi.so (mpicc)"
        mpicc -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -I"$root/include" \
            -o "$work/prog" "$work/$name.c" -L"$build" -Wl,-rpath,"$build" \
            -lbigmodel-mpi -lbigmodel -lm || fail "$name.c does not build"
        OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
        OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
        OMPI_MCA_plm_rsh_agent=${OMPI_MCA_plm_rsh_agent:-false}
        export OMPI_MCA_btl OMPI_MCA_btl_vader_single_copy_mechanism OMPI_MCA_plm_rsh_agent
        launch="timeout 120 $mpirun --allow-run-as-root --oversubscribe -np 2"
    else
        cc -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -I"$root/include" \
            -o "$work/prog" "$work/$name.c" -L"$build" -Wl,-rpath,"$build" -lbigmodel -lm \
            || fail "$name.c does not build"
        launch="timeout 120"
    fi
    start=$(date +%s)
    rc=0
    (cd "$work" && BIGMODEL_TUTORIAL_QUICK=1 $launch ./prog > c.log 2>&1) || rc=$?
    [ $rc -eq 0 ] || { cat "$work/c.log"; fail "$name.c exited with status $rc"; }
    check_output "$name.c ($(($(date +%s) - start)) s)" "$work/c.log" c "$page"
    start=$(date +%s)
    (cd "$work" && BIGMODEL_TUTORIAL_QUICK=1 BIGMODEL_LIBRARY="$build/libbigmodel.so" \
        PYTHONPATH="$root/bindings/python" $launch "$python" "$name.py" > py.log 2>&1) || rc=$?
    [ $rc -eq 0 ] || { cat "$work/py.log"; fail "$name.py exited with status $rc"; }
    check_output "$name.py ($(($(date +%s) - start)) s)" "$work/py.log" python "$page"
done
echo "check-tutorials: every page ran, C and Python, in $(($(date +%s) - total_start)) s"
