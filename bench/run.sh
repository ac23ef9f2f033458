#!/usr/bin/env bash
# Runs the workloads of issue 4 (see bench/README.md) for uvpg
# (bench/uvpg_bench), for pgbench (the libpq ceiling, -M prepared) and
# for asyncpg with uvloop (bench/asyncpg_bench.py), interleaved, each
# BENCH_REPEAT times; prints medians with min-max and the ratios
# uvpg/pgbench and uvpg/asyncpg (and for W1p, the pool, uvpg-pool /
# uvpg-direct), and writes the same as markdown (results.md) and a chart
# (results.svg, gnuplot) into BENCH_OUT.  W1q (uvpg only) prints the
# pool's per-call latencies, p50 and p99, medians over the runs.
#
# Needs the throwaway cluster of scripts/with-server.sh (`make bench`
# starts one): UVPG_TEST_SOCKDIR and UVPG_TEST_PORT, user uvpg, trust
# over the unix socket, which every client uses.  Numbers are for
# comparison on one machine, never asserted.
#
# Environment:
#   BENCH_SECONDS  length of each timed run (W1, W2, W4), default 3
#   BENCH_REPEAT   runs of every (workload, client), default 3
#   BENCH_W3_ROWS  rows W3 inserts, default 100000
#   BENCH_W5_ROWS  rows W5 streams, default 10000000
#   BENCH_W6_COUNT notifications W6 and W6q send, default 100000
#   BENCH_BIN      the uvpg program, default bench/uvpg_bench
#   BENCH_PYTHON   a python3 that imports asyncpg and uvloop
#   BENCH_OUT      where results.md and results.svg go, default the
#                  directory of this script
# As root, missing python3-asyncpg, python3-uvloop and gnuplot-nox are
# installed with apt-get; otherwise asyncpg or the chart is skipped.
set -euo pipefail

if [[ -z ${UVPG_TEST_SOCKDIR:-} || -z ${UVPG_TEST_PORT:-} ]]; then
  echo "bench: needs the throwaway cluster's socket: run 'make bench'" \
    "with UVPG_DSN and PG* unset" >&2
  exit 1
fi

here=$(cd "$(dirname "$0")" && pwd -P)
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
REPEAT=${BENCH_REPEAT:-3}
export BENCH_W3_ROWS=${BENCH_W3_ROWS:-100000}
export BENCH_W5_ROWS=${BENCH_W5_ROWS:-10000000}
export BENCH_W6_COUNT=${BENCH_W6_COUNT:-100000}
bench=${BENCH_BIN:-bench/uvpg_bench}
out=${BENCH_OUT:-$here}
if [[ ! -w $out ]]; then
  echo "bench: $out is not writable; results go to $(pwd)" >&2
  out=.
fi

