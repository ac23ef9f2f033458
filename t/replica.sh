#!/usr/bin/env bash
# A throwaway primary and streaming standby for the replica tests.
#
#   t/replica.sh start DIR            a primary (t/pgcluster.sh) in DIR/primary with
#                                     replication on, a standby (pg_basebackup -R) in
#                                     DIR/standby on its own free port, streaming;
#                                     writes DIR/env
#   t/replica.sh ctl DIR primary|standby stop|kill|start
#                                     pg_ctl stop -m fast, -m immediate, or start
#   t/replica.sh promote DIR          pg_ctl promote on the standby
#   t/replica.sh stop DIR             stop both servers and remove DIR
#   t/replica.sh run CMD [ARGS...]    start in a temporary DIR, run CMD with DIR/env
#                                     exported, stop (also on failure or a signal)
#
# DIR/env exports what t/pgcluster.sh's env does for the primary, and
# UVPG_DSN naming both servers (host=127.0.0.1,127.0.0.1 port=P,S),
# UVPG_PRIMARY_DSN, UVPG_STANDBY_DSN, UVPG_REPLICA_SH (this script) and
# UVPG_REPLICA_DIR.  The servers run as the owner of the primary's
# directory (t/pgcluster.sh's OS user when root), with its binaries.
set -euo pipefail

readonly MARKER=.uvpg-replica

prog=$(basename "$0")
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
pgcluster="$here/pgcluster.sh"

unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE \
      PGSERVICE PGSERVICEFILE PGOPTIONS PGDATA PGSSLMODE PGTARGETSESSIONATTRS

die() { echo "$prog: error: $*" >&2; exit 1; }
usage() {
    echo "usage: $prog start DIR | ctl DIR primary|standby stop|kill|start |" \
         "promote DIR | stop DIR | run CMD [ARGS...]" >&2
    exit 2
}

# The server binaries of the primary (postmaster.opts names them).
find_bindir() {
    local postgres
    postgres=$(sed -E 's/^"?([^" ]+)"?.*/\1/;q' "$dir/primary/data/postmaster.opts" 2>/dev/null) \
        || die "$dir/primary has never run"
    dirname "$postgres"
}

