#!/usr/bin/env bash
# Runs the plain-C test programs under valgrind against the test server:
# any invalid read or write, use of uninitialised memory, or memory
# definitely lost fails the program.  (Memory libpq, OpenSSL or libuv's
# thread pool keep until exit is "still reachable" and is not counted.)
#
#   t/valgrind.sh BUILDDIR    one line "valgrind-result: NAME PASS|FAIL"
#                             per program; exit 1 if any failed
set -uo pipefail
builddir=${1:?usage: t/valgrind.sh BUILDDIR}
srcdir=$(cd "$(dirname "$0")/.." && pwd -P)
# These restart their server: each gets a private cluster of its own, as
# t/run-test.sh gives it under make check.
own_server=" tls-capi "
rc=0
for name in cancel-capi capi contract cursor-capi listener-capi notice-capi notify-capi \
    pool-capi tls-capi transaction-capi; do
  prog=$builddir/t/$name
  log=$builddir/t/$name.valgrind.log
  if [[ ! -x $prog ]]; then
    echo "valgrind-result: t/$name FAIL (not built)"
    rc=1
    continue
  fi
  # A hang is a failure too: each program gets 10 minutes.
  wrap=()
  [[ $own_server != *" $name "* ]] || wrap=("$srcdir/scripts/with-server.sh" --private)
  if timeout 600 ${wrap[@]+"${wrap[@]}"} "$builddir/libtool" --mode=execute valgrind -q \
      --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite "$prog" >"$log" 2>&1; then
    echo "valgrind-result: t/$name PASS"
  else
    tail -n 40 "$log"
    echo "valgrind-result: t/$name FAIL"
    rc=1
  fi
done
exit $rc
