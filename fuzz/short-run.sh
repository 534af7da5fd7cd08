#!/usr/bin/env bash
# A short libFuzzer run (the ctest `fuzz` tests): every seed of CORPUS, then SECONDS of
# fuzzing. New inputs go to a temporary directory, never into the checked-in corpus; a crash
# leaves its input in ARTIFACTS and fails the test.
#   short-run.sh HARNESS CORPUS SECONDS ARTIFACTS [DICTIONARY]
set -euo pipefail
harness=$1 corpus=$2 seconds=$3 artifacts=$4 dict=${5:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/bihuan-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
name=$(basename "$harness")
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
exec_rc=0
"$harness" ${dict:+-dict="$dict"} -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 -max_len=16384 -print_final_stats=1 \
  -artifact_prefix="$artifacts/$name-" "$work" "$corpus" >"$work/log" 2>&1 || exec_rc=$?
grep -E '^#[0-9]+ *(INITED|DONE)|stat::number_of_executed_units|stat::average_exec_per_sec' "$work/log" || true
if ((exec_rc != 0)); then
  tail -n 80 "$work/log"
  echo "$name: failed (exit $exec_rc); inputs in $artifacts" >&2
  exit 1
fi
