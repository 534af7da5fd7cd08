#!/usr/bin/env bash
# Runs every test of a built tree (and the short fuzz runs of a fuzz-preset tree, when given
# or present at build/fuzz): starts a throwaway PostgreSQL 15 cluster on a free local
# port for the storage and API suites, runs ctest, and removes the cluster whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/asan}
FUZZ_BUILD=${2:-build/fuzz}

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_DIR=$(mktemp -d /tmp/bihuan-pg.XXXXXX)
cleanup() {
  if [[ -f "$PG_DIR/data/postmaster.pid" ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
}
trap cleanup EXIT

. scripts/lib/serve-common.sh  # free_port

PG_PORT=$(free_port)
chown postgres:postgres "$PG_DIR"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U bihuan -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log"; exit 1; }
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" -l "$PG_DIR/log" start >/dev/null
runuser -u postgres -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U bihuan bihuan_test
export BIHUAN_TEST_PG="postgresql://bihuan@127.0.0.1:$PG_PORT/bihuan_test"
export BIHUAN_REQUIRE_PG=1
echo "test: PostgreSQL $(basename "$(dirname "$PG_BIN")") on port $PG_PORT"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -j "$(nproc)" || rc=$?
if [[ -f "$FUZZ_BUILD/CTestTestfile.cmake" ]]; then
  echo "test: short fuzz runs in $FUZZ_BUILD"
  ctest --test-dir "$FUZZ_BUILD" -L fuzz --output-on-failure --no-tests=error -j "$(nproc)" || rc=$?
fi
exit "$rc"
