#!/usr/bin/env bash
# The simulator under MPI: 2 ranks give exactly the result of 1 rank (agent-based model with
# replicates spread over the ranks or one city split by area across them, branching process). Usage: mpi-test.sh BIHUAN_MPI MPIEXEC
set -euo pipefail
BIN=$1
MPIEXEC=${2:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cat > "$TMP/s.yaml" <<'YAML'
name: mpi-check
city: {persons: 4000, seed: 2}
variant: ancestral
profile: twenty-measures
days: 20
initial_infections: 5
imports: {per_day: 5, prevalence: 0.05}
YAML
run() { # ranks args...
  local n=$1; shift
  "$MPIEXEC" --oversubscribe -n "$n" "$BIN" "$@"
}
run 1 abm --scenario "$TMP/s.yaml" --runs 5 --seed 7 > "$TMP/one.json"
run 2 abm --scenario "$TMP/s.yaml" --runs 5 --seed 7 > "$TMP/two.json"
grep -q '"probability_of_rebound"' "$TMP/one.json" || { echo "no result from 1 rank"; cat "$TMP/one.json"; exit 1; }
if ! cmp -s "$TMP/one.json" "$TMP/two.json"; then
  echo "abm: 2 ranks differ from 1 rank"; diff "$TMP/one.json" "$TMP/two.json" | head -20; exit 1
fi
run 1 branching --runs 60 --seed 3 --traced 0.4 > "$TMP/b1.json"
run 2 branching --runs 60 --seed 3 --traced 0.4 > "$TMP/b2.json"
grep -q '"probability_of_control"' "$TMP/b1.json" || { echo "no branching result"; exit 1; }
cmp -s "$TMP/b1.json" "$TMP/b2.json" || { echo "branching: 2 ranks differ from 1 rank"; diff "$TMP/b1.json" "$TMP/b2.json" | head; exit 1; }
# One city split by area across the ranks (infections and quarantine orders as messages): the
# same result as 1 rank, and as the replicates spread over ranks.
run 1 abm --scenario "$TMP/s.yaml" --runs 5 --seed 7 --split > "$TMP/split1.json"
run 2 abm --scenario "$TMP/s.yaml" --runs 5 --seed 7 --split > "$TMP/split2.json"
for f in split1 split2; do
  cmp -s "$TMP/one.json" "$TMP/$f.json" || { echo "abm --split ($f) differs from 1 rank"; diff "$TMP/one.json" "$TMP/$f.json" | head -20; exit 1; }
done
# A different seed must change the result (the comparison above is not vacuous).
run 2 abm --scenario "$TMP/s.yaml" --runs 5 --seed 8 > "$TMP/other.json"
if cmp -s "$TMP/one.json" "$TMP/other.json"; then echo "seed has no effect"; exit 1; fi
echo "mpi: 1 rank == 2 ranks"
