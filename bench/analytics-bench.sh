#!/usr/bin/env bash
# Analytics queries (issue 10): the analytics service over a 100-day outbreak of CASES cases in a
# generated city of PERSONS persons, against DuckDB over the same rows, same run
# (bench/RESULTS.md, "Analytics queries").
#   bench/analytics-bench.sh [PERSONS] [CASES] [REPS]     (defaults 1000000 100000 50)
#   CITY=/path/city.db bench/analytics-bench.sh 0 CASES REPS   (a copy of an existing city instead)
# Needs build/release/bench/analytics_bench and build/release/src/app/bihuan (release preset with
# BIHUAN_BUILD_BENCH=ON) and `npm ci` in bench/duckdb. OUT (default /dev/shm/analytics-bench)
# holds the city and the rows; the measured part runs under flock /work/bench.lock.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERSONS=${1:-1000000}
CASES=${2:-100000}
REPS=${3:-50}
OUT=${OUT:-/dev/shm/analytics-bench}
BIN=${BIN:-$ROOT/build/release/src/app/bihuan}
BENCH=${BENCH:-$ROOT/build/release/bench/analytics_bench}
END=2026-11-29
rm -rf "$OUT"
mkdir -p "$OUT"
if [[ -n "${CITY:-}" ]]; then
  # A city generated before (e.g. the 25 M one of the generator's measurement): a copy of it.
  echo "== $(date -u +%FT%TZ) copying $CITY"
  sqlite3 "$CITY" ".backup '$OUT/city.db'"
else
  echo "== $(date -u +%FT%TZ) generating $PERSONS persons"
  "$BIN" gen --persons "$PERSONS" --seed 7 --db "sqlite:$OUT/city.db" > "$OUT/gen.log" 2>&1
fi
flock /work/bench.lock bash -c "
  echo \"== \$(date -u +%FT%TZ) \$(uptime)\"
  '$BENCH' --db 'sqlite:$OUT/city.db' --out '$OUT' --cases $CASES --days 100 --reps $REPS --end $END > '$OUT/bihuan.json'
  echo \"== \$(uptime)\"
  D=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"district\"])' '$OUT/bihuan.json')
  F=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"first\"])' '$OUT/bihuan.json')
  P=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"peak\"])' '$OUT/bihuan.json')
  node '$ROOT/bench/duckdb/analytics.mjs' '$OUT' \"\$F\" $END \"\$D\" $REPS \"\$P\" > '$OUT/duckdb.json'
  echo \"== \$(uptime)\"
"
python3 - "$OUT/bihuan.json" "$OUT/duckdb.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))
print(f"{b['cases']} cases of {b['registered']} persons, {b['days']} days ({b['first']} .. {b['end']}); district {b['district']} with {b['district_cases']} cases; {b['reps']} reps")
print(f"DuckDB loaded {d['loaded']} rows in {d['load_ms']:.0f} ms ({d['threads']} threads)")
print("| query | cases counted (bihuan / DuckDB) | bihuan p50 | bihuan p99 | DuckDB p50 | DuckDB p99 | p99 bihuan / DuckDB |")
print("|---|---|---|---|---|---|---|")
for k, v in b["queries"].items():
    w = d["queries"][k]
    print(f"| {k} | {v['result']} / {w['cases']} | {v['p50_ms']:.1f} ms | {v['p99_ms']:.1f} ms | {w['p50_ms']:.1f} ms | {w['p99_ms']:.1f} ms | {v['p99_ms'] / w['p99_ms']:.2f} |")
# Same rows, same counts where the ranges are the same (Rt, nowcast, growth; curves read six more days in DuckDB).
for k in b["queries"]:
    if k.split(".")[1] in ("rt", "nowcast", "growth", "bulletin"):
        assert b["queries"][k]["result"] == d["queries"][k]["cases"], (k, b["queries"][k], d["queries"][k])
PY
