// Arrival reports (来返报备) end to end: the administrator imports a list of another city's risk
// areas on 来返报备 (a bad list first: nothing imported, every bad cell named), then reports a
// resident who came from a high-risk street: the page says central quarantine and the order
// exists; a resident from elsewhere gets no measure.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser, residentId } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk
let admin
const reqs = []

before(async () => {
  const r = await pwRequest.newContext()
  reqs.push(r)
  admin = await apiAs(r, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

test('a list of risk areas elsewhere decides the group of a reported arrival', async () => {
  const page = desk.page
  const grid = env('BIHUAN_GRID_AREA')
  const seq = String(Math.floor(Math.random() * 900) + 100)
  const people = []
  for (const k of [0, 1]) {
    const doc = residentId(`${grid.slice(0, 6)}19810203${seq.slice(0, 2)}${k}`)
    const created = await admin.post('/persons', { doc_number: doc, name: `来返${seq}${k}`, area_code: grid })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    people.push({ doc, id: created.body.id })
  }
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/loop/arrival-reports`)
  await hook(page, 'arrival-reports-page').waitFor()

  // A bad list: nothing imported, the bad cells named.
  const bad = `地区代码,名称,等级,起始日期\n440105012,凤阳街道,高,${today}\n44x,坏,高,${today}\n`
  await page.locator('input[data-test="external-import-file"]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad, 'utf8') })
  await hook(page, 'external-import-errors').waitFor()
  assert.match(await hook(page, 'external-import-errors').innerText(), /地区代码/)
  const none = await admin.get('/external-risk-areas')
  assert.equal(none.body.items.filter((a) => a.area_code === '440105012').length, 0)

  const good = `地区代码,名称,等级,起始日期,来源\n440105012,广州市海珠区凤阳街道,高,${today},广东省卫健委\n`
  await page.locator('input[data-test="external-import-file"]').setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(good, 'utf8') })
  await hook(page, 'external-areas-table').getByText('广州市海珠区凤阳街道').waitFor()

  // From the high-risk street: central quarantine (the grid holds the order until the transfer).
  await inputHook(page, 'arrival-doc').fill(people[0].doc)
  await inputHook(page, 'arrival-origin').fill('440105012003')
  await hook(page, 'arrival-submit').click()
  const outcome = hook(page, 'arrival-outcome')
  await outcome.waitFor()
  assert.equal(await outcome.getAttribute('data-group'), 'high_risk_area_arrival')
  await shot(page, 'arrival-report')
  const orders = await admin.get(`/loop/orders?q=${encodeURIComponent(people[0].doc)}&status=active`)
  assert.equal(orders.status, 200)
  assert.ok(orders.body.items.some((o) => o.group === 'high_risk_area_arrival'), JSON.stringify(orders.body))

  // From another province: no measure.
  await inputHook(page, 'arrival-doc').fill(people[1].doc)
  await inputHook(page, 'arrival-origin').fill('310101002')
  await hook(page, 'arrival-submit').click()
  await page.locator('[data-test="arrival-outcome"][data-group=""]').waitFor()
  await hook(page, 'arrival-reports-table').getByText('310101002').waitFor()
  assert.deepEqual(desk.problems, [])
})
