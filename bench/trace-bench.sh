#!/usr/bin/env bash
# Contact finding (issue 8): bihuan's visit index against DuckDB and PostgreSQL over the same rows
# (bench/RESULTS.md, "Contact finding (issue 8)").
#   [RUNS=N] bench/trace-bench.sh [PERSONS] [DAYS]       (defaults 2000000 14; N query runs each, default 5)
# Needs build/release/bench/trace_bench, `npm ci` in bench/duckdb, and a PostgreSQL server
# (PG_URL, default postgresql://bihuan@127.0.0.1:25432; the database trace_bench is created and
# dropped). OUT (default /tmp/trace-bench) holds the rows (about 40 bytes of CSV per visit).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERSONS=${1:-2000000}
DAYS=${2:-14}
OUT=${OUT:-/tmp/trace-bench}
PG=${PG_URL:-postgresql://bihuan@127.0.0.1:25432}
SKIP_PG=${SKIP_PG:-0}
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 755 "$OUT"
echo "== $(date -u +%FT%TZ) $(uptime)"
echo "== bihuan"
"$ROOT/build/release/bench/trace_bench" --persons "$PERSONS" --days "$DAYS" --cases 1000 --runs "${RUNS:-5}" --out "$OUT" 2> "$OUT/days.log"
ls -l "$OUT"/scans.csv
echo "== $(uptime)"
echo "== duckdb"
node "$ROOT/bench/duckdb/trace.mjs" "$OUT"
echo "== $(uptime)"
if [ "$SKIP_PG" != 1 ]; then
  echo "== postgresql"
  psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS trace_bench' -c 'CREATE DATABASE trace_bench'
  P="$PG/trace_bench"
  start=$(date +%s.%N)
  psql -q "$P" <<SQL
CREATE UNLOGGED TABLE scans (person int NOT NULL, venue int NOT NULL, entered bigint NOT NULL, exited bigint NOT NULL);
CREATE TABLE case_visits (case_person int, venue int, start_s bigint, end_s bigint);
CREATE TABLE venues (venue int PRIMARY KEY, min_overlap_s bigint);
\copy scans FROM '$OUT/scans.csv' CSV HEADER
\copy case_visits FROM '$OUT/case_visits.csv' CSV HEADER
\copy venues FROM '$OUT/venues.csv' CSV HEADER
SQL
  echo "postgresql: loaded in $(echo "$(date +%s.%N) - $start" | bc) s"
  start=$(date +%s.%N)
  psql -q "$P" -c 'CREATE INDEX scans_venue_entered ON scans (venue, entered)' -c 'ANALYZE'
  echo "postgresql: index (venue, entered) and ANALYZE in $(echo "$(date +%s.%N) - $start" | bc) s"
  MAXDUR=$(psql -qtA "$P" -c 'SELECT max(exited - entered) FROM scans')
  # The index range needs a lower bound on entered: the longest stay in the log (as bihuan's
  # index bounds its backwards search).
  Q="SELECT c.case_person, s.person AS contact, s.venue,
            max(least(s.exited, c.end_s) - greatest(s.entered, c.start_s)) AS overlap_s
     FROM case_visits c
     JOIN venues v ON v.venue = c.venue
     JOIN scans s ON s.venue = c.venue AND s.entered < c.end_s AND s.entered > c.start_s - $MAXDUR
                 AND s.exited > c.start_s AND s.person <> c.case_person
     WHERE least(s.exited, c.end_s) - greatest(s.entered, c.start_s) >= greatest(v.min_overlap_s, 1)
     GROUP BY 1, 2, 3"
  for run in 1 2; do
    psql -qtA "$P" -c '\timing on' -c "SELECT count(*) FROM ($Q) q" | tr '\n' ' ' | sed "s/^/postgresql query run $run: contacts /"
    echo
  done
  psql -qtA "$P" -c "EXPLAIN SELECT count(*) FROM ($Q) q" | head -20
  # The planner's choice above; the same query made to use the (venue, entered) index per case
  # visit (nested loop), once.
  psql -qtA "$P" -c 'SET enable_hashjoin = off' -c 'SET enable_mergejoin = off' -c '\timing on' \
    -c "SELECT count(*) FROM ($Q) q" | tr '\n' ' ' | sed "s/^/postgresql query, index nested loop: contacts /"
  echo
  psql -qtA "$P" -c 'SET enable_hashjoin = off' -c 'SET enable_mergejoin = off' -c "EXPLAIN SELECT count(*) FROM ($Q) q" | head -12
  psql -q "$P" -c "\\copy ($Q ORDER BY 1, 2, 3) TO '$OUT/pg.csv' CSV"
  psql -q "$PG/postgres" -c 'DROP DATABASE trace_bench'
fi
echo "== $(uptime)"
echo "== agreement (contacts; md5 of the sorted case,contact,venue,overlap_s rows)"
for f in bihuan duckdb pg; do
  if [ -f "$OUT/$f.csv" ]; then echo "$f: $(wc -l < "$OUT/$f.csv") $(md5sum < "$OUT/$f.csv" | cut -c1-32)"; fi
done
