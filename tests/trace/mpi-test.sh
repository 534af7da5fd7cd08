#!/usr/bin/env bash
# Contact finding on MPI ranks prints exactly what one process prints: `mpirun -n 2 bihuan
# trace` (which runs bihuan-mpi), `mpirun -n 2|3 bihuan-mpi trace` against `bihuan trace`, on a
# generated scan log with contacts at many venues. Usage: mpi-test.sh BIHUAN BIHUAN_MPI [MPIEXEC]
set -euo pipefail
BIN=$1
MPI=$2
MPIEXEC=${3:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
bash "$HERE/gen-data.sh" "$TMP" 20000 7
ARGS=(trace --scans "$TMP/scans.csv" --cases "$TMP/cases.csv" --venues "$TMP/venues.csv" --json
      --min-overlap restaurant=10 --min-overlap transport=5)
"$BIN" "${ARGS[@]}" > "$TMP/one.json"
# The comparison is not vacuous: many contacts at many venues of several types.
venues=$(grep -o '"venue":"V[0-9]*"' "$TMP/one.json" | sort -u | wc -l)
contacts=$(grep -o '"overlap_minutes"' "$TMP/one.json" | wc -l)
[ "$venues" -ge 50 ] && [ "$contacts" -ge 200 ] || fail "too few contacts ($contacts at $venues venues)"
"$MPIEXEC" --oversubscribe -n 2 "$BIN" "${ARGS[@]}" > "$TMP/two.json"
cmp -s "$TMP/one.json" "$TMP/two.json" || { diff <(tr '}' '\n' < "$TMP/one.json") <(tr '}' '\n' < "$TMP/two.json") | head; fail "mpirun -n 2 bihuan trace differs"; }
"$MPIEXEC" --oversubscribe -n 2 "$MPI" "${ARGS[@]}" > "$TMP/two-mpi.json"
cmp -s "$TMP/one.json" "$TMP/two-mpi.json" || fail "mpirun -n 2 bihuan-mpi trace differs"
"$MPIEXEC" --oversubscribe -n 3 "$MPI" "${ARGS[@]}" > "$TMP/three.json"
cmp -s "$TMP/one.json" "$TMP/three.json" || fail "mpirun -n 3 bihuan-mpi trace differs"
# Another setting changes the answer (the comparison sees a difference when there is one).
"$MPIEXEC" --oversubscribe -n 2 "$BIN" "${ARGS[@]}" --min-overlap shop=30 > "$TMP/other.json"
cmp -s "$TMP/one.json" "$TMP/other.json" && fail "--min-overlap had no effect"
# A malformed file under mpirun: non-zero exit, nothing on stdout, the error once.
printf 'doc_number,venue_code,entered_at,exited_at\nA,V,2026-11-01T10:00:00Z,2026-11-01T09:00:00Z\n' > "$TMP/bad.csv"
set +e
"$MPIEXEC" --oversubscribe -n 2 "$BIN" trace --scans "$TMP/bad.csv" --cases "$TMP/cases.csv" --json > "$TMP/out" 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -ne 0 ] && [ ! -s "$TMP/out" ] || fail "malformed under mpirun: exit $rc, stdout $(head -c 200 "$TMP/out")"
[ "$(grep -c 'bad.csv: row 2, field exited_at' "$TMP/err")" -eq 1 ] || fail "error not printed once: $(cat "$TMP/err")"
echo "trace mpi: $contacts contacts at $venues venues, 1 process == 2 ranks == 3 ranks"
