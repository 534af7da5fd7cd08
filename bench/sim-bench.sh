#!/usr/bin/env bash
# Simulator benchmarks (bench/RESULTS.md, "Simulator"): branching replicates per second, the
# shared vs per-case isolation delay, agent-days per second and bytes per agent of the ABM.
# Usage: bench/sim-bench.sh [BIHUAN] [SIZES]   e.g. bench/sim-bench.sh build/release/src/app/bihuan "100000 1000000"
# SIM_BENCH_PARTS="abm" (or "branching") runs one part only; DAYS (60) sets the ABM horizon.
# Run under `flock /work/bench.lock` on a shared machine.
set -euo pipefail
B=${1:-build/release/src/app/bihuan}
SIZES=${2:-"100000 1000000"}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "load: $(uptime)"
timed() { # label cmd... -> prints "label wall_s maxrss_kb"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$TMP/time" "$@" > "$TMP/out.json"
  echo "$label $(cat "$TMP/time")"
}
PARTS=${SIM_BENCH_PARTS:-"branching abm"}
DAYS=${DAYS:-60}
if [[ $PARTS == *branching* ]]; then
echo "## branching, R0 2.5, k 0.16, 20 initial cases, short delay, 1 thread"
for traced in 0 0.6; do
  timed "branching traced=$traced runs=1000" "$B" simulate branching --runs 1000 --traced $traced --threads 1 --seed 1 --json
done
echo "## shared vs per-case delay: probability of control (5,000 runs each)"
for traced in 0 0.2 0.4 0.6 0.8; do
  s=$("$B" simulate branching --runs 5000 --traced $traced --threads 2 --seed 11 --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.4f [%.4f, %.4f]" % (j["probability_of_control"], *j["probability_of_control_95ci"]))')
  p=$("$B" simulate branching --runs 5000 --traced $traced --threads 2 --seed 11 --per-case-delay --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.4f [%.4f, %.4f]" % (j["probability_of_control"], *j["probability_of_control_95ci"]))')
  echo "traced=$traced shared=$s per_case=$p"
done
fi
[[ $PARTS == *abm* ]] || exit 0
echo "## agent-based model"
for n in $SIZES; do
  for kind in epidemic controlled baseline; do
    case $kind in
      epidemic)   variant=ancestral; profile=class-b;       seeds=$((n / 1000)); imports="{per_day: 0, prevalence: 0}"; over="{}";;
      controlled) variant=delta;     profile=ninth-edition; seeds=$((n / 10000)); imports="{per_day: 20, prevalence: 0.002}"; over="{}";;
      baseline)   variant=ancestral; profile=class-b;       seeds=$((n / 1000)); imports="{per_day: 0, prevalence: 0}"; over="{r0: 0}";;
    esac
    cat > "$TMP/s.yaml" <<YAML
name: bench-$kind
city: {persons: $n, seed: 1}
variant: $variant
profile: $profile
days: $DAYS
initial_infections: $seeds
imports: $imports
overrides: $over
YAML
    for threads in 1 2; do
      timed "abm n=$n $kind threads=$threads runs=2 days=$DAYS" "$B" simulate abm --scenario "$TMP/s.yaml" --runs 2 --threads $threads --seed 1 --json ${ABM_EXTRA:-}
      python3 - "$TMP/out.json" "$TMP/time" "$n" "$DAYS" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); wall, rss = open(sys.argv[2]).read().split(); n = int(sys.argv[3])
ad = n * int(sys.argv[4]) * 2
print(f"   infections/run {j['local_infections']['mean']:.0f}  agent-days/s {ad/float(wall)/1e6:.2f} M  "
      f"bytes/agent (model) {j['bytes_per_agent']:.1f}  max RSS/agent {int(rss)*1024/n:.1f} B")
PY
    done
  done
done
