// 保供 on a phone (issue 11, "Done when"): a household of the grid goes under home isolation; the
// grid worker, on a phone-sized page, finds it among the controlled households, records its needs,
// flags its dialysis patient, raises a dialysis request for tomorrow morning and books the
// transfer team; the transfer team and the hospital acknowledge their legs (each a handover of
// the person's control order) and the grid worker follows the trip until they receive the person
// back home. The person's order never leaves custody: every leg is acknowledged by its receiver.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'playwright-core'
import { BASE, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let b
let household
let person
let tripUrl
const apis = []

// An API session of its own (not the browser's cookies).
async function apiSession(user, pass) {
  const ctx = await request.newContext({ baseURL: BASE() })
  apis.push(ctx)
  const r = await ctx.post('/api/auth/login', { data: { username: user, password: pass } })
  assert.equal(r.status(), 200, `login ${user}`)
  const call = async (method, path, data) => {
    const res = await ctx.fetch(`/api${path}`, { method, data })
    return { status: res.status(), body: await res.json().catch(() => null) }
  }
  return { get: (p) => call('GET', p), post: (p, d) => call('POST', p, d ?? {}) }
}

async function pick(page, popper, text) {
  await page.locator(`.${popper} .el-select-dropdown__item`, { hasText: text }).first().click()
}

before(async () => {
  household = env('BIHUAN_NEEDS_HOUSEHOLD')
  const admin = await apiSession(env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  const h = await admin.get(`/households/${household}`)
  assert.equal(h.status, 200, JSON.stringify(h.body))
  person = h.body.members[0]
  const today = new Date().toISOString().slice(0, 10)
  const o = await admin.post('/loop/orders', {
    person_id: person.id,
    group: 'close_contact',
    source: 'close_contact',
    start_date: today,
    stage: 'home_isolation',
    owner: { kind: 'area', area_code: env('BIHUAN_GRID_AREA') },
  })
  assert.equal(o.status, 201, JSON.stringify(o.body))
  b = await openBrowser({ viewport: { width: 390, height: 844 } }) // a phone
})
after(async () => {
  for (const a of apis) await a.dispose().catch(() => {})
  await b?.close()
})

test('the grid worker finds the household among the controlled households', async () => {
  const { page } = b
  await login(page, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await page.goto(`${BASE()}/supply`)
  const card = page.locator(`a[href="/supply/households/${household}"]`)
  await card.waitFor()
  assert.match(await card.innerText(), /未登记需求/)
  await shot(page, 'needs-households-phone.png')
  await card.click()
  await hook(page, 'needs-household-page').waitFor()
  await hook(page, 'needs-member').waitFor()
  // Members are shown with masked ID numbers.
  assert.match(await hook(page, 'needs-member').innerText(), /\*{4}/)
})

test('records the household needs door to door and flags the dialysis patient', async () => {
  const { page } = b
  await inputHook(page, 'needs-necessities').fill('大米 10 斤，青菜，每三天一次')
  await inputHook(page, 'needs-medicines').fill('降压药')
  await inputHook(page, 'needs-medical').fill('血液透析：周一三五上午')
  await inputHook(page, 'needs-phone').fill('13900001111')
  await hook(page, 'needs-save').click()
  await hook(page, 'needs-saved').waitFor()
  assert.match(await hook(page, 'needs-saved').innerText(), /第 1 版/)
  // A bad phone is refused naming what is wrong.
  await inputHook(page, 'needs-phone').fill('门卫室')
  await hook(page, 'needs-save').click()
  await hook(page, 'needs-form-error').waitFor()
  await inputHook(page, 'needs-phone').fill('13900001111')

  await hook(page, 'flag-person').click()
  await pick(page, 'flag-person-popper', person.name)
  await hook(page, 'flag-category').click()
  await pick(page, 'flag-category-popper', '血液透析')
  await inputHook(page, 'flag-detail').fill('周一三五 上午')
  await hook(page, 'flag-save').click()
  await page.locator('[data-test="needs-flag"]', { hasText: '血液透析' }).first().waitFor()
  await shot(page, 'needs-household-phone.png')
})

test('raises a dialysis request for tomorrow morning and books the transfer team', async () => {
  const { page } = b
  await hook(page, 'request-kind').click()
  await pick(page, 'request-kind-popper', '血液透析')
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000)
  const pad = (n) => String(n).padStart(2, '0')
  const local = `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}T09:00`
  await page.locator('input[data-test="request-appointment"]').fill(local)
  await inputHook(page, 'request-detail').fill('血透 4 小时')
  await hook(page, 'request-save').click()
  const req = page.locator('[data-test="needs-request"][data-kind="dialysis"]').first()
  await req.waitFor()
  assert.equal(await req.getAttribute('data-status'), 'received')
  await req.locator('[data-test="request-book"]').click()
  await hook(page, 'booking-form').waitFor()
  await hook(page, 'booking-team').click()
  await pick(page, 'booking-team-popper', '测试转运专班')
  await hook(page, 'booking-hospital').click()
  await pick(page, 'booking-hospital-popper', '测试定点医院')
  await inputHook(page, 'booking-vehicle').fill('京A·E2E01')
  await inputHook(page, 'booking-escort').fill('随车医生')
  await hook(page, 'booking-save').click()
  // Booked, or the refusal's text in the failure message.
  await page
    .locator('[data-test="needs-request"][data-kind="dialysis"][data-status="accepted"], [data-test="needs-form-error"]')
    .first()
    .waitFor()
  assert.equal(await hook(page, 'needs-form-error').count(), 0, await page.locator('[data-test="needs-form-error"]').first().innerText().catch(() => ''))
  const link = page.locator('[data-test="needs-request"][data-kind="dialysis"] [data-test="request-trip"]').first()
  await link.click()
  await hook(page, 'trip-page').waitFor()
  tripUrl = page.url()
  assert.equal(await hook(page, 'trip-status').getAttribute('data-status'), 'booked')
  assert.match(await hook(page, 'trip-pending').innerText(), /测试转运专班/)
  // The grid worker cannot pick up for the transfer team.
  await hook(page, 'trip-advance').click()
  await hook(page, 'trip-error').waitFor()
  await shot(page, 'needs-trip-booked-phone.png')
})

test('the team and the hospital acknowledge their legs; the grid follows the trip home', async () => {
  const { page } = b
  const tripId = tripUrl.split('/').pop()
  const team = await apiSession(env('BIHUAN_TRANSFER_USER'), env('BIHUAN_TRANSFER_PASS'))
  const hospital = await apiSession(env('BIHUAN_HOSPITAL_USER'), env('BIHUAN_HOSPITAL_PASS'))
  const step = async (who, status) => {
    const r = await who.post(`/supply/trips/${tripId}/advance`, { note: '' })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.status, status)
    return r.body
  }
  await step(team, 'outbound') // picked up at the door
  await page.goto(tripUrl)
  await page.locator('[data-test="trip-status"][data-status="outbound"]').waitFor()
  await step(team, 'outbound') // handed to the hospital, not yet received
  const there = await step(hospital, 'at_hospital')
  assert.equal(there.request.status, 'delivered') // served before the appointment
  await hook(page, 'trip-refresh').click()
  await page.locator('[data-test="trip-status"][data-status="at_hospital"]').waitFor()
  await shot(page, 'needs-trip-hospital-phone.png')
  await step(hospital, 'at_hospital') // session over: handed back to the team
  await step(team, 'returning') // the team took the person back
  await step(team, 'returning') // handed to the home grid
  // The grid worker receives the person back at home on the phone.
  await hook(page, 'trip-refresh').click()
  await hook(page, 'trip-pending').waitFor()
  await hook(page, 'trip-advance').click()
  await page.locator('[data-test="trip-status"][data-status="home"]').waitFor()
  assert.match(await hook(page, 'trip-status').innerText(), /居家隔离/)
  const legs = page.locator('[data-test="trip-leg"]')
  assert.equal(await legs.count(), 4)
  for (let i = 0; i < 4; i++) assert.match(await legs.nth(i).innerText(), /✓/)
  await shot(page, 'needs-trip-home-phone.png')
  // The order is back at home with the grid, still active: never out of custody.
  const admin = await apiSession(env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  const trip = await admin.get(`/supply/trips/${tripId}`)
  const order = await admin.get(`/loop/orders/${trip.body.order_id}`)
  assert.equal(order.body.stage, 'home_isolation')
  assert.equal(order.body.status, 'active')
  // The list of vulnerable people of the controlled households (the twenty measures' lists).
  await page.goto(`${BASE()}/supply`)
  await page.getByRole('tab', { name: '重点人群' }).click()
  await hook(page, 'needs-vulnerable-counts').waitFor()
  assert.match(await hook(page, 'needs-vulnerable-counts').innerText(), /血液透析/)
  assert.match(await hook(page, 'needs-vulnerable').innerText(), new RegExp(person.name))
  assert.deepEqual(b.problems, [])
})
