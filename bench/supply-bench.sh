#!/usr/bin/env bash
# Work resumption and supplies at city scale (issue 11; bench/RESULTS.md, "Work resumption and
# supplies"): the compliance table of every enterprise and the day's needs lists of every
# controlled area through bihuan's services, against DuckDB over the same rows, same run.
#   bench/supply-bench.sh DB_PATH [REPS]
# DB_PATH is a city made by `bihuan gen --persons 25000000 --today 2026-11-29` (SQLite). The
# fixture (200,000 enterprises, 2 M people under control, needs records, vulnerable people,
# requests) is written into it once; the CSV of the baseline goes to OUT (default
# DB_PATH's directory/supply). Needs build/release/bench/supply_bench (release preset with
# BIHUAN_BUILD_BENCH=ON) and `npm ci` in bench/duckdb. The measured part runs under
# flock /work/bench.lock when that file exists.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DB=${1:?usage: bench/supply-bench.sh DB_PATH [REPS]}
REPS=${2:-5}
OUT=${OUT:-$(dirname "$DB")/supply}
BENCH=${BENCH:-$ROOT/build/release/bench/supply_bench}
TODAY=2026-11-29
mkdir -p "$OUT"
if [ ! -f "$OUT/seed.json" ]; then
  echo "== $(date -u +%FT%TZ) seeding"
  "$BENCH" seed --db "sqlite:$DB" --out "$OUT" --today $TODAY > "$OUT/seed.json.tmp"
  mv "$OUT/seed.json.tmp" "$OUT/seed.json"
fi
LOCK=/work/bench.lock
run() { if [ -e "$LOCK" ]; then flock "$LOCK" "$@"; else "$@"; fi; }
run bash -c "
  echo \"== \$(date -u +%FT%TZ) \$(uptime)\"
  /usr/bin/time -f '%M KiB peak, %e s wall' '$BENCH' measure --db 'sqlite:$DB' --reps $REPS --today $TODAY > '$OUT/bihuan.json'
  echo \"== \$(uptime)\"
  node '$ROOT/bench/duckdb/supply.mjs' '$OUT' 2026-11-23 $TODAY $REPS > '$OUT/duckdb.json'
  echo \"== \$(uptime)\"
"
python3 - "$OUT/seed.json" "$OUT/bihuan.json" "$OUT/duckdb.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2])); d = json.load(open(sys.argv[3]))
print(f"city: {s['persons']:,} persons; {s['enterprises']:,} enterprises ({s['reopened']:,} reopened), "
      f"{s['staff']:,} staff, {s['routine_tasks']:,} routine tasks; {s['controlled']:,} under control, "
      f"{s['needs_records']:,} needs records, {s['vulnerable']:,} vulnerable flags, {s['requests']:,} requests")
print(f"DuckDB loaded the rows in {d['load_ms'] / 1000:.1f} s ({d['threads']} threads)")
print("| query | bihuan median | bihuan min–max | DuckDB median | DuckDB min–max | bihuan / DuckDB (median) |")
print("|---|---|---|---|---|---|")
for k in ("compliance", "needs_lists"):
    x, y = b[k]["time"], d["queries"][k]["time"]
    print(f"| {k} | {x['median_ms'] / 1000:.2f} s | {x['min_ms'] / 1000:.2f}–{x['max_ms'] / 1000:.2f} s | "
          f"{y['median_ms'] / 1000:.2f} s | {y['min_ms'] / 1000:.2f}–{y['max_ms'] / 1000:.2f} s | "
          f"{x['median_ms'] / y['median_ms']:.1f} |")
print(f"peak memory: bihuan {b['peak_rss_mib']:.0f} MiB, DuckDB (node) {d['peak_rss_mib']:.0f} MiB")
# The same answers.
for k in ("enterprises", "post_rows", "staff", "due", "done", "missed", "open"):
    assert b["compliance"]["result"][k] == d["queries"]["compliance"]["result"][k], k
for k in ("areas", "households", "controlled", "with_needs", "vulnerable_in_households", "open_requests", "vulnerable_listed"):
    assert b["needs_lists"]["result"][k] == d["queries"]["needs_lists"]["result"][k], (k, b["needs_lists"]["result"][k], d["queries"]["needs_lists"]["result"][k])
print("results equal:", json.dumps(b["compliance"]["result"]), json.dumps(b["needs_lists"]["result"]))
PY
