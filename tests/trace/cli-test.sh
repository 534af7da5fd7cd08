#!/usr/bin/env bash
# `bihuan trace` from files: a known answer, the settings flags, and malformed files giving a
# clear error (file, row, field), a non-zero exit and nothing on stdout. Usage: cli-test.sh BIHUAN
set -euo pipefail
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
unset OMPI_COMM_WORLD_SIZE PMI_SIZE PMIX_SIZE
cat > "$TMP/scans.csv" <<'CSV'
doc_number,venue_code,entered_at,exited_at
110101199003077777,SHOP-1,2026-11-01T10:00:00+08:00,2026-11-01T10:30:00+08:00
110101199003078888,SHOP-1,2026-11-01T02:15:00Z,2026-11-01T02:45:00Z
110101199003079999,SHOP-1,2026-11-01T10:15:01+08:00,2026-11-01T10:45:00+08:00
110101199003078888,REST-1,2026-11-01T12:00:00+08:00,
110101199003077777,REST-1,2026-11-01T12:10:00+08:00,2026-11-01T12:40:00+08:00
CSV
cat > "$TMP/cases.csv" <<'CSV'
doc_number,window_start,window_end
110101199003077777,2026-10-30T00:00:00+08:00,2026-11-02T00:00:00+08:00
CSV
cat > "$TMP/venues.csv" <<'CSV'
code,type,dwell_minutes
SHOP-1,shop,30
REST-1,restaurant,20
CSV
fail() { echo "FAIL: $*"; exit 1; }
out=$("$BIN" trace --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --venues "$TMP/venues.csv" --json)
want='{"contacts":[{"case":"110101199003077777","contact":"110101199003078888","venue":"SHOP-1","overlap_minutes":15}]}'
[ "$out" = "$want" ] || fail "got $out"
# A restaurant minimum of 10 minutes adds the 10-minute overlap there (the contact had no exit
# scan: 20 minutes of dwell, 12:00-12:20, the case 12:10-12:40).
out=$("$BIN" trace --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --venues "$TMP/venues.csv" --json --min-overlap restaurant=10)
want='{"contacts":[{"case":"110101199003077777","contact":"110101199003078888","venue":"REST-1","overlap_minutes":10},{"case":"110101199003077777","contact":"110101199003078888","venue":"SHOP-1","overlap_minutes":15}]}'
[ "$out" = "$want" ] || fail "min-overlap: got $out"
# Without VENUES the visit without exit lasts --default-dwell: 60 minutes (12:00-13:00, 30 with
# the case), or 5 (no overlap).
out=$("$BIN" trace --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --json)
case "$out" in *'"venue":"REST-1","overlap_minutes":30'*) ;; *) fail "default dwell 60: $out";; esac
out=$("$BIN" trace --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --json --default-dwell 5)
case "$out" in *REST-1*) fail "default dwell ignored: $out";; esac
# Text output.
"$BIN" trace --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --venues "$TMP/venues.csv" | grep -q $'^110101199003077777\t110101199003078888\tSHOP-1\t15$' \
  || fail "text output"
# Malformed files: exit 2, stdout empty, stderr names file, row and field.
bad() { # expect-in-stderr scans cases [venues] [flags...]
  local expect=$1; shift
  set +e
  "$BIN" trace "$@" --json > "$TMP/out" 2> "$TMP/err"
  local rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "exit $rc for '$expect' ($(cat "$TMP/err"))"
  [ ! -s "$TMP/out" ] || fail "stdout not empty for '$expect'"
  grep -qF -- "$expect" "$TMP/err" || fail "stderr lacks '$expect': $(cat "$TMP/err")"
}
printf 'doc_number,venue_code,entered_at\nA,V,2026-11-01T10:00:00Z\n' > "$TMP/s1.csv"
bad "s1.csv: row 1, field exited_at: missing column" --scans "$TMP/s1.csv" --cases "$TMP/cases.csv"
printf 'doc_number,venue_code,entered_at,exited_at\nA,V,2026-11-01T10:00:00Z,\nA,V,2026-11-31T10:00:00Z,\n' > "$TMP/s2.csv"
bad "s2.csv: row 3, field entered_at: not an ISO 8601 time" --scans "$TMP/s2.csv" --cases "$TMP/cases.csv"
printf 'doc_number,venue_code,entered_at,exited_at\nA,V,2026-11-01T10:00:00Z,2026-11-01T09:00:00Z\n' > "$TMP/s3.csv"
bad "s3.csv: row 2, field exited_at: exit" --scans "$TMP/s3.csv" --cases "$TMP/cases.csv"
printf 'code,type,dwell_minutes\nSHOP-1,shop,3.5\n' > "$TMP/v1.csv"
bad "v1.csv: row 2, field dwell_minutes" --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --venues "$TMP/v1.csv"
printf 'code,type,dwell_minutes\nSHOP-1,SHOP!,30\n' > "$TMP/v2.csv"
bad "v2.csv: row 2, field type" --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --venues "$TMP/v2.csv"
printf 'doc_number,window_start,window_end\nA,2026-11-02T00:00:00Z,2026-11-01T00:00:00Z\n' > "$TMP/c1.csv"
bad "c1.csv: row 2, field window_end: window ends before it starts" --scans "$TMP/scans.csv" --cases "$TMP/c1.csv"
printf 'doc_number,window_start,window_end\nA,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z\nA,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z\n' > "$TMP/c2.csv"
bad "c2.csv: row 3, field doc_number: case 'A' is already on row 2" --scans "$TMP/scans.csv" --cases "$TMP/c2.csv"
bad "--min-overlap" --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --min-overlap 'Shop=5'
bad "--min-overlap" --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --min-overlap 'shop=five'
# A missing file: not found (exit 3), nothing on stdout.
set +e
"$BIN" trace --scans "$TMP/none.csv" --cases "$TMP/cases.csv" --json > "$TMP/out" 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -eq 3 ] && [ ! -s "$TMP/out" ] || fail "missing file: exit $rc"
# Under mpirun with more than one rank but without bihuan-mpi: a clear error.
mkdir "$TMP/alone"
cp "$BIN" "$TMP/alone/bihuan"
set +e
OMPI_COMM_WORLD_SIZE=2 BIHUAN_MPI= "$TMP/alone/bihuan" trace --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --json > "$TMP/out" 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -ne 0 ] && [ ! -s "$TMP/out" ] && grep -q "bihuan-mpi" "$TMP/err" || fail "no bihuan-mpi: exit $rc, $(cat "$TMP/err")"
echo "trace cli: ok"
