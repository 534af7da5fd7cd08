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

# A demo database from before tracing (no investigator login) is generated again.
if [[ ! -f "$DB" || ! -f "$CRED" ]] || ! grep -q "^cdc01" "$CRED"; then
  rm -f "$DB" "$DB-wal" "$DB-shm"
  echo "run: generating a demo city of $PERSONS people (seed $SEED) into $DB ..."
  "$BIN" gen --persons "$PERSONS" --seed "$SEED" --db "$URL"
  pw() { head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16; }
  ADMIN_PW=$(pw) GRID_PW=$(pw) AUDIT_PW=$(pw)
  GRID=$(sqlite3 "$DB" "select code from areas where level = 6 order by code limit 1")
  "$BIN" user add --db "$URL" --username admin --display-name "系统管理员" --role admin --password-stdin <<<"$ADMIN_PW" >/dev/null
  "$BIN" user add --db "$URL" --username grid01 --display-name "网格员" --role grid_worker --scope "$GRID" --password-stdin <<<"$GRID_PW" >/dev/null
  "$BIN" user add --db "$URL" --username auditor --display-name "审计员" --role auditor --password-stdin <<<"$AUDIT_PW" >/dev/null
  # One user for each organisation of the closed loop, so a traveller can be followed through
  # every stage: port -> transfer team -> quarantine site -> ... -> the grid worker above.
  org_of() { sqlite3 "$DB" "select code from orgs where kind = '$1' order by id limit 1"; }
  PORT_PW=$(pw) TRANSFER_PW=$(pw) SITE_PW=$(pw) CMD_PW=$(pw)
  "$BIN" user add --db "$URL" --username port01 --display-name "口岸检疫" --role port_health --org "$(org_of port)" --password-stdin <<<"$PORT_PW" >/dev/null
  "$BIN" user add --db "$URL" --username transfer01 --display-name "转运专班" --role transfer_team --org "$(org_of transfer_team)" --password-stdin <<<"$TRANSFER_PW" >/dev/null
  "$BIN" user add --db "$URL" --username site01 --display-name "隔离点" --role quarantine_site --org "$(org_of quarantine_site)" --password-stdin <<<"$SITE_PW" >/dev/null
  "$BIN" user add --db "$URL" --username command01 --display-name "指挥部" --role command_centre --scope "$(sqlite3 "$DB" "select code from areas where level = 2 order by code limit 1")" --password-stdin <<<"$CMD_PW" >/dev/null
  # Testing (核酸检测): a sampler of the grid's street and the lab its sampling points send to.
  STREET=${GRID:0:9}
  LAB_ORG=$(sqlite3 "$DB" "select o.code from sampling_points p join orgs o on o.id = p.lab_org_id where p.area_code like '$STREET%' order by p.id limit 1")
  SAMPLER_PW=$(pw) LAB_PW=$(pw)
  "$BIN" user add --db "$URL" --username sampler01 --display-name "采样人员" --role sampler --scope "$STREET" --password-stdin <<<"$SAMPLER_PW" >/dev/null
  "$BIN" user add --db "$URL" --username lab01 --display-name "检测机构" --role lab --org "$LAB_ORG" --password-stdin <<<"$LAB_PW" >/dev/null
  # Tracing (流调): an investigator of the grid's district, and three days of venue-code scans
  # (homes, workplaces, schools, shops, restaurants, transport) for contact finding.
  CDC_PW=$(pw)
  "$BIN" user add --db "$URL" --username cdc01 --display-name "流调人员" --role investigator --scope "${GRID:0:6}" --password-stdin <<<"$CDC_PW" >/dev/null
  "$BIN" scans generate --db "$URL" --days 3 --seed "$SEED"
  umask 077
  cat > "$CRED" <<CRED
admin       $ADMIN_PW    (administrator, whole city)
command01   $CMD_PW    (command centre of the city)
port01      $PORT_PW    (port health: $(sqlite3 "$DB" "select name from orgs where kind = 'port' order by id limit 1"))
transfer01  $TRANSFER_PW    (transfer team: $(sqlite3 "$DB" "select name from orgs where kind = 'transfer_team' order by id limit 1"))
site01      $SITE_PW    (quarantine site: $(sqlite3 "$DB" "select name from orgs where kind = 'quarantine_site' order by id limit 1"))
grid01      $GRID_PW    (grid worker, grid $GRID)
sampler01   $SAMPLER_PW    (sampler, street $STREET)
lab01       $LAB_PW    (lab: $(sqlite3 "$DB" "select name from orgs where code = '$LAB_ORG'"))
cdc01       $CDC_PW    (investigator, district ${GRID:0:6})
auditor     $AUDIT_PW    (auditor)
CRED
fi

# A demo outbreak in the investigator's district (once): cases over the last 30 days and a local
# rebound found in the community in the last hour, which starts the emergency playbooks (应急响应).
DEMO_DISTRICT=$(sqlite3 "$DB" "select substr(code, 1, 6) from areas where level = 6 order by code limit 1")
if [[ "$(sqlite3 "$DB" "select count(*) from cases where note = '演示疫情'")" == 0 ]]; then
  "$BIN" outbreak seed --db "$URL" --district "$DEMO_DISTRICT" --seed "$SEED"
