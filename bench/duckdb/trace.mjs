// DuckDB baseline of the contact-finding benchmark: the same interval join over the rows
// trace_bench wrote to DIR (scans.csv, case_visits.csv, venues.csv). Usage: node trace.mjs DIR
// Prints load and query times; writes DIR/duckdb.csv sorted like trace_bench's bihuan.csv.
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const threads = process.env.DUCKDB_THREADS || '2';
const inst = await DuckDBInstance.create(':memory:', { threads });
const con = await inst.connect();
const t = () => performance.now();
let s = t();
await con.run(`CREATE TABLE scans AS SELECT * FROM read_csv('${dir}/scans.csv', header = true,
  columns = {'person': 'INTEGER', 'venue': 'INTEGER', 'entered': 'BIGINT', 'exited': 'BIGINT'})`);
await con.run(`CREATE TABLE case_visits AS SELECT * FROM read_csv('${dir}/case_visits.csv', header = true,
  columns = {'case_person': 'INTEGER', 'venue': 'INTEGER', 'start_s': 'BIGINT', 'end_s': 'BIGINT'})`);
await con.run(`CREATE TABLE venues AS SELECT * FROM read_csv('${dir}/venues.csv', header = true,
  columns = {'venue': 'INTEGER', 'min_overlap_s': 'BIGINT'})`);
const rows = (await con.runAndReadAll('SELECT count(*) FROM scans')).getRows()[0][0];
console.log(`duckdb ${threads} threads: loaded ${rows} scans in ${((t() - s) / 1000).toFixed(1)} s`);
const query = `
  SELECT c.case_person, s.person AS contact, s.venue,
         max(least(s.exited, c.end_s) - greatest(s.entered, c.start_s)) AS overlap_s
  FROM case_visits c
  JOIN venues v ON v.venue = c.venue
  JOIN scans s ON s.venue = c.venue AND s.entered < c.end_s AND s.exited > c.start_s AND s.person <> c.case_person
  WHERE least(s.exited, c.end_s) - greatest(s.entered, c.start_s) >= greatest(v.min_overlap_s, 1)
  GROUP BY 1, 2, 3`;
const runs = Number(process.env.RUNS || 5);
for (let run = 1; run <= runs; ++run) {
  s = t();
  const r = await con.runAndReadAll(`SELECT count(*) FROM (${query})`);
  console.log(`duckdb query run ${run}: ${r.getRows()[0][0]} contacts in ${(t() - s).toFixed(1)} ms`);
}
await con.run(`COPY (${query} ORDER BY 1, 2, 3) TO '${dir}/duckdb.csv' (HEADER false)`);
