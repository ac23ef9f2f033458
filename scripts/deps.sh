#!/usr/bin/env bash
# Install the Debian build/test dependencies and generate the autotools files.
#
#   scripts/deps.sh            install missing packages, run autoreconf if needed
#   scripts/deps.sh BUILDDIR   ... then configure out of tree in BUILDDIR (relative to
#                              the source tree) and make
#
# CONFIGURE_ARGS (word-split) is passed to configure when BUILDDIR has no Makefile.
# The source tree itself is never configured: builds live in build/, build-asan/.
set -euo pipefail

cd "$(dirname "$0")/.."
srcdir=$(pwd -P)

packages=(
    libuv1-dev libpq-dev libsimdjson-dev doctest-dev
    autoconf automake libtool autoconf-archive pkg-config
    postgresql python3 mandoc valgrind g++ make clang libclang-rt-14-dev
    pgbouncer openssl
)

say() { echo "deps: $*" >&2; }
die() { echo "deps: error: $*" >&2; exit 1; }

missing_packages() {
    local p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || echo "$p"
    done
}

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# Keep invoke-rc.d from starting services; used only if a service start broke
# the first install attempt (e.g. postgresql's system cluster without systemd).
policy_added=
remove_policy() { [[ -z $policy_added ]] || rm -f /usr/sbin/policy-rc.d; }

install_packages() {
    local missing
    command -v dpkg-query >/dev/null || die "dpkg-query not found; this script supports Debian/Ubuntu only"
    mapfile -t missing < <(missing_packages)
    [[ ${#missing[@]} -gt 0 ]] || return 0

    if [[ $(id -u) -ne 0 ]]; then
        say "missing packages: ${missing[*]}"
        die "not root; install them with: sudo apt-get install ${missing[*]}"
    fi

    say "installing: ${missing[*]}"
    apt-get update -q
    if ! apt_install "${missing[@]}"; then
        # Installing postgresql also creates/starts the system cluster 15/main,
        # which we never use; if starting it failed, retry without starting services.
        say "apt-get install failed; retrying with service starts disabled"
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            trap remove_policy EXIT
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            policy_added=1
        fi
        DEBIAN_FRONTEND=noninteractive dpkg --configure -a || true
        apt_install "${missing[@]}" || true
        remove_policy
        policy_added=
    fi

    mapfile -t missing < <(missing_packages)
    [[ ${#missing[@]} -eq 0 ]] || die "packages still not installed: ${missing[*]}"
}

bootstrap() {
    [[ -f configure.ac ]] || die "no configure.ac in $srcdir (build system not written yet?)"
    if [[ ! -x configure || configure.ac -nt configure ]]; then
        say "running autoreconf -fi"
        autoreconf -fi
    fi
    # Out-of-tree builds refuse a source tree that was configured in place.
    if [[ -f config.status ]]; then
        say "source tree was configured in place; running make distclean so VPATH builds work"
        make distclean >/dev/null || rm -f config.status
    fi
}

build() {
    local dir=$1 args=()
    mkdir -p "$dir"
    if [[ ! -f $dir/Makefile ]]; then
        read -ra args <<<"${CONFIGURE_ARGS:-}"
        say "configuring in $dir ${args[*]}"
        (cd "$dir" && "$srcdir/configure" "${args[@]}")
    fi
    make -C "$dir" -j"$(nproc)"
}

[[ $# -le 1 ]] || die "usage: $0 [BUILDDIR]"
install_packages
bootstrap
if [[ $# -eq 1 ]]; then
    build "$1"
fi
