#!/usr/bin/env bash
# The soak of issue 12 against a private throwaway cluster:
#
#   scripts/soak.sh [SECONDS [PROGRAM [ARG...]]]
#
# runs PROGRAM (default build/bench/soak) with --seconds SECONDS (default
# 600) and ARGs under scripts/with-server.sh --private, with
# UVPG_SOAK_PGCTL naming this script's --pgctl mode, through which the
# program stops and starts that cluster.  The program prints its summary;
# this script adds "soak: crashes: N".  Exit status: the program's (0
# pass, 1 a hang or a write lost or misreported, 2 setup), 3 when it
# died of a signal.
#
#   scripts/soak.sh --pgctl stop fast|immediate
#   scripts/soak.sh --pgctl start
#
# pg_ctl on the cluster of UVPG_TEST_CLUSTER (set by with-server.sh), as
# its owner, with the binaries that started it (postmaster.opts).  It
# lives here, not in t/pgcluster.sh, because that script's "ctl" has no
# stop mode.
set -euo pipefail

self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"
srcdir=$(dirname "$(dirname "$self")")

die() { echo "soak.sh: error: $*" >&2; exit 2; }

pgctl() {
    local dir=${UVPG_TEST_CLUSTER:?UVPG_TEST_CLUSTER is not set} postgres owner
    [[ -f $dir/data/postmaster.opts ]] || die "$dir/data has no postmaster.opts"
    read -r postgres _ <"$dir/data/postmaster.opts"
    local args=("$(dirname "$postgres")/pg_ctl" -D "$dir/data" -w -t 60 -s)
    case ${1:-}/${2:-} in
        stop/fast | stop/immediate) args+=(-m "$2" stop) ;;
        start/) args+=(-l "$dir/server.log" start) ;;
        *) die "usage: $0 --pgctl stop fast|immediate | start" ;;
    esac
    owner=$(stat -c %U "$dir/data")
    if [[ $(id -u) -eq 0 && $owner != root ]]; then
        (cd "$dir" && runuser -u "$owner" -- "${args[@]}")
    else
        (cd "$dir" && "${args[@]}")
    fi
}

inner() {
    local rc=0 crashes=0
    export UVPG_SOAK_PGCTL="'$self' --pgctl"
    echo "soak: $* (server ${UVPG_TEST_CLUSTER:-?})" >&2
    "$@" || rc=$?
    if ((rc > 128)); then
        crashes=1
        echo "soak: CRASH: $1 died of signal $((rc - 128))"
    fi
    echo "soak: crashes: $crashes"
    if ((rc != 0)) && [[ -f ${UVPG_TEST_CLUSTER:-}/server.log ]]; then
        echo "---- tail of server.log ----" >&2
        tail -n 30 "$UVPG_TEST_CLUSTER/server.log" >&2
    fi
    ((crashes == 0)) || exit 3
    exit "$rc"
}

case ${1:-} in
    --pgctl) shift; pgctl "$@"; exit ;;
    --inner) shift; inner "$@" ;;
esac

seconds=${1:-600}
prog=${2:-$srcdir/build/bench/soak}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || die "SECONDS must be a positive number: $seconds"
[[ -x $prog ]] || die "$prog is not built (make -C build bench/soak)"
# An absolute path: the program runs from wherever with-server.sh is.
prog=$(cd "$(dirname "$prog")" && pwd -P)/$(basename "$prog")
exec "$srcdir/scripts/with-server.sh" --private "$self" --inner "$prog" \
    --seconds "$seconds" "${@:3}"