# Runs a server-side command as the owner of the primary's directory.
as_owner() {
    local owner
    owner=$(stat -c %U "$dir/primary")
    if [[ $(id -u) -eq 0 && $owner != root ]]; then
        (cd "$dir" && runuser -u "$owner" -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

abs_dir() { (cd "$1" 2>/dev/null && pwd -P) || die "no such directory: $1"; }

# Stops the standby at once (immediate), if it runs.
kill_standby() {
    local pid
    [[ -f $dir/standby/data/postmaster.pid ]] || return 0
    as_owner "$bindir/pg_ctl" -D "$dir/standby/data" -m immediate -w -t 30 -s stop \
        >/dev/null 2>&1 || true
    [[ -f $dir/standby/data/postmaster.pid ]] || return 0
    pid=$(head -n 1 "$dir/standby/data/postmaster.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]]; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

cmd_start() {
    mkdir -p "$dir" || die "cannot create $dir"
    dir=$(abs_dir "$dir")
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
    : >"$dir/$MARKER"
    chmod 755 "$dir"
    trap 'rc=$?; [[ $rc -eq 0 ]] || { cat "$dir/standby/server.log" >&2 2>/dev/null; cmd_stop; }; exit $rc' EXIT

    "$pgcluster" start "$dir/primary" >&2
    # shellcheck source=/dev/null
    . "$dir/primary/env"
    local pconf=$dir/primary/data/postgresql.conf
    cat >>"$pconf" <<EOF

# --- uvpg replica tests (t/replica.sh) ---
wal_level = replica
max_wal_senders = 10
hot_standby = on
wal_keep_size = '128MB'
EOF
    echo "host replication $UVPG_TEST_USER 127.0.0.1/32 scram-sha-256" \
        >>"$dir/primary/data/pg_hba.conf"
    "$pgcluster" ctl "$dir/primary" restart >&2
    bindir=$(find_bindir)

    mkdir "$dir/standby" "$dir/standby/sock"
    chmod 755 "$dir/standby" "$dir/standby/sock"
    chown -R --reference="$dir/primary" "$dir/standby"
    as_owner env PGPASSWORD="$UVPG_TEST_PASSWORD" "$bindir/pg_basebackup" \
        -h 127.0.0.1 -p "$UVPG_TEST_PORT" -U "$UVPG_TEST_USER" \
        -D "$dir/standby/data" -R -X stream -c fast >&2 \
        || die "pg_basebackup failed"
    local port
    port=$(free_port)
    echo "port = $port" >"$dir/standby/data/uvpg-port.conf"
    echo "unix_socket_directories = '$dir/standby/sock'" \
        >>"$dir/standby/data/postgresql.conf"
    chown -R --reference="$dir/primary" "$dir/standby"
    as_owner "$bindir/pg_ctl" -D "$dir/standby/data" -l "$dir/standby/server.log" \
        -w -t 60 -s start >&2 || die "the standby did not start"

    local base="user=$UVPG_TEST_USER password=$UVPG_TEST_PASSWORD dbname=postgres"
    local i n=0
    for ((i = 0; i < 300; i++)); do
        n=$(PGPASSWORD=$UVPG_TEST_PASSWORD "$bindir/psql" -X -A -t -h 127.0.0.1 \
            -p "$UVPG_TEST_PORT" -U "$UVPG_TEST_USER" -d postgres -c \
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" \
            2>/dev/null || echo 0)
        [[ $n == 1 ]] && break
        sleep 0.1
    done
    [[ $n == 1 ]] || die "the standby does not stream"

    {
        grep '^export ' "$dir/primary/env"
        echo "export UVPG_DSN=$(printf %q "host=127.0.0.1,127.0.0.1 port=$UVPG_TEST_PORT,$port $base")"
        echo "export UVPG_PRIMARY_DSN=$(printf %q "host=127.0.0.1 port=$UVPG_TEST_PORT $base")"
        echo "export UVPG_STANDBY_DSN=$(printf %q "host=127.0.0.1 port=$port $base")"
        echo "export UVPG_STANDBY_PORT=$port"
        echo "export UVPG_REPLICA_SH=$(printf %q "$self")"
        echo "export UVPG_REPLICA_DIR=$(printf %q "$dir")"
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    chmod 644 "$dir/env"
    trap - EXIT
    echo "replica: primary on 127.0.0.1:$UVPG_TEST_PORT, standby on 127.0.0.1:$port" >&2
}

cmd_ctl() {
    local which=$1 action=$2
    dir=$(abs_dir "$dir")
    bindir=$(find_bindir)
    local data=$dir/$which/data log=$dir/$which/server.log
    [[ $which == primary || $which == standby ]] || usage
    case $action in
        stop)  as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 -s stop ;;
        kill)  as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 60 -s stop ;;
        start) as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -s start ;;
        *) usage ;;
    esac
}

cmd_promote() {
    dir=$(abs_dir "$dir")
    bindir=$(find_bindir)
    as_owner "$bindir/pg_ctl" -D "$dir/standby/data" -w -t 60 -s promote
}

cmd_stop() {
    [[ -d $dir ]] || return 0
    dir=$(abs_dir "$dir")
    [[ $dir != / ]] || die "refusing to remove /"
    bindir=$(find_bindir 2>/dev/null) || bindir=
    if [[ -n $bindir ]]; then
        kill_standby
    fi
    "$pgcluster" stop "$dir/primary" || true
    if [[ -e $dir/$MARKER ]]; then
        rm -rf -- "$dir"
    else
        echo "$prog: warning: $dir was not made by $prog; not removing it" >&2
    fi
}

cmd_run() {
    local tmpbase=${TMPDIR:-/tmp}
    [[ ${#tmpbase} -le 60 && -d $tmpbase ]] || tmpbase=/tmp
    dir=$(mktemp -d "$tmpbase/uvpg-rep.XXXXXX")
    # shellcheck disable=SC2317
    cleanup() { trap - EXIT INT TERM; "$self" stop "$dir" || true; }
    trap cleanup EXIT
    trap 'cleanup; exit 130' INT
    trap 'cleanup; exit 143' TERM
    "$self" start "$dir"
    # shellcheck source=/dev/null
    . "$dir/env"
    local rc=0
    "$@" || rc=$?
    exit "$rc"
}

[[ $# -ge 2 ]] || usage
cmd=$1
shift
dir= bindir=
case $cmd in
    start)   [[ $# -eq 1 ]] || usage; dir=$1; cmd_start ;;
    ctl)     [[ $# -eq 3 ]] || usage; dir=$1; cmd_ctl "$2" "$3" ;;
    promote) [[ $# -eq 1 ]] || usage; dir=$1; cmd_promote ;;
    stop)    [[ $# -eq 1 ]] || usage; dir=$1; cmd_stop ;;
    run)     cmd_run "$@" ;;
    *)       usage ;;
esac
