// DuckDB baseline of the work-resumption and supplies benchmark (bench/supply_bench.cpp): the
// same queries over the same rows, which supply_bench wrote to DIR as CSV. Usage:
//   node supply.mjs DIR FROM TO REPS
// Prints one JSON document: load time, per query min/median/max in ms, the totals (which must
// equal bihuan's), and the peak resident memory of this process.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';

const [dir, from, to, repsText] = process.argv.slice(2);
const reps = Number(repsText || 5);
const threads = process.env.DUCKDB_THREADS || '2';
const inst = await DuckDBInstance.create(':memory:', { threads });
const con = await inst.connect();
const t = () => performance.now();

let s = t();
await con.run(`CREATE TABLE enterprises AS SELECT * FROM read_csv('${dir}/enterprises.csv', header = true,
  columns = {'org_id': 'BIGINT', 'area_code': 'VARCHAR', 'reopened': 'INTEGER', 'white_list': 'INTEGER'})`);
await con.run(`CREATE TABLE staff AS SELECT * FROM read_csv('${dir}/staff.csv', header = true,
  columns = {'org_id': 'BIGINT', 'person_id': 'BIGINT', 'post': 'VARCHAR'})`);
await con.run(`CREATE TABLE tasks AS SELECT * FROM read_csv('${dir}/tasks.csv', header = true,
  columns = {'org_id': 'BIGINT', 'person_id': 'BIGINT', 'task_day': 'VARCHAR', 'status': 'VARCHAR'})`);
const needs = existsSync(`${dir}/persons.csv`);
if (needs) {
  await con.run(`CREATE TABLE persons AS SELECT * FROM read_csv('${dir}/persons.csv', header = true,
    columns = {'id': 'BIGINT', 'household_id': 'BIGINT', 'area_code': 'VARCHAR', 'merged': 'INTEGER',
               'name': 'VARCHAR', 'doc_number': 'VARCHAR', 'phone': 'VARCHAR'})`);
  await con.run(`CREATE TABLE households AS SELECT * FROM read_csv('${dir}/households.csv', header = true,
    columns = {'id': 'BIGINT', 'household_no': 'VARCHAR', 'area_code': 'VARCHAR'})`);
  await con.run(`CREATE TABLE orders AS SELECT * FROM read_csv('${dir}/orders.csv', header = true,
    columns = {'person_id': 'BIGINT', 'status': 'VARCHAR', 'stage': 'VARCHAR', 'source': 'VARCHAR', 'release_date': 'VARCHAR'})`);
  await con.run(`CREATE TABLE needs AS SELECT * FROM read_csv('${dir}/needs.csv', header = true,
    columns = {'household_id': 'BIGINT', 'version': 'INTEGER', 'recorded_at': 'BIGINT'})`);
  await con.run(`CREATE TABLE vulnerable AS SELECT * FROM read_csv('${dir}/vulnerable.csv', header = true,
    columns = {'id': 'BIGINT', 'person_id': 'BIGINT', 'category': 'VARCHAR', 'cleared': 'INTEGER'})`);
  await con.run(`CREATE TABLE requests AS SELECT * FROM read_csv('${dir}/requests.csv', header = true,
    columns = {'household_id': 'BIGINT', 'status': 'VARCHAR'})`);
}
const load_ms = t() - s;

// The compliance table: staff by enterprise and post, and the span's routine tasks by enterprise
// and post (joined to the roster for the post), as bihuan computes them.
const compliance = `
  WITH st AS (
    SELECT s.org_id, s.post, count(*) AS staff FROM staff s JOIN enterprises e USING (org_id) GROUP BY ALL),
  tk AS (
    SELECT t.org_id, s.post, count(*) AS due,
           count(*) FILTER (WHERE t.status NOT IN ('open', 'missed')) AS done,
           count(*) FILTER (WHERE t.status = 'missed') AS missed,
           count(*) FILTER (WHERE t.status = 'open') AS open
    FROM tasks t JOIN staff s ON s.org_id = t.org_id AND s.person_id = t.person_id
    WHERE t.task_day >= '${from}' AND t.task_day <= '${to}' AND t.status <> 'cancelled'
    GROUP BY ALL)
  SELECT st.org_id, st.post, st.staff, coalesce(tk.due, 0) AS due, coalesce(tk.done, 0) AS done,
         coalesce(tk.missed, 0) AS missed, coalesce(tk.open, 0) AS open
  FROM st LEFT JOIN tk ON tk.org_id = st.org_id AND tk.post = st.post
  ORDER BY st.org_id, st.post`;

