#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then the installed binary run from an unrelated
# working directory: `gen` finds the division CSVs, `policy plan` the profiles and `serve` the
# console, all in PREFIX/share/bihuan. Usage: install-test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
TMP=$(mktemp -d /tmp/bihuan-install.XXXXXX)
PID=
cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "install-test: $*" >&2; [[ -f "$TMP/serve.log" ]] && sed 's/^/  serve: /' "$TMP/serve.log" >&2; exit 1; }

PREFIX="$TMP/prefix"
cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log" >&2; die "cmake --install failed"; }
BIN="$PREFIX/bin/bihuan"
[[ -x "$BIN" ]] || die "no $BIN"
for f in policies/ninth-edition.yaml divisions/provinces.csv divisions/villages.csv web/index.html; do
  [[ -f "$PREFIX/share/bihuan/$f" ]] || die "not installed: share/bihuan/$f (run scripts/setup.sh and scripts/build-web.sh)"
done

mkdir "$TMP/elsewhere"
cd "$TMP/elsewhere"
"$BIN" gen --persons 300 --seed 3 --city 110105 --db "sqlite:$TMP/city.db" >"$TMP/gen.log" 2>&1 \
  || { cat "$TMP/gen.log" >&2; die "gen failed outside the source tree"; }
"$BIN" policy plan --group close_contact --start 2022-07-01 >"$TMP/plan.json" || die "policy plan failed"
grep -q '"release_date"' "$TMP/plan.json" || die "policy plan printed no plan"

"$BIN" serve --db "sqlite:$TMP/city.db" --port 0 --threads 1 --db-threads 2 >"$TMP/serve.log" 2>&1 &
PID=$!
PORT=
for _ in $(seq 1 600); do
  PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/serve.log" | head -n 1)
  [[ -n "$PORT" ]] && break
  kill -0 "$PID" 2>/dev/null || die "serve exited"
  sleep 0.1
done
[[ -n "$PORT" ]] || die "serve did not start"
grep -q "console from $PREFIX/share/bihuan/web" "$TMP/serve.log" || die "serve did not pick the installed console"

curl -fsS "http://127.0.0.1:$PORT/" -o "$TMP/index.html" || die "GET / failed"
cmp -s "$TMP/index.html" "$PREFIX/share/bihuan/web/index.html" || die "GET / is not the installed console"
curl -fsS "http://127.0.0.1:$PORT/api/health" -o "$TMP/health.json" || die "GET /api/health failed"
grep -q '"status":"ok"' "$TMP/health.json" || die "unexpected health answer: $(cat "$TMP/health.json")"
# The installed policies were found (without them closed-loop management is switched off).
! grep -q "closed-loop management is off" "$TMP/serve.log" || die "serve did not find the installed policies"

kill -TERM "$PID"
wait "$PID" || die "serve did not stop cleanly"
PID=
echo "install-test: ok ($PREFIX)"
