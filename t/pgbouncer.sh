#!/usr/bin/env bash
# A throwaway PgBouncer in front of the test cluster (Debian's pgbouncer).
#
#   t/pgbouncer.sh start DIR MODE [POOL_SIZE]  start one in empty DIR, pool_mode MODE
#                                              (transaction|session|statement),
#                                              write DIR/env (UVPG_PGBOUNCER_DSN, ..._PORT)
#   t/pgbouncer.sh stop DIR                    stop it and remove DIR
#
# The cluster comes from the environment t/pgcluster.sh wrote
# (UVPG_TEST_PORT, UVPG_TEST_USER, UVPG_TEST_PASSWORD).  PgBouncer refuses
# to run as root, so as root it runs as the cluster's OS user, uvpgtest.
# Clients log in with SCRAM against DIR/userlist.txt, which holds the
# password in clear so PgBouncer can log in to the server with it.
set -euo pipefail

readonly OS_USER=uvpgtest
readonly MARKER=.uvpg-pgbouncer
prog=$(basename "$0")
die() { echo "$prog: error: $*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$OS_USER" -- "$@"
    else
        "$@"
    fi
}

bouncer() {
    local b
    for b in pgbouncer /usr/sbin/pgbouncer; do
        if command -v "$b" >/dev/null 2>&1; then
            command -v "$b"; return
        fi
    done
    die "no pgbouncer (install Debian's pgbouncer package)"
}

cmd_start() {
    local dir=$1 mode=$2 size=${3:-4} port i
    : "${UVPG_TEST_PORT:?run under scripts/with-server.sh}"
    : "${UVPG_TEST_PASSWORD:?run under scripts/with-server.sh}"
    local user=${UVPG_TEST_USER:-uvpg}
    case $mode in transaction|session|statement) ;; *) die "bad mode $mode" ;; esac
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
    : >"$dir/$MARKER"
    local exe
    exe=$(bouncer)
    printf '"%s" "%s"\n' "$user" "$UVPG_TEST_PASSWORD" >"$dir/userlist.txt"
    chmod 600 "$dir/userlist.txt"
    for ((i = 1; i <= 5; i++)); do
        port=$(free_port)
        cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$UVPG_TEST_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = $mode
default_pool_size = $size
max_client_conn = 500
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits,options,search_path
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
admin_users = $user
EOF
        if [[ $(id -u) -eq 0 ]]; then
            id -u "$OS_USER" >/dev/null 2>&1 \
                || useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER"
            chown -R "$OS_USER:" "$dir"
        fi
        if as_owner "$exe" -d "$dir/pgbouncer.ini" >/dev/null 2>>"$dir/start.err"; then
            local t
            for ((t = 0; t < 100; t++)); do
                if python3 -c "import socket,sys;socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; then
                    break 2
                fi
                sleep 0.05
            done
        fi
        [[ -f $dir/pgbouncer.pid ]] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
        sleep 0.2
        ((i < 5)) || { cat "$dir/pgbouncer.log" "$dir/start.err" >&2 || true; die "pgbouncer did not start"; }
    done
    {
        echo "export UVPG_PGBOUNCER_PORT=$port"
        echo "export UVPG_PGBOUNCER_DSN='host=127.0.0.1 port=$port user=$user password=$UVPG_TEST_PASSWORD dbname=postgres'"
    } >"$dir/env"
    chmod 644 "$dir/env"
    echo "$prog: pgbouncer ($mode, pool size $size) on 127.0.0.1:$port" >&2
}

cmd_stop() {
    local dir=$1 pid t
    [[ -d $dir ]] || return 0
    [[ -e $dir/$MARKER ]] || die "$dir is not a t/pgbouncer.sh directory"
    if [[ -f $dir/pgbouncer.pid ]]; then
        pid=$(cat "$dir/pgbouncer.pid")
        kill "$pid" 2>/dev/null || true
        for ((t = 0; t < 100; t++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case ${1:-} in
start) [[ $# -ge 3 ]] || die "usage: $prog start DIR MODE [POOL_SIZE]"; cmd_start "$2" "$3" "${4:-4}" ;;
stop) [[ $# -eq 2 ]] || die "usage: $prog stop DIR"; cmd_stop "$2" ;;
*) die "usage: $prog start DIR MODE [POOL_SIZE] | stop DIR" ;;
esac
