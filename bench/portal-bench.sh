#!/usr/bin/env bash
# The public portal's time to first paint (issue 10, bench/RESULTS.md "Public portal"): the
# outbreak of bench/analytics-bench.sh (100,000 cases over 100 days in DIR/city.db) gets its 100
# daily bulletins published, bihuan serves the portal, and a phone-sized Chromium loads each page
# cold REPS times; the same pages with the same answers captured into files and served by nginx
# (one worker, sendfile) are the baseline, in the same run.
#   OUT=/dev/shm/analytics-bench bench/portal-bench.sh [REPS]      (after analytics-bench.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${1:-20}
OUT=${OUT:-/dev/shm/analytics-bench}
BIN=${BIN:-$ROOT/build/release/src/app/bihuan}
DB="sqlite:$OUT/city.db"
[[ -f "$OUT/city.db" ]] || { echo "portal-bench: run bench/analytics-bench.sh first (no $OUT/city.db)" >&2; exit 1; }
[[ -f "$ROOT/web/dist/portal.html" ]] || bash "$ROOT/scripts/build-web.sh"
echo "== $(date -u +%FT%TZ) publishing 100 days of bulletins"
/usr/bin/time -f "backfill: %e s, %M KiB peak" "$BIN" bulletin backfill --db "$DB" --days 100 --publish
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --db "$DB" --host 127.0.0.1 --port "$PORT" --web "$ROOT/web/dist" --bulletin-hour -1 > "$OUT/serve.log" 2>&1 &
SERVER=$!
NGINX_DIR="$OUT/nginx"
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  [[ -f "$NGINX_DIR/nginx.pid" ]] && kill "$(cat "$NGINX_DIR/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.2; done
# The baseline: the built pages and the portal's answers as files.
rm -rf "$NGINX_DIR"
mkdir -p "$NGINX_DIR/root/api/public/bulletins" "$NGINX_DIR/logs"
cp -r "$ROOT/web/dist/." "$NGINX_DIR/root/"
for a in home risk-areas districts; do curl -fsS "http://127.0.0.1:$PORT/api/public/$a" > "$NGINX_DIR/root/api/public/$a"; done
curl -fsS "http://127.0.0.1:$PORT/api/public/bulletins?limit=60" > "$NGINX_DIR/root/api/public/bulletins/index"
DAY=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["day"])' < "$NGINX_DIR/root/api/public/bulletins/index")
curl -fsS "http://127.0.0.1:$PORT/api/public/bulletins/$DAY" > "$NGINX_DIR/root/api/public/bulletins/$DAY"
cat > "$NGINX_DIR/nginx.conf" <<CONF
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  server {
    listen 127.0.0.1:$NPORT;
    root $NGINX_DIR/root;
    location = /api/public/bulletins { default_type application/json; try_files /api/public/bulletins/index =404; }
    location /api/public/ { default_type application/json; try_files \$uri =404; }
    location /p/ { try_files \$uri /portal.html; }
  }
}
CONF
nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR"
flock /work/bench.lock bash -c "
  echo \"== \$(date -u +%FT%TZ) \$(uptime)\"
  node '$ROOT/bench/portal-paint.mjs' http://127.0.0.1:$PORT $REPS > '$OUT/paint-bihuan.json'
  node '$ROOT/bench/portal-paint.mjs' http://127.0.0.1:$NPORT $REPS > '$OUT/paint-nginx.json'
  echo \"== \$(uptime)\"
"
python3 - "$OUT/paint-bihuan.json" "$OUT/paint-nginx.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); n = json.load(open(sys.argv[2]))
print(f"{b['reps']} cold loads per page, phone viewport 390x844")
print("| page | bihuan FCP p50 / p99 | bihuan data on screen p50 / p99 | nginx FCP p50 / p99 | nginx data on screen p50 / p99 | p99 ratio (data on screen) |")
print("|---|---|---|---|---|---|")
for k, v in b["pages"].items():
    w = n["pages"][k]
    print(f"| {v['path']} | {v['fcp_p50_ms']:.0f} / {v['fcp_p99_ms']:.0f} ms | {v['ready_p50_ms']:.0f} / {v['ready_p99_ms']:.0f} ms | "
          f"{w['fcp_p50_ms']:.0f} / {w['fcp_p99_ms']:.0f} ms | {w['ready_p50_ms']:.0f} / {w['ready_p99_ms']:.0f} ms | {v['ready_p99_ms'] / w['ready_p99_ms']:.2f} |")
PY
