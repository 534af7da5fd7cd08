// Early warning (多点触发), vaccination, capacity and maps end to end (docs/API-warning.md). The
// administrator reports five weeks of a fever clinic of its own code (E2E-WARN-*) in the grid
// worker's grid with a jump on the last day; a malformed file is refused naming row and field;
// the watcher's pass raises the district's signal, which opens the early-warning playbook; the
// 研判 page shows it with its series, the coverage, capacity, the district map and the
// simulator's forecast from today's data on the curve. Then two
// elderly residents of the grid get doses (one a full course, one a single dose) and the grid
// worker's list shows the second and not the first. Other tests' data: filtered by our codes.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, maskedForm, openBrowser, residentId } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk
const reqs = []
const api = {}

async function client(user, pass) {
  const r = await pwRequest.newContext()
  reqs.push(r)
  return apiAs(r, user, pass)
}

before(async () => {
  api.admin = await client(env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  api.grid = await client(env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const plusDays = (day, n) => {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}
async function job(res) {
  assert.equal(res.status, 202, JSON.stringify(res.body))
  for (let i = 0; i < 600; i++) {
    const j = await api.admin.get(`/jobs/${res.body.job_id}`)
    if (j.body.status === 'done' || j.body.status === 'failed') return j.body
    await sleep(100)
  }
  throw new Error('job did not finish')
}

test('a fever-clinic rise raises a signal that opens the early-warning playbook', async () => {
  const grid = env('BIHUAN_GRID_AREA')
  const district = grid.slice(0, 6)
  const today = (await api.admin.get('/health')).body.today
  // A malformed file: nothing written, the row and field named.
  const bad = await job(await api.admin.post('/warning/feeds/fever_clinic', `date,site,area_code,count\n${today},E2E-WARN-1,${grid},lots\n`))
  assert.equal(bad.status, 'done', JSON.stringify(bad))
  assert.equal(bad.report.committed, false)
  assert.deepEqual(bad.report.errors[0], { row: 2, field: 'count', reason: 'must be a whole number 0..10000000' })
  // Five weeks at 10 a day, then 70 today.
  let csv = 'date,site,site_name,area_code,count\n'
  for (let i = 35; i >= 0; i--) csv += `${plusDays(today, -i)},E2E-WARN-1,E2E 发热门诊,${grid},${i === 0 ? 70 : 10}\n`
  const ok = await job(await api.admin.post('/warning/feeds/fever_clinic', csv))
  assert.equal(ok.report.committed, true, JSON.stringify(ok.report))
  assert.equal(ok.report.accepted, 36)
  const series = await api.admin.get(`/warning/series?feed=fever_clinic&area=${district}`)
  assert.equal(series.status, 200, JSON.stringify(series.body))
  assert.equal(series.body.exceeded.at(-1), true)
  // The watcher's pass (every 5 s) raises the signal and opens the event.
  let sig = null
  for (let i = 0; i < 300 && !sig; i++) {
    const r = await api.admin.get('/warning/signals?status=open')
    sig = r.body.items.find((s) => s.feed === 'fever_clinic' && s.area_code === district && s.event_id) || null
    if (!sig) await sleep(200)
  }
  assert.ok(sig, 'no signal raised')
  assert.equal(sig.observed, 70)
  assert.equal(sig.since, today)
  const ev = await api.admin.get(`/response/events/${sig.event_id}`)
  assert.equal(ev.body.playbook, 'early-warning')
  assert.equal((await api.grid.get('/warning/signals')).status, 403)

  // The 研判 page: signals, the series, coverage, capacity and the map.
  const page = desk.page
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/analytics?tab=warning`)
  await hook(page, 'warning-signals').locator('.el-table__row', { hasText: '发热门诊就诊' }).first().waitFor()
  await hook(page, 'warning-series').locator('canvas').first().waitFor()
  await hook(page, 'warning-rule').waitFor()
  await shot(page, 'warning.png')
  // A stricter threshold for the district (response.manage): the series shows the rule's area.
  await hook(page, 'warning-edit-rule').click()
  await inputHook(page, 'rule-area').fill(district)
  await inputHook(page, 'rule-k').fill('9')
  await hook(page, 'rule-save').click()
  await page.locator('[data-test="warning-rule"]', { hasText: `k = 9` }).waitFor()
  assert.match(await hook(page, 'warning-rule').textContent(), new RegExp(`（${district}）`))
  const rules = await api.admin.get('/warning/rules')
  assert.ok(rules.body.items.some((r) => r.feed === 'fever_clinic' && r.area_code === district && r.k === 9))
  await page.getByRole('tab', { name: '疫苗接种' }).click()
  await hook(page, 'vaccination-bands').locator('.el-table__row', { hasText: '80+' }).waitFor()
  await page.getByRole('tab', { name: '容量' }).click()
  await hook(page, 'capacity-beds').locator('canvas').first().waitFor()
  await page.getByRole('tab', { name: '地图' }).click()
  await hook(page, 'map-districts').locator('canvas').first().waitFor()
  await hook(page, 'map-table').locator('.el-table__row').first().click()
  await hook(page, 'map-below').locator('canvas').first().waitFor()
  await shot(page, 'warning-map.png')
  // The simulator's forecast from today's data on the curve's chart.
  await page.getByRole('tab', { name: '疫情研判' }).click()
  await hook(page, 'analytics-forecast-run').click()
  await hook(page, 'analytics-forecast-note').waitFor({ timeout: 300_000 })
  assert.match(await hook(page, 'analytics-forecast-note').textContent(), /模拟：自 \d{4}-\d{2}-\d{2} 起，\d+ 人/)
  await shot(page, 'analytics-forecast.png')
  assert.deepEqual(desk.problems, [])
})

test('doses from the register; the grid worker lists the elderly not fully vaccinated', async () => {
  const grid = env('BIHUAN_GRID_AREA')
  const people = (await api.admin.get(`/persons?area=${grid}&limit=200`)).body.items.filter((p) => p.age >= 62 && p.doc_type === 'resident_id')
  assert.ok(people.length >= 2, 'the grid has two residents of 62 and over')
  const [full, partial] = people
  const doc = async (p) => (await api.admin.get(`/persons/${p.id}?unmask=1&reason=e2e`)).body.doc_number
  const a = await doc(full), b = await doc(partial)
  const nobody = residentId('11010119000101999')
  const csv = `身份证号,剂次,接种日期,疫苗\n${a},1,2021-04-01,科兴\n${a},2,2021-05-01,科兴\n${b},1,2021-04-01,bbibp\n${nobody},1,2021-04-01,bbibp\n`
  const r = await job(await api.admin.post('/vaccination/import', csv))
  assert.equal(r.report.committed, true, JSON.stringify(r.report))
  assert.equal(r.report.accepted, 3)
  // The last number belongs to nobody: reported (masked), not dropped.
  assert.equal(r.report.unmatched_count, 1)
  assert.equal(r.report.unmatched[0].row, 5)
  assert.equal(r.report.unmatched[0].id_number, maskedForm(nobody))
  const list = await api.grid.get('/vaccination/elderly?limit=200')
  assert.equal(list.status, 200, JSON.stringify(list.body))
  const ids = list.body.items.map((p) => p.id)
  assert.ok(ids.includes(partial.id))
  assert.ok(!ids.includes(full.id))
  assert.equal(list.body.items.find((p) => p.id === partial.id).doses, 1)

  const gridDesk = await openBrowser()
  const page = gridDesk.page
  await login(page, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await page.goto(`${BASE()}/vaccination/elderly`)
  // The partly vaccinated elder is listed (masked); the fully vaccinated one is not.
  await hook(page, 'elderly-table').locator('.el-table__row', { hasText: maskedForm(b) }).waitFor()
  assert.equal(list.body.next, 0, 'the grid\'s elderly fit one page of the console')
  assert.ok(!(await hook(page, 'elderly-table').textContent()).includes(maskedForm(a)))
  await shot(page, 'elderly.png')
  assert.deepEqual(gridDesk.problems, [])
  await gridDesk.close()
})
