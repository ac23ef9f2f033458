#!/usr/bin/env bash
# Body of scripts/check.sh; runs under scripts/with-server.sh (one server for
# everything). Builds and tests build/, build-asan/ and build-pq17/ (libpq 17
# from scripts/libpq17.sh; the others use the system's libpq), then the
# install test.
# Never stops at a failure: each stage appends "STAGE<TAB>PASS|FAIL<TAB>message"
# to $UVPG_CHECK_RESULTS, and check.sh turns that plus the .trs/.log files into
# the final count.
set -euo pipefail

cd "$(dirname "$0")/.."
srcdir=$(pwd -P)
: "${UVPG_CHECK_RESULTS:?must be set by scripts/check.sh}"
jobs=$(nproc)

# UBSan only prints by default; make its findings fail the test.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Verbose harness output would only duplicate the .log files.
unset VERBOSE

record() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$UVPG_CHECK_RESULTS"; }
step() { printf '\n==== %s\n' "$*"; }

tmpdirs=()
# shellcheck disable=SC2317  # only reached via trap
cleanup() { [[ ${#tmpdirs[@]} -eq 0 ]] || rm -rf "${tmpdirs[@]}"; }
trap cleanup EXIT

# Results of an earlier run must not be counted if this run fails early.
clear_results() {
    local trs
    while IFS= read -r -d '' trs; do
        rm -f "$trs" "${trs%.trs}.log"
    done < <(find "$1" -name '*.trs' -print0 2>/dev/null)
    find "$1" -name test-suite.log -delete 2>/dev/null || true
}

# build_and_check DIR [CONFIGURE_ARG...]: an argument "--opt" must be one
# of configure's switches; "VAR=value" ones are taken as they are.  With
# $require set, config.h must define that macro.
build_and_check() {
    local dir=$1 args=() extra=("${@:2}") opt rc reconf=
    read -ra args <<<"${CONFIGURE_ARGS:-}"
    args+=("${extra[@]}")
    mkdir -p "$dir"
    clear_results "$dir"

    # grep without -q: an early exit would SIGPIPE the writer and trip pipefail.
    for opt in "${extra[@]}"; do
        if [[ $opt == --* ]] && ! "$srcdir/configure" --help=short 2>/dev/null | grep -e "$opt" >/dev/null; then
            record "$dir/configure" FAIL "configure has no $opt switch"
            return
        fi
    done
    # Reconfigure if missing, or if an old configuration lacks an argument.
    [[ -f $dir/Makefile ]] || reconf=1
    for opt in "${extra[@]}"; do
        [[ -n $reconf ]] || (cd "$dir" && ./config.status --config) | grep -F -e "$opt" >/dev/null || reconf=1
    done
    if [[ -n $reconf ]]; then
        step "$dir: configure ${args[*]}"
        if ! (cd "$dir" && "$srcdir/configure" "${args[@]}"); then
            record "$dir/configure" FAIL "configure failed (see $dir/config.log)"
            return
        fi
    fi
    if [[ -n ${require:-} ]] && ! grep -q "^#define $require 1" "$dir/config.h"; then
        record "$dir/configure" FAIL "configure did not define $require (see $dir/config.log)"
        return
    fi

    step "$dir: make -j$jobs"
    if ! make -C "$dir" -j"$jobs"; then
        record "$dir/build" FAIL "make failed"
        return
    fi
    record "$dir/build" PASS

    # In parallel: the tests that stop their server get one of their own
    # (OWN_SERVER_TESTS in Makefile.am).
    step "$dir: make -j$jobs check"
    rc=0
    make -C "$dir" -j"$jobs" -k check || rc=$?
    record "$dir/check" "$([[ $rc -eq 0 ]] && echo PASS || echo FAIL)" "make check exit status $rc"
}

install_test() {
    local dest pcdir pc libdir out version flags=()
    step "install test"
    if [[ ! -f $srcdir/t/install-test.c ]]; then
        record install FAIL "t/install-test.c does not exist"
        return
    fi
    if ! grep -q $'^build/build\tPASS' "$UVPG_CHECK_RESULTS"; then
        record install FAIL "build/ did not build"
        return
    fi
    dest=$(mktemp -d) pcdir=$(mktemp -d)
    tmpdirs+=("$dest" "$pcdir")
    if ! make -C build install DESTDIR="$dest" >"$dest.log" 2>&1; then
        tail -n 30 "$dest.log"; rm -f "$dest.log"
        record install FAIL "make install failed"
        return
    fi
    rm -f "$dest.log"
    pc=$(find "$dest" -name uvpg.pc | head -n 1)
    if [[ -z $pc ]]; then
        record install FAIL "make install installed no uvpg.pc"
        return
    fi
    # Relocate only uvpg.pc into DESTDIR. PKG_CONFIG_SYSROOT_DIR would also
    # prefix the dependencies' paths (-I/usr/include/postgresql from libpq.pc).
    sed -E "s#^(prefix|exec_prefix|libdir|includedir)=/#\\1=$dest/#" "$pc" >"$pcdir/uvpg.pc"
    if ! out=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs uvpg) \
        || ! libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir uvpg); then
        record install FAIL "pkg-config cannot resolve the installed uvpg.pc"
        return
    fi
    # A program of the C ABI only links libuvpg and libuv (simdjson and
    # libpq are the library's own business: Requires.private).
    if [[ $out == *simdjson* ]]; then
        record install FAIL "pkg-config --libs uvpg names simdjson: $out"
        return
    fi
    version=$(PKG_CONFIG_PATH=$pcdir pkg-config --modversion uvpg)
    read -ra flags <<<"$out"
    echo "gcc ... t/install-test.c ${flags[*]}"
    if ! gcc -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Werror \
            -DUVPG_PC_VERSION="\"$version\"" \
            -o "$dest/install-test" "$srcdir/t/install-test.c" "${flags[@]}"; then
        record install FAIL "t/install-test.c does not compile against the installed headers"
        return
    fi
    if ! LD_LIBRARY_PATH=$libdir "$dest/install-test"; then
        record install FAIL "installed t/install-test failed"
        return
    fi
    record install PASS
}

# fuzz_run: builds build-fuzz/ with clang --enable-fuzz and runs every
# libFuzzer target briefly; one result per target.
fuzz_run() {
    local dir=build-fuzz line
    mkdir -p "$dir"
    if [[ ! -f $dir/Makefile ]]; then
        step "$dir: configure (clang, --enable-fuzz)"
        if ! (cd "$dir" && "$srcdir/configure" CC=clang CXX=clang++ --enable-fuzz); then
            record "$dir/configure" FAIL "configure --enable-fuzz failed (see $dir/config.log)"
            return
        fi
    fi
    step "$dir: make fuzz-run"
    local ran=0
    while IFS= read -r line; do
        echo "$line"
        if [[ $line =~ ^fuzz-result:\ (.*)\ (PASS|FAIL)$ ]]; then
            record "fuzz:${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "libFuzzer target"
            ran=$((ran + 1))
        fi
    done < <(make -C "$dir" -j"$jobs" fuzz-run FUZZ_SECONDS="${UVPG_FUZZ_SECONDS:-10}" 2>&1 || true)
    # A fuzz build that fails runs no target: that must not pass silently.
    ((ran > 0)) || record "$dir/build" FAIL "no fuzz target ran (the fuzz build failed?)"
}

# valgrind_run: the plain-C tests of build/ under valgrind; one result
# per program.
valgrind_run() {
    local line
    step "valgrind: the C tests"
    if ! grep -q $'^build/build\tPASS' "$UVPG_CHECK_RESULTS"; then
        record valgrind FAIL "build/ did not build"
        return
    fi
    make -C build -j"$jobs" t/capi t/contract t/cursor-capi >/dev/null || true
    while IFS= read -r line; do
        echo "$line"
        if [[ $line =~ ^valgrind-result:\ ([^ ]*)\ (PASS|FAIL) ]]; then
            record "valgrind:${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "under valgrind"
        fi
    done < <("$srcdir/t/valgrind.sh" build 2>&1 || true)
}

# build-pq17: the normal build against libpq 17 (scripts/libpq17.sh), its
# whole make check under the same server.  The rpath: libpq 17 has the
# system libpq's soname.  Not under valgrind or ASan (time).
pq17_check() {
    local prefix
    step "libpq 17: scripts/libpq17.sh"
    clear_results build-pq17 # counted otherwise, should this fail
    if ! prefix=$("$srcdir/scripts/libpq17.sh" --prefix); then
        record build-pq17/libpq17 FAIL "scripts/libpq17.sh could not provide libpq 17"
        return
    fi
    # No PQsendPipelineSync: configure found some other libpq.
    require=HAVE_PQSENDPIPELINESYNC build_and_check build-pq17 "PKG_CONFIG_PATH=$prefix/lib/pkgconfig" \
        "LDFLAGS=-Wl,-rpath,$prefix/lib"
}

# soak_run: the soak of issue 12 (scripts/soak.sh, bench/soak) for 60 s
# on the plain build, under a private cluster of its own: callers over a
# pool while backends are terminated and the server restarted.
soak_run() {
    local secs=${UVPG_SOAK_SECONDS:-60} log
    step "soak: $secs s (build/bench/soak)"
    if ! grep -q $'^build/build\tPASS' "$UVPG_CHECK_RESULTS"; then
        record soak FAIL "build/ did not build"
        return
    fi
    if ! make -C build bench/soak; then
        record soak FAIL "bench/soak did not build"
        return
    fi
    log=build/bench/soak.log
    if "$srcdir/scripts/soak.sh" "$secs" build/bench/soak >"$log" 2>&1; then
        tail -n 40 "$log"
        record soak PASS "$secs s soak"
    else
        tail -n 80 "$log"
        record soak FAIL "$secs s soak failed (see $log)"
    fi
}

build_and_check build
build_and_check build-asan --enable-sanitizers
pq17_check
valgrind_run
soak_run
install_test
fuzz_run
record inner-done PASS
