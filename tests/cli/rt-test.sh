#!/usr/bin/env bash
# `bihuan rt` against EpiEstim's own estimate_R results (tests/data/epiestim/REF_*.csv, see
# tests/data/SOURCES.md): every REF file is run and compared column by column to 1e-9 relative
# (1e-12 absolute); EpiEstim's NA windows must be present with a `warning` and null estimates.
# Then malformed inputs: exit code non-zero, nothing on stdout, the message names line and field.
# Usage: rt-test.sh BIHUAN SOURCE_DIR
set -euo pipefail
B=$1
D=$2/tests/data/epiestim
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

args_for() {
  case "$1" in
    REF_Flu1918_nonparametric_si_weekly.csv) echo "--incidence $D/Flu1918_incidence.csv --si-distr $D/Flu1918_si_distr.csv" ;;
    REF_Flu1918_parametric_si_mean2.6_sd1.5_weekly.csv) echo "--incidence $D/Flu1918_incidence.csv --si-mean 2.6 --si-sd 1.5" ;;
    REF_SARS2003_nonparametric_si_doc_example_tstart14-101.csv)
      echo "--incidence $D/SARS2003_incidence.csv --si-distr $D/SARS2003_si_distr.csv --t-start 14..101" ;;
    REF_SARS2003_nonparametric_si_weekly.csv) echo "--incidence $D/SARS2003_incidence.csv --si-distr $D/SARS2003_si_distr.csv" ;;
    REF_SARS2003_parametric_si_mean8.4_sd3.8_weekly.csv) echo "--incidence $D/SARS2003_incidence.csv --si-mean 8.4 --si-sd 3.8" ;;
    REF_mers_2014_15_parametric_si_weekly.csv)
      echo "--incidence $D/mers_2014_15_local.csv --imported $D/mers_2014_15_imported.csv --si-mean 6.8 --si-sd 4.1" ;;
    *) return 1 ;;
  esac
}

n=0
for ref in "$D"/REF_*.csv; do
  name=$(basename "$ref")
  a=$(args_for "$name") || { echo "no command line for $name: add it to rt-test.sh"; exit 1; }
  # shellcheck disable=SC2086
  "$B" rt $a --json > "$TMP/out.json"
  python3 - "$ref" "$TMP/out.json" <<'PY'
import csv, json, math, sys
ref = list(csv.DictReader(open(sys.argv[1])))
out = json.load(open(sys.argv[2]))
assert len(out) == len(ref), (sys.argv[1], len(out), len(ref))
cols = [("Mean(R)", "mean"), ("Std(R)", "std"), ("Quantile.0.025(R)", "quantile_0_025"),
        ("Quantile.0.05(R)", "quantile_0_05"), ("Quantile.0.25(R)", "quantile_0_25"), ("Median(R)", "median"),
        ("Quantile.0.75(R)", "quantile_0_75"), ("Quantile.0.95(R)", "quantile_0_95"),
        ("Quantile.0.975(R)", "quantile_0_975")]
worst = 0.0
na = 0
for r, o in zip(ref, out):
    assert isinstance(o["t_start"], int) and isinstance(o["t_end"], int), o
    assert o["t_start"] == int(r["t_start"]) and o["t_end"] == int(r["t_end"]), (r, o)
    for rc, oc in cols:
        if r[rc] == "NA":
            assert o[oc] is None and o.get("warning") == "too_early", (r, o)
            continue
        want, got = float(r[rc]), o[oc]
        assert got is not None, (r, o)
        err = abs(got - want)
        rel = err / abs(want) if want else err
        worst = max(worst, rel)
        assert err <= 1e-12 or rel <= 1e-9, (sys.argv[1], r["t_start"], rc, want, got, rel)
    if r["Mean(R)"] == "NA":
        na += 1
print(f"{sys.argv[1].split('/')[-1]}: {len(ref)} windows, {na} NA kept with a warning, worst relative error {worst:.2e}")
PY
  n=$((n + 1))
done
[[ $n -ge 6 ]] || { echo "only $n REF files found in $D"; exit 1; }

# The table form prints every window too.
"$B" rt --incidence "$D/Flu1918_incidence.csv" --si-mean 2.6 --si-sd 1.5 > "$TMP/table"
[[ $(wc -l < "$TMP/table") -eq 86 ]] || { echo "table: $(wc -l < "$TMP/table") lines"; exit 1; }

# --window: 14-day windows give t_end = t_start + 13.
"$B" rt --incidence "$D/Flu1918_incidence.csv" --si-mean 2.6 --si-sd 1.5 --window 14 --json > "$TMP/w.json"
python3 - "$TMP/w.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert len(o) == 92 - 14 and o[0]["t_start"] == 2 and o[0]["t_end"] == 15 and o[-1]["t_end"] == 92, (len(o), o[0], o[-1])
PY

