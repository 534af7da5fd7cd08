#!/usr/bin/env bash
# Soak test: mixed traffic at 80 % of the measured peak against a release `bihuan serve` on a
# generated city, with an import every minute, checking that no answer is a 5xx and that the
# server's resident memory stays flat (within 10 % after the warm-up). Prints a summary and
# exits non-zero when a check fails. Results go into bench/RESULTS.md ("Soak").
#   scripts/soak.sh BIHUAN_BINARY [MINUTES=10] [PERSONS=200000] [LOAD_PERCENT=80]
# Traffic (scripts/soak/mix.lua, wrk -t1 -c64, an administrator's API token): 50 % lookups by
# doc_number, 10 % person details, 16 % searches by name and by grid, 4 % active-order lists,
# 14 % health checks and 6 % test results of active orders; plus, every 60 s, an import of
# 20,000 registry rows (changed phone numbers) through POST /api/import/persons, following the
# job when the server answers 202. The peak is measured first with the same mix, unpaced.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "$1") MINUTES=${2:-10} PERSONS=${3:-200000} LOAD=${4:-80}
PEAK_S=${SOAK_PEAK_SECONDS:-30}
# The warm-up covers the first import (at 60 s): the job runner's first import opens its database
# connection and fills its page cache, a one-time step of about 14 MiB.
WARMUP_S=${SOAK_WARMUP_SECONDS:-120}
IMPORT_EVERY=${SOAK_IMPORT_EVERY:-60}
IMPORT_ROWS=${SOAK_IMPORT_ROWS:-20000}
WORK=$(mktemp -d /tmp/bihuan-soak.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n ${SOAK_KEEP:-} ]]; then echo "soak: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { echo "soak: $*" >&2; }

. scripts/lib/serve-common.sh  # free_port, wait_http

DB="$WORK/city.db" URL="sqlite:$WORK/city.db"
log "generating a city of $PERSONS persons"
"$BIN" gen --persons "$PERSONS" --seed 7 --db "$URL" >/dev/null
"$BIN" user add --db "$URL" --username soak --role admin --password "soak-password-1" >/dev/null
TOKEN=$("$BIN" user token --db "$URL" --username soak --name wrk | tail -n 1)

# Arrivals: 2,000 registered persons come back on flight SOAK1 (orders at the port).
PORT_ORG=$(sqlite3 "$DB" "select id from orgs where kind = 'port' order by id limit 1")
{
  echo "证件类型,证件号码,国籍,姓名,性别,出生日期,手机号,座位号,目的地网格"
  sqlite3 -csv "$DB" "select doc_type, doc_number, nationality, name, sex, birth_date, phone, 'S' || id, area_code
                      from persons where doc_type = 'resident_id' and length(area_code) = 15 order by id limit 2000"
} >"$WORK/manifest.csv"

API_PORT=$(free_port)
"$BIN" serve --db "$URL" --port "$API_PORT" --threads 2 --policies policies --code-key "$WORK/code" \
  >"$WORK/serve.log" 2>&1 &