async function time(sql, check) {
  const ms = [];
  let result = null;
  for (let i = 0; i < reps; ++i) {
    const a = t();
    const rows = (await con.runAndReadAll(sql)).getRows();
    ms.push(t() - a);
    result = check(rows);
  }
  ms.sort((x, y) => x - y);
  return { time: { n: ms.length, min_ms: ms[0], median_ms: ms[Math.floor(ms.length / 2)], max_ms: ms[ms.length - 1] }, result };
}

const out = { threads: Number(threads), load_ms, queries: {} };
out.queries.compliance = await time(compliance, (rows) => {
  const sum = (k) => rows.reduce((a, r) => a + Number(r[k]), 0);
  return {
    enterprises: new Set(rows.map((r) => Number(r[0]))).size,
    post_rows: rows.length,
    staff: sum(2), due: sum(3), done: sum(4), missed: sum(5), open: sum(6),
  };
});
if (needs) {
  // The day's needs lists of every controlled area: the controlled households (a member under home
  // isolation or a high-risk area's order) with the members kept at home, the latest release,
  // the needs record, the members' active flags and open requests; and the flagged people of
  // controlled households with their names — both by area, as bihuan lists them.
  const controlling = `o.status = 'active' AND o.stage <> 'released' AND (o.stage = 'home_isolation' OR o.source = 'risk_area_list')`;
  const atHome = `o.status = 'active' AND o.stage <> 'released' AND (o.stage IN ('home_isolation', 'home_monitoring', 'destination_community') OR o.source = 'risk_area_list')`;
  const ctl = `ctl AS (SELECT DISTINCT p.household_id AS id FROM persons p JOIN orders o ON o.person_id = p.id
                       WHERE p.merged = 0 AND p.household_id <> 0 AND ${controlling})`;
  const lists = `
    WITH ${ctl},
    home AS (SELECT p.household_id AS id, count(DISTINCT p.id) AS n, coalesce(max(o.release_date), '') AS rel
             FROM persons p JOIN orders o ON o.person_id = p.id WHERE p.merged = 0 AND ${atHome} GROUP BY 1),
    vul AS (SELECT p.household_id AS id, count(*) AS n FROM vulnerable v JOIN persons p ON p.id = v.person_id
            WHERE v.cleared = 0 AND p.merged = 0 GROUP BY 1),
    req AS (SELECT household_id AS id, count(*) AS n FROM requests
            WHERE status IN ('received', 'accepted', 'on_the_way') GROUP BY 1)
    SELECT h.area_code, h.id, h.household_no, coalesce(home.n, 0), home.rel, coalesce(n.version, 0), n.recorded_at,
           coalesce(vul.n, 0), coalesce(req.n, 0)
    FROM households h JOIN ctl USING (id) LEFT JOIN home USING (id) LEFT JOIN needs n ON n.household_id = h.id
    LEFT JOIN vul USING (id) LEFT JOIN req USING (id)
    ORDER BY h.area_code, h.id`;
  const flagged = `
    WITH ${ctl}
    SELECT p.area_code, v.id, v.category, p.name, p.doc_number, p.phone, p.household_id
    FROM vulnerable v JOIN persons p ON p.id = v.person_id JOIN ctl ON ctl.id = p.household_id
    WHERE v.cleared = 0 AND p.merged = 0 ORDER BY p.area_code, v.id DESC`;
  const ms = [];
  let result = null;
  for (let i = 0; i < Math.max(1, Math.floor(reps / 2)); ++i) {
    const a = t();
    const hs = (await con.runAndReadAll(lists)).getRows();
    const fs = (await con.runAndReadAll(flagged)).getRows();
    ms.push(t() - a);
    const sum = (rows, k) => rows.reduce((x, r) => x + Number(r[k]), 0);
    result = {
      areas: new Set(hs.map((r) => r[0])).size,
      households: hs.length,
      controlled: sum(hs, 3),
      with_needs: hs.filter((r) => Number(r[5]) > 0).length,
      vulnerable_in_households: sum(hs, 7),
      open_requests: sum(hs, 8),
      vulnerable_listed: fs.length,
    };
  }
  ms.sort((x, y) => x - y);
  out.queries.needs_lists = {
    time: { n: ms.length, min_ms: ms[0], median_ms: ms[Math.floor(ms.length / 2)], max_ms: ms[ms.length - 1] },
    result,
  };
}
out.peak_rss_mib = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify(out, null, 2));
