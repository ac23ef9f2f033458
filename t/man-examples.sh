#!/usr/bin/env bash
# Compile the EXAMPLE section of every man page (STYLE.md section 8,
# after curl's verify-examples.pl), so that no page shows code that does
# not build against today's headers.  Run by "make check"; it also runs
# by hand from the top of the source tree.
#
# The rules an EXAMPLE section follows:
#   - its code is every .EX ... .EE block of the section (a section that
#     shows code in .nf ... .fi instead fails the check), in order; the
#     blocks of one page make one translation unit, and roff text
#     between them is not part of it;
#   - that code is a whole program (it defines main) or file-scope code
#     (declarations and function definitions).  A block of bare
#     statements is wrapped by this script in a function of its own,
#     "static void example_body(void)", when its first line is indented;
#     the names it uses must then be declared inside the block;
#   - it is C++ when it mentions "uvpg::" or includes <uvpg.hh>, else C;
#   - before it come the headers most examples need, so a page need not
#     show them: for C <stdio.h>, <stdlib.h>, <string.h> and <uvpg.h>;
#     for C++ <cstdio>, <cstdlib>, <cstring>, <string>, <iostream> and
#     <uvpg.hh>.  An example may include more headers itself;
#   - the roff escapes in it are undone first: \e is a backslash, \- a
#     minus, \(dq, \(aq, \(ti and \(ha are " ' ~ ^, \& is nothing, and
#     font changes (\fB, \fI, \fR, \fP) are dropped.
# C compiles as strict C99, as t/capi.c does:
#     $CC -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Werror
# and C++ as C++20 with the project's warnings:
#     $CXX -std=c++20 -Wall -Wextra -Wno-unused-parameter -Werror
# both with -Wno-unused-function (an example defines callbacks that no
# main calls) and -c: each compiles to an object, nothing is linked or
# run.  The samples/ programs, which are linked, build in make check too.
#
# Environment: srcdir or top_srcdir is the top of the source tree
# (default: the parent of this script's directory); CC and CXX name the
# compilers, words split (configure may set CXX to "g++ -std=c++20";
# default cc and c++); CHECK_CPPFLAGS gives the include
# flags (the Makefile exports them; default: -Iinclude, where configure
# writes uvpg/version.h, -I$top/include and pkg-config's flags for
# libuv).  The working directory is the build directory.
#
# Prints "ok: <page>" or "FAIL: <page>" with the code, numbered, and the
# compiler's words, per page; exits 1 if any failed, else 0.

set -u
export LC_ALL=C

prog=man-examples
top=${srcdir:-${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}}
mandir=$top/man
cc=${CC:-cc}
cxx=${CXX:-c++}
if [ -n "${CHECK_CPPFLAGS+set}" ]; then
  cppflags=$CHECK_CPPFLAGS
else
  cppflags="-Iinclude -I$top/include $(pkg-config --cflags libuv 2>/dev/null)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/man-examples.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The code of page $1's EXAMPLE section, roff escapes undone.
example() {
  awk '
    /^\.SH[[:space:]]/ { on = ($0 ~ /^\.SH[[:space:]]+"?EXAMPLES?"?[[:space:]]*$/); next }
    on && /^\.EX/ { ex = 1; next }
    on && /^\.EE/ { ex = 0; next }
    on && ex { print }
  ' "$1" | sed -e 's/\\f[BIRP]//g' -e 's/\\(dq/"/g' -e "s/\\\\(aq/'/g" \
    -e 's/\\(ti/~/g' -e 's/\\(ha/^/g' -e 's/\\&//g' -e 's/\\-/-/g' \
    -e 's/\\e/\\/g'
}

checked=0
failed=0
for page in "$mandir"/man3/*.3 "$mandir"/man7/*.7; do
  [ -f "$page" ] || continue
  grep -q '^\.so[[:space:]]' "$page" && continue
  rel=${page#"$mandir"/}
  example "$page" >"$tmp/code"
  if [ ! -s "$tmp/code" ]; then
    # Code outside .EX/.EE (in .nf/.fi, say) would escape the check.
    if sed -n '/^\.SH[[:space:]]\{1,\}"\{0,1\}EXAMPLES\{0,1\}/,/^\.SH/p' "$page" |
      grep -q '^\.nf'; then
      echo "FAIL: $rel: its EXAMPLE shows code outside .EX and .EE"
      failed=$((failed + 1))
    fi
    continue
  fi
  if grep -q -e 'uvpg::' -e '#include <uvpg\.hh>' "$tmp/code"; then
    lang=c++
    printf '#include <cstdio>\n#include <cstdlib>\n#include <cstring>\n#include <iostream>\n#include <string>\n#include <uvpg.hh>\n' >"$tmp/tu"
  else
    lang=c
    printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <uvpg.h>\n' >"$tmp/tu"
  fi
  # The "#line" keeps the compiler's line numbers those of the example.
  if head -n 1 "$tmp/code" | grep -q '^[[:space:]]'; then
    {
      printf 'static void example_body(void)\n{\n#line 1 "%s"\n' "$rel"
      cat "$tmp/code"
      printf '}\n'
    } >>"$tmp/tu"
  else
    {
      printf '#line 1 "%s"\n' "$rel"
      cat "$tmp/code"
    } >>"$tmp/tu"
  fi
  # shellcheck disable=SC2086 # cc, cxx and cppflags are lists of words
  if [ "$lang" = c ]; then
    out=$($cc -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Werror \
      -Wno-unused-function $cppflags -x c -c -o "$tmp/o" "$tmp/tu" 2>&1)
  else
    out=$($cxx -std=c++20 -Wall -Wextra -Wno-unused-parameter -Werror \
      -Wno-unused-function $cppflags -x c++ -c -o "$tmp/o" "$tmp/tu" 2>&1)
  fi
  rc=$?
  checked=$((checked + 1))
  if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
    echo "ok: $rel ($lang)"
  else
    echo "FAIL: $rel ($lang)"
    cat -n "$tmp/code" | sed 's/^/    /'
    printf '%s\n' "$out" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done

if [ "$checked" -eq 0 ]; then
  echo "$prog: found no EXAMPLE section under $mandir"
  exit 1
fi
echo "$prog: $checked example(s), $failed failed"
[ "$failed" -eq 0 ]
