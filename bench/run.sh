#!/usr/bin/env bash
# Runs the issue-4 workloads that uvpg can run today, for uvpg and for
# pgbench (the libpq ceiling, -M prepared), interleaved, each REPEAT
# times, and prints medians with min-max and the ratio uvpg/pgbench.
# Needs a server (make bench starts a throwaway one): UVPG_DSN and the
# UVPG_TEST_* variables of t/pgcluster.sh.  Unix socket, as the issue
# says.  Numbers are for comparison on one machine, never asserted.
set -euo pipefail

if [[ -z ${UVPG_TEST_SOCKDIR:-} ]]; then
  echo "bench: needs the throwaway cluster's socket: run 'make bench'" \
    "with UVPG_DSN and PG* unset" >&2
  exit 1
fi

SECONDS_PER_RUN=${BENCH_SECONDS:-5}
REPEAT=${BENCH_REPEAT:-3}
bench=${BENCH_BIN:-bench/uvpg_bench}
bindir=$(pg_config --bindir 2>/dev/null || true)
pgbench=$(command -v pgbench || echo "$bindir/pgbench")
[[ -x $pgbench ]] || pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench | tail -1)

sock="host=$UVPG_TEST_SOCKDIR port=$UVPG_TEST_PORT user=uvpg dbname=postgres"
script=$(mktemp)
trap 'rm -f "$script"' EXIT
printf '\\set id random(1, 1000000)\nSELECT :id::int;\n' >"$script"

# pgbench -c N -j J: transactions per second, one statement each.
pgbench_tps() {
  "$pgbench" -n -M prepared -f "$script" -c "$1" -j "$2" \
    -T "$SECONDS_PER_RUN" -h "$UVPG_TEST_SOCKDIR" -p "$UVPG_TEST_PORT" \
    -U uvpg postgres 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | cut -d. -f1
}

uvpg_ops() {
  "$bench" "$1" "$SECONDS_PER_RUN" "$sock" | awk '{print $4}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }

declare -A results
for ((i = 1; i <= REPEAT; i++)); do
  results[W1a_uvpg]+="$(uvpg_ops W1a) "
  results[W1a_pgbench]+="$(pgbench_tps 1 1) "
  results[W1b_uvpg]+="$(uvpg_ops W1b) "
  results[W1b_pgbench]+="$(pgbench_tps 8 2) "
  results[W1c_uvpg]+="$(uvpg_ops W1c) "
  results[W2_uvpg]+="$(uvpg_ops W2) "
done

printf '%-6s %-10s %12s %22s %10s\n' workload client median min-max \
  uvpg/pgbench
for w in W1a W1b W1c W2; do
  for client in uvpg pgbench; do
    vals=${results[${w}_$client]:-}
    [[ -n $vals ]] || continue
    med=$(tr ' ' '\n' <<<"$vals" | grep . | median)
    rng=$(tr ' ' '\n' <<<"$vals" | grep . | range)
    ratio=""
    if [[ $client == uvpg && -n ${results[${w}_pgbench]:-} ]]; then
      pmed=$(tr ' ' '\n' <<<"${results[${w}_pgbench]}" | grep . | median)
      ratio=$(awk -v a="$med" -v b="$pmed" 'BEGIN {printf "%.2f", a / b}')
    fi
    printf '%-6s %-10s %12s %22s %10s\n' "$w" "$client" "$med" "$rng" "$ratio"
  done
done
echo "(ops/s; W2 in rows/s; ${REPEAT} runs of ${SECONDS_PER_RUN} s each," \
  "interleaved; pgbench -M prepared over the unix socket)"
