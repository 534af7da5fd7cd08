#!/usr/bin/env bash
# Builds (or settings) of bihuan through scripts/bench-scan-api.sh in alternating turns (A, B, A,
# B, ... or A, B, C, A, B, C, ...), for comparing changes on a machine whose speed drifts from
# minute to minute: compare the runs of one round, and read the server's CPU per scan and the
# machine's idle and stolen CPU, not a single ratio.
# Usage: bench-scan-ab.sh OUT_PREFIX BIN_A BIN_B [BIN_C ...] [ROUNDS (3)] [DURATION_S (10)]
#   A BIN may carry settings of bench-scan-api.sh for its runs only, after commas:
#   /tmp/bihuan-old,THREADS=2 runs that build with two I/O threads.
#   OUT_PREFIX.txt gets the summary lines of every run (with the exit code and start time);
#   OUT_PREFIX.N.log each run's whole output. Other settings pass through the environment
#   (PERSONS, VISITORS, and bench-scan-api.sh's own: THREADS, MOVE_MS, ...) to every run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=$1
shift
bins=() nums=()
for a in "$@"; do
  if [[ "$a" =~ ^[0-9]+$ ]]; then nums+=("$a"); else bins+=("$a"); fi
done
ROUNDS=${nums[0]:-3} DUR=${nums[1]:-10}
((${#bins[@]} >= 2)) || { echo "usage: bench-scan-ab.sh OUT_PREFIX BIN_A BIN_B [BIN_C ...] [ROUNDS] [DURATION_S]" >&2; exit 2; }
: >"$OUT.txt"
k=0
for _ in $(seq "$ROUNDS"); do
  for spec in "${bins[@]}"; do
    k=$((k + 1))
    IFS=, read -r -a parts <<<"$spec"
    bin=${parts[0]}
    settings=("${parts[@]:1}")
    echo "== $spec $(date -u +%H:%M:%S)" >>"$OUT.txt"
    env "${settings[@]}" scripts/bench-scan-api.sh "$bin" "${PERSONS:-100000}" "$DUR" "${VISITORS:-2000}" >"$OUT.$k.log" 2>&1
    echo "exit code $?" >>"$OUT.txt"
    grep -E "^machine|nginx fixed|bihuan POST|by thread|stopped|did not" "$OUT.$k.log" >>"$OUT.txt"
  done
done
cat "$OUT.txt"
# Per build: the runs' medians (scans/s, the ratio to nginx with the same requests and to nginx's
# GET, the server's CPU µs per scan).
echo
echo "| build | runs | scans/s (median) | ratio, same requests (median; all) | ratio, GET (median; all) | server µs/scan (median) |"
echo "|---|---:|---:|---|---|---:|"
awk -F'|' '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  /^== / { spec = $0; sub(/^== /, "", spec); sub(/ [0-9:]+$/, "", spec); if (!(spec in seen)) { seen[spec] = 1; order[++ns] = spec } }
  /bihuan POST/ { gsub(/ /, "", $3); gsub(/ /, "", $4); gsub(/ /, "", $5); gsub(/ /, "", $8)
                  rps[spec] = rps[spec] " " $3; same[spec] = same[spec] " " $4; get[spec] = get[spec] " " $5; cpu[spec] = cpu[spec] " " $8; runs[spec]++ }
  END { for (i = 1; i <= ns; i++) { s = order[i]; if (!runs[s]) continue
          printf "| %s | %d | %.0f | %.2f;%s | %.2f;%s | %.1f |\n", s, runs[s], median(rps[s]), median(same[s]), same[s], median(get[s]), get[s], median(cpu[s]) } }' "$OUT.txt"
