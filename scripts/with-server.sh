#!/usr/bin/env bash
# Run a command with a PostgreSQL server available:
#   scripts/with-server.sh [--private] CMD ARGS...
#
# If UVPG_DSN is set (even to "") or any of PGHOST, PGPORT, PGDATABASE, PGUSER,
# PGSERVICE is set, that server is used as-is: UVPG_DSN is exported ("" if it
# was unset, so libpq falls back to its defaults and the PG* variables) and
# CMD runs directly.
#
# Otherwise a private throwaway cluster is started with t/pgcluster.sh, its
# variables (UVPG_DSN, UVPG_TEST_*) are exported, CMD runs, and the cluster is
# stopped and removed afterwards, also on failure or Ctrl-C. CMD's exit status
# is passed through.
#
# --private always starts a throwaway cluster, even when a server is named:
# for a test program that stops or restarts its server (t/run-test.sh).
set -euo pipefail

private=
if [[ ${1:-} == --private ]]; then
    private=1
    shift
fi
[[ $# -ge 1 ]] || { echo "usage: $0 [--private] CMD [ARGS...]" >&2; exit 2; }

if [[ -z $private ]] \
    && [[ -n ${UVPG_DSN+set} || -n ${PGHOST:-}${PGPORT:-}${PGDATABASE:-}${PGUSER:-}${PGSERVICE:-} ]]; then
    export UVPG_DSN=${UVPG_DSN:-}
    exec "$@"
fi

pgcluster="$(cd "$(dirname "$0")/.." && pwd -P)/t/pgcluster.sh"

# The socket path must fit in 107 bytes, so avoid long TMPDIRs.
tmpbase=${TMPDIR:-/tmp}
[[ ${#tmpbase} -le 60 && -d $tmpbase ]] || tmpbase=/tmp
cluster=$(mktemp -d "$tmpbase/uvpg-pg.XXXXXX")

# shellcheck disable=SC2317  # only reached via trap
cleanup() {
    trap - EXIT INT TERM
    "$pgcluster" stop "$cluster" || true
}
trap cleanup EXIT
# Signals: clean up, then die with the conventional 128+N status.
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# The startup banner goes to stderr so CMD's stdout stays clean.
"$pgcluster" start "$cluster" >&2
# shellcheck source=/dev/null
. "$cluster/env"

rc=0
"$@" || rc=$?
exit "$rc"
