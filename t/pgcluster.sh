#!/usr/bin/env bash
# Private throwaway PostgreSQL cluster for the uvpg test suite.
#
#   t/pgcluster.sh start DIR                  init + start a cluster in empty DIR, write DIR/env
#   t/pgcluster.sh ctl DIR stop|start|restart run pg_ctl on it (fault tests)
#   t/pgcluster.sh stop DIR                   stop the server (if any) and remove DIR
#
# As root the server runs as the system user "uvpgtest" (postgres refuses to
# run as root). PG_BINDIR overrides the server binary directory.
set -euo pipefail

readonly PG_USER=uvpg            # database superuser name
readonly OS_USER=uvpgtest        # unix account for the server when we are root
readonly MARKER=.uvpg-pgcluster  # marks DIR as ours, so "stop" may rm -rf it

prog=$(basename "$0")
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"

# The client-side PG* variables must not leak into initdb/postgres/pg_ctl
# (e.g. the postmaster takes its default port from PGPORT).
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE \
      PGSERVICE PGSERVICEFILE PGOPTIONS PGDATA PGSSLMODE PGTZ PGDATESTYLE

die() { echo "$prog: error: $*" >&2; exit 1; }
usage() {
    echo "usage: $prog start DIR | ctl DIR stop|start|restart | stop DIR" >&2
    exit 2
}

# Quote a value for sh/bash only when it needs it, so the common case stays readable.
shq() {
    if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

find_bindir() {
    local d
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/initdb ]] || die "PG_BINDIR=$PG_BINDIR has no initdb"
        echo "$PG_BINDIR"; return
    fi
    # pg_config belongs to libpq-dev and may point at /usr/bin, which has no initdb.
    if d=$(pg_config --bindir 2>/dev/null) && [[ -x $d/initdb && -x $d/pg_ctl ]]; then
        echo "$d"; return
    fi
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null \
        | sort -V | tail -n 1)
    [[ -n $d && -x $d/initdb ]] || die "no PostgreSQL server binaries found (install the 'postgresql' package or set PG_BINDIR)"
    echo "$d"
}

# Run a server-side command as the cluster owner. cd into the cluster so the
# unprivileged user never starts in an unreadable cwd such as /root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$dir" && runuser -u "$OS_USER" -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

ensure_os_user() {
    id -u "$OS_USER" >/dev/null 2>&1 && return
    useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER" \
        || die "cannot create system user $OS_USER"
}

# Ask the kernel for a free port; fall back to random probing without python3.
free_port() {
    local p i
    for py in python3 /usr/bin/python3; do
        if p=$("$py" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null); then
            echo "$p"; return
        fi
    done
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 40000))
        # A refused connection means nobody listens there.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"; return
        fi
    done
    die "could not find a free TCP port"
}

