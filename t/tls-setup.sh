#!/usr/bin/env bash
# Turns on TLS in a test cluster made by t/pgcluster.sh, for t/tls and
# t/tls-capi:
#
#   t/tls-setup.sh            uses UVPG_TEST_CLUSTER, UVPG_TEST_PORT,
#                             UVPG_TEST_SOCKDIR, UVPG_TEST_USER (set by
#                             scripts/with-server.sh)
#
# It makes, in $UVPG_TEST_CLUSTER/tls, with openssl:
#   ca.crt          the CA that signed the server's certificate
#   server.crt/key  the server's certificate, for DNS:localhost only (so
#                   host=127.0.0.1 with sslmode=verify-full is a name
#                   mismatch); the key belongs to the server's OS user,
#                   mode 0600
#   other-ca.crt    a second CA, unrelated to the server
#   user, password  a login role that may only connect over TLS, with a
#                   SCRAM-SHA-256 password
# then sets ssl = on in the cluster, puts the role's hostssl line first
# in pg_hba.conf and restarts the server (t/pgcluster.sh ctl DIR restart).
#
# It restarts the server: run it only on a private cluster (the TLS
# tests are in OWN_SERVER_TESTS).  A second run finds tls/ready and does
# nothing, so each test program may call it.
set -euo pipefail

readonly OS_USER=uvpgtest # the server's unix account when we are root (t/pgcluster.sh)
readonly ROLE=uvpg_tls

prog=$(basename "$0")
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
die() { echo "$prog: error: $*" >&2; exit 1; }

for v in UVPG_TEST_CLUSTER UVPG_TEST_PORT UVPG_TEST_SOCKDIR UVPG_TEST_USER; do
    [[ -n ${!v:-} ]] || die "$v is not set: run under scripts/with-server.sh --private"
done
cluster=$UVPG_TEST_CLUSTER
[[ -f $cluster/data/PG_VERSION ]] || die "$cluster is not a cluster made by t/pgcluster.sh"
tls=$cluster/tls
[[ -e $tls/ready ]] && exit 0
command -v openssl >/dev/null || die "openssl is not installed"

rm -rf "$tls"
mkdir -m 755 "$tls"
cd "$tls"

# Quiet unless it fails: openssl talks on stderr.
ossl() {
    local out
    out=$(openssl "$@" 2>&1) || { echo "$out" >&2; die "openssl $1 failed"; }
}

# A self-signed CA: NAME.key, NAME.crt.
make_ca() {
    ossl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -nodes -keyout "$1.key" -out "$1.crt" -days 3650 -subj "/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign
}
make_ca ca "uvpg test CA"
make_ca other-ca "uvpg unrelated CA"

cat >server.ext <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
EOF
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout server.key -out server.csr -subj "/CN=localhost"
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial 2 \
    -days 3650 -extfile server.ext -out server.crt
rm -f server.csr server.ext
chmod 644 ca.crt other-ca.crt server.crt
chmod 600 ca.key other-ca.key server.key
# The server refuses a key others may read; as root it runs as $OS_USER.
[[ $(id -u) -ne 0 ]] || chown "$OS_USER:" server.key

# The role's password: letters and digits, so it needs no quoting.
password=$(set +o pipefail; LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20)
[[ ${#password} -eq 20 ]] || die "could not generate a password"
(umask 077; printf '%s\n' "$password" >password)
chmod 644 password # the test programs read it; the cluster is throwaway
printf '%s\n' "$ROLE" >user

# psql: the server's own (PG_BINDIR, as t/pgcluster.sh), else the PATH's,
# else the newest installed server's.
psql=
[[ -z ${PG_BINDIR:-} || ! -x $PG_BINDIR/psql ]] || psql=$PG_BINDIR/psql
[[ -n $psql ]] || psql=$(command -v psql) \
    || psql=$(find /usr/lib/postgresql -path '*/bin/psql' 2>/dev/null | sort -V | tail -n 1)
[[ -n $psql ]] || die "no psql found (install postgresql-client or set PG_BINDIR)"

# Over the unix socket, where the superuser is trusted.
env -u PGPASSWORD -u PGSSLMODE -u PGSSLROOTCERT "$psql" -X -q -v ON_ERROR_STOP=1 -h "$UVPG_TEST_SOCKDIR" \
    -p "$UVPG_TEST_PORT" -U "$UVPG_TEST_USER" -d postgres >/dev/null <<EOF
SET client_min_messages = warning;
SET password_encryption = 'scram-sha-256';
DROP ROLE IF EXISTS $ROLE;
CREATE ROLE $ROLE LOGIN PASSWORD '$password';
EOF

conf=$cluster/data/postgresql.conf
hba=$cluster/data/pg_hba.conf
cat >>"$conf" <<EOF

# --- uvpg TLS tests (t/tls-setup.sh) ---
ssl = on
ssl_cert_file = '$tls/server.crt'
ssl_key_file = '$tls/server.key'
password_encryption = 'scram-sha-256'
EOF
# First match wins: the role's lines go first.  It may connect over TLS
# only, with its password.
{
    echo "# uvpg TLS tests (t/tls-setup.sh)"
    echo "hostssl   all $ROLE 127.0.0.1/32 scram-sha-256"
    echo "hostnossl all $ROLE 127.0.0.1/32 reject"
    cat "$hba"
} >"$hba.new"
cat "$hba.new" >"$hba" # keeps the file's owner and mode
rm -f "$hba.new"

"$here/pgcluster.sh" ctl "$cluster" restart >&2 \
    || { tail -n 20 "$cluster/server.log" >&2; die "the server did not restart with TLS on"; }
: >ready
