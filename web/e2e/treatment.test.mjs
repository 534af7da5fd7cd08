// Treatment of a case (病例救治) walked in the console: the administrator opens a confirmed case,
// takes it to a hospital on the case page's 救治 tab (a handover into the loop's hospital stage),
// the hospital receives it, the lab's results since the case was found arrive with Ct values; a discharge is refused with
// the rule's reason while the last two tests are less than 24 h apart, then granted once they are:
// the case closes as recovered and its person is under home health monitoring.
// Needs the routes of docs/API-cases.md ("Treatment") and the resident and lab that
// tests/e2e/run-browser-tests.sh picks (BIHUAN_TREAT_DOC, BIHUAN_TREAT_LAB).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, login, openBrowser } from './helpers.mjs'
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

const base = Date.now()
const hoursAgo = (h) => new Date(base - h * 3600_000).toISOString()

async function result(sampledHoursAgo, outcome, orf1ab, n, doc = env('BIHUAN_TREAT_DOC')) {
  const r = await admin.post('/nat/results', {
    lab_org_id: Number(env('BIHUAN_TREAT_LAB')),
    items: [{ doc_number: doc, result: outcome, orf1ab_ct: orf1ab, n_ct: n, sampled_at: hoursAgo(sampledHoursAgo) }],
  })
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.equal(r.body.accepted, 1, JSON.stringify(r.body))
}

