#!/usr/bin/env bash
# First contact: install deps, build in build/, run samples/query against a throwaway server.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh build
make -C build -j"$(nproc)" samples/query
# Single quotes: $UVPG_DSN is expanded by the inner shell, after with-server.sh set it.
# shellcheck disable=SC2016
exec scripts/with-server.sh sh -c 'build/samples/query "$UVPG_DSN"'
