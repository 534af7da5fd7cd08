#!/usr/bin/env bash
# bihuan pool advise (exact JSON keys and values, the table, exit 2 on bad input) and the
# testing section in `bihuan policy show` of every shipped profile.
# Usage: pool-policy-test.sh BIHUAN
set -euo pipefail
B=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$B" pool advise --prevalence 0.01 --json > "$TMP/a.json"
python3 - "$TMP/a.json" <<'PY'
import json, sys
raw = open(sys.argv[1]).read()
j = json.loads(raw)
assert list(j) == ["prevalence", "sensitivity", "ratios", "recommended_ratio"], list(j)
assert j["prevalence"] == 0.01 and j["sensitivity"] == 1 and j["recommended_ratio"] == 10, j
assert [r["ratio"] for r in j["ratios"]] == [1, 5, 10, 20], j
for r in j["ratios"]:
    assert list(r) == ["ratio", "tests_per_person", "missed_per_1000_positives"], r
    k = r["ratio"]
    want = 1.0 if k == 1 else 1 / k + 1 - 0.99 ** k
    assert abs(r["tests_per_person"] - want) < 1e-12, (r, want)
    assert r["missed_per_1000_positives"] == 0, r
PY
"$B" pool advise --prevalence 0.001 --ratios 1,10,32,50 --sensitivity 0.9 --json > "$TMP/b.json"
python3 - "$TMP/b.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["recommended_ratio"] == 32, j
miss = {r["ratio"]: r["missed_per_1000_positives"] for r in j["ratios"]}
assert abs(miss[1] - 100) < 1e-9 and abs(miss[32] - 190) < 1e-9, miss
PY
"$B" pool advise --prevalence 0.02 | grep -q "recommended ratio: " || { echo "no table"; exit 1; }
for bad in "--prevalence 1.5" "--prevalence -0.1" "--prevalence x" "--prevalence 0.01 --ratios 5,5" \
           "--prevalence 0.01 --ratios 0" "--prevalence 0.01 --ratios 101" "--prevalence 0.01 --sensitivity 0" \
           "--prevalence 0.01 --ratios 1,a"; do
  set +e
  # shellcheck disable=SC2086
  "$B" pool advise $bad --json > "$TMP/out" 2> "$TMP/err"; rc=$?
  set -e
  [[ $rc == 2 && ! -s "$TMP/out" ]] || { echo "pool advise $bad: rc $rc"; cat "$TMP/out" "$TMP/err"; exit 1; }
  grep -q "error: " "$TMP/err" || { echo "pool advise $bad: no error message"; exit 1; }
done
for p in ninth-edition twenty-measures new-ten-measures class-b; do
  "$B" policy show "$p" > "$TMP/$p.json"
done
python3 - "$TMP" <<'PY'
import json, sys, os
d = sys.argv[1]
mass = {}
for p in ["ninth-edition", "twenty-measures", "new-ten-measures", "class-b"]:
    t = json.load(open(os.path.join(d, p + ".json")))["testing"]
    mass[p] = t["mass_testing"]["value"]
    assert t["pool_ratios"][-1]["groups"] == [] and t["pool_ratios"][-1]["area_risks"] == [], p
    assert set(t["turnaround_hours"]) == {"key", "routine", "voluntary"}, p
    for part in ["retest_deadline_hours", "task_grace_hours", "missed_task_turns_yellow", "antigen_self_test", "positive_pool"]:
        assert t[part]["confidence"] in ("V", "S", "U") and t[part]["source"], (p, part)
assert mass == {"ninth-edition": "allowed", "twenty-measures": "outbreak_only", "new-ten-measures": "delineated_only", "class-b": "none"}, mass
PY
echo ok
