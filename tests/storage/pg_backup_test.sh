#!/usr/bin/env bash
# The PostgreSQL backup procedures of docs/OPERATIONS.md, run for real against the test server:
#   1. pg_dump -Fc of a bihuan database, pg_restore into a new database, bihuan opens the copy
#      (migrations at the latest version, every table's row count equal, audit log still
#      append-only);
#   2. pg_basebackup of the whole cluster, started as a second server on another port, same
#      checks (only as root, which can run the server as the postgres user).
# Usage: pg_backup_test.sh PATH/TO/bihuan   (run from the source tree; exit 77 = skipped)
set -euo pipefail
BIHUAN=$(realpath "$1")
if [[ -z "${BIHUAN_TEST_PG:-}" ]]; then
  [[ "${BIHUAN_REQUIRE_PG:-}" == 1 ]] && { echo "BIHUAN_REQUIRE_PG=1 but BIHUAN_TEST_PG is not set"; exit 1; }
  echo "BIHUAN_TEST_PG is not set: skipped"
  exit 77
fi
URL=${BIHUAN_TEST_PG%%\?*}
BASE=${URL%/*}
SRC_DB="bihuan_dump_src_$$"
DST_DB="bihuan_dump_dst_$$"
WORK=$(mktemp -d /tmp/bihuan-pgbackup.XXXXXX)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
BB_PORT=""
cleanup() {
  if [[ -n "$BB_PORT" && -f "$WORK/base/postmaster.pid" ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/base" -m immediate stop >/dev/null 2>&1 || true
  fi
  psql "$URL" -qc "DROP DATABASE IF EXISTS $SRC_DB" >/dev/null 2>&1 || true
  psql "$URL" -qc "DROP DATABASE IF EXISTS $DST_DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

q() { psql "$1" -v ON_ERROR_STOP=1 -Atqc "$2"; }
counts() {  # every table of the database with its row count, one "table n" a line
  local db=$1 t
  for t in $(q "$db" "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"); do
    echo "$t $(q "$db" "SELECT COUNT(*) FROM \"$t\"")"
  done
}
check_copy() {  # name, source URL, copy URL
  local name=$1 src=$2 dst=$3
  # bihuan opens the copy (and would migrate it): a purge dry run reads every retention table.
  "$BIHUAN" purge --dry-run --json --db "$dst" >"$WORK/$name-purge.json"
  local want got
  want=$(q "$src" "SELECT MAX(version) FROM schema_migrations")
  got=$(q "$dst" "SELECT MAX(version) FROM schema_migrations")
  [[ "$want" == "$got" ]] || { echo "FAIL $name: schema version $got, source $want"; exit 1; }
  # The purge dry run above added one audit record to the copy: compare without it.
  diff <(counts "$src") <(counts "$dst" | awk '$1 == "audit_log" { $2 -= 1 } { print }') \
    || { echo "FAIL $name: row counts differ"; exit 1; }
  local persons
  persons=$(q "$dst" "SELECT COUNT(*) FROM persons")
  [[ "$persons" -ge 500 ]] || { echo "FAIL $name: only $persons persons"; exit 1; }
  # The audit log stays append-only in the copy (its trigger came along).
  if q "$dst" "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)" >/dev/null 2>&1; then
    echo "FAIL $name: a recent audit entry could be deleted"
    exit 1
  fi
  echo "ok $name: schema version $got, $persons persons, $(counts "$dst" | wc -l) tables with equal counts"
}

q "$URL" "CREATE DATABASE $SRC_DB"
q "$URL" "CREATE DATABASE $DST_DB"
SRC="$BASE/$SRC_DB"
DST="$BASE/$DST_DB"

# A small city, a user and some audit entries in the source.
"$BIHUAN" gen --persons 600 --seed 11 --db "$SRC" >/dev/null
echo "long-enough-password" | "$BIHUAN" user add --db "$SRC" --username ops --role admin --password-stdin >/dev/null
"$BIHUAN" purge --dry-run --db "$SRC" >/dev/null

# 1. pg_dump / pg_restore (the procedure of docs/OPERATIONS.md).
pg_dump --format=custom --file="$WORK/bihuan.dump" "$SRC"
pg_restore --exit-on-error --no-owner --dbname="$DST" "$WORK/bihuan.dump"
check_copy pg_dump "$SRC" "$DST"

# 2. pg_basebackup of the cluster, started on its own port.
if [[ $(id -u) -ne 0 ]] || ! command -v runuser >/dev/null || [[ -z "$PG_BIN" ]]; then
  echo "pg_basebackup part skipped (needs root to run a second server as postgres)"
  exit 0
fi
chown postgres:postgres "$WORK"
HOSTPORT=${BASE#*@}
HOST=${HOSTPORT%:*}
PORT=${HOSTPORT##*:}
USER_=${BASE#*://}
USER_=${USER_%@*}
runuser -u postgres -- "$PG_BIN/pg_basebackup" -h "$HOST" -p "$PORT" -U "$USER_" -D "$WORK/base" \
  --format=plain --wal-method=stream --checkpoint=fast
# A free port, then the server; a start that fails (a port taken between the check and the
# start, say) is shown with its log and tried on another port, at most three times.
started=""
for attempt in 1 2 3; do
  for p in $(shuf -i 40001-50000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then BB_PORT=$p; break; fi
  done
  if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/base" -w -t 60 \
       -o "-p $BB_PORT -k $WORK -c listen_addresses=127.0.0.1" -l "$WORK/base.log" start >/dev/null; then
    started=1
    break
  fi
  echo "the restored cluster did not start on port $BB_PORT (attempt $attempt):" >&2
  tail -n 20 "$WORK/base.log" >&2 || true
done
[[ -n "$started" ]] || { echo "the pg_basebackup copy never started" >&2; exit 1; }
check_copy pg_basebackup "$SRC" "postgresql://$USER_@127.0.0.1:$BB_PORT/$SRC_DB"