fi
# Treatment (病例救治, once): some of the outbreak's open cases at the district's hospitals, a few
# of them discharged on two negative tests and under home health monitoring (docs/API-cases.md).
if [[ "$(sqlite3 "$DB" "select count(*) from treatments")" == 0 ]]; then
  "$BIN" outbreak treat --db "$URL" --district "$DEMO_DISTRICT" || echo "run: outbreak treat failed (the demo goes on)" >&2
fi
# Quarantine capacity (容量, once): rooms at the district's sites, beds at its hospitals, and close
# contacts through the sites over the last three weeks, for the capacity tab (docs/API-warning.md).
if [[ "$(sqlite3 "$DB" "select count(*) from quarantine_rooms")" == 0 ]]; then
  "$BIN" outbreak quarantine --db "$URL" --district "$DEMO_DISTRICT" --seed "$SEED" || echo "run: outbreak quarantine failed (the demo goes on)" >&2
fi
# Early-warning feeds (多点触发) of every district, rising in the outbreak's district, doses of the
# immunisation register and hospital beds, for the 研判 page (once; docs/API-warning.md).
if [[ "$(sqlite3 "$DB" "select count(*) from feed_counts")" == 0 ]]; then
  "$BIN" outbreak feeds --db "$URL" --district "$DEMO_DISTRICT" --seed "$SEED" || echo "run: outbreak feeds failed (the demo goes on)" >&2
fi
# The daily bulletins of the outbreak's days, published (once): the public portal (/p/) has its
# history; yesterday's stays a draft for command01 to review and publish on the 疫情通报 page.
if [[ "$(sqlite3 "$DB" "select count(*) from bulletins")" == 0 ]]; then
  "$BIN" bulletin backfill --db "$URL" --days 30 --publish --yesterday-draft ||
    echo "run: bulletin backfill failed (the demo goes on)" >&2
fi
# Work resumption (复工复产): two enterprises of the outbreak's district with up to a dozen of their
# workers each (once), and an enterprise account (ent01) for the first; command01 approves the
# plan ent01 files on the 复工复产 page (docs/API-enterprise.md).
if [[ "$(sqlite3 "$DB" "select count(*) from enterprises")" == 0 ]]; then
  ENT_CSV="$(dirname "$DB")/demo-enterprises.csv"
  {
    echo "code,name,area_code,address,industry,white_list,site,site_address,site_area_code,doc_number,post,shift"
    sqlite3 -csv "$DB" "with e as (select id, code, name, area_code, address,
        row_number() over (order by id) as k from orgs
        where kind = 'enterprise' and area_code like '$DEMO_DISTRICT%'
        and id in (select workplace_org_id from persons where workplace_org_id is not null) order by id limit 2),
      s as (select e.*, p.id as pid, p.doc_number,
        row_number() over (partition by e.id order by p.id) as n from e
        join persons p on p.workplace_org_id = e.id and p.merged_into is null and length(p.doc_number) = 18)
      select code, name, area_code, address, case k when 1 then '制造业' else '物流' end, case k when 1 then '是' else '否' end,
        '一厂', address, area_code, doc_number, case when n % 3 = 0 then 'delivery' else 'production' end,
        case when n % 2 = 0 then 'day' else 'night' end
      from s where n <= 12 order by k, n"
  } > "$ENT_CSV"
  "$BIN" enterprise import --db "$URL" "$ENT_CSV" || echo "run: enterprise import failed (the demo goes on)" >&2
fi
if ! grep -q "^ent01" "$CRED"; then
  ENT_CODE=$(sqlite3 "$DB" "select o.code from enterprises e join orgs o on o.id = e.org_id order by e.org_id limit 1")
  if [[ -n "$ENT_CODE" ]]; then
    ENT_PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16)
    if "$BIN" user add --db "$URL" --username ent01 --display-name "企业账号" --role enterprise --org "$ENT_CODE" \
      --password-stdin <<<"$ENT_PW" >/dev/null; then
      echo "ent01       $ENT_PW    (enterprise: $(sqlite3 "$DB" "select name from orgs where code = '$ENT_CODE'"))" >> "$CRED"
    fi
  fi
