#!/usr/bin/env bash
# API throughput: authenticated GET of a person by ID number with wrk on loopback, against nginx
# returning a fixed JSON body on the same machine in the same run. Prints a Markdown table.
# Usage: [ROUNDS=N] bench-api.sh BIHUAN_BINARY [PERSONS] [DURATION_S]
# With ROUNDS=N (default 1) nginx and bihuan are measured in turn N times against the same server
# and city, one row pair per round, and the median of the rounds' ratios is printed last: the
# rates of both move from run to run on a shared machine, by more than the ratio's margins.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "$1") PERSONS=${2:-100000} DUR=${3:-15} ROUNDS=${ROUNDS:-1}
WORK=$(mktemp -d /tmp/bihuan-bench-api.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

. scripts/lib/serve-common.sh  # free_port, wait_http, start_nginx_baseline

# nginx: one worker, a fixed 17-byte JSON answer.
start_nginx_baseline "$WORK/nginx"  # sets NGX_PORT, NGX_PID
pids+=("$NGX_PID")

DB="$WORK/city.db"
"$BIN" gen --persons "$PERSONS" --seed 1 --db "sqlite:$DB" >/dev/null
"$BIN" user add --db "sqlite:$DB" --username bench --role admin --password "bench-password-1" >/dev/null
TOKEN=$("$BIN" user token --db "sqlite:$DB" --username bench --name wrk | tail -n 1)
ID=$(sqlite3 "$DB" "select doc_number from persons where doc_type='resident_id' order by id limit 1 offset 1000")
API_PORT=$(free_port)
"$BIN" serve --db "sqlite:$DB" --port "$API_PORT" --threads 2 >"$WORK/serve.log" 2>&1 & pids+=($!)
API_PID=$!
wait_http "http://127.0.0.1:$NGX_PORT/"
wait_http "http://127.0.0.1:$API_PORT/api/health"
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/api/persons?doc_number=$ID" | grep -q '"items":\[{' \
  || { echo "API did not find $ID" >&2; exit 1; }

# Requests/s, p99 latency and answers other than 2xx/3xx (wrk reports them only when there are some).
run_wrk() { wrk -t1 -c64 -d"${DUR}s" --latency "$@" >"$WORK/last.txt"; cat "$WORK/last.txt" >>"$WORK/wrk.txt"; }
# CPU time (user + system, clock ticks) of a process and all its threads (nginx: the worker, its child).
cpu_ticks() { local t=0 p; for p in "$1" $(pgrep -P "$1" || true); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
# Microseconds of CPU per answered request between two cpu_ticks readings.
us_per_req() { awk -v a="$1" -v b="$2" -v n="$(awk '/requests in/ {print $1}' "$WORK/last.txt")" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b - a) * 1e6 / hz / n}'; }
field() {
  case "$1" in
    rps) awk '/Requests\/sec/ {print $2}' "$WORK/last.txt" ;;
    p99) awk '$1 == "99%" {print $2}' "$WORK/last.txt" ;;
    bad) awk '/Non-2xx or 3xx responses/ {n = $NF} END {print n + 0}' "$WORK/last.txt" ;;
  esac
}
echo "| round | target | requests/s | ratio to nginx | p99 | answers not 2xx | server CPU µs per request |" >"$WORK/table.md"
echo "|---|---|---|---|---|---|---|" >>"$WORK/table.md"
BEFORE=$(sqlite3 "$DB" "select count(*) from audit_log where action like 'person.%'")
ANSWERED=0
: >"$WORK/ratios.txt"
for round in $(seq 1 "$ROUNDS"); do
  C0=$(cpu_ticks "$NGX_PID")
  run_wrk "http://127.0.0.1:$NGX_PORT/"
  NGX_CPU=$(us_per_req "$C0" "$(cpu_ticks "$NGX_PID")")
  NGX=$(field rps) NGX_P99=$(field p99) NGX_BAD=$(field bad)
  C0=$(cpu_ticks "$API_PID")
  run_wrk -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/api/persons?doc_number=$ID"
  API_CPU=$(us_per_req "$C0" "$(cpu_ticks "$API_PID")")
  API=$(field rps) API_P99=$(field p99) API_BAD=$(field bad)
  ANSWERED=$((ANSWERED + $(awk '/requests in/ {print $1}' "$WORK/last.txt")))
  RATIO=$(awk -v a="$API" -v b="$NGX" 'BEGIN{printf "%.2f", a/b}')
  echo "$RATIO" >>"$WORK/ratios.txt"
  echo "| $round | nginx fixed JSON | $NGX | 1.00 | $NGX_P99 | $NGX_BAD | $NGX_CPU |" >>"$WORK/table.md"
  echo "| $round | bihuan GET /api/persons?doc_number= (bearer token, audited, $PERSONS persons) | $API | $RATIO | $API_P99 | $API_BAD | $API_CPU |" >>"$WORK/table.md"
done
# The audit records of the runs: the server moves what is still in its audit queue into audit_log
# when it stops (store/audit_queue.hpp).
kill -TERM "$API_PID" 2>/dev/null || true
wait "$API_PID" 2>/dev/null || true
AUDITS=$(( $(sqlite3 "$DB" "select count(*) from audit_log where action like 'person.%'") - BEFORE ))
cat "$WORK/wrk.txt" >&2
cat "$WORK/table.md"
if ((ROUNDS > 1)); then
  sort -n "$WORK/ratios.txt" | awk -v n="$ROUNDS" '{r[NR] = $1}
    END {m = NR % 2 ? r[(NR + 1) / 2] : sprintf("%.3f", (r[NR / 2] + r[NR / 2 + 1]) / 2)
         printf "median ratio to nginx over %d rounds: %s (lowest %s, highest %s)\n", n, m, r[1], r[NR]}'
fi
echo "audit records written during the bihuan runs: $AUDITS for $ANSWERED answered requests" >&2
