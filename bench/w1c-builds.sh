#!/usr/bin/env bash
# W1c (32 callers on one connection, pipelined) of several builds against
# pgbench's pipelined figure and libpq alone in W1c's shape
# (bench/libpq_pipeline.c, a Sync after every statement as uvpg, and
# after every 100 as pgbench), interleaved; then the writes each build
# makes (strace -c -e sendto).  See bench/results-libpq17.md.
#
#   make -C build bench/uvpg_bench; make -C build-pq17 bench/uvpg_bench
#   PKG_CONFIG_PATH=$PWD/.libpq17/prefix/lib/pkgconfig \
#     scripts/with-server.sh bench/w1c-builds.sh build build-pq17
#
# BENCH_SECONDS (3) per run, BENCH_REPEAT (5) runs; the strace run is
# BENCH_STRACE_SECONDS (1) long.  Prints one line per run, then medians.
set -euo pipefail

if [[ -z ${UVPG_TEST_SOCKDIR:-} || -z ${UVPG_TEST_PORT:-} ]]; then
  echo "w1c-builds: run it under scripts/with-server.sh" >&2
  exit 1
fi
(($#)) || { echo "usage: $0 BUILDDIR..." >&2; exit 2; }
secs=${BENCH_SECONDS:-3}
repeat=${BENCH_REPEAT:-5}
conninfo="host=$UVPG_TEST_SOCKDIR port=$UVPG_TEST_PORT user=uvpg dbname=postgres"
pgconn=(-h "$UVPG_TEST_SOCKDIR" -p "$UVPG_TEST_PORT" -U uvpg postgres)
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# As bench/run.sh: 100 statements between \startpipeline and \endpipeline.
{
  printf '\\set id random(1, 1000000)\n\\startpipeline\n'
  for ((i = 0; i < 100; i++)); do printf 'SELECT :id::int;\n'; done
  printf '\\endpipeline\n'
} >"$tmp/pipeline.sql"

here=$(cd "$(dirname "$0")" && pwd -P)
# Against the libpq pkg-config finds (PKG_CONFIG_PATH=.libpq17/prefix/lib/pkgconfig
# for libpq 17's), run from its own directory.
libpq_dir=$(pkg-config --variable=libdir libpq)
# shellcheck disable=SC2046  # pkg-config's flags are words
cc -O2 -o "$tmp/libpq_pipeline" "$here/libpq_pipeline.c" $(pkg-config --cflags --libs libpq) \
  -Wl,-rpath,"$libpq_dir"
echo "libpq alone: $(pkg-config --modversion libpq)"

declare -A vals=()
for ((r = 1; r <= repeat; r++)); do
  for e in 1 100; do
    v=$("$tmp/libpq_pipeline" "$conninfo" "$secs" "$e" | awk '{print $4}')
    vals[libpq-sync-every-$e]+="$v "
    echo "run $r: libpq-sync-every-$e $v"
  done
  for b in "$@"; do
    v=$("$b/bench/uvpg_bench" W1c "$secs" "$conninfo" | awk '{print $4}')
    vals[$b]+="$v "
    echo "run $r: $b $v"
  done
  v=$("$pgbench" -n -M prepared -f "$tmp/pipeline.sql" -c 1 -j 1 -T "$secs" \
    "${pgconn[@]}" 2>/dev/null | awk '/^tps = / {printf "%.0f\n", $3 * 100; exit}')
  vals[pgbench]+="$v "
  echo "run $r: pgbench $v"
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
pg=$(median <<<"${vals[pgbench]}")
echo "pgbench (pipelined, 100 a batch): median $pg statements/s"
for b in libpq-sync-every-1 libpq-sync-every-100 "$@"; do
  m=$(median <<<"${vals[$b]}")
  echo "$b: median $m statements/s, $(awk -v a="$m" -v b="$pg" 'BEGIN {printf "%.2f", a / b}') x pgbench"
done
if command -v strace >/dev/null; then
  for b in "$@"; do
    n=$(strace -f -c -e trace=sendto -o "$tmp/strace" "$b/bench/uvpg_bench" W1c \
      "${BENCH_STRACE_SECONDS:-1}" "$conninfo" | awk '{print $2}')
    calls=$(awk '$NF == "sendto" {print $4}' "$tmp/strace")
    echo "$b: $n statements in $calls sendto calls (under strace)"
  done
else
  echo "w1c-builds: no strace, no sendto count" >&2
fi
