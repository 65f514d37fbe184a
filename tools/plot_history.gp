# Training curves from the CSV that CSVLogger writes (bgm_callback_csv_logger,
# bigmodel.callbacks.CSVLogger), as a PNG: one panel per quantity named in the
# header ("loss" first, then each metric in header order), its "val_" twin on
# the same axes; epochs counted from 1; NA and nan cells leave gaps.
#
# usage: gnuplot -c tools/plot_history.gp HISTORY.csv OUT.png
#        (or sh tools/plot_history.sh HISTORY.csv [OUT.png])
#
# Needs gnuplot 5.4 (Debian's gnuplot-nox) with its pngcairo terminal. The
# image has 2 columns of 500 x 350 pixel panels (1 column for one quantity),
# as bigmodel.plot.history draws them. It prints the panels it drew.

if (ARGC != 2) {
    print "usage: gnuplot -c plot_history.gp HISTORY.csv OUT.png"
    exit status 2
}
csv = ARG1
png = ARG2

set datafile separator comma
set datafile columnheaders
set datafile missing "NA"

# The rows (stats leaves STATS_records undefined when it reads none).
stats csv using 1 nooutput
if (!exists("STATS_records") || STATS_records == 0) {
    print sprintf("plot_history.gp: %s: cannot read it, or no epoch rows under its header", csv)
    exit status 1
}
epochs = STATS_records
first = STATS_min + 1     # epochs counted from 1, as fit's progress lines
last = STATS_max + 1

# The header's names, read one column at a time (columnhead is "" past the end).
names = ""
do for [i = 1:256] {
    name = ""
    stats csv using (name = columnhead(i), 0) nooutput
    if (name eq "") { break }
    names = names . " " . name . " "
}
if (strstrt(names, " epoch ") == 0) {
    print sprintf("plot_history.gp: %s: the header has no epoch column (not a CSVLogger file?)", csv)
    exit status 1
}

# The quantities: each name without its "val_" prefix, once, "loss" first.
has(list, word) = strstrt(list, " " . word . " ") > 0
base(n) = n[1:4] eq "val_" ? n[5:] : n
quantities = has(names, "loss") || has(names, "val_loss") ? " loss " : ""
do for [n in names] {
    q = base(n)
    if (q ne "epoch" && !has(quantities, q)) { quantities = quantities . " " . q . " " }
}
count = words(quantities)
if (count == 0) {
    print sprintf("plot_history.gp: %s: no column besides epoch to plot", csv)
    exit status 1
}
cols = count > 1 ? 2 : 1
rows = (count + cols - 1) / cols

set terminal pngcairo size cols * 500, rows * 350 font ",9"
set output png
set multiplot layout rows, cols
set xlabel "epoch"
set grid lc rgb "#dddddd"
set key outside bottom center horizontal samplen 2
set bmargin 5                    # room for the key under the epoch label
set style data linespoints
set xtics ceil(epochs / 10.0)   # whole epochs, at most about 10 ticks
set xrange [first - 0.3 : last + 0.3]
set offsets 0, 0, graph 0.05, graph 0.05
set linetype 1 lc rgb "#1f77b4"   # matplotlib's first two colours, as bigmodel.plot
set linetype 2 lc rgb "#ff7f0e"
drawn = ""
do for [q in quantities] {
    train = has(names, q) ? q : ""
    val = has(names, "val_" . q) ? "val_" . q : ""
    set title q font ",11"
    if (train ne "" && val ne "") {
        plot csv using ($1 + 1):(column(train)) title "train" pt 7 ps 0.5 lw 1.5, \
             csv using ($1 + 1):(column(val)) title "validation" pt 7 ps 0.5 lw 1.5
        drawn = drawn . sprintf(", %s (train, validation)", q)
    } else {
        plot csv using ($1 + 1):(column(train . val)) \
             title (train ne "" ? "train" : "validation") pt 7 ps 0.5 lw 1.5
        drawn = drawn . sprintf(", %s (%s)", q, train ne "" ? "train" : "validation")
    }
}
unset multiplot
set output
print sprintf("plot_history.gp: %s: %s", png, drawn[3:])