SERVE=$!
pids+=("$SERVE")
BASE="http://127.0.0.1:$API_PORT"
wait_http "$BASE/api/health"
AUTH=(-H "Authorization: Bearer $TOKEN")
# follow OUT CODE: an answer 202 {"job_id": N} is followed to the job's end; prints the final status.
follow() {
  local out=$1 code=$2 job status=""
  if [[ $code == 202 ]]; then
    job=$(sed -n 's/.*"job_id":\([0-9]*\).*/\1/p' "$out")
    for _ in $(seq 1 900); do
      code=$(curl -s -o "$out.job" -w '%{http_code}' "${AUTH[@]}" "$BASE/api/jobs/$job")
      status=$(sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' "$out.job")
      [[ $code != 200 || $status == done || $status == failed ]] && break
      sleep 1
    done
    [[ $status == failed ]] && code=job-failed
  fi
  echo "$code"
}
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
code=$(curl -s -o "$WORK/manifest.out" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: text/csv' --data-binary @"$WORK/manifest.csv" \
  "$BASE/api/loop/manifests?kind=flight&ref=SOAK1&arrived_at=$NOW&port_org=$PORT_ORG")
code=$(follow "$WORK/manifest.out" "$code")
[[ $code == 200 || $code == 201 ]] || { log "manifest import answered $code: $(head -c 400 "$WORK/manifest.out")"; exit 1; }

# Data for the traffic.
mkdir -p "$WORK/data"
sqlite3 "$DB" "select doc_number from persons order by random() limit 20000" >"$WORK/data/docs.txt"
sqlite3 "$DB" "select id from persons order by random() limit 20000" >"$WORK/data/ids.txt"
sqlite3 "$DB" "select name from persons order by random() limit 2000" >"$WORK/data/names.txt"
sqlite3 "$DB" "select code from areas where length(code) = 15 order by random() limit 500" >"$WORK/data/grids.txt"
sqlite3 "$DB" "select id || ' ' || json_extract(plan_json, '\$.phases[0].test_dates[0]') from control_orders
               where status = 'active' and json_extract(plan_json, '\$.phases[0].test_dates[0]') is not null" >"$WORK/data/orders.txt"
log "$(wc -l <"$WORK/data/orders.txt") active orders for checks and tests"

# Import file: IMPORT_ROWS registered persons; each round changes their phone numbers.
sqlite3 -csv "$DB" "select doc_number, name, sex, birth_date, area_code from persons
                    where doc_type = 'resident_id' order by id desc limit $IMPORT_ROWS" >"$WORK/import-base.csv"
import_round() { # round -> prints the final HTTP status of the import (job followed to its end)
  local round=$1 f="$WORK/import-$1.csv" code
  { echo "id_number,name,sex,birth_date,area_code,phone"
    awk -F, -v r="$round" '{ printf "%s,%s,%s,%s,%s,1%02d%08d\n", $1, $2, $3, $4, $5, 30 + r % 60, NR }' "$WORK/import-base.csv"
  } >"$f"
  code=$(curl -s -o "$WORK/import.out" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: text/csv' --data-binary @"$f" \
    "$BASE/api/import/persons?mode=valid-rows")
  rm -f "$f"
  follow "$WORK/import.out" "$code"
}

mix() { # rate seconds -> wrk output
  wrk -t1 -c64 -d"$2s" --timeout 10s --latency -s scripts/soak/mix.lua "$BASE/" -- "$1" "$WORK/data" "$TOKEN"
}

log "measuring the peak of the mix (${PEAK_S} s, unpaced)"
mix 0 "$PEAK_S" >"$WORK/peak.txt"
PEAK=$(awk '/^soak-rate/ {print $2}' "$WORK/peak.txt")
RATE=$(awk -v p="$PEAK" -v l="$LOAD" 'BEGIN { printf "%d", p * l / 100 }')
log "peak $PEAK req/s; soaking at $RATE req/s ($LOAD %) for $MINUTES min"

# Resident memory of the server every 5 s.
( while kill -0 "$SERVE" 2>/dev/null; do
    echo "$(date +%s) $(awk '/^VmRSS/ {print $2}' /proc/$SERVE/status)"
    sleep 5
  done ) >"$WORK/rss.txt" &
pids+=($!)
# An import every IMPORT_EVERY seconds.
( round=1
  while [[ ! -f $WORK/stop-imports ]]; do
    sleep "$IMPORT_EVERY"
    [[ -f $WORK/stop-imports ]] && break
    t0=$(date +%s.%N)
    code=$(import_round $round)
    echo "$(date +%s) $code $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
    round=$((round + 1))
  done ) >"$WORK/imports.txt" &
IMPORTER=$!
pids+=("$IMPORTER")

START=$(date +%s)
mix "$RATE" $((MINUTES * 60)) >"$WORK/soak.txt"
touch "$WORK/stop-imports"  # the importer finishes the round it is in, then stops
for _ in $(seq 1 300); do kill -0 "$IMPORTER" 2>/dev/null || break; sleep 1; done

cat "$WORK/soak.txt" >&2
val() { awk -v k="$1" '$1 == k {print $2}' "$WORK/soak.txt"; }
status() { awk -v k="$1" '$1 == "soak-status" && $2 == k {print $3}' "$WORK/soak.txt"; }
C5=$(status c5) C4=$(status c4) C2=$(status c2) ERR=$(val soak-errors) ACH=$(val soak-rate) P99=$(val soak-p99-ms)
# RSS: the sample at the end of the warm-up, the last one, and the largest after the warm-up.
read -r RSS_W RSS_END RSS_MAX < <(awk -v s=$((START + WARMUP_S)) '$1 >= s && $2 != "" { if (!w) w = $2; last = $2; if ($2 > m) m = $2 }
                                  END { print w, last, m }' "$WORK/rss.txt")
RSS_FIRST=$(awk 'NR == 1 {print $2}' "$WORK/rss.txt")
IMPORTS=$(wc -l <"$WORK/imports.txt")
IMPORT_BAD=$(awk '$2 != 200 && $2 != 201 {n++} END {print n + 0}' "$WORK/imports.txt")
GROWTH=$(awk -v w="$RSS_W" -v m="$RSS_MAX" 'BEGIN { printf "%.1f", (m - w) * 100 / w }')

cat <<SUMMARY
soak: $MINUTES min, $PERSONS persons, serve --threads 2 (SQLite), wrk -t1 -c64
  peak of the mix (unpaced, ${PEAK_S} s): $PEAK req/s
  offered: $RATE req/s ($LOAD %), achieved $ACH req/s, p99 $P99 ms
  answers: 2xx $C2, 4xx $C4, 5xx $C5, socket errors $ERR
  imports: $IMPORTS of $IMPORT_ROWS rows (statuses: $(awk '{print $2}' "$WORK/imports.txt" | sort | uniq -c | tr -s ' \n' ' ')), seconds each: $(awk '{printf "%s ", $3}' "$WORK/imports.txt")
  VmRSS: first $RSS_FIRST KiB, after ${WARMUP_S} s warm-up $RSS_W KiB, end $RSS_END KiB, max $RSS_MAX KiB (+$GROWTH % over warm-up)
SUMMARY
fail=0
((C5 == 0)) || { log "FAIL: $C5 answers were 5xx"; grep -E '"status":5|HTTP/1.1" 5| 5[0-9][0-9] ' "$WORK/serve.log" | tail -n 5 >&2 || true; fail=1; }
((IMPORTS > 0)) || { log "FAIL: no import ran"; fail=1; }
((IMPORT_BAD == 0)) || { log "FAIL: $IMPORT_BAD imports did not succeed"; fail=1; }
awk -v g="$GROWTH" 'BEGIN { exit !(g <= 10) }' || { log "FAIL: resident memory grew $GROWTH % after the warm-up"; fail=1; }
exit "$fail"
