#!/usr/bin/env bash
# Two builds of bihuan through scripts/bench-scan-api.sh in alternating turns (A, B, A, B, ...), for
# comparing changes on a machine whose speed drifts from minute to minute: compare each pair, and
# read the server's CPU per scan and the machine's idle and stolen CPU, not a single ratio.
# Usage: bench-scan-ab.sh OUT_PREFIX BIN_A BIN_B [PAIRS (3)] [DURATION_S (10)]
#   OUT_PREFIX.txt gets the summary lines of every run (with the exit code and start time);
#   OUT_PREFIX.N.log each run's whole output. Other settings pass through the environment
#   (PERSONS, VISITORS, and bench-scan-api.sh's own: THREADS, MOVE_MS, ...).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=$1 A=$2 B=$3 PAIRS=${4:-3} DUR=${5:-10}
: >"$OUT.txt"
k=0
for _ in $(seq "$PAIRS"); do
  for bin in "$A" "$B"; do
    k=$((k + 1))
    echo "== $bin $(date -u +%H:%M:%S)" >>"$OUT.txt"
    scripts/bench-scan-api.sh "$bin" "${PERSONS:-100000}" "$DUR" "${VISITORS:-2000}" >"$OUT.$k.log" 2>&1
    echo "exit code $?" >>"$OUT.txt"
    grep -E "^machine|nginx fixed|bihuan POST|by thread|stopped|did not" "$OUT.$k.log" >>"$OUT.txt"
  done
done
cat "$OUT.txt"