fi
# 保供 (docs/API-supply.md): three households of grid01's grid under home isolation with needs
# records, vulnerable people and open requests, one of them a dialysis session tomorrow (once);
# and a hospital account (hospital01) receiving the dialysis trip grid01 books with transfer01.
if [[ "$(sqlite3 "$DB" "select count(*) from supply_requests")" == 0 ]]; then
  SUPPLY_GRID=$(sqlite3 "$DB" "select code from areas where level = 6 order by code limit 1")
  SUPPLY_ARGS=()
  for h in $(sqlite3 "$DB" "select h.id from households h where h.area_code = '$SUPPLY_GRID'
      and exists (select 1 from persons p where p.household_id = h.id and p.merged_into is null)
      and not exists (select 1 from persons p join control_orders o on o.person_id = p.id
        where p.household_id = h.id and o.status = 'active') order by h.id limit 3"); do
    SUPPLY_ARGS+=(--household "$h")
  done
  if [[ ${#SUPPLY_ARGS[@]} -gt 0 ]]; then
    "$BIN" supply demo --db "$URL" "${SUPPLY_ARGS[@]}" || echo "run: supply demo failed (the demo goes on)" >&2
  fi
fi
if ! grep -q "^hospital01" "$CRED"; then
  HOSP_CODE=$(sqlite3 "$DB" "select code from orgs where kind = 'hospital' order by id limit 1")
  if [[ -n "$HOSP_CODE" ]]; then
    HOSP_PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16)
    if "$BIN" user add --db "$URL" --username hospital01 --display-name "医院" --role hospital --org "$HOSP_CODE" \
      --password-stdin <<<"$HOSP_PW" >/dev/null; then
      echo "hospital01  $HOSP_PW    (hospital: $(sqlite3 "$DB" "select name from orgs where code = '$HOSP_CODE'"))" >> "$CRED"
    fi
  fi
fi
# Supply stations (保供物资站): package kinds, a station with a receiving point in each compound of
# grid01's community, stock (the last one short of medicine kits), and deliveries at every step to
# the households under home isolation above, one serving a household's necessities request (once).
if [[ "$(sqlite3 "$DB" "select count(*) from supply_kinds")" == 0 ]]; then
  STATION_GRID=$(sqlite3 "$DB" "select code from areas where level = 6 order by code limit 1")
  "$BIN" supply stations-demo --db "$URL" --grid "$STATION_GRID" || echo "run: supply stations-demo failed (the demo goes on)" >&2
fi
# Risk areas: the active profile's rules over the demo's cases (if any) become proposals on the
# 风险区 page for command01 to approve (docs/API-risk.md); nothing when there are no cases.
"$BIN" risk propose --db "$URL" || echo "run: risk propose failed (the demo goes on)" >&2

echo
echo "bihuan console: http://127.0.0.1:$PORT"
echo "logins (also in $CRED):"
sed 's/^/  /' "$CRED"
# Demo only: every handover must be acknowledged within 10 minutes (instead of 2 to 12 hours),
# so that a newcomer sees a lost-from-loop alert (脱管预警) without waiting half a day.
DEMO_DEADLINE=${BIHUAN_DEMO_HANDOVER_MINUTES:-10}
echo "demo: handovers are due within $DEMO_DEADLINE minutes (set BIHUAN_DEMO_HANDOVER_MINUTES to change)"
echo "demo: an outbreak rebounded in district $DEMO_DISTRICT; command01 sees its playbooks' clocks under 应急响应"
# Residents (居民): one resident with a phone, under control if anyone is, else living in a grid of
# the demo outbreak's cases (approving that grid's proposed risk area as command01 puts them under
# control, so that they can appeal their colour), else in grid01's grid. Without an SMS gateway
# the sign-in code stays in the notification outbox, where admin reads it (通知发件箱).
DEMO_GRID=$(sqlite3 "$DB" "select code from areas where level = 6 order by code limit 1")
RESIDENT=$(sqlite3 -separator ' ' "$DB" "select p.doc_number, p.phone, p.area_code from persons p
  left join control_orders o on o.person_id = p.id and o.status = 'active'
  where p.phone <> '' and length(p.doc_number) = 18 and p.merged_into is null
  and p.id not in (select person_id from cases)
  order by (o.id is not null) desc, (p.area_code = (select area_code from cases where note = '演示疫情' order by opened_at desc, id desc limit 1)) desc,
  (p.area_code in (select area_code from cases where note = '演示疫情')) desc,
  (p.area_code = '$DEMO_GRID') desc, p.id limit 1")
if [[ -n "$RESIDENT" ]]; then
  read -r R_DOC R_PHONE R_GRID <<<"$RESIDENT"
  echo "demo: resident sign-in at http://127.0.0.1:$PORT/r/login with ID $R_DOC and phone $R_PHONE (grid $R_GRID);"
  echo "      no SMS gateway is configured: admin reads the code under 通知发件箱 (/notify/outbox). To try an"
  echo "      appeal (赋码纠错) the resident must be under control: command01 approves the risk area of grid"
  echo "      $R_GRID under 风险区, then answers the appeal under 赋码纠错"
fi
echo "demo: 复工复产: ent01 files its enterprise's prevention plan, command01 approves it (双否决), then both"
echo "      follow the staff's test compliance on the enterprise's page"
echo "demo: 保供: grid01 (on a phone) opens 保供需求, records a household's needs, books the transfer team for the"
echo "      dialysis request; transfer01 and hospital01 acknowledge each leg (交接) and grid01 follows the trip home"
echo "demo: 保供: grid01 records deliveries to the door under 送货上门 (phone-sized); command01 follows stations'"
echo "      stock, shortages and enterprises' compliance on 保供看板"
echo "demo: the public portal (no login, try it on a phone): http://127.0.0.1:$PORT/p/"
echo
exec "$BIN" serve --db "$URL" --port "$PORT" --web web/dist --handover-deadline-minutes "$DEMO_DEADLINE"
