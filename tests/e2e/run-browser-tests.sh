#!/usr/bin/env bash
# Browser tests of the console against a real server:
#   tests/e2e/run-browser-tests.sh PATH/TO/bihuan
# Makes a throwaway SQLite database with a generated city of 3,000 persons, adds an administrator
# and a grid worker (scoped to the most populated grid), serves web/dist on a free loopback port,
# runs `node --test web/e2e/` with the server's address and the accounts in the environment, and
# stops the server whatever happens. Passwords are random per run.
# Screenshots: set BIHUAN_SCREENSHOTS=/some/dir to keep PNGs of the key pages.
# E2E_FILES: the test files to run (default: all of web/e2e/).
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 PATH/TO/bihuan" >&2
  exit 2
fi
BIN=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

die() { echo "run-browser-tests: $*" >&2; exit 1; }
[[ -x "$BIN" ]] || die "no bihuan executable at $BIN"
[[ -f web/dist/index.html ]] || die "web/dist is missing: build the console first (make web, or scripts/build-web.sh)"
[[ -d web/node_modules/playwright-core ]] || die "web/node_modules is missing: run scripts/setup.sh (npm ci in web/)"
CHROMIUM=${BIHUAN_CHROMIUM:-/usr/bin/chromium}
[[ -x "$CHROMIUM" ]] || die "no chromium at $CHROMIUM (Debian package chromium)"
command -v sqlite3 >/dev/null || die "sqlite3 is missing (Debian package sqlite3)"
command -v curl >/dev/null || die "curl is missing"

TMP=$(mktemp -d /tmp/bihuan-e2e.XXXXXX)
DB="$TMP/bihuan.db"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -f "$TMP/server.log" ]]; then
    echo "run-browser-tests: last lines of the server log:" >&2
    tail -n 30 "$TMP/server.log" >&2 || true
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT

. scripts/lib/serve-common.sh  # free_port
random_password() { head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20; }

echo "run-browser-tests: generating a city of 3000 persons in $DB"
"$BIN" gen --persons 3000 --seed 7 --db "sqlite:$DB" >"$TMP/gen.log" 2>&1 || { cat "$TMP/gen.log" >&2; die "bihuan gen failed"; }

