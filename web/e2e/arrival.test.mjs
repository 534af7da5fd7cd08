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

// A domestic train's manifest imported by origin (按出发地): the port officer chooses the group
// by_origin, and each row's 出发地 decides its group against the list imported above: the
// traveller from the high-risk street gets that group's order, the one from another province is
// only registered. Runs after the test above (the list of risk areas elsewhere).
test('a manifest by origin gives each traveller the group of where they came from', async () => {
  const page = desk.page
  const grid = env('BIHUAN_GRID_AREA')
  const seq = String(Math.floor(Math.random() * 900) + 100)
  const docs = [0, 1].map((k) => residentId(`${grid.slice(0, 6)}19820304${seq.slice(0, 2)}${k}`))
  const train = `G${seq}`
  const csv =
    '证件类型,证件号码,国籍,姓名,性别,出生日期,座位号,目的地网格,出发地\n' +
    `居民身份证,${docs[0]},CHN,列车甲${seq},男,1982-03-04,01A,${grid},440105012003\n` +
    `居民身份证,${docs[1]},CHN,列车乙${seq},女,1982-03-04,01B,${grid},310101002\n`
  await page.context().clearCookies()
  await login(page, env('BIHUAN_PORT_USER'), env('BIHUAN_PORT_PASS'))
  await page.goto(`${BASE()}/loop/arrivals`)
  const ports = await admin.get(`/orgs?q=${encodeURIComponent(env('BIHUAN_PORT_ORG'))}`)
  const port = ports.body.items.find((o) => o.code === env('BIHUAN_PORT_ORG'))
  assert.ok(port, 'the port organisation exists')
  await inputHook(page, 'manifest-ref').fill(train)
  await page.locator('[data-test="manifest-port"]').getByText(port.name).waitFor()
  await hook(page, 'manifest-group').click()
  await page.locator('.manifest-group-popper li').filter({ hasText: '按出发地' }).click()
  await page.locator('input[data-test="manifest-file"]').setInputFiles({ name: `${train}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') })
  await hook(page, 'manifest-file-name').getByText(`${train}.csv`).waitFor()
  await hook(page, 'manifest-submit').click()
  const report = hook(page, 'manifest-report')
  await report.waitFor()
  assert.equal(await report.getAttribute('data-committed'), 'true', await report.innerText())
  assert.equal(Number(await hook(page, 'manifest-stat-created_orders').locator('.stat-value').innerText()), 1)
  const groups = hook(page, 'manifest-by-group')
  await groups.locator('[data-group="high_risk_area_arrival"]').waitFor()
  assert.match(await groups.locator('[data-group=""]').innerText(), /1$/)
  await shot(page, 'manifest-by-origin')
  const high = await admin.get(`/loop/orders?q=${encodeURIComponent(docs[0])}&status=active`)
  assert.ok(high.body.items.some((o) => o.group === 'high_risk_area_arrival'), JSON.stringify(high.body))
  const none = await admin.get(`/loop/orders?q=${encodeURIComponent(docs[1])}`)
  assert.equal(none.body.items.length, 0, JSON.stringify(none.body))
  assert.deepEqual(desk.problems, [])
})