bindir=$(pg_config --bindir 2>/dev/null || true)
pgtool() { # the path of a PostgreSQL client program
  local p all
  p=$(command -v "$1" || echo "$bindir/$1")
  if [[ ! -x $p ]]; then
    all=(/usr/lib/postgresql/*/bin/"$1")
    p=${all[-1]}
  fi
  echo "$p"
}
pgbench=$(pgtool pgbench)
psql=$(pgtool psql)

# Every client reaches the server over the unix socket as user uvpg.
conninfo="host=$UVPG_TEST_SOCKDIR port=$UVPG_TEST_PORT user=uvpg dbname=postgres"
dsn="postgresql://uvpg@/postgres?host=$UVPG_TEST_SOCKDIR&port=$UVPG_TEST_PORT"
pgconn=(-h "$UVPG_TEST_SOCKDIR" -p "$UVPG_TEST_PORT" -U uvpg postgres)

# ---- optional tools: asyncpg + uvloop, gnuplot ----

# Installs Debian packages when root with apt-get; false otherwise.
apt_install() {
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
  echo "bench: apt-get install $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q "$@" >&2; }
}

# A python3 that imports asyncpg and uvloop (Debian's packages go with
# /usr/bin/python3, which may not be the first python3 on PATH).
find_python() {
  local py
  for py in ${BENCH_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null &&
      "$py" -c 'import asyncpg, uvloop' 2>/dev/null; then
      echo "$py"
      return 0
    fi
  done
  return 1
}
python=$(find_python) ||
  { apt_install python3-asyncpg python3-uvloop && python=$(find_python); } ||
  python=""
if [[ -z $python ]]; then
  echo "bench: asyncpg skipped: no python3 with asyncpg and uvloop" \
    "(as root: apt-get install python3-asyncpg python3-uvloop)" >&2
fi

gnuplot=$(command -v gnuplot) ||
  { apt_install gnuplot-nox && gnuplot=$(command -v gnuplot); } ||
  gnuplot=""
if [[ -z $gnuplot ]]; then
  echo "bench: chart skipped: no gnuplot (as root: apt-get install" \
    "gnuplot-nox)" >&2
fi

# ---- setup: the W4 table, the pgbench scripts ----

"$psql" -X -q -v ON_ERROR_STOP=1 -f "$here/setup.sql" "${pgconn[@]}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The same SQL as uvpg_bench.cc and asyncpg_bench.py; W1c's reference
# is pgbench's pipeline, 100 statements per batch on one connection.
printf '\\set id random(1, 1000000)\nSELECT :id::int;\n' >"$tmp/point.sql"
{
  printf '\\set id random(1, 1000000)\n\\startpipeline\n'
  for ((i = 0; i < 100; i++)); do printf 'SELECT :id::int;\n'; done
  printf '\\endpipeline\n'
} >"$tmp/pipeline.sql"
printf 'SELECT i, i::text, now(), i*1.5::float8 FROM generate_series(1,1000) i;\n' \
  >"$tmp/rows.sql"
printf 'SELECT id, doc FROM bench_w4;\n' >"$tmp/json.sql"

# ---- one run of a (workload, client): prints "<per-second> [rss kB]" ----

# pgbench: SCRIPT CLIENTS THREADS MULTIPLIER -> statements or rows per
# second (transactions per second times what one transaction does).
pgbench_rate() {
  "$pgbench" -n -M prepared -f "$tmp/$1" -c "$2" -j "$3" \
    -T "$SECONDS_PER_RUN" "${pgconn[@]}" 2>/dev/null |
    awk -v m="$4" '/^tps = / {printf "%.0f\n", $3 * m; exit}'
}

# Prints nothing when the client has no such workload; fails when the
# run fails (exit 3 of a program: it lacks what the workload needs).
# pipefail makes a pipeline fail with the program's status.
run_one() {
  local client=$1 w=$2
  case $client in
  uvpg)
    "$bench" "$w" "$SECONDS_PER_RUN" "$conninfo" | awk '{print $4, $5}'
    ;;
  asyncpg)
    # asyncpg's W1b already goes through its pool (pool.fetchval): W1p
    # takes its figures from there (below), rather than run it twice.
    [[ $w != W1p ]] || return 0
    "$python" "$here/asyncpg_bench.py" "$w" "$SECONDS_PER_RUN" "$dsn" |
      awk '{print $4, $5}'
    ;;
  pgbench)
    case $w in
    W1a) pgbench_rate point.sql 1 1 1 ;;
    W1b) pgbench_rate point.sql 8 2 1 ;;
    W1p) ;; # -c8 -j2, as W1b: taken from there (below)
    W1c) pgbench_rate pipeline.sql 1 1 100 ;;
    W2) pgbench_rate rows.sql 8 2 1000 ;;
    W4) pgbench_rate json.sql 8 2 1000 ;;
    esac
    ;;
  esac
}

workloads=(W1a W1b W1p W1c W2 W3a W3b W4 W5 W6 W6q)
clients=(uvpg pgbench)
[[ -z $python ]] || clients+=(asyncpg)

declare -A vals=() skip=() qvals=()
qnames=()
for ((r = 1; r <= REPEAT; r++)); do
  echo "bench: run $r of $REPEAT" >&2
  for w in "${workloads[@]}"; do
    for client in "${clients[@]}"; do
      [[ -z ${skip[$w:$client]:-} ]] || continue
      rc=0
      line=$(run_one "$client" "$w") || rc=$?
      if ((rc != 0)); then
        # Said once; a workload a client cannot run is not retried.
        if ((rc == 3)); then
          echo "bench: $client $w: not in this build; left out" >&2
        else
          echo "bench: $client $w failed (exit $rc); left out" >&2
        fi
        skip[$w:$client]=1
        continue
      fi
      read -r rate extra <<<"$line" || true
      [[ -n ${rate:-} ]] || continue
      vals[$w:$client]+="$rate "
      # W5's second figure is its peak RSS; W6's and W6q's the rate from
      # the first notification received to the last.
      if [[ -n ${extra:-} ]]; then
        case $w in
        W5) vals[W5rss:$client]+="$extra " ;;
        W6 | W6q) vals[${w}r:$client]+="$extra " ;;
        esac
      fi
    done
  done
  # W1q: the pool's own cost per call, one caller (uvpg only).  Lines
  # "W1q-<variant> <count> <s> <per s> <p50 us> <p99 us> <turns/call>".
  if [[ -z ${skip[W1q:uvpg]:-} ]]; then
    rc=0
    out_q=$("$bench" W1q "$SECONDS_PER_RUN" "$conninfo") || rc=$?
    if ((rc != 0)); then
      echo "bench: uvpg W1q failed (exit $rc); left out" >&2
      skip[W1q:uvpg]=1
    else
      while read -r name _ _ _ p50 p99 turns; do
        name=${name#W1q-}
        [[ " ${qnames[*]:-} " == *" $name "* ]] || qnames+=("$name")
        qvals[$name:p50]+="$p50 "
        qvals[$name:p99]+="$p99 "
        qvals[$name:turns]+="$turns "
      done <<<"$out_q"
    fi
  fi
done
# pgbench's and asyncpg's W1p are their W1b: pgbench -c8 -j2, asyncpg's
# pool of 8.
for client in pgbench asyncpg; do
  [[ -z ${vals[W1b:$client]:-} ]] || vals[W1p:$client]=${vals[W1b:$client]}
done

# ---- the table ----

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }
lo() { tr ' ' '\n' | grep . | sort -n | head -1; }
hi() { tr ' ' '\n' | grep . | sort -n | tail -1; }
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# 37204 -> 37.2k, 2373193 -> 2.37M, 10000000 -> 10M: three
# significant digits.
human() {
  awk -v x="$1" 'BEGIN {
    s = ""; if (x >= 1e6) {x /= 1e6; s = "M"} else if (x >= 1e3) {x /= 1e3; s = "k"}
    t = sprintf(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x)
    if (t ~ /\./) sub(/\.?0+$/, "", t); print t s }'
}

unit() {
  case $1 in
  W1*) echo "queries/s" ;;
  W5rss) echo "MB, lower is better" ;;
  W6*) echo "notifications/s" ;;
  *) echo "rows/s" ;;
  esac
}
describe() {
  case $1 in
  W1a) echo "point, 1 conn, sequential" ;;
  W1b) echo "point, 32 callers / 8 conns" ;;
  W1p) echo "point, 32 callers / pool of 8" ;;
  W1c) echo "point, 32 callers / 1 conn" ;;
  W2) echo "1000 rows x 4 columns, 8 conns" ;;
  W3a) echo "insert $(human "$BENCH_W3_ROWS") rows, executemany" ;;
  W3b) echo "insert $(human "$BENCH_W3_ROWS") rows, COPY" ;;
  W4) echo "1000 jsonb docs of ~1 KB, 8 conns" ;;
  W5) echo "stream $(human "$BENCH_W5_ROWS") rows, cursor" ;;
  W5rss) echo "W5 peak RSS" ;;
  W6) echo "$(human "$BENCH_W6_COUNT") notifications, handler, send to last" ;;
  W6r) echo "W6, first to last received" ;;
  W6q) echo "$(human "$BENCH_W6_COUNT") notifications, queue get(), send to last" ;;
  W6qr) echo "W6q, first to last received" ;;
  esac
}

rows=(W1a W1b W1p W1c W2 W3a W3b W4 W5 W5rss W6 W6r W6q W6qr)
declare -A med=()
for w in "${rows[@]}"; do
  for client in uvpg pgbench asyncpg; do
    v=${vals[$w:$client]:-}
    [[ -z $v ]] || med[$w:$client]=$(median <<<"$v")
  done
done

printf '%-6s %-8s %12s %21s %13s %13s\n' workload client median min-max \
  uvpg/pgbench uvpg/asyncpg
for w in "${rows[@]}"; do
  for client in uvpg pgbench asyncpg; do
    v=${vals[$w:$client]:-}
    [[ -n $v ]] || continue
    r1="" r2=""
    if [[ $client == uvpg ]]; then
      r1=$(ratio "${med[$w:uvpg]}" "${med[$w:pgbench]:-}") || true
      r2=$(ratio "${med[$w:uvpg]}" "${med[$w:asyncpg]:-}") || true
    fi
    printf '%-6s %-8s %12s %21s %13s %13s\n' "$w" "$client" \
      "${med[$w:$client]}" "$(lo <<<"$v")-$(hi <<<"$v")" "$r1" "$r2"
  done
done
echo "(W1 queries/s, W2-W5 rows/s, W5rss kB, W6 notifications/s; median of $REPEAT interleaved" \
  "runs, timed ones $SECONDS_PER_RUN s; pgbench -M prepared, W1c pipelined" \
  "100 per batch; unix socket; W1p's pgbench and asyncpg are W1b's)"
# The pool against direct connections (the issue's target: >= 0.90).
pool_direct=$(ratio "${med[W1p:uvpg]:-}" "${med[W1b:uvpg]:-}") || pool_direct=""
pool_pgbench=$(ratio "${med[W1p:uvpg]:-}" "${med[W1p:pgbench]:-}") || pool_pgbench=""
[[ -z $pool_direct ]] || echo "W1p uvpg-pool/uvpg-direct (W1p/W1b): $pool_direct;" \
  "uvpg-pool/pgbench -c8: ${pool_pgbench:--}"

# W1q: medians of p50 and p99 (microseconds) and of loop turns per call.
if ((${#qnames[@]})); then
  printf '%-24s %10s %10s %11s\n' "W1q (1 caller)" "p50 us" "p99 us" "turns/call"
  for q in "${qnames[@]}"; do
    printf '%-24s %10s %10s %11s\n' "$q" "$(median <<<"${qvals[$q:p50]}")" \
      "$(median <<<"${qvals[$q:p99]}")" "$(median <<<"${qvals[$q:turns]}")"
  done
fi

# ---- results.md ----

# The table's first column: W5rss is W5's, W6r W6's, W6qr W6q's.
row_name() {
  case $1 in
  W5rss) echo W5 ;;
  W6r) echo W6 ;;
  W6qr) echo W6q ;;
  *) echo "$1" ;;
  esac
}

cell() { # median (min-max) of a (workload, client), human-readable
  local v=${vals[$1:$2]:-} f=human
  [[ -n $v ]] || { echo "-"; return; }
  [[ $1 != W5rss ]] || f=megabytes
  echo "$($f "${med[$1:$2]}") ($($f "$(lo <<<"$v")")–$($f "$(hi <<<"$v")"))"
}
megabytes() { awk -v x="$1" 'BEGIN {printf "%.1f", x / 1024}'; }

server_version=$("$psql" -X -A -t -c 'SHOW server_version' "${pgconn[@]}")
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
uvpg_rev=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)
peer="not measured (asyncpg missing)"
if [[ -n $python ]]; then
  peer=$("$python" -c 'import asyncpg, uvloop, sys
print("asyncpg %s, uvloop %s, Python %d.%d" % (asyncpg.__version__,
      uvloop.__version__, sys.version_info[0], sys.version_info[1]))')
fi
{
  echo "# uvpg benchmark results"
  echo
  echo "Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Median of $REPEAT interleaved runs per client, min–max in parentheses;"
  echo "W1, W2 and W4 run $SECONDS_PER_RUN s each, W3 and W5 to completion."
  echo "Every client talks to one throwaway cluster (fsync off) over the unix socket,"
  echo "on the same machine as the server."
  echo
  echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
  echo "- PostgreSQL $server_version; pgbench -M prepared (W1c: pipelined, 100 statements a batch)"
  echo "- uvpg $uvpg_rev; $peer"
  echo
  echo "| workload | what | unit | uvpg | asyncpg | pgbench | uvpg/pgbench | uvpg/asyncpg |"
  echo "|---|---|---|---:|---:|---:|---:|---:|"
  for w in "${rows[@]}"; do
    [[ -n ${vals[$w:uvpg]:-}${vals[$w:asyncpg]:-}${vals[$w:pgbench]:-} ]] || continue
    r1=$(ratio "${med[$w:uvpg]:-}" "${med[$w:pgbench]:-}") || r1="-"
    r2=$(ratio "${med[$w:uvpg]:-}" "${med[$w:asyncpg]:-}") || r2="-"
    echo "| $(row_name "$w") | $(describe "$w") | $(unit "$w") | $(cell "$w" uvpg)" \
      "| $(cell "$w" asyncpg) | $(cell "$w" pgbench) | $r1 | $r2 |"
  done
  echo
  echo "pgbench only runs the statements (libpq receives every row but decodes"
  echo "nothing): it is the ceiling of what a client can reach on this machine."
  echo "For W5 peak RSS a ratio below 1 means uvpg uses less memory."
  echo "W1p's pgbench and asyncpg figures are W1b's (pgbench -c8 -j2;"
  echo "asyncpg's W1b already uses its pool)."
  echo "W6 and W6q: another connection sends the notifications in one"
  echo "statement; the listener takes them through a handler (asyncpg's"
  echo "add_listener callback) or through the queue (uvpg's notifies().get(),"
  echo "asyncpg's callback feeding an asyncio.Queue); \"send to last\" includes"
  echo "the server's work on the sending statement, \"first to last received\""
  echo "is the receiving alone."
  [[ -z $pool_direct ]] || echo "The pool against direct connections," \
    "uvpg W1p / W1b: $pool_direct; against pgbench -c8: ${pool_pgbench:--}."
  if ((${#qnames[@]})); then
    echo
    echo "W1q, the pool's own cost per call (one caller, no contention;"
    echo "microseconds, median of the runs' p50 and p99):"
    echo
    echo "| variant | p50 µs | p99 µs | loop turns per call |"
    echo "|---|---:|---:|---:|"
    for q in "${qnames[@]}"; do
      echo "| $q | $(median <<<"${qvals[$q:p50]}") |" \
        "$(median <<<"${qvals[$q:p99]}") | $(median <<<"${qvals[$q:turns]}") |"
    done
  fi
  if [[ -n $gnuplot ]]; then
    echo
    echo "![uvpg, asyncpg and pgbench per workload](results.svg)"
  fi
} >"$out/results.md"
echo "bench: wrote $out/results.md" >&2

# ---- results.svg ----

if [[ -n $gnuplot ]]; then
  {
    echo "# workload uvpg asyncpg pgbench (medians; ? = not measured)"
    for w in W1a W1b W1p W1c W2 W3a W3b W4 W5 W6 W6q; do
      printf '%s' "$w"
      for client in uvpg asyncpg pgbench; do
        printf ' %s' "${med[$w:$client]:-?}"
      done
      echo
    done
  } >"$tmp/chart.dat"
  if "$gnuplot" -e "datafile='$tmp/chart.dat'; outfile='$out/results.svg'" \
    "$here/chart.gp" 2>"$tmp/gnuplot.log"; then
    echo "bench: wrote $out/results.svg" >&2
  else
    cat "$tmp/gnuplot.log" >&2
    echo "bench: the chart failed" >&2
  fi
fi
