#!/usr/bin/env bash
# bihuan simulate from the command line: JSON keys, bad input exit codes, compare on a small city.
# Usage: cli-test.sh BIHUAN
set -euo pipefail
B=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$B" simulate branching --r0 2.5 --k 0.16 --initial-cases 20 --traced 0.6 --delay short --runs 60 --seed 1 --json > "$TMP/b.json"
python3 - "$TMP/b.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
p = j["probability_of_control"]
lo, hi = j["probability_of_control_95ci"]
assert 0 <= lo <= p <= hi <= 1, j
assert j["runs"] == 60 and j["cases"]["median"] >= 20, j
PY
set +e
"$B" simulate branching --traced 2 --runs 5 > /dev/null 2> "$TMP/err"; rc=$?
set -e
[[ $rc == 2 ]] && grep -q traced "$TMP/err" || { echo "bad --traced: rc $rc"; cat "$TMP/err"; exit 1; }
cat > "$TMP/s.yaml" <<'YAML'
name: cli-check
city: {persons: 3000}
variant: delta
days: 15
imports: {per_day: 10, prevalence: 0.05}
YAML
"$B" simulate compare --scenario "$TMP/s.yaml" --profiles ninth-edition,class-b --runs 3 --seed 2 --json > "$TMP/c.json"
python3 - "$TMP/c.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
names = [p["profile"] for p in j["profiles"]]
assert names == ["ninth-edition", "class-b"], names
d = j["profiles"][0]["difference_vs_first"]["local_infections"]
assert d["mean"] == 0 and d["lower"] == 0, d
assert len(j["profiles"][1]["series"]["infections"]["median"]) == 15
assert "least_disruption_under_ceiling" in j
PY
printf 'days: -1\n' > "$TMP/bad.yaml"
set +e
"$B" simulate abm --scenario "$TMP/bad.yaml" --runs 1 > /dev/null 2> "$TMP/err"; rc=$?
set -e
[[ $rc == 2 ]] && grep -q days "$TMP/err" || { echo "bad scenario: rc $rc"; cat "$TMP/err"; exit 1; }
echo "cli: ok"
