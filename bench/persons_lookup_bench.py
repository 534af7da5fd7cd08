#!/usr/bin/env python3
# Usage: persons_lookup_bench.py CITY.db row|index random|area N (bench/RESULTS.md, "25 M-person
# testing round": the lookup of sampling uploads, issue 7). The "index" variant needs v39's index.
# The persons' lookup by document number as persons_by_docs does it (chunks of 500, sorted),
# two variants, each in a fresh process: "row" = SELECT doc_number, id, merged_into (reads each
# hit's table row); "index" = SELECT doc_number, id (persons_doc alone) then the hits' ids
# against the partial index persons_merged_id (v39). CPU time of the process (user + sys).
import sqlite3, sys, random, resource, time
path, variant, order, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
db.execute("PRAGMA cache_size=-65536")  # 64 MiB, as the driver sets it
total = db.execute("SELECT max(id) FROM persons").fetchone()[0]
rng = random.Random(7)
if order == "random":
    ids = rng.sample(range(1, total + 1), n)
else:
    start = rng.randrange(1, total - n)
    ids = list(range(start, start + n))
docs = []
for i in range(0, len(ids), 500):
    chunk = ids[i:i + 500]
    q = "SELECT doc_number FROM persons WHERE id IN (%s)" % ",".join("?" * len(chunk))
    docs.extend(r[0] for r in db.execute(q, chunk))
db.close()
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
db.execute("PRAGMA cache_size=-65536")
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.time()
found = 0
for i in range(0, len(docs), 10000):   # an upload of 10,000 people
    up = sorted(docs[i:i + 10000])
    for k in range(0, len(up), 500):
        chunk = up[k:k + 500]
        ph = ",".join("?" * len(chunk))
        if variant == "row":
            rows = db.execute("SELECT doc_number, id, merged_into FROM persons WHERE doc_number IN (%s)" % ph, chunk).fetchall()
        else:
            rows = db.execute("SELECT doc_number, id FROM persons WHERE doc_number IN (%s)" % ph, chunk).fetchall()
            hit = [r[1] for r in rows]
            merged = db.execute("SELECT id FROM persons INDEXED BY persons_merged_id WHERE merged_into IS NOT NULL AND id IN (%s)"
                                % ",".join("?" * len(hit)), hit).fetchall()
        found += len(rows)
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(f"{variant} {order} n={n} found={found} cpu={r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime:.2f}s "
      f"(user {r1.ru_utime - r0.ru_utime:.2f}, sys {r1.ru_stime - r0.ru_stime:.2f}) wall={time.time() - t0:.2f}s")