gen_password() {
    local pw
    # head closes the pipe early; tr's SIGPIPE is expected, so no pipefail here.
    pw=$(set +o pipefail; LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20)
    [[ ${#pw} -eq 20 ]] || die "could not generate a password"
    echo "$pw"
}

# Absolute, symlink-free path of an existing directory.
abs_dir() { (cd "$1" 2>/dev/null && pwd -P) || die "no such directory: $1"; }

# Best effort: make sure no postmaster of this cluster survives.
kill_server() {
    local pid i
    [[ -f $dir/data/postmaster.pid ]] || return 0
    [[ -z $bindir ]] || as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 -s stop >/dev/null 2>&1 || true
    [[ -f $dir/data/postmaster.pid ]] || return 0
    # pg_ctl failed (e.g. half-started server): kill exactly the postmaster it recorded.
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
}

start_failed() {
    local rc=$?
    trap - EXIT
    [[ $rc -ne 0 ]] || return 0
    kill_server
    if [[ -s $dir/server.log ]]; then
        echo "---- $dir/server.log ----" >&2
        cat "$dir/server.log" >&2
        echo "---- end of server.log ----" >&2
    fi
    echo "$prog: failed to start PostgreSQL cluster in $dir" >&2
    exit "$rc"
}

cmd_start() {
    [[ -d $dir ]] || mkdir -p "$dir" || die "cannot create $dir"
    dir=$(abs_dir "$dir")
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
    bindir=$(find_bindir)
    : >"$dir/$MARKER"
    trap start_failed EXIT

    local sockname=/sock/.s.PGSQL.65535
    # Unix socket paths are limited to 107 bytes (sun_path).
    (( ${#dir} + ${#sockname} <= 107 )) \
        || die "$dir is too long for a unix socket path; use a shorter temp dir"

    mkdir "$dir/sock"
    # Any client (root or not) must reach the socket; the data dir stays private.
    chmod 755 "$dir" "$dir/sock"

    local pwfile=$dir/pwfile password port version i logsize
    password=$(gen_password)
    (umask 077; printf '%s\n' "$password" >"$pwfile")

    if [[ $(id -u) -eq 0 ]]; then
        ensure_os_user
        chown -R "$OS_USER:" "$dir"
        runuser -u "$OS_USER" -- test -w "$dir" \
            || die "$OS_USER cannot write to $dir (is a parent directory private?)"
    fi

    if ! as_owner "$bindir/initdb" -D "$dir/data" -U "$PG_USER" -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" \
            >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    rm -f "$pwfile"

    # Later settings win, so appending overrides the initdb defaults; the port
    # lives in its own include file because it may change on a retry.
    cat >>"$dir/data/postgresql.conf" <<EOF

# --- uvpg test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 128MB
logging_collector = off
include 'uvpg-port.conf'
EOF

    # Another process may grab the probed port before postgres binds it: retry.
    for ((i = 1; ; i++)); do
        port=$(free_port)
        echo "port = $port" >"$dir/data/uvpg-port.conf"
        [[ $(id -u) -ne 0 ]] || chown "$OS_USER:" "$dir/data/uvpg-port.conf"
        # Only this attempt's log lines tell whether the port was the problem.
        logsize=$(stat -c %s "$dir/server.log" 2>/dev/null || echo 0)
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s start >&2; then
            break
        fi
        if ((i < 5)) && tail -c +"$((logsize + 1))" "$dir/server.log" 2>/dev/null \
                | grep -E 'could not bind|could not create any TCP/IP sockets' >/dev/null; then
            kill_server
            echo "$prog: port $port was taken, retrying" >&2
            continue
        fi
        die "pg_ctl start failed"
    done

    version=$("$bindir/postgres" --version | sed -E 's/^[^0-9]*([0-9][0-9.]*).*/\1/')

    {
        echo "# generated by $self"
        echo "export UVPG_DSN=$(shq "host=127.0.0.1 port=$port user=$PG_USER password=$password dbname=postgres")"
        echo "export UVPG_TEST_PORT=$port"
        echo "export UVPG_TEST_SOCKDIR=$(shq "$dir/sock")"
        echo "export UVPG_TEST_PASSWORD=$password"
        echo "export UVPG_TEST_USER=$PG_USER"
        echo "export UVPG_TEST_CLUSTER=$(shq "$dir")"
        echo "export UVPG_TEST_PGCTL=$(shq "$(shq "$self") ctl $(shq "$dir")")"
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    chmod 644 "$dir/env"

    trap - EXIT
    echo "pgcluster: started PostgreSQL $version on 127.0.0.1:$port and $dir/sock"
}

cmd_ctl() {
    local action=$1
    dir=$(abs_dir "$dir")
    [[ -f $dir/data/PG_VERSION ]] || die "$dir is not a cluster made by $prog"
    bindir=$(find_bindir)
    local rc=0
    case $action in
        stop)    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -s stop || rc=$? ;;
        start)   as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s start || rc=$? ;;
        restart) as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 -s restart || rc=$? ;;
        *) usage ;;
    esac
    return "$rc"
}

cmd_stop() {
    # Idempotent: nothing to do if the directory is already gone.
    [[ -d $dir ]] || return 0
    dir=$(abs_dir "$dir")
    [[ $dir != / ]] || die "refusing to remove /"
    if [[ -f $dir/data/postmaster.pid ]]; then
        # Without binaries kill_server still kills the recorded postmaster.
        bindir=$(find_bindir 2>/dev/null) || bindir=
        kill_server
    fi
    # Only delete directories we created (marker) or that are empty.
    if [[ -e $dir/$MARKER || -z $(ls -A "$dir") ]]; then
        rm -rf -- "$dir"
    else
        echo "$prog: warning: $dir was not made by $prog; not removing it" >&2
    fi
}

[[ $# -ge 2 ]] || usage
cmd=$1 dir=$2 bindir=
case $cmd in
    start) [[ $# -eq 2 ]] || usage; cmd_start ;;
    ctl)   [[ $# -eq 3 ]] || usage; cmd_ctl "$3" ;;
    stop)  [[ $# -eq 2 ]] || usage; cmd_stop ;;
    *)     usage ;;
esac
