// Epidemic analytics (研判) end to end: the administrator opens clinical cases (a classification
// no other browser test uses) for twelve residents nobody else's test touches, with onsets over
// the last three weeks, imported and local, found inside control and in the community; the
// analytics routes count exactly them; the 研判 page draws the curve (by onset, log scale), Rt
// with its band and the windows with too little data marked, the nowcast and the growth figures.
// Needs docs/API-analytics.md and BIHUAN_ANALYTICS_DOCS from tests/e2e/run-browser-tests.sh.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, login, openBrowser } from './helpers.mjs'
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

const plusDays = (day, n) => {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}
const sum = (a) => a.reduce((x, y) => x + y, 0)

test('curves, Rt, nowcast and growth of the cases the test opened', async () => {
  const docs = env('BIHUAN_ANALYTICS_DOCS').split(',')
  assert.equal(docs.length, 12)
  const health = await api.admin.get('/health')
  const today = health.body.today
  const back = [20, 18, 16, 15, 13, 12, 10, 9, 7, 5, 3, 2]
  const imported = new Set([0, 4, 8])
  const inside = new Set([1, 2, 5, 9])
  for (let i = 0; i < docs.length; i++) {
    const r = await api.admin.post('/cases', {
      doc_number: docs[i],
      classification: 'clinical',
      onset_date: plusDays(today, -back[i]),
      origin: imported.has(i) ? 'imported' : 'local',
      found_by: inside.has(i) ? (i % 2 ? 'central_quarantine' : 'home_isolation') : 'clinic',
    })
    assert.equal(r.status, 201, JSON.stringify(r.body))
  }

  const from = plusDays(today, -29)
  const q = `by=onset&classification=clinical&from=${from}&to=${today}`
  const curves = await api.admin.get(`/analytics/curves?${q}`)
  assert.equal(curves.status, 200, JSON.stringify(curves.body))
  const c = curves.body
  assert.equal(c.days.length, 30)
  assert.equal(sum(c.total), 12)
  assert.equal(sum(c.imported_community) + sum(c.imported_inside), 3)
  assert.equal(sum(c.local_inside) + sum(c.imported_inside), 4)
  assert.equal(c.total[c.days.indexOf(plusDays(today, -20))], 1)
  assert.equal(c.undated, 0)
  const rt = await api.admin.get(`/analytics/rt?${q}`)
  assert.equal(rt.status, 200, JSON.stringify(rt.body))
  assert.equal(rt.body.estimates.length, 30 - 7, 'every window is kept (t_start = 2 .. T - 6)')
  assert.ok(rt.body.estimates.every((e) => e.warning), 'twelve cases are too few: every window warns')
  assert.equal(sum(rt.body.local) + sum(rt.body.imported), 12)
  const nowcast = await api.admin.get(`/analytics/nowcast?classification=clinical&from=${from}&to=${today}`)
  assert.equal(nowcast.status, 200, JSON.stringify(nowcast.body))
  assert.equal(nowcast.body.cases, 12)
  assert.equal(nowcast.body.warning, 'few_cases')
  const growth = await api.admin.get(`/analytics/growth?${q.replace(/&from=[^&]*&to=[^&]*/, '')}&days=21&origin=all`)
  assert.equal(growth.status, 200, JSON.stringify(growth.body))
  assert.equal(growth.body.days.length, 21)
  // Bad input names the field; a role without analytics.read is refused.
  const bad = await api.admin.get('/analytics/curves?by=yesterday')
  assert.equal(bad.status, 400)
  assert.equal(bad.body.field, 'by')
  assert.equal((await api.grid.get('/analytics/curves')).status, 403)

  // The page.
  const page = desk.page
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/analytics`)
  await hook(page, 'analytics-curve').locator('canvas').first().waitFor()
  await hook(page, 'analytics-by').getByText('发病日期').click()
  await page.locator('[data-test="analytics-totals"]', { hasText: /合计 \d+ 例/ }).waitFor()
  const totals = await hook(page, 'analytics-totals').textContent()
  assert.ok(Number(totals.match(/合计 (\d+) 例/)[1]) >= 12, totals)
  await hook(page, 'analytics-rt').locator('canvas').first().waitFor()
  assert.match(await hook(page, 'analytics-rt-warned').textContent(), /数据不足的窗口：\d+ 个/)
  await hook(page, 'analytics-nowcast').locator('canvas').first().waitFor()
  await hook(page, 'analytics-growth').locator('.el-alert, .el-descriptions').first().waitFor()
  await shot(page, 'analytics.png')
  await hook(page, 'analytics-log').click()
  await hook(page, 'analytics-curve').locator('canvas').first().waitFor()
  await shot(page, 'analytics-log.png')
  assert.deepEqual(desk.problems, [])
})
