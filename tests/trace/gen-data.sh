#!/usr/bin/env bash
# A deterministic scan log for the trace command tests: DIR/scans.csv, cases.csv, venues.csv.
# Usage: gen-data.sh DIR [SCANS] [SEED]. Persons P00000.., venues of six types over three days,
# exits for about two scans in three, some rows out of time order.
set -euo pipefail
DIR=$1
N=${2:-20000}
SEED=${3:-7}
awk -v n="$N" -v seed="$SEED" -v dir="$DIR" 'BEGIN {
  srand(seed);
  split("home workplace school shop restaurant transport", types, " ");
  split("600 480 420 30 60 20", dwell, " ");
  nv = 240; np = 1500;
  print "code,type,dwell_minutes" > (dir "/venues.csv");
  for (v = 0; v < nv; v++) {
    t = v % 6 + 1;
    vt[v] = t;
    # Every tenth venue has no row: it takes the default dwell.
    if (v % 10 != 9) printf "V%04d,%s,%d\n", v, types[t], (v % 7 == 0 ? 0 : dwell[t]) > (dir "/venues.csv");
  }
  print "doc_number,venue_code,entered_at,exited_at" > (dir "/scans.csv");
  for (i = 0; i < n; i++) {
    v = int(rand() * nv);
    p = int(rand() * np);
    # three days from 2026-11-01T00:00:00Z in seconds, roughly in order, one in twenty late
    t = 1793491200 + int(i * (3 * 86400) / n);
    if (rand() < 0.05) t -= int(rand() * 7200);
    dur = int(rand() * 2 * dwell[vt[v]] * 60);
    ent = strftime("%Y-%m-%dT%H:%M:%SZ", t, 1);
    ex = (rand() < 0.67) ? strftime("%Y-%m-%dT%H:%M:%SZ", t + dur, 1) : "";
    printf "P%05d,V%04d,%s,%s\n", p, v, ent, ex > (dir "/scans.csv");
  }
  print "doc_number,window_start,window_end" > (dir "/cases.csv");
  for (c = 0; c < 40; c++)
    printf "P%05d,2026-11-01T08:00:00+08:00,2026-11-04T00:00:00+08:00\n", c * 37 > (dir "/cases.csv");
}'
