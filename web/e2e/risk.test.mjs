// Risk areas (风险区) end to end: a case in a grid of another district than every other browser
// test's (so that the residents it puts under control are nobody else's), the command centre runs
// the rules on the 风险区 page, approves the proposal (a reason is required), sees the area with
// its residents under control, its history and the treemap, and lifts it; a manual designation
// over a unit the profile does not allow names the field. The public list serves the area
// without login. Needs the accounts and grid tests/e2e/run-browser-tests.sh makes
// (BIHUAN_RISK_USER: a command centre of BIHUAN_RISK_GRID's district).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk
const reqs = []
let admin
let grid
let person

before(async () => {
  const r = await pwRequest.newContext()
  reqs.push(r)
  admin = await apiAs(r, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  grid = env('BIHUAN_RISK_GRID')
  person = Number(env('BIHUAN_RISK_PERSON'))
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

test('a case makes a proposal; approval publishes the area and controls its residents; lift releases them', async () => {
  const opened = await admin.post('/cases', { person_id: person, classification: 'confirmed' })
  assert.equal(opened.status, 201, JSON.stringify(opened.body))

  const page = desk.page
  await login(page, env('BIHUAN_RISK_USER'), env('BIHUAN_RISK_PASS'))
  await page.goto(`${BASE()}/risk-areas`)
  await hook(page, 'risk-propose').click()
  const proposals = hook(page, 'risk-proposals-table')
  await proposals.locator('.el-table__row', { hasText: '高风险' }).first().waitFor()
  await shot(page, 'risk-proposals')

  // No reason: the dialog refuses; with one, the area is published.
  await hook(page, `risk-approve-${grid}`).click()
  await hook(page, 'risk-reason-confirm').click()
  await page.locator('[data-test="risk-reason-dialog"] .el-form-item__error').waitFor()
  await inputHook(page, 'risk-reason-input').fill('流调确认病例居住地')
  await hook(page, 'risk-reason-confirm').click()
  await hook(page, 'risk-reason-dialog').waitFor({ state: 'hidden' })
  await page.locator('.el-tabs__item', { hasText: '当前风险区' }).click()
  const current = hook(page, 'risk-areas-table')
  const row = current.locator('.el-table__row', { hasText: '高风险' }).first()
  await row.waitFor()
  const cells = await row.locator('td').allTextContents()
  const orders = Number(cells[7].trim())
  assert.ok(orders >= 1, `residents under control: ${cells.join(' | ')}`)
  await hook(page, 'risk-chart').locator('canvas').first().waitFor()
  await shot(page, 'risk-areas')

  // Its residents are in the closed loop.
  const areas = await admin.get('/risk-areas')
  const area = areas.body.items.find((a) => a.unit_ref === grid)
  assert.ok(area, JSON.stringify(areas.body))
  assert.ok(area.orders >= 1, JSON.stringify(area))

  // The public list, without login.
  const anon = await pwRequest.newContext()
  reqs.push(anon)
  const pub = await anon.get(`${BASE()}/api/public/risk-areas`)
  assert.equal(pub.status(), 200)
  const items = (await pub.json()).items
  assert.ok(items.some((a) => a.id === area.id && a.level === 'high'), JSON.stringify(items))

  // History, then lift with a reason.
  await hook(page, `risk-detail-${area.id}`).click()
  await hook(page, 'risk-detail').locator('.el-timeline-item').first().waitFor()
  assert.match(await hook(page, 'risk-detail').textContent(), /流调确认病例居住地/)
  await page.keyboard.press('Escape')
  await hook(page, 'risk-detail').waitFor({ state: 'hidden' })
  await hook(page, `risk-lift-${area.id}`).click()
  await inputHook(page, 'risk-reason-input').fill('连续无新增')
  await hook(page, 'risk-reason-confirm').click()
  await current.locator('.el-table__row', { hasText: '高风险' }).first().waitFor({ state: 'detached' })
  const after = await admin.get(`/risk-areas/${area.id}`)
  assert.equal(after.body.status, 'lifted')
  assert.equal(after.body.versions.length, 2)

  // A manual designation over a building under the ninth edition: the field is named.
  await hook(page, 'risk-manual').click()
  await hook(page, 'risk-manual-kind').click()
  await page.locator('.el-select-dropdown__item', { hasText: '楼栋' }).click()
  await inputHook(page, 'risk-manual-ref').fill('1')
  await inputHook(page, 'risk-manual-reason').fill('测试')
  await hook(page, 'risk-manual-confirm').click()
  await page.locator('[data-test="risk-manual-dialog"] .el-form-item__error', { hasText: 'grid' }).waitFor()
  await shot(page, 'risk-manual-error')
  assert.deepEqual(desk.problems, [])
})