# The grid worker's grid: the grid with the most persons.
GRID=$(sqlite3 "$DB" "SELECT p.area_code FROM persons p JOIN areas a ON a.code = p.area_code
  WHERE a.level = 6 AND p.merged_into IS NULL GROUP BY p.area_code ORDER BY count(*) DESC, p.area_code LIMIT 1")
[[ -n "$GRID" ]] || die "no grid with persons in the generated city"
# A person of another grid whose ID number is unique and not used by anyone in the grid.
OTHER_DOC=$(sqlite3 "$DB" "SELECT doc_number FROM persons WHERE area_code NOT LIKE '$GRID%' AND merged_into IS NULL
  AND doc_type = 'resident_id'
  AND doc_number NOT IN (SELECT doc_number FROM persons WHERE area_code LIKE '$GRID%')
  GROUP BY doc_number HAVING count(*) = 1 ORDER BY min(id) LIMIT 1")
OWN_NAME=$(sqlite3 "$DB" "SELECT name FROM persons WHERE area_code LIKE '$GRID%' AND merged_into IS NULL ORDER BY id LIMIT 1")
[[ -n "$OTHER_DOC" && -n "$OWN_NAME" ]] || die "could not pick the test persons from $DB"

ADMIN_USER=e2e-admin
ADMIN_PASS=$(random_password)
GRID_USER=e2e-grid
GRID_PASS=$(random_password)
printf '%s\n' "$ADMIN_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$ADMIN_USER" --password-stdin \
  --role admin --display-name 管理员 >/dev/null
printf '%s\n' "$GRID_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$GRID_USER" --password-stdin \
  --role grid_worker --scope "$GRID" --display-name 网格员 >/dev/null

# Closed loop (web/e2e/loop.test.mjs): a port, a transfer team and a quarantine site in the
# grid's area, with one user each; the grid worker receives the travellers at their destination.
cat >"$TMP/loop-orgs.csv" <<ORGS
机构代码,机构名称,机构类型,区划代码,地址
E2E-PORT-01,测试国际机场口岸,口岸,$GRID,测试机场路1号
E2E-TRANSFER-01,测试转运专班,转运专班,$GRID,测试路2号
E2E-SITE-01,测试集中隔离点,隔离点,$GRID,测试路3号
E2E-HOSPITAL-01,测试定点医院,医院,$GRID,测试路4号
ORGS
"$BIN" import orgs "$TMP/loop-orgs.csv" --db "sqlite:$DB" >"$TMP/loop-orgs.log" 2>&1 \
  || { cat "$TMP/loop-orgs.log" >&2; die "importing the closed-loop organisations failed"; }
PORT_USER=e2e-port
PORT_PASS=$(random_password)
TRANSFER_USER=e2e-transfer
TRANSFER_PASS=$(random_password)
SITE_USER=e2e-site
SITE_PASS=$(random_password)
printf '%s\n' "$PORT_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$PORT_USER" --password-stdin \
  --role port_health --org E2E-PORT-01 --display-name 口岸检疫员 >/dev/null
printf '%s\n' "$TRANSFER_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$TRANSFER_USER" --password-stdin \
  --role transfer_team --org E2E-TRANSFER-01 --display-name 转运专班 >/dev/null
printf '%s\n' "$SITE_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$SITE_USER" --password-stdin \
  --role quarantine_site --org E2E-SITE-01 --display-name 隔离点工作人员 >/dev/null
# 保供 (web/e2e/needs.test.mjs): a hospital account receiving the dialysis trip (the household is
# picked below, once the other tests' persons are known).
HOSPITAL_USER=e2e-hospital
HOSPITAL_PASS=$(random_password)
printf '%s\n' "$HOSPITAL_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$HOSPITAL_USER" --password-stdin \
  --role hospital --org E2E-HOSPITAL-01 --display-name 定点医院 >/dev/null

# Testing (web/e2e/nat.test.mjs): a sampler of the grid's street, an account of the lab the
# generator made in the grid's district, and two residents of the street (the newest, with no
# control order and one person per ID number).
NAT_STREET=${GRID:0:9}
NAT_LAB=$(sqlite3 "$DB" "SELECT code FROM orgs WHERE kind = 'lab' AND area_code = '${GRID:0:6}' ORDER BY id LIMIT 1")
NAT_DOCS=$(sqlite3 "$DB" "SELECT doc_number FROM persons WHERE area_code LIKE '$NAT_STREET%' 
  AND merged_into IS NULL AND doc_type = 'resident_id'
  AND id NOT IN (SELECT person_id FROM control_orders)
  AND doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)
  ORDER BY id DESC LIMIT 2" | paste -sd, -)
[[ -n "$NAT_LAB" && "$NAT_DOCS" == *,* ]] || die "could not pick the testing lab and residents from $DB"
SAMPLER_USER=e2e-sampler
SAMPLER_PASS=$(random_password)
LAB_USER=e2e-lab
LAB_PASS=$(random_password)
printf '%s\n' "$SAMPLER_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$SAMPLER_USER" --password-stdin \
  --role sampler --scope "$NAT_STREET" --display-name 采样人员 >/dev/null
printf '%s\n' "$LAB_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$LAB_USER" --password-stdin \
  --role lab --org "$NAT_LAB" --display-name 检测机构 >/dev/null

# Tracing (web/e2e/cases.test.mjs): an investigator of the grid's district, a venue in the grid
# whose type needs no minimum overlap (the test's visits are seconds apart), and two residents
# of the district with no control order.
TRACE_VENUE=$(sqlite3 "$DB" "SELECT code FROM venues WHERE area_code = '$GRID' AND type <> 'residential_gate' ORDER BY id LIMIT 1")
TRACE_TYPE=$(sqlite3 "$DB" "SELECT type FROM venues WHERE code = '$TRACE_VENUE'")
# They work nowhere and share no household with the testing residents nor with the grid's first
# resident (the grid test's), so that the people the test puts under control (their households)
# are nobody another browser test uses.
NAT_LIST="'${NAT_DOCS//,/\',\'}'"
TRACE_DOCS=$(sqlite3 "$DB" "SELECT doc_number FROM persons WHERE area_code LIKE '$NAT_STREET%'
  AND workplace_org_id IS NULL
  AND merged_into IS NULL AND doc_type = 'resident_id'
  AND id NOT IN (SELECT person_id FROM control_orders)
  AND COALESCE(household_id, 0) NOT IN (SELECT COALESCE(household_id, 0) FROM persons WHERE doc_number IN ($NAT_LIST))
  AND COALESCE(household_id, 0) NOT IN (SELECT COALESCE(household_id, 0) FROM persons WHERE area_code LIKE '$GRID%'
                                        AND merged_into IS NULL ORDER BY id LIMIT 1)
  AND doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)
  ORDER BY id LIMIT 2" | paste -sd, -)
[[ -n "$TRACE_VENUE" && "$TRACE_DOCS" == *,* ]] || die "could not pick the tracing venue and residents from $DB"
"$BIN" settings set "trace.min_overlap.$TRACE_TYPE" 0 --db "sqlite:$DB" >/dev/null
CDC_USER=e2e-cdc
CDC_PASS=$(random_password)
printf '%s\n' "$CDC_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$CDC_USER" --password-stdin \
  --role investigator --scope "${GRID:0:6}" --display-name 流调人员 >/dev/null

# Risk areas (web/e2e/risk.test.mjs): a grid of another district than the grid's (every other
# test's people live in that district), with at least two residents, none under control, and a
# command centre of its district; the test opens a case for its first resident.
RISK_GRID=$(sqlite3 "$DB" "SELECT p.area_code FROM persons p JOIN areas a ON a.code = p.area_code
  WHERE a.level = 6 AND p.merged_into IS NULL AND p.area_code NOT LIKE '${GRID:0:6}%'
  AND p.id NOT IN (SELECT person_id FROM control_orders)
  GROUP BY p.area_code HAVING count(*) >= 2 ORDER BY count(*), p.area_code LIMIT 1")
RISK_PERSON=$(sqlite3 "$DB" "SELECT id FROM persons WHERE area_code = '$RISK_GRID' AND merged_into IS NULL ORDER BY id LIMIT 1")
[[ -n "$RISK_GRID" && -n "$RISK_PERSON" ]] || die "could not pick the risk-area grid from $DB"
RISK_USER=e2e-risk
RISK_PASS=$(random_password)
printf '%s\n' "$RISK_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$RISK_USER" --password-stdin \
  --role command_centre --scope "${RISK_GRID:0:6}" --display-name 指挥部 >/dev/null

# Analytics (web/e2e/analytics.test.mjs): twelve residents of a district that is neither the
# grid's (every other test's people live there) nor the risk-area test's, none of the other tests'
# people nor of their households, without control orders, each with one ID number; the test
# opens clinical cases (a classification no other test uses) for them.
TRACE_LIST="'${TRACE_DOCS//,/\',\'}'"
ANALYTICS_DOCS=$(sqlite3 "$DB" "SELECT doc_number FROM persons WHERE area_code NOT LIKE '${GRID:0:6}%'
  AND area_code NOT LIKE '${RISK_GRID:0:6}%'
  AND merged_into IS NULL AND doc_type = 'resident_id'
  AND id NOT IN (SELECT person_id FROM control_orders)
  AND doc_number NOT IN ('$OTHER_DOC', $NAT_LIST, $TRACE_LIST)
  AND COALESCE(household_id, 0) NOT IN (SELECT COALESCE(household_id, 0) FROM persons
                                        WHERE doc_number IN ('$OTHER_DOC', $NAT_LIST, $TRACE_LIST))
  AND doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)
  ORDER BY id DESC LIMIT 12" | paste -sd, -)
[[ $(tr ',' '\n' <<<"$ANALYTICS_DOCS" | grep -c .) -eq 12 ]] || die "could not pick twelve residents for the analytics test from $DB"

# Residents (web/e2e/resident.test.mjs): a resident with a phone number in a grid that is neither
# the grid's nor in the risk-area test's district, none of the other tests' people, not under
# control, with one ID number; and a grid worker of that grid, who answers the resident's appeal.
RESIDENT_ROW=$(sqlite3 -separator ' ' "$DB" "SELECT p.id, p.doc_number, p.phone, p.area_code FROM persons p JOIN areas a ON a.code = p.area_code
  WHERE a.level = 6 AND p.area_code <> '$GRID' AND p.area_code NOT LIKE '${RISK_GRID:0:6}%'
  AND p.phone <> '' AND p.merged_into IS NULL AND p.doc_type = 'resident_id'
  AND p.id NOT IN (SELECT person_id FROM control_orders)
  AND p.doc_number NOT IN ('$OTHER_DOC', $NAT_LIST, $TRACE_LIST)
  AND p.doc_number NOT IN ('${ANALYTICS_DOCS//,/','}')
  AND p.doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)
  ORDER BY p.id DESC LIMIT 1")
read -r RESIDENT_PERSON RESIDENT_DOC RESIDENT_PHONE RESIDENT_GRID <<<"$RESIDENT_ROW"
[[ -n "$RESIDENT_GRID" ]] || die "could not pick the resident for the resident test from $DB"
RGRID_USER=e2e-rgrid
RGRID_PASS=$(random_password)
printf '%s\n' "$RGRID_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$RGRID_USER" --password-stdin \
  --role grid_worker --scope "$RESIDENT_GRID" --display-name 网格员二 >/dev/null

# Work resumption (web/e2e/enterprise.test.mjs): three residents of one grid that is neither the
# grid's, the resident test's nor in the risk-area test's district, none of the other tests'
# people, not under control, with one ID number: the staff of the enterprise the test registers.
ENT_ELIGIBLE="p.merged_into IS NULL AND p.doc_type = 'resident_id' AND p.area_code <> '$GRID'
  AND p.area_code <> '$RESIDENT_GRID' AND p.area_code NOT LIKE '${RISK_GRID:0:6}%'
  AND p.id NOT IN (SELECT person_id FROM control_orders)
  AND p.doc_number NOT IN ('$OTHER_DOC', $NAT_LIST, $TRACE_LIST, '$RESIDENT_DOC')
  AND p.doc_number NOT IN ('${ANALYTICS_DOCS//,/','}')
  AND p.doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)"
ENT_GRID=$(sqlite3 "$DB" "SELECT p.area_code FROM persons p JOIN areas a ON a.code = p.area_code
  WHERE a.level = 6 AND $ENT_ELIGIBLE GROUP BY p.area_code HAVING count(*) >= 3 ORDER BY p.area_code DESC LIMIT 1")
ENTERPRISE_DOCS=$(sqlite3 "$DB" "SELECT p.doc_number FROM persons p WHERE p.area_code = '$ENT_GRID' AND $ENT_ELIGIBLE
  ORDER BY p.id LIMIT 3" | paste -sd, -)
[[ -n "$ENT_GRID" && $(tr ',' '\n' <<<"$ENTERPRISE_DOCS" | grep -c .) -eq 3 ]] || die "could not pick the enterprise test's staff from $DB"

# Supplies (web/e2e/supply.test.mjs): two households of the enterprise test's grid (the generated
# city has four grids with people, each taken by a test) with none of the enterprise's staff and
# nobody under control; the test puts the first one's person in home isolation. A grid worker of
# that grid records the delivery to the door.
SUPPLY_GRID=$ENT_GRID
SUPPLY_ROWS=$(sqlite3 -separator ' ' "$DB" "SELECT p.household_id, min(p.id) FROM persons p WHERE p.area_code = '$SUPPLY_GRID'
  AND p.merged_into IS NULL AND p.household_id IS NOT NULL AND p.household_id NOT IN (SELECT q.household_id FROM persons q
  WHERE q.household_id IS NOT NULL AND (q.id IN (SELECT person_id FROM control_orders)
  OR instr(',$ENTERPRISE_DOCS,', ',' || q.doc_number || ',') > 0))
  GROUP BY p.household_id ORDER BY p.household_id LIMIT 2")
SUPPLY_HOUSEHOLDS=$(cut -d' ' -f1 <<<"$SUPPLY_ROWS" | paste -sd, -)
SUPPLY_PERSON=$(head -n1 <<<"$SUPPLY_ROWS" | cut -d' ' -f2)
[[ -n "$SUPPLY_GRID" && $(tr ',' '\n' <<<"$SUPPLY_HOUSEHOLDS" | grep -c .) -eq 2 ]] || die "could not pick the supply test's households from $DB"
SUPPLY_USER=e2e-supply
SUPPLY_PASS=$(random_password)
printf '%s\n' "$SUPPLY_PASS" | "$BIN" user add --db "sqlite:$DB" --username "$SUPPLY_USER" --password-stdin \
  --role grid_worker --scope "$SUPPLY_GRID" --display-name 保供网格员 >/dev/null
# Treatment (web/e2e/treatment.test.mjs): a resident of the resident test's grid (that test runs
# before it) outside the resident's household, none of the other tests' people nor under control,
# with one ID number; the lab of the testing test reports the results.
TREAT_DOC=$(sqlite3 "$DB" "SELECT doc_number FROM persons WHERE area_code = '$RESIDENT_GRID'
  AND COALESCE(household_id, 0) <> (SELECT COALESCE(household_id, 0) FROM persons WHERE id = $RESIDENT_PERSON)
  AND merged_into IS NULL AND doc_type = 'resident_id'
  AND id NOT IN (SELECT person_id FROM control_orders)
  AND doc_number NOT IN ('$OTHER_DOC', $NAT_LIST, $TRACE_LIST, '$RESIDENT_DOC')
  AND doc_number NOT IN ('${ANALYTICS_DOCS//,/','}')
  AND doc_number NOT IN ('${ENTERPRISE_DOCS//,/','}')
  AND doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)
  ORDER BY id LIMIT 1")
# The hospital's page (web/e2e/treatment.test.mjs): a second resident picked the same way.
TREAT2_DOC=$(sqlite3 "$DB" "SELECT doc_number FROM persons WHERE area_code = '$RESIDENT_GRID'
  AND COALESCE(household_id, 0) <> (SELECT COALESCE(household_id, 0) FROM persons WHERE id = $RESIDENT_PERSON)
  AND merged_into IS NULL AND doc_type = 'resident_id'
  AND id NOT IN (SELECT person_id FROM control_orders)
  AND doc_number NOT IN ('$OTHER_DOC', $NAT_LIST, $TRACE_LIST, '$RESIDENT_DOC', '$TREAT_DOC')
  AND doc_number NOT IN ('${ANALYTICS_DOCS//,/','}')
  AND doc_number NOT IN ('${ENTERPRISE_DOCS//,/','}')
  AND doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)
  ORDER BY id LIMIT 1")
TREAT_LAB_ID=$(sqlite3 "$DB" "SELECT id FROM orgs WHERE code = '$NAT_LAB'")
[[ -n "$TREAT_DOC" && -n "$TREAT2_DOC" && -n "$TREAT_LAB_ID" ]] || die "could not pick the treatment test's resident and lab from $DB"

# Handovers overdue at once, so that the lost-from-loop watcher raises its alert during the test
# (docs/API-loop.md, "Test settings").
SERVE_EXTRA=(--handover-deadline-minutes 0)

# Referral letters (web/e2e/letters.test.mjs): this deployment plays both ends, so its own code
# key (which signs the letters) is trusted as a peer's; three residents of another district than
# the grid's, under no order, the last ids of the city (the other tests pick the first ones).
"$BIN" code keygen --key "$TMP/code-signing" >/dev/null
"$BIN" loop trust --db "sqlite:$DB" --name 本部署（浏览器测试） --key "$TMP/code-signing.pub" >/dev/null
SERVE_EXTRA+=(--code-key "$TMP/code-signing")
LETTER_DISTRICT=$(sqlite3 "$DB" "SELECT substr(area_code, 1, 6) AS d FROM persons WHERE merged_into IS NULL
  AND substr(area_code, 1, 6) <> substr('$GRID', 1, 6) GROUP BY d ORDER BY count(*) DESC, d LIMIT 1")
LETTER_PERSONS=$(sqlite3 "$DB" "SELECT group_concat(id) FROM (SELECT id FROM persons WHERE merged_into IS NULL
  AND area_code LIKE '$LETTER_DISTRICT%' AND doc_type = 'resident_id' AND id NOT IN (SELECT person_id FROM control_orders)
  AND doc_number IN (SELECT doc_number FROM persons GROUP BY doc_number HAVING count(*) = 1)
  ORDER BY id DESC LIMIT 3)")
[[ -n "$LETTER_DISTRICT" && "$LETTER_PERSONS" == *,*,* ]] || die "could not pick the referral letter test's residents from $DB"

PORT=$(free_port) || die "no free port"
"$BIN" serve --db "sqlite:$DB" --host 127.0.0.1 --port "$PORT" --web "$ROOT/web/dist" "${SERVE_EXTRA[@]}" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  if curl -fsS "$URL/api/health" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited before answering /api/health"
  sleep 0.2
done
curl -fsS "$URL/api/health" >/dev/null || die "the server did not answer /api/health within 60 s"
echo "run-browser-tests: server at $URL (grid $GRID)"

# 保供: a household of the grid with nobody under control and none of the persons other tests use
# (the grid test's first person, the testing, tracing and enterprise residents).
ENT_LIST="'${ENTERPRISE_DOCS//,/\',\'}'"
NEEDS_HOUSEHOLD=$(sqlite3 "$DB" "SELECT h.id FROM households h WHERE h.area_code = '$GRID'
  AND EXISTS (SELECT 1 FROM persons p WHERE p.household_id = h.id AND p.merged_into IS NULL)
  AND NOT EXISTS (SELECT 1 FROM persons p JOIN control_orders o ON o.person_id = p.id WHERE p.household_id = h.id)
  AND NOT EXISTS (SELECT 1 FROM persons p WHERE p.household_id = h.id AND (p.doc_number IN ($NAT_LIST, $TRACE_LIST, $ENT_LIST)
    OR p.id IN (SELECT id FROM persons WHERE area_code LIKE '$GRID%' AND merged_into IS NULL ORDER BY id LIMIT 1)))
  ORDER BY h.id LIMIT 1")
[[ -n "$NEEDS_HOUSEHOLD" ]] || die "could not pick the needs test's household from $DB"
export BIHUAN_URL="$URL"
export BIHUAN_ADMIN_USER="$ADMIN_USER" BIHUAN_ADMIN_PASS="$ADMIN_PASS"
export BIHUAN_GRID_USER="$GRID_USER" BIHUAN_GRID_PASS="$GRID_PASS"
export BIHUAN_GRID_OTHER_DOC="$OTHER_DOC" BIHUAN_GRID_OWN_NAME="$OWN_NAME"
export BIHUAN_CHROMIUM="$CHROMIUM"
export BIHUAN_PORT_USER="$PORT_USER" BIHUAN_PORT_PASS="$PORT_PASS" BIHUAN_PORT_ORG=E2E-PORT-01
export BIHUAN_TRANSFER_USER="$TRANSFER_USER" BIHUAN_TRANSFER_PASS="$TRANSFER_PASS" BIHUAN_TRANSFER_ORG=E2E-TRANSFER-01
export BIHUAN_SITE_USER="$SITE_USER" BIHUAN_SITE_PASS="$SITE_PASS" BIHUAN_SITE_ORG=E2E-SITE-01
export BIHUAN_HOSPITAL_USER="$HOSPITAL_USER" BIHUAN_HOSPITAL_PASS="$HOSPITAL_PASS" BIHUAN_NEEDS_HOUSEHOLD="$NEEDS_HOUSEHOLD"
export BIHUAN_GRID_AREA="$GRID"
export BIHUAN_SAMPLER_USER="$SAMPLER_USER" BIHUAN_SAMPLER_PASS="$SAMPLER_PASS" BIHUAN_LAB_USER="$LAB_USER" BIHUAN_LAB_PASS="$LAB_PASS"
export BIHUAN_NAT_STREET="$NAT_STREET" BIHUAN_NAT_DOCS="$NAT_DOCS"
export BIHUAN_ANALYTICS_DOCS="$ANALYTICS_DOCS"
export BIHUAN_RESIDENT_PERSON="$RESIDENT_PERSON" BIHUAN_RESIDENT_DOC="$RESIDENT_DOC" BIHUAN_RESIDENT_PHONE="$RESIDENT_PHONE"
export BIHUAN_RESIDENT_GRID="$RESIDENT_GRID" BIHUAN_RGRID_USER="$RGRID_USER" BIHUAN_RGRID_PASS="$RGRID_PASS"
export BIHUAN_ENTERPRISE_GRID="$ENT_GRID" BIHUAN_ENTERPRISE_DOCS="$ENTERPRISE_DOCS"
export BIHUAN_SUPPLY_GRID="$SUPPLY_GRID" BIHUAN_SUPPLY_HOUSEHOLDS="$SUPPLY_HOUSEHOLDS" BIHUAN_SUPPLY_PERSON="$SUPPLY_PERSON"
export BIHUAN_SUPPLY_USER="$SUPPLY_USER" BIHUAN_SUPPLY_PASS="$SUPPLY_PASS"
export BIHUAN_RISK_USER="$RISK_USER" BIHUAN_RISK_PASS="$RISK_PASS" BIHUAN_RISK_GRID="$RISK_GRID" BIHUAN_RISK_PERSON="$RISK_PERSON"
export BIHUAN_TREAT_DOC="$TREAT_DOC" BIHUAN_TREAT_LAB="$TREAT_LAB_ID" BIHUAN_TREAT2_DOC="$TREAT2_DOC"
export BIHUAN_LETTER_DISTRICT="$LETTER_DISTRICT" BIHUAN_LETTER_PERSONS="$LETTER_PERSONS"
export BIHUAN_CDC_USER="$CDC_USER" BIHUAN_CDC_PASS="$CDC_PASS" BIHUAN_TRACE_VENUE="$TRACE_VENUE" BIHUAN_TRACE_DOCS="$TRACE_DOCS"
# One test file at a time: each starts its own chromium, and the machine has two cores.
# E2E_FILES="web/e2e/loop.test.mjs ..." runs only those files.
# shellcheck disable=SC2086
node --test --test-concurrency=1 ${E2E_FILES:-web/e2e/}
