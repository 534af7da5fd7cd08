// DuckDB baseline of the analytics benchmark: the aggregates behind GET /api/analytics/* over the
// cases analytics_bench wrote to DIR/cases.csv (the same rows it stored). Usage:
//   node analytics.mjs DIR FIRST END DISTRICT REPS
// Prints one JSON document: p50/p99/max in ms per query, for the whole city and one district.
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, first, end, district, repsText, peak] = process.argv.slice(2);
const reps = Number(repsText || 50);
const threads = process.env.DUCKDB_THREADS || '2';
const inst = await DuckDBInstance.create(':memory:', { threads });
const con = await inst.connect();
const t = () => performance.now();
let s = t();
await con.run(`CREATE TABLE cases AS SELECT * FROM read_csv('${dir}/cases.csv', header = true,
  columns = {'area_code': 'VARCHAR', 'classification': 'VARCHAR', 'origin': 'VARCHAR', 'found_by': 'VARCHAR',
             'onset_date': 'VARCHAR', 'opened_at': 'BIGINT', 'reported_at': 'BIGINT', 'diagnosed_at': 'BIGINT'})`);
const loaded = (await con.runAndReadAll('SELECT count(*) FROM cases')).getRows()[0][0];
const load_ms = t() - s;

const OFF = 8 * 3600 * 1000;
const DAY = 86400000;
const dayMs = (d) => Date.parse(`${d}T00:00:00Z`) - OFF;  // local 00:00 (UTC+8)
const plus = (d, n) => new Date(Date.parse(`${d}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
const classes = `classification IN ('confirmed', 'clinical', 'asymptomatic')`;
const scope = (d) => (d ? ` AND area_code >= '${d}' AND area_code < '${String(Number(d) + 1)}'` : '');
const report = 'COALESCE(reported_at, opened_at)';
function byDay(col, from, to, d, extra = '') {
  return `SELECT (${col} + ${OFF}) // ${DAY} AS day, origin, found_by, substr(area_code, 1, 6) AS district, count(*) AS n
          FROM cases WHERE ${classes}${scope(d)}${extra} AND ${col} >= ${dayMs(from)} AND ${col} < ${dayMs(to) + DAY}
          GROUP BY ALL`;
}
function byOnset(from, to, d) {
  return `SELECT onset_date, origin, found_by, substr(area_code, 1, 6) AS district, count(*) AS n
          FROM cases WHERE ${classes}${scope(d)} AND onset_date >= '${from}' AND onset_date <= '${to}'
          GROUP BY ALL`;
}
function delays(from, to, d) {
  return `SELECT onset_date, (${report} + ${OFF}) // ${DAY} AS report_day, origin, count(*) AS n
          FROM cases WHERE ${classes}${scope(d)} AND onset_date >= '${from}' AND onset_date <= '${to}'
            AND ${report} < ${dayMs(to) + DAY}
          GROUP BY ALL`;
}
// The same ranges as analytics_bench: curves read 6 more days for the 7-day average; the nowcast
// its default 60 days; growth the 14 days up to the end.
const queries = (d) => ({
  curves_report: byDay(report, plus(first, -6), end, d),
  curves_onset: byOnset(plus(first, -6), end, d),
  rt: byDay(report, first, end, d),
  nowcast: delays(plus(end, -59), end, d),
  growth: byDay(report, plus(end, -13), end, d, " AND origin <> 'imported'"),
});
// The daily bulletin's counts of one day: new and cumulative by classification over every case
// reported up to the day's end, and the day's new cases by origin and district (the breakdowns).
// The last column of the first query is the day's new confirmed and asymptomatic (the check).
function bulletin(day, d) {
  const rday = `(${report} + ${OFF}) // ${DAY}`;
  const dn = (dayMs(day) + OFF) / DAY;
  const conf = `classification IN ('confirmed', 'clinical')`;
  return [
    `SELECT count(*) FILTER (WHERE ${conf}) AS total_confirmed,
            count(*) FILTER (WHERE classification = 'asymptomatic') AS total_asymptomatic,
            count(*) FILTER (WHERE ${conf} AND ${rday} = ${dn} AND origin = 'imported') AS confirmed_imported,
            count(*) FILTER (WHERE (${conf} OR classification = 'asymptomatic') AND ${rday} = ${dn}) AS new_cases
     FROM cases WHERE ${report} < ${dayMs(day) + DAY}${scope(d)}`,
    `SELECT substr(area_code, 1, 6) AS district, origin, count(*) FILTER (WHERE ${conf}) AS confirmed,
            count(*) FILTER (WHERE classification = 'asymptomatic') AS asymptomatic
     FROM cases WHERE ${rday} = ${dn}${scope(d)} GROUP BY ALL`,
  ];
}
const out = { loaded: Number(loaded), load_ms, threads: Number(threads), reps, queries: {} };
for (const [who, d] of [['city', ''], ['district', district]]) {
  for (const [name, sql] of Object.entries(queries(d))) {
    const ms = [];
    let rows = [];
    for (let r = 0; r < reps; ++r) {
      s = t();
      rows = (await con.runAndReadAll(sql)).getRows();
      ms.push(t() - s);
    }
    const cases = rows.reduce((a, row) => a + Number(row[row.length - 1]), 0);
    ms.sort((a, b) => a - b);
    const at = (q) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)];
    out.queries[`${who}.${name}`] = { n: ms.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: ms[ms.length - 1], rows: rows.length, cases };
  }
}
if (peak) {
  for (const [who, d] of [['city', ''], ['district', district]]) {
    const ms = [];
    let cases = 0;
    for (let r = 0; r < reps; ++r) {
      s = t();
      const [totals, parts] = bulletin(peak, d);
      const a = (await con.runAndReadAll(totals)).getRows();
      await con.runAndReadAll(parts);
      ms.push(t() - s);
      cases = Number(a[0][a[0].length - 1]);
    }
    ms.sort((x, y) => x - y);
    const at = (q) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)];
    out.queries[`${who}.bulletin`] = { n: ms.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: ms[ms.length - 1], cases };
  }
}
console.log(JSON.stringify(out, null, 2));
