#!/usr/bin/env bash
# Read latency while a large import runs through the API (issue 6: "an import takes the console
# down"). Starts `bihuan serve` on a generated city, then
#   1. baseline: N rounds of a colleague's work with no import running;
#   2. POST /api/import/persons with a ROWS-row CSV (new residents) and the same rounds until the
#      job is done.
# One round = GET /api/persons/{id} as a grid worker (cookie session), POST /api/auth/login of
# another user, GET /api/jobs/{id} as the importer. Prints the maximum and p99 latency of each
# kind in both phases, the non-200 answers, and the import's wall time.
# Usage: import-read-latency.sh BIHUAN_BINARY [ROWS] [PERSONS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "$1") ROWS=${2:-300000} PERSONS=${3:-20000}
WORK=$(mktemp -d /tmp/bihuan-import-latency.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

. scripts/lib/serve-common.sh  # free_port, wait_http

DB="$WORK/city.db"
"$BIN" gen --persons "$PERSONS" --seed 1 --db "sqlite:$DB" >/dev/null
GRID=$(sqlite3 "$DB" "select area_code from persons order by id limit 1")
PID=$(sqlite3 "$DB" "select id from persons order by id limit 1")
"$BIN" user add --db "sqlite:$DB" --username importer --role admin --password "bench-password-1" >/dev/null
"$BIN" user add --db "sqlite:$DB" --username grid --role grid_worker --scope "$GRID" --password "bench-password-2" >/dev/null
"$BIN" user add --db "sqlite:$DB" --username other --role grid_worker --scope "$GRID" --password "bench-password-3" >/dev/null

# ROWS new residents of the grid's county with valid ID numbers (GB 11643 check character).
python3 - "$ROWS" "${GRID:0:6}" "$GRID" > "$WORK/persons.csv" <<'PY'
import sys, datetime
rows, county, grid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
out = ["证件号码,姓名,网格编码,手机号"]
first = datetime.date(1940, 1, 1)
for i in range(rows):
    d = first + datetime.timedelta(days=i // 900)
    s17 = f"{county}{d:%Y%m%d}{100 + i % 900:03d}"
    check = "10X98765432"[sum(int(c) * k for c, k in zip(s17, w)) % 11]
    out.append(f"{s17}{check},导入{i},{grid},139{i:08d}")
print("\n".join(out))
PY

PORT=$(free_port)
"$BIN" serve --db "sqlite:$DB" --port "$PORT" --threads 2 >"$WORK/serve.log" 2>&1 & pids+=($!)
URL="http://127.0.0.1:$PORT"
wait_http "$URL/api/health"
login() { curl -s -c "$2" -o /dev/null -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$3\"}" "$URL/api/auth/login"; }
login importer "$WORK/importer.jar" bench-password-1
login grid "$WORK/grid.jar" bench-password-2

# One timed request: prints "kind status seconds".
timed() {
  local kind=$1; shift
  curl -s -o /dev/null -w "$kind %{http_code} %{time_total}\n" "$@"
}
round() {
  timed person -b "$WORK/grid.jar" "$URL/api/persons/$PID"
  timed login -H 'Content-Type: application/json' -d '{"username":"other","password":"bench-password-3"}' "$URL/api/auth/login"
  [ -n "${JOB:-}" ] && timed job -b "$WORK/importer.jar" "$URL/api/jobs/$JOB"
  return 0
}

JOB=
for _ in $(seq 1 50); do round; done > "$WORK/idle.txt"

start=$(date +%s.%N)
JOB=$(curl -s -b "$WORK/importer.jar" -H 'Content-Type: text/csv' --data-binary "@$WORK/persons.csv" \
  "$URL/api/import/persons?file_name=persons.csv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
: > "$WORK/busy.txt"
while :; do
  round >> "$WORK/busy.txt"
  status=$(curl -s -b "$WORK/importer.jar" "$URL/api/jobs/$JOB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = done ] || [ "$status" = failed ] && break
done
end=$(date +%s.%N)
curl -s -b "$WORK/importer.jar" "$URL/api/jobs/$JOB" | python3 -c '
import json,sys; j=json.load(sys.stdin); r=j["report"] or {}
print("job", j["status"], "inserted", r.get("inserted"), "rejected", r.get("rejected"), file=sys.stderr)'
# How long the import's write batches held the write lock, and how long write transactions
# (audit group commits, logins, the import's own batches) waited for it (GET /metrics).
curl -s "$URL/metrics" > "$WORK/metrics.txt" || true
python3 - "$WORK/metrics.txt" <<'PY'
import sys, re
hist = {}
for line in open(sys.argv[1]):
    m = re.match(r'(bihuan_import_batch_seconds|bihuan_sqlite_write_wait_seconds)_(bucket|sum|count)(\{[^}]*\})? (\S+)', line)
    if not m: continue
    name, part, labels, v = m.groups()
    h = hist.setdefault(name, {"buckets": []})
    if part == "bucket":
        le = re.search(r'le="([^"]+)"', labels).group(1)
        h["buckets"].append((float("inf") if le == "+Inf" else float(le), float(v)))
    else:
        h[part] = float(v)
for name, h in hist.items():
    n = h.get("count", 0)
    if not n: continue
    b = sorted(h["buckets"])
    def q(f):
        for le, c in b:
            if c >= f * n: return le
        return float("inf")
    top = next((le for le, c in b if c >= n), float("inf"))
    print(f"{name}: n {int(n)}, mean {h['sum'] / n * 1000:.1f} ms, p99 <= {q(0.99) * 1000:.0f} ms, max <= {top * 1000:.0f} ms")
PY

python3 - "$WORK/idle.txt" "$WORK/busy.txt" "$ROWS" "$(echo "$end - $start" | bc)" <<'PY'
import sys, collections
def load(path):
    by = collections.defaultdict(list); bad = 0
    for line in open(path):
        kind, status, t = line.split()
        by[kind].append(float(t))
        bad += status != "200"
    return by, bad
idle, idle_bad = load(sys.argv[1])
busy, busy_bad = load(sys.argv[2])
def p99(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * 0.99))]
print(f"import of {int(sys.argv[3]):,} rows: {float(sys.argv[4]):.1f} s wall; non-200 answers: idle {idle_bad}, during import {busy_bad}")
print("| request | idle: n / p99 / max | during import: n / p99 / max | max ratio |")
print("|---|---|---|---|")
for kind in ("person", "login", "job"):
    b = busy.get(kind, [])
    i = idle.get(kind) or busy.get(kind, [])
    if not b: continue
    print(f"| {kind} | {len(idle.get(kind, []))} / {p99(i)*1000:.0f} ms / {max(i)*1000:.0f} ms | "
          f"{len(b)} / {p99(b)*1000:.0f} ms / {max(b)*1000:.0f} ms | {max(b)/max(i):.1f} |")
PY
