#!/usr/bin/env bash
# Venue-scan API throughput (issue 8): POST /api/scan with a visitor's signed health-code token
# (verified on every request), the answer at the door and the visit appended to the scan log, with
# wrk on loopback, against nginx returning a fixed JSON body on the same machine in the same run
# (as scripts/bench-api.sh does for the persons lookup). Prints a Markdown table.
#   nginx is measured twice: with the very requests of the scan run (the same wrk script, headers
#   and bodies, to /api/scan: wrk's own CPU per request, which shares the machine, is then the same
#   in both runs) and with wrk's plain GET / (no script). The scan's ratio is given to each.
# Usage: [PERF_OUT=FILE] [PERF_STAT=FILE] [THREADS=T] [DISTINCT_TOKENS=N] [DB_THREADS=M] [GROUP_WAIT_US=U] bench-scan-api.sh BIHUAN_BINARY [PERSONS] [DURATION_S] [VISITORS]
#   VISITORS health codes are fetched before the run; the wrk script sends visitor n % VISITORS to
#   venue (n / VISITORS) % VENUES, so a (visitor, venue) pair repeats only after VISITORS x VENUES
#   requests and nearly every scan is a new visit (a repeat within trace.duplicate_seconds is
#   answered as the same visit, nothing appended; their count is printed).
#   DISTINCT_TOKENS=N: instead, N tokens all different (the visitors' codes signed again with the
#   server's key, each with its own issue time, by node's Ed25519) and request n sends token n, so
#   no token is seen twice while n < N (the server verifies every signature; the count of requests
#   beyond N is printed). TOKEN_MAC=1: those tokens also carry the issuer's MAC, as the server's
#   own codes do since core/health_code_mac.hpp (the server then checks the MAC, not the signature). DB_THREADS: serve --db-threads (default: the server's). GROUP_WAIT_US:
#   the setting trace.scan_group_wait_us (default: the server's). MOVE_MS: the setting
#   trace.scan_move_ms, how often the scan queue is moved into the log (default: the server's).
#   THREADS: serve --threads (default 1: one I/O thread, as nginx runs one worker; wrk has the
#   machine's other CPU). PERF_STAT=FILE: the server's system calls counted during
#   the run (perf stat; PERF_EVENTS overrides the events). wrk's own CPU time and the server's CPU
#   per thread are printed with the results (wrk shares the machine with the server).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "$1") PERSONS=${2:-100000} DUR=${3:-15} VISITORS=${4:-2000}
WORK=$(mktemp -d /tmp/bihuan-bench-scan.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'echo "bench-scan-api: stopped by a failing command at line $LINENO" >&2' ERR

. scripts/lib/serve-common.sh  # free_port, wait_http, start_nginx_baseline

start_nginx_baseline "$WORK/nginx"  # sets NGX_PORT, NGX_PID
pids+=("$NGX_PID")

DB="$WORK/city.db"
"$BIN" gen --persons "$PERSONS" --seed 1 --db "sqlite:$DB" >/dev/null
"$BIN" user add --db "sqlite:$DB" --username bench --role admin --password "bench-password-1" >/dev/null
[[ -n "${GROUP_WAIT_US:-}" ]] && "$BIN" settings set trace.scan_group_wait_us "$GROUP_WAIT_US" --db "sqlite:$DB" >/dev/null
[[ -n "${MOVE_MS:-}" ]] && "$BIN" settings set trace.scan_move_ms "$MOVE_MS" --db "sqlite:$DB" >/dev/null
TOKEN=$("$BIN" user token --db "sqlite:$DB" --username bench --name wrk | tail -n 1)
API_PORT=$(free_port)
DISTINCT=${DISTINCT_TOKENS:-0}
"$BIN" serve --db "sqlite:$DB" --port "$API_PORT" --threads "${THREADS:-1}" ${DB_THREADS:+--db-threads "$DB_THREADS"} \
  --code-key "$WORK/code-signing" >"$WORK/serve.log" 2>&1 & pids+=($!)
API_PID=$!
wait_http "http://127.0.0.1:$NGX_PORT/"
wait_http "http://127.0.0.1:$API_PORT/api/health" || { echo "the server did not start; its log:" >&2; tail -n 20 "$WORK/serve.log" >&2; exit 1; }

# Visitors without a control order (green codes) and the venues.
sqlite3 -cmd ".timeout 10000" "$DB" "select id from persons where id not in (select person_id from control_orders) order by id limit $VISITORS" >"$WORK/ids"
sqlite3 -cmd ".timeout 10000" "$DB" "select code from venues order by id" >"$WORK/venues"
VENUES=$(wc -l <"$WORK/venues")
{
  echo "tokens = {"
  while read -r id; do
    t=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/api/persons/$id/code" \
      | sed -n 's/.*"token":"\([^"]*\)".*/\1/p' || true)
    if [[ -n "$t" ]]; then echo "  \"$t\","; fi
  done <"$WORK/ids"
  echo "}"
  if [[ "$DISTINCT" -gt 0 ]]; then
    # N distinct tokens of the same visitors, signed like the server's (core/health_code.cpp).
    echo "distinct = {"
    KEY="$WORK/code-signing.secret" N="$DISTINCT" MAC="${TOKEN_MAC:-0}" node -e '
      const fs = require("fs"), crypto = require("crypto");
      const sk = Buffer.from(fs.readFileSync(process.env.KEY, "utf8").trim(), "base64url");
      const key = crypto.createPrivateKey({key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"),
                                           sk.subarray(0, 32)]), format: "der", type: "pkcs8"});
      const ids = fs.readFileSync(process.argv[1], "utf8").trim().split("\n");
      const n = Number(process.env.N), now = Date.now(), out = [];
      // TOKEN_MAC=1: with the issuer MAC the server adds (core/health_code_mac.hpp).
      const macKey = crypto.createHmac("sha256", sk.subarray(0, 32)).update("bihuan health code mac v1").digest();
      for (let i = 0; i < n; i++) {
        const issued = now - i, payload = Buffer.from(`${ids[i % ids.length]}|green|${issued}|${issued + 86400000}`);
        const sig = crypto.sign(null, payload, key);
        const mac = process.env.MAC === "1"
          ? crypto.createHmac("sha256", macKey).update(Buffer.concat([payload, Buffer.from("."), sig])).digest()
              .subarray(0, 16).toString("base64url") + "." : "";
        out.push(`  "BH1.${payload.toString("base64url")}.${mac}${sig.toString("base64url")}",`);
        if (out.length === 10000) { process.stdout.write(out.join("\n") + "\n"); out.length = 0; }
      }
      if (out.length) process.stdout.write(out.join("\n") + "\n");' "$WORK/ids"
    echo "}"
  fi
  echo "venues = {"
  sed 's/.*/  "&",/' "$WORK/venues"
  echo "}"
  cat <<'LUA'
n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- The request's parts are made once (its head from wrk.headers, set by then, and each venue's
-- and token's piece of the body), so that each request costs wrk one concatenation, not a
-- wrk.format call: wrk shares the machine with the server, and its own CPU per request is printed.
local head, vpart, tpart, dpart
local function parts()
  head = "POST /api/scan HTTP/1.1\r\n"
  for k, v in pairs(wrk.headers) do head = head .. k .. ": " .. v .. "\r\n" end
  head = head .. "Content-Length: "
  vpart, tpart = {}, {}
  for i, v in ipairs(venues) do vpart[i] = '{"venue":"' .. v .. '","code":"' end
  for i, t in ipairs(tokens) do tpart[i] = t .. '"}' end
  if distinct then
    dpart = {}
    for i, t in ipairs(distinct) do dpart[i] = t .. '"}' end
  end
end
request = function()
  if not head then parts() end
  local t = dpart and dpart[n + 1] or tpart[(n % #tpart) + 1]
  local v = vpart[(math.floor(n / #tpart) % #vpart) + 1]
  n = n + 1
  return head .. (#v + #t) .. "\r\n\r\n" .. v .. t
end
LUA
} >"$WORK/scan.lua"
NTOK=$(sed -n '/^tokens = {/,/^}/p' "$WORK/scan.lua" | grep -c '^  "' || true)
# One scan by hand: the answer at the door.
FIRST=$(sed -n '2s/^  "\(.*\)",$/\1/p' "$WORK/scan.lua")
curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"venue\":\"$(head -n 1 "$WORK/venues")\",\"code\":\"$FIRST\"}" "http://127.0.0.1:$API_PORT/api/scan" | grep -q '"result":"pass"' \
  || { echo "the API did not answer pass to a scan" >&2; exit 1; }

# The whole machine's CPU during each wrk run, from /proc/stat: the share idle and the share stolen
# by the hypervisor (a run with much steal or idle measured a busy neighbour, not the server).
cpu_line() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8, $5 + $6, $9}' /proc/stat; }
run_wrk() {
  local a b
  a=$(cpu_line)
  /usr/bin/time -f "wrk cpu %U user %S sys" -a -o "$WORK/wrktime.txt" wrk -t1 -c64 -d"${DUR}s" --latency "$@" >"$WORK/last.txt"
  b=$(cpu_line)
  echo "$a $b" | awk '{busy = $4 - $1; idle = $5 - $2; steal = $6 - $3; t = busy + idle + steal;
    printf "machine during the run: %.0f%% busy, %.0f%% idle, %.0f%% stolen\n", 100 * busy / t, 100 * idle / t, 100 * steal / t}' >>"$WORK/wrktime.txt"
  cat "$WORK/last.txt" >>"$WORK/wrk.txt"
}
cpu_ticks() { local t=0 p; for p in "$1" $(pgrep -P "$1" || true); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
us_per_req() { awk -v a="$1" -v b="$2" -v n="$(awk '/requests in/ {print $1}' "$WORK/last.txt")" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b - a) * 1e6 / hz / n}'; }
field() {
  case "$1" in
    rps) awk '/Requests\/sec/ {print $2}' "$WORK/last.txt" ;;
    p99) awk '$1 == "99%" {print $2}' "$WORK/last.txt" ;;
    bad) awk '/Non-2xx or 3xx responses/ {n = $NF} END {print n + 0}' "$WORK/last.txt" ;;
    n) awk '/requests in/ {print $1}' "$WORK/last.txt" ;;
  esac
}
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
C0=$(cpu_ticks "$NGX_PID")
run_wrk "http://127.0.0.1:$NGX_PORT/"
NGX_CPU=$(us_per_req "$C0" "$(cpu_ticks "$NGX_PID")")
NGX=$(field rps) NGX_P99=$(field p99) NGX_BAD=$(field bad)
# nginx again with the scan run's own requests (the script below, the same bearer header).
C0=$(cpu_ticks "$NGX_PID")
run_wrk -H "Authorization: Bearer $TOKEN" -s "$WORK/scan.lua" "http://127.0.0.1:$NGX_PORT/api/scan"
NGX_SAME_CPU=$(us_per_req "$C0" "$(cpu_ticks "$NGX_PID")")
NGX_SAME=$(field rps) NGX_SAME_P99=$(field p99) NGX_SAME_BAD=$(field bad)
BEFORE=$(sqlite3 -cmd ".timeout 10000" "$DB" "select count(*) from venue_scans")
C0=$(cpu_ticks "$API_PID")
# The server's CPU per thread during the run (ms), busiest first: the I/O thread(s) and the scan
# queue's mover.
thread_ticks() { for t in /proc/"$API_PID"/task/*; do echo "$(basename "$t") $(awk '{print $14 + $15}' "$t/stat")"; done; }
thread_ticks >"$WORK/threads0"
# PERF_OUT=FILE: the server's CPU profile during the run (perf record -g), for perf report -i FILE.
PERF_PID=
# PERF_STAT=FILE: the server's system calls during the run (perf stat), counted per kind.
[[ -n "${PERF_STAT:-}" ]] && { perf stat -e "${PERF_EVENTS:-syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_write,syscalls:sys_enter_pwrite64,syscalls:sys_enter_pread64,syscalls:sys_enter_futex}" \
  -o "$PERF_STAT" -p "$API_PID" -- sleep "$DUR" >/dev/null 2>&1 & PERF_PID=$!; }
[[ -n "${PERF_OUT:-}" ]] && { perf record -F ${PERF_FREQ:-2000} ${PERF_CALLGRAPH:--g} -o "$PERF_OUT" -p "$API_PID" -- sleep "$DUR" >/dev/null 2>&1 & PERF_PID=$!; }
run_wrk -H "Authorization: Bearer $TOKEN" -s "$WORK/scan.lua" "http://127.0.0.1:$API_PORT/api/scan"
[[ -n "$PERF_PID" ]] && wait "$PERF_PID"
API_CPU=$(us_per_req "$C0" "$(cpu_ticks "$API_PID")")
thread_ticks >"$WORK/threads1"
THREADS_CPU=$(join "$WORK/threads0" "$WORK/threads1" | awk -v hz="$(getconf CLK_TCK)" '{d = ($3 - $2) * 1000 / hz; if (d > 0) print d}' | sort -rn | head -4 | tr '\n' ' ')
API=$(field rps) API_P99=$(field p99) API_BAD=$(field bad) API_N=$(field n)
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
# The group commit's counters (visits per group, token-cache hits) for the whole server's life.
# On SQLite the visits reach venue_scans through the scan queue, moved every 100 ms: wait for it.
sleep 1
curl -sf "http://127.0.0.1:$API_PORT/metrics" | grep -E '^bihuan_scan_(groups|group_visits|token_cache_hits|queue_moved)_total' >&2 || true
APPENDED=$(( $(sqlite3 -cmd ".timeout 10000" "$DB" "select count(*) from venue_scans") - BEFORE ))
cat "$WORK/wrk.txt" >&2; cat "$WORK/wrktime.txt" >&2
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "| target | requests/s | ratio to nginx, same requests | ratio to nginx, GET | p99 | answers not 2xx | server CPU µs per request |"
echo "|---|---|---|---|---|---|---|"
echo "| nginx fixed JSON, the scan run's requests (POST /api/scan, same script) | $NGX_SAME | 1.00 | $(ratio "$NGX_SAME" "$NGX") | $NGX_SAME_P99 | $NGX_SAME_BAD | $NGX_SAME_CPU |"
echo "| nginx fixed JSON, GET / (no script) | $NGX | $(ratio "$NGX" "$NGX_SAME") | 1.00 | $NGX_P99 | $NGX_BAD | $NGX_CPU |"
echo "| bihuan POST /api/scan (bearer token, signed health code verified, visit appended; $PERSONS persons; ${THREADS:-1} I/O thread(s)) | $API | $(ratio "$API" "$NGX_SAME") | $(ratio "$API" "$NGX") | $API_P99 | $API_BAD | $API_CPU |"
echo "server CPU by thread during the run (ms, busiest first): $THREADS_CPU" >&2
[[ "$DISTINCT" -gt 0 ]] && echo "distinct tokens: $DISTINCT prepared, requests beyond them (tokens reused): $(( API_N > DISTINCT ? API_N - DISTINCT : 0 ))" >&2
echo "scans answered by wrk: $API_N; visits appended to the log: $APPENDED (the rest: repeats of a visit within trace.duplicate_seconds); $NTOK visitors x $VENUES venues; load average $LOAD0 before, $LOAD1 after" >&2
