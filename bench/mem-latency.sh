#!/usr/bin/env bash
# Runs build/release/bench/mem_latency (or builds bench/mem_latency.cpp on the fly) and prints the latency of a dependent load over each size
# (MiB; default 8 64 256 2048), with and without transparent huge pages.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/build/release/bench/mem_latency"
if [[ ! -x "$BIN" ]]; then
  BIN=$(mktemp /tmp/mem-latency.XXXXXX)
  trap 'rm -f "$BIN"' EXIT
  g++ -std=c++20 -O2 -o "$BIN" "$ROOT/bench/mem_latency.cpp"
fi
sizes=("$@")
((${#sizes[@]})) || sizes=(8 64 256 2048)
for mib in "${sizes[@]}"; do
  for pages in h 4; do "$BIN" "$mib" "$pages"; done
done