# Few cases: a window with fewer than 11 cases carries few_cases but keeps its estimate.
printf 'date,cases\n2022-04-01,1\n2022-04-02,0\n2022-04-03,1\n2022-04-04,0\n2022-04-05,2\n2022-04-06,0\n2022-04-07,1\n2022-04-08,1\n2022-04-09,0\n2022-04-10,1\n' > "$TMP/few.csv"
"$B" rt --incidence "$TMP/few.csv" --si-mean 3.96 --si-sd 4.75 --json > "$TMP/few.json"
python3 - "$TMP/few.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert len(o) == 3, o
for w in o:
    assert w["warning"] == "few_cases" and w["mean"] is not None and w["reason"], w
PY

bad() {  # expect: non-zero exit, empty stdout, stderr containing each further argument
  local input=$1; shift
  printf '%b' "$input" > "$TMP/bad.csv"
  set +e
  "$B" rt --incidence "$TMP/bad.csv" --si-mean 4 --si-sd 2 --json > "$TMP/out" 2> "$TMP/err"; rc=$?
  set -e
  [[ $rc -ne 0 && ! -s "$TMP/out" ]] || { echo "bad input accepted: $input (rc $rc)"; cat "$TMP/out"; exit 1; }
  for want in "$@"; do
    grep -qF -- "$want" "$TMP/err" || { echo "error for '$input' lacks '$want':"; cat "$TMP/err"; exit 1; }
  done
}
ok_rows='2022-04-02,1\n2022-04-03,2\n2022-04-04,3\n2022-04-05,1\n2022-04-06,4\n2022-04-07,2\n2022-04-08,5\n'
bad "date,cases\n2022-04-01,1\n2022-04-32,2\n$ok_rows" "line 3" "2022-04-32" "date"
bad "date,cases\n2022-04-01,1\n${ok_rows}2022-04-09,-3\n" "line 10" "negative" "cases"
bad "date,cases\n2022-04-01,x\n$ok_rows" "line 2" "'x'" "cases"
bad "date,count\n2022-04-01,1\n$ok_rows" "line 1" "no column \`cases\`"
bad "day,cases\n2022-04-01,1\n$ok_rows" "no column \`date\`"
bad "date,cases\n2022-04-01,1\n2022-04-03,1\n2022-04-04,1\n2022-04-05,1\n2022-04-06,1\n2022-04-07,1\n2022-04-08,1\n2022-04-09,1\n" \
    "line 3" "gap" "missing 2022-04-02"
bad "date,cases\n2022-04-01,1\n2022-04-01,1\n$ok_rows" "line 3" "not after"
bad "date,cases\n2022-04-01,1,7\n$ok_rows" "line 2" "3 fields"
bad "date,cases\n2022-04-01,1\n2022-04-02,1\n" "fewer than"
bad "" "empty"
# Imported cases over other days; a bad serial interval; a missing file; bad windows.
printf "date,cases\n${ok_rows}2022-04-09,1\n" > "$TMP/imp.csv"
printf "date,cases\n2022-04-01,1\n$ok_rows" > "$TMP/ok.csv"
expect_fail() {
  set +e
  "$B" rt "$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
  set -e
  [[ $rc -ne 0 && ! -s "$TMP/out" ]] || { echo "accepted: $*"; cat "$TMP/out"; exit 1; }
}
expect_fail --incidence "$TMP/ok.csv" --imported "$TMP/imp.csv" --si-mean 4 --si-sd 2 --json
grep -q "same days" "$TMP/err"
expect_fail --incidence "$TMP/ok.csv" --si-mean 0.8 --si-sd 2 --json
grep -q "above 1 day" "$TMP/err"
expect_fail --incidence "$TMP/ok.csv" --si-mean 4 --json
expect_fail --incidence "$TMP/ok.csv" --json
printf 't,p\n0,0.1\n1,0.9\n' > "$TMP/si.csv"
expect_fail --incidence "$TMP/ok.csv" --si-distr "$TMP/si.csv" --json
grep -q "p\[0\] = 0" "$TMP/err"
printf 't,p\n0,0\n1,0.5\n' > "$TMP/si.csv"
expect_fail --incidence "$TMP/ok.csv" --si-distr "$TMP/si.csv" --json
grep -q "sums to" "$TMP/err"
expect_fail --incidence "$TMP/nonexistent.csv" --si-mean 4 --si-sd 2 --json
expect_fail --incidence "$TMP/ok.csv" --si-mean 4 --si-sd 2 --t-start 1..2 --json
expect_fail --incidence "$TMP/ok.csv" --si-mean 4 --si-sd 2 --t-start x --json
expect_fail --incidence "$TMP/ok.csv" --si-mean 4 --si-sd 2 --window 0 --json
echo "rt: $n EpiEstim reference tables and bad input OK"
