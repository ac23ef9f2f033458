#!/bin/sh
# The test harness runs every test through this script (LOG_COMPILER in
# Makefile.am):  t/run-test.sh TEST [ARGS...]
#
# make -j check runs the test programs at once, all against the one
# server scripts/with-server.sh started.  A program that stops or
# restarts its server (t/faults runs pg_ctl stop and start) would make
# the others fail, so each program that UVPG_OWN_SERVER_TESTS lists
# (Makefile.am's OWN_SERVER_TESTS, exported by AM_TESTS_ENVIRONMENT)
# runs under a private throwaway cluster of its own instead:
# scripts/with-server.sh --private.  Any other test runs as it is.
#
# A program that UVPG_REPLICA_TESTS lists needs a primary and a
# streaming standby: it runs under t/replica.sh run, which starts both
# for it and stops them after.
#
# Environment: top_srcdir (exported by the Makefile; default: the parent
# of this script's directory), UVPG_OWN_SERVER_TESTS, UVPG_REPLICA_TESTS.

top=${top_srcdir:-$(dirname "$0")/..}
name=${1#./}
case " ${UVPG_OWN_SERVER_TESTS:-} " in
*" $name "*) exec "$top/scripts/with-server.sh" --private "$@" ;;
esac
case " ${UVPG_REPLICA_TESTS:-} " in
*" $name "*) exec "$top/t/replica.sh" run "$@" ;;
esac
exec "$@"
