#!/bin/sh
# Do two runs of `make bench` agree? Compares, row by row (kernel path and
# workload), the ROW lines two runs appended to their BENCH_SUMMARY files:
# each side's median rate and the median ratio of the second run against the
# first. A row agrees when all three differ by at most TOLERANCE % (10); the
# exit status is 0 when every row present in both runs agrees.
#
#     BENCH_SUMMARY=run1.txt make bench; BENCH_SUMMARY=run2.txt make bench
#     sh test/bench/compare_runs.sh run1.txt run2.txt [TOLERANCE]
set -u
[ $# -ge 2 ] || { echo "usage: compare_runs.sh RUN1 RUN2 [TOLERANCE]" >&2; exit 2; }
. "$(dirname "$0")/bench_lib.sh"
awk -v tol="${3:-10}" "$bench_awk_val"'
    # Percent change from a to b, "-" when either is missing.
    function change(a, b) { return (a == "-" || b == "-" || a + 0 == 0) ? "-" : 100 * (b / a - 1) }
    function cell(c) {
        if (c == "-") return "-"
        if (c > tol || c < -tol) bad = 1
        return sprintf("%+.1f%%", c)
    }
    FNR == 1 { file++ }
    $1 == "ROW" {
        key = val("isa") " " val("name")
        if (file == 1) {
            if (!(key in a_lib)) order[++n] = key
            a_lib[key] = val("lib"); a_torch[key] = val("torch"); a_ratio[key] = val("ratio")
        } else {
            b_lib[key] = val("lib"); b_torch[key] = val("torch"); b_ratio[key] = val("ratio")
        }
    }
    END {
        printf "%-30s %10s %10s %10s  %s\n", "path workload", "lib", "torch", "ratio",
               "(run 2 against run 1)"
        for (i = 1; i <= n; i++) {
            k = order[i]
            if (!(k in b_lib)) { printf "%-30s only in the first run\n", k; continue }
            bad = 0
            l = cell(change(a_lib[k], b_lib[k])); t = cell(change(a_torch[k], b_torch[k]))
            r = cell(change(a_ratio[k], b_ratio[k]))
            printf "%-30s %10s %10s %10s  %s\n", k, l, t, r, (bad ? "DIFFER" : "agree")
            rows++; if (bad) differ++
        }
        printf "%d of %d rows agree within +-%s%%\n", rows - differ, rows, tol
        exit differ > 0
    }' "$1" "$2"