test('a case taken to hospital, refused discharge, discharged into monitoring', async () => {
  const page = desk.page
  // Found positive three days ago: the results since then count for the discharge.
  const k = await admin.post('/cases', {
    doc_number: env('BIHUAN_TREAT_DOC'), classification: 'confirmed', severity: 'moderate', first_positive_at: hoursAgo(72),
  })
  assert.equal(k.status, 201, JSON.stringify(k.body))
  const id = k.body.id

  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/cases/${id}`)
  await page.locator('.el-tabs__item', { hasText: '救治' }).click()
  await hook(page, 'treatment-hospital').click()
  await page.locator('.treatment-hospital-popper .el-select-dropdown__item').first().click()
  await hook(page, 'treatment-admit').click()
  await hook(page, 'treatment-status').waitFor()
  assert.match(await hook(page, 'treatment-status').textContent(), /在院治疗/)
  assert.match(await hook(page, 'treatment-stage').textContent(), /居家隔离/, 'held at home until the hospital receives the patient')

  // The hospital receives the patient (the handover's receiver acknowledges).
  const list = await admin.get(`/cases/${id}/treatments`)
  assert.equal(list.status, 200)
  const tr = list.body.items[0]
  const ack = await admin.post(`/loop/handovers/${tr.handover_id}/ack`, { note: '收治' })
  assert.equal(ack.status, 200, JSON.stringify(ack.body))

  // Ct 36/37, then a negative 20 h later: the rule is not met and the console says why.
  await result(60, 'positive', 36.1, 37.2)
  await result(40, 'negative')
  const seen = await admin.get(`/cases/${id}/treatments`)
  assert.equal(seen.body.items[0].tests.length, 2, JSON.stringify(seen.body))
  await page.reload()
  await page.locator('.el-tabs__item', { hasText: '救治' }).click()
  await hook(page, 'treatment-tests').locator('.el-table__row').nth(1).waitFor()
  assert.match(await hook(page, 'treatment-check').textContent(), /未达到出院标准.*20 h 0 min/)
  await hook(page, 'treatment-discharge').click()
  await page.locator('.el-message--error', { hasText: 'discharge refused' }).waitFor()
  assert.match(await hook(page, 'treatment-status').textContent(), /在院治疗/)
  await shot(page, 'treatment-refused')

  // A negative 24 h after the last: discharged into home health monitoring.
  await result(15, 'negative')
  await page.reload()
  await page.locator('.el-tabs__item', { hasText: '救治' }).click()
  await page.locator('[data-test="treatment-check"]', { hasText: '已达到出院标准' }).waitFor()
  await hook(page, 'treatment-discharge').click()
  await page.locator('[data-test="treatment-status"]', { hasText: '已出院' }).waitFor()
  assert.match(await hook(page, 'treatment-monitoring').textContent(), /出院（舱）人员/)
  await shot(page, 'treatment-discharged')
  const after = await admin.get(`/cases/${id}`)
  assert.equal(after.body.status, 'closed')
  assert.equal(after.body.outcome, 'recovered')
  await hook(page, 'treatment-monitoring').click()
  await page.waitForURL(/\/loop\/orders\/\d+$|\/orders\/\d+$/)
  assert.deepEqual(desk.problems, [])
})

test("the hospital's page: its patients, Ct values, receipt, a refused then granted discharge, in Chinese and English", async () => {
  const doc = env('BIHUAN_TREAT2_DOC')
  const k = await admin.post('/cases', { doc_number: doc, classification: 'confirmed', severity: 'mild', first_positive_at: hoursAgo(72) })
  assert.equal(k.status, 201, JSON.stringify(k.body))
  const id = k.body.id
  const receivers = await admin.get('/loop/receivers?to_stage=hospital')
  const hosp = (receivers.body.items || []).find((o) => o.code === 'E2E-HOSPITAL-01')
  assert.ok(hosp, JSON.stringify(receivers.body))
  // A shelter-hospital admission to a designated hospital is refused; without a facility the
  // hospital's own is taken.
  const wrong = await admin.post(`/cases/${id}/treatment`, { org_id: hosp.id, facility: 'shelter_hospital' })
  assert.equal(wrong.status, 400, JSON.stringify(wrong.body))
  assert.equal(wrong.body.field, 'facility')
  const adm = await admin.post(`/cases/${id}/treatment`, { org_id: hosp.id, vehicle: '京A0002' })
  assert.equal(adm.status, 201, JSON.stringify(adm.body))
  assert.equal(adm.body.facility, 'designated_hospital')
  await result(60, 'positive', 36.1, 37.2, doc)
  await result(40, 'negative', undefined, undefined, doc)

  const h = await openBrowser()
  try {
    const page = h.page
    await login(page, env('BIHUAN_HOSPITAL_USER'), env('BIHUAN_HOSPITAL_PASS'))
    assert.match(await hook(page, 'side-menu').innerText(), /收治病例/)
    await page.goto(`${BASE()}/treatments`)
    const row = hook(page, `treatments-row-${id}`)
    await row.waitFor()
    assert.match(await row.locator('[data-test="treatments-row-status"]').textContent(), /在院治疗/)
    assert.match(await row.locator('[data-test="treatments-last-ct"]').textContent(), /36\.1 \/ 37\.2/)
    // Not received yet: the discharge waits; the hospital receives the patient here.
    await row.locator('[data-test="treatments-awaiting"]').waitFor()
    await row.locator('[data-test="treatments-receive"]').click()
    await page.locator(`[data-test="treatments-row-${id}"] [data-test="treatments-awaiting"]`).waitFor({ state: 'detached' })
    assert.match(await hook(page, `treatments-row-${id}`).locator('[data-test="treatments-check"]').textContent(), /未达到出院标准.*20 h 0 min/)
    await hook(page, `treatments-row-${id}`).locator('[data-test="treatments-discharge"]').click()
    const refused = hook(page, `treatments-row-${id}`).locator('[data-test="treatments-refused"]')
    await refused.waitFor()
    assert.match(await refused.textContent(), /出院被拒.*discharge refused.*24 h/)
    await shot(page, 'treatments-hospital-refused')

    // A negative 24 h after the last: the rule is met and the discharge goes through.
    await result(15, 'negative', undefined, undefined, doc)
    await hook(page, 'treatments-status').locator('label', { hasText: '在院治疗' }).click()
    await page.reload()
    await page.locator(`[data-test="treatments-row-${id}"] [data-test="treatments-check"]`, { hasText: '已达到出院标准' }).waitFor()
    await hook(page, `treatments-row-${id}`).locator('[data-test="treatments-discharge"]').click()
    await page.locator(`[data-test="treatments-row-${id}"]`).waitFor({ state: 'detached' })
    await hook(page, 'treatments-discharged').click()
    await page.locator(`[data-test="treatments-row-${id}"] [data-test="treatments-row-status"]`, { hasText: '已出院' }).waitFor()
    const after = await admin.get(`/cases/${id}`)
    assert.equal(after.body.status, 'closed')

    // The same page in English.
    await hook(page, 'lang-toggle').click()
    await page.getByText('Patients in treatment').first().waitFor()
    await page.locator(`[data-test="treatments-row-${id}"] [data-test="treatments-row-status"]`, { hasText: 'Discharged' }).waitFor()
    assert.match(await hook(page, 'side-menu').innerText(), /Patients in treatment/)
    await shot(page, 'treatments-hospital-english')
    await hook(page, 'lang-toggle').click()
    await page.getByText('收治病例').first().waitFor()
    assert.deepEqual(h.problems, [])
  } finally {
    await h.close()
  }
})
