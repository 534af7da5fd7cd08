#!/usr/bin/env bash
# `make run`: loads the demo city into an embedded SQLite database (first time only) and serves
# the console. Usage: run-demo.sh BIHUAN_BINARY DB_PATH PORT PERSONS
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1 DB=$2 PORT=$3 PERSONS=$4
URL="sqlite:$DB"
SEED=20221128
mkdir -p "$(dirname "$DB")"
CRED="$(dirname "$DB")/demo-logins.txt"

if [[ ! -f "$DB" || ! -f "$CRED" ]]; then
  rm -f "$DB" "$DB-wal" "$DB-shm"
  echo "run: generating a demo city of $PERSONS people (seed $SEED) into $DB ..."
  "$BIN" gen --persons "$PERSONS" --seed "$SEED" --db "$URL"
  pw() { head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16; }
  ADMIN_PW=$(pw) GRID_PW=$(pw) AUDIT_PW=$(pw)
  GRID=$(sqlite3 "$DB" "select code from areas where level = 6 order by code limit 1")
  "$BIN" user add --db "$URL" --username admin --display-name "系统管理员" --role admin --password-stdin <<<"$ADMIN_PW" >/dev/null
  "$BIN" user add --db "$URL" --username grid01 --display-name "网格员" --role grid_worker --scope "$GRID" --password-stdin <<<"$GRID_PW" >/dev/null
  "$BIN" user add --db "$URL" --username auditor --display-name "审计员" --role auditor --password-stdin <<<"$AUDIT_PW" >/dev/null
  umask 077
  cat > "$CRED" <<CRED
admin    $ADMIN_PW    (administrator, whole city)
grid01   $GRID_PW    (grid worker, grid $GRID)
auditor  $AUDIT_PW    (auditor)
CRED
fi

echo
echo "bihuan console: http://127.0.0.1:$PORT"
echo "logins (also in $CRED):"
sed 's/^/  /' "$CRED"
echo
exec "$BIN" serve --db "$URL" --port "$PORT" --web web/dist
