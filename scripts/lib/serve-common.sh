# Shell functions shared by the scripts that start a bihuan server (or nginx) on loopback for a
# benchmark, a soak or the tests: scripts/bench-api.sh, scripts/soak.sh, bench/import-read-latency.sh,
# scripts/test.sh, tests/e2e/run-browser-tests.sh; start_nginx_baseline for scripts/bench-api.sh and
# scripts/bench-scan-api.sh.
# Source it from the repository root (the scripts cd there first): . scripts/lib/serve-common.sh

# A TCP port on 127.0.0.1 that nothing listens on (50 random tries in 20000-32767, below the
# kernel's ephemeral range: a port of that range may be taken by a client connection meanwhile,
# and the server's bind then fails).
free_port() {
  local p hi=32767 lo_eph
  lo_eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  if [[ "$lo_eph" =~ ^[0-9]+$ ]] && ((lo_eph > 21000 && lo_eph <= hi)); then hi=$((lo_eph - 1)); fi
  for p in $(shuf -i "20000-$hi" -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

# Waits up to 30 s for URL to answer 2xx.
wait_http() {
  for _ in $(seq 1 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  return 1
}

# The benchmarks' baseline: nginx with one worker answering a fixed 17-byte JSON body on a free
# loopback port, its files under DIR. Sets NGX_PORT and NGX_PID (the caller stops it).
start_nginx_baseline() {
  local dir=$1
  NGX_PORT=$(free_port)
  mkdir -p "$dir/logs"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGX_PORT;
    location / { default_type application/json; return 200 '{"status":"ok"}\n'; }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" &
  NGX_PID=$!
}
