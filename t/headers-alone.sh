#!/usr/bin/env bash
# Check that every public header compiles on its own (STYLE.md section 6,
# after seastar's "checkheaders"): for each header, a translation unit
# that includes that header and nothing else (then one typedef) must
# compile without a warning.
#
#   include/uvpg.h, include/uvpg/*.h     as C99:
#     ${CC:-cc} -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Werror
#   include/uvpg.hh, include/uvpg/*.hh, include/uvpg/types/*.hh as C++20:
#     ${CXX:-c++} -std=c++20 -Wall -Wextra -Werror
#
# both with -fsyntax-only and $CHECK_CPPFLAGS (default: -Iinclude, where
# configure writes uvpg/version.h, -I$top_srcdir/include and libuv's
# cflags from pkg-config).  Environment: top_srcdir is the top of the
# source tree (the Makefile exports it; default "."); CC and CXX name
# the compilers (words split: configure may set CXX to "g++ -std=c++20");
# the Makefile exports CHECK_CPPFLAGS.  The working
# directory is the build directory.
#
# Prints "ok: <header>" or "FAIL: <header>" (with the compiler's output)
# per header and exits 1 if any failed, else 0.

set -u
export LC_ALL=C

top=${top_srcdir:-.}
inc=$top/include
cc=${CC:-cc}
cxx=${CXX:-c++}

if [ ! -r "$inc/uvpg.h" ]; then
  echo "headers-alone: cannot read $inc/uvpg.h (is top_srcdir right?)"
  exit 1
fi

if [ -n "${CHECK_CPPFLAGS+set}" ]; then
  cppflags=$CHECK_CPPFLAGS
elif command -v pkg-config >/dev/null 2>&1 &&
  uv_cflags=$(pkg-config --cflags libuv 2>/dev/null); then
  cppflags="-Iinclude -I$inc $uv_cflags"
else
  echo "headers-alone: pkg-config --cflags libuv failed; using no flags"
  cppflags="-Iinclude -I$inc"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/headers-alone.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

checked=0
failed=0

# check <lang> <header path>
check() {
  local lang=$1 path=$2 rel out
  rel=${path#"$inc"/}
  rel=${rel#include/}
  # The typedef keeps a header of macros only (uvpg/version.h) from
  # making an empty translation unit, which ISO C forbids.
  printf '#include <%s>\ntypedef int headers_alone_not_empty;\n' "$rel" \
    >"$tmp/tu"
  if [ "$lang" = c ]; then
    # shellcheck disable=SC2086 # cc, cxx and cppflags are lists of words
    out=$($cc -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Werror \
      -fsyntax-only $cppflags -x c "$tmp/tu" 2>&1)
  else
    # shellcheck disable=SC2086
    out=$($cxx -std=c++20 -Wall -Wextra -Werror \
      -fsyntax-only $cppflags -x c++ "$tmp/tu" 2>&1)
  fi
  local rc=$?
  checked=$((checked + 1))
  if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
    echo "ok: $rel"
  else
    echo "FAIL: $rel"
    printf '%s\n' "$out" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

# include/uvpg/version.h is configure's, in the build directory.
for h in "$inc"/uvpg.h "$inc"/uvpg/*.h include/uvpg/version.h; do
  [ -f "$h" ] && check c "$h"
done
for h in "$inc"/uvpg.hh "$inc"/uvpg/*.hh "$inc"/uvpg/types/*.hh; do
  [ -f "$h" ] && check cxx "$h"
done

echo "headers-alone: $checked header(s), $failed failed"
[ "$failed" -eq 0 ]
