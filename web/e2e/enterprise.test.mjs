// Work resumption (复工复产) end to end: the administrator registers an enterprise of three
// residents (a roster naming someone not in the registry is refused naming the row) and makes its
// enterprise account; the account files the prevention plan on the enterprise's page (without a
// responsible head the form names the field), the administrator approves it with the double veto
// on the same page, and the account sees it reopened, the compliance table by post and its staff
// masked with their colour. Needs BIHUAN_ENTERPRISE_GRID and BIHUAN_ENTERPRISE_DOCS from
// tests/e2e/run-browser-tests.sh.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, maskedForm, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk
let req
let admin

before(async () => {
  req = await pwRequest.newContext()
  admin = await apiAs(req, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
  await req?.dispose().catch(() => {})
})

test('register, file a plan, approve with the double veto, see compliance and the masked staff', async () => {
  const grid = env('BIHUAN_ENTERPRISE_GRID')
  const docs = env('BIHUAN_ENTERPRISE_DOCS').split(',')
  const body = {
    code: 'E2E-ENT-01', name: '端到端制造', area_code: grid, address: '测试路1号', industry: '制造业', white_list: true,
    sites: [{ name: '一厂', address: '测试路1号', area_code: grid }],
    staff: docs.map((d, i) => ({ doc_number: d, site: '一厂', post: i === 2 ? 'delivery' : 'production', shift: 'day' })),
  }
  // A roster row naming someone not in the registry: refused, naming the row; nothing written.
  const bad = await admin.post('/enterprises', { ...body, staff: [...body.staff, { doc_number: '110105198001010000', site: '一厂', post: 'production' }] })
  assert.equal(bad.status, 400, JSON.stringify(bad.body))
  assert.equal(bad.body.field, 'staff[3].doc_number')
  const made = await admin.post('/enterprises', body)
  assert.equal(made.status, 201, JSON.stringify(made.body))
  const id = made.body.id
  assert.equal(made.body.staff, 3)
  const pass = 'Enterprise-e2e-2024!'
  const user = await admin.post('/users', { username: 'e2e-ent', password: pass, role: 'enterprise', scope_org: id, display_name: '企业' })
  assert.equal(user.status, 201, JSON.stringify(user.body))

  const page = desk.page
  await login(page, 'e2e-ent', pass)
  await page.goto(`${BASE()}/enterprises`)
  await hook(page, 'enterprises-table').locator('.el-table__row', { hasText: '端到端制造' }).waitFor()
  await page.locator('[data-test="enterprises-table"] a', { hasText: '端到端制造' }).click()
  await hook(page, 'ent-plan-form').waitFor()
  await inputHook(page, 'plan-room').fill('一厂东门临时隔离室')
  await inputHook(page, 'plan-head-phone').fill('13800000001')
  await hook(page, 'plan-submit').click()
  assert.match(await hook(page, 'plan-error').textContent(), /responsible_head\.name/)
  await inputHook(page, 'plan-head').fill('王厂长')
  await hook(page, 'plan-submit').click()
  await page.locator('[data-test="ent-status"]', { hasText: '待审批' }).waitFor()
  await shot(page, 'enterprise-plan')

  // The enterprise sees only its own staff, masked.
  const staff = hook(page, 'ent-staff-table')
  await staff.locator('.el-table__row').first().waitFor()
  const text = await staff.textContent()
  assert.ok(text.includes(maskedForm(docs[0])), text)
  assert.ok(!text.includes(docs[0]), 'an unmasked ID number')

  // The administrator decides on the same page: safety not met keeps it closed; both met reopen.
  await page.context().clearCookies()
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/enterprises/${id}`)
  await hook(page, 'ent-decide').waitFor()
  await hook(page, 'ent-approve').click()
  await page.locator('[data-test="ent-status"]', { hasText: '已批准' }).waitFor()
  await page.locator('[data-test="ent-reopened"]', { hasText: '已复工' }).waitFor()
  const detail = await admin.get(`/enterprises/${id}`)
  assert.equal(detail.body.reopened, true, JSON.stringify(detail.body))
  assert.equal(detail.body.versions.length, 2)
  assert.equal(detail.body.versions[1].status, 'approved')

  // Compliance: today's routine tasks of the three staff, by post.
  const table = hook(page, 'ent-compliance-table')
  await table.locator('.el-table__row', { hasText: 'production' }).waitFor()
  await hook(page, 'ent-compliance').locator('canvas').first().waitFor()
  await shot(page, 'enterprise-compliance')
  const c = await admin.get(`/enterprises/${id}/compliance?days=1`)
  assert.equal(c.status, 200)
  assert.equal(c.body.total.staff, 3, JSON.stringify(c.body))
  assert.equal(c.body.total.due, 3, JSON.stringify(c.body))
})
