# The chart of bench/results.md: per workload, the median throughput of
# uvpg, asyncpg + uvloop and pgbench as clustered bars on a log scale
# (the workloads count queries or rows, so their scales differ by
# orders of magnitude).  bench/run.sh calls it as
#   gnuplot -e "datafile='chart.dat'; outfile='results.svg'" chart.gp
# with lines of "<workload> <uvpg> <asyncpg> <pgbench>", "?" for a
# client that did not run the workload.

if (!exists("datafile")) datafile = 'chart.dat'
if (!exists("outfile")) outfile = 'results.svg'

set terminal svg size 900,460 dynamic enhanced font "sans,12" background rgb "white"
set output outfile

set title "uvpg vs asyncpg + uvloop vs pgbench (median, higher is better)"
set datafile missing "?"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9 relative
set logscale y 10
set format y "10^{%L}"
set yrange [1e3:*]
set grid ytics
set key top left horizontal
set xlabel "W1: queries/s (a: 1 conn, b: 32 callers / 8 conns, c: 32 callers / 1 conn, pgbench pipelined);  W2–W5: rows/s;  W6: notifications/s" font ",10"
set ylabel "per second (log scale)"

plot datafile using 2:xtic(1) title "uvpg" lc rgb "#1f6fb4", \
     '' using 3 title "asyncpg + uvloop" lc rgb "#f28e2b", \
     '' using 4 title "pgbench -M prepared" lc rgb "#8c8c8c"
