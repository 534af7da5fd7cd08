// 保供 in the browser (issue 11): a medical trip cancelled and one withdrawn, and the needs listed
// by risk area. The grid worker, on a phone, cancels a booked dialysis trip on its page (取消行程,
// with the reason the console asks for): the trip is cancelled with its one leg withdrawn, the
// request cancelled, the person still at home with the grid and nothing pending. A second trip's
// first leg is withdrawn on the 交接 page (撤回 in the outbox): the trip and its request follow.
// The district's command centre sees a risk area on 保供's 按风险区 tab with its households and
// controlled households, and opens its lists. Uses needs.test.mjs's household and accounts (its
// person is put in home isolation when that test did not run first) and risk.test.mjs's grid and
// command centre (the area is designated by hand here and lifted at the end).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

const reqs = []
let admin
let grid
let phone
let desk
let person
let transferOrg
let hospitalOrg

// An API session of its own (cookies per request context).
async function session(user, pass) {
  const r = await pwRequest.newContext()
  reqs.push(r)
  return apiAs(r, user, pass)
}

// A dialysis request for tomorrow 09:00 (Asia/Shanghai), booked with the test's transfer team.
async function bookedTrip(detail) {
  const d = new Date(Date.now() + 24 * 3600 * 1000 + 8 * 3600 * 1000)
  const day = d.toISOString().slice(0, 10)
  const r = await grid.post('/supply/requests', {
    person_id: person.id, kind: 'dialysis', detail, appointment_at: `${day}T09:00:00+08:00`,
  })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  const t = await grid.post(`/supply/requests/${r.body.id}/trip`, {
    transfer_org: transferOrg, hospital_org: hospitalOrg, vehicle: '京A·E2E09', escort: '随车医生',
  })
  assert.equal(t.status, 201, JSON.stringify(t.body))
  assert.equal(t.body.status, 'booked', JSON.stringify(t.body))
  return { request: r.body.id, trip: t.body.id }
}

// The trip's order: still at home with the grid, active, nothing pending.
async function atHome(trip) {
  const t = await grid.get(`/supply/trips/${trip}`)
  const o = await admin.get(`/loop/orders/${t.body.order_id}`)
  assert.equal(o.status, 200, JSON.stringify(o.body))
  assert.equal(o.body.status, 'active')
  assert.equal(o.body.stage, 'home_isolation')
  assert.equal(o.body.owner.kind, 'area')
  assert.equal(o.body.pending_handover, null)
}

before(async () => {
  admin = await session(env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  grid = await session(env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  const h = await admin.get(`/households/${env('BIHUAN_NEEDS_HOUSEHOLD')}`)
  assert.equal(h.status, 200, JSON.stringify(h.body))
  person = h.body.members[0]
  const o = await admin.post('/loop/orders', {
    person_id: person.id, group: 'close_contact', source: 'close_contact',
    start_date: new Date().toISOString().slice(0, 10), stage: 'home_isolation',
    owner: { kind: 'area', area_code: env('BIHUAN_GRID_AREA') },
  })
  assert.ok([201, 409].includes(o.status), JSON.stringify(o.body)) // 409: needs.test.mjs did it
  const teams = await grid.get('/loop/receivers?to_stage=transfer')
  const hospitals = await grid.get('/loop/receivers?to_stage=hospital')
  transferOrg = teams.body.items.find((x) => x.name === '测试转运专班')?.id
  hospitalOrg = hospitals.body.items.find((x) => x.name === '测试定点医院')?.id
  assert.ok(transferOrg && hospitalOrg, JSON.stringify({ teams: teams.body, hospitals: hospitals.body }))
  phone = await openBrowser({ viewport: { width: 390, height: 844 } })
  desk = await openBrowser()
})
after(async () => {
  await phone?.close()
  await desk?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

test('取消行程: the grid worker cancels a booked trip on its page; the person stays at home', async () => {
  const { request, trip } = await bookedTrip('端到端 取消行程')
  const page = phone.page
  await login(page, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await page.goto(`${BASE()}/supply/trips/${trip}`)
  await page.locator('[data-test="trip-status"][data-status="booked"]').waitFor()
  page.once('dialog', (d) => d.accept('透析改期'))
  await hook(page, 'trip-cancel').click()
  await page.locator('[data-test="trip-status"][data-status="cancelled"]').waitFor()
  assert.equal(await hook(page, 'trip-cancel').count(), 0)
  assert.equal(await hook(page, 'trip-advance').count(), 0)
  const legs = page.locator('[data-test="trip-leg"]')
  assert.equal(await legs.count(), 1)
  assert.match(await legs.first().innerText(), /✗ 已撤回/)
  await shot(page, 'trip-cancelled-phone')
  const r = await grid.get(`/supply/requests/${request}`)
  assert.equal(r.body.status, 'cancelled')
  assert.ok(r.body.events.some((e) => e.status === 'cancelled' && /透析改期/.test(e.note)), JSON.stringify(r.body.events))
  await atHome(trip)
  assert.deepEqual(phone.problems, [])
})

test('撤回: the first leg withdrawn on the handovers page cancels the trip and its request', async () => {
  const { request, trip } = await bookedTrip('端到端 撤回')
  const t = await grid.get(`/supply/trips/${trip}`)
  const leg = t.body.pending?.handover_id
  assert.ok(leg, JSON.stringify(t.body))
  const page = phone.page
  await page.goto(`${BASE()}/loop/handovers?direction=outbox&status=pending`)
  const withdraw = hook(page, `handover-withdraw-${leg}`)
  await withdraw.waitFor()
  page.once('dialog', (d) => d.accept('转运专班改派'))
  await withdraw.click()
  await withdraw.waitFor({ state: 'detached' })
  await page.goto(`${BASE()}/loop/handovers?direction=outbox&status=all`)
  await page.locator(`[data-test="handover-withdraw-${leg}"]`).waitFor({ state: 'detached' })
  const h = await grid.get(`/loop/handovers?direction=outbox&status=all`)
  const row = h.body.items.find((x) => x.id === leg)
  assert.ok(row?.withdrawn_at, JSON.stringify(row))
  await shot(page, 'handover-withdrawn-phone')
  // The trip reads it off the order: cancelled, and its request with it.
  await page.goto(`${BASE()}/supply/trips/${trip}`)
  await page.locator('[data-test="trip-status"][data-status="cancelled"]').waitFor()
  assert.match(await hook(page, 'trip-leg').innerText(), /✗ 已撤回/)
  const r = await grid.get(`/supply/requests/${request}`)
  assert.equal(r.body.status, 'cancelled')
  await atHome(trip)
  assert.deepEqual(phone.problems, [])
})

test('按风险区: the command centre lists the needs of a risk area and opens its households', async () => {
  const risk = await session(env('BIHUAN_RISK_USER'), env('BIHUAN_RISK_PASS'))
  const unit = env('BIHUAN_RISK_GRID')
  const d = await risk.post('/risk-areas', { unit_kind: 'grid', unit_ref: unit, level: 'high', reason: '端到端 保供按风险区' })
  assert.equal(d.status, 201, JSON.stringify(d.body))
  const id = d.body.area.id
  try {
    const lists = await risk.get('/supply/risk-areas')
    const mine = lists.body.items.find((a) => a.risk_area_id === id)
    assert.ok(mine && mine.households >= 1 && mine.controlled_households >= 1, JSON.stringify(lists.body))

    const page = desk.page
    await login(page, env('BIHUAN_RISK_USER'), env('BIHUAN_RISK_PASS'))
    await page.goto(`${BASE()}/supply`)
    await page.getByRole('tab', { name: '按风险区' }).click()
    const card = page.locator(`[data-test="needs-risk-area"][data-id="${id}"]`)
    await card.waitFor()
    const text = await card.innerText()
    assert.match(text, /高风险/)
    assert.match(text, new RegExp(`${mine.households} 户`))
    await card.locator('.addr').click()
    const open = card.locator('[data-test="needs-risk-area-lists"]')
    await open.waitFor()
    const detail = await risk.get(`/supply/risk-areas/${id}`)
    assert.ok(detail.body.household_list.length >= 1, JSON.stringify(detail.body))
    assert.equal(await open.locator('a[href^="/supply/households/"]').count(), detail.body.household_list.length)
    await shot(page, 'needs-by-risk-area')
    // A second click closes the lists.
    await card.locator('.addr').click()
    await open.waitFor({ state: 'detached' })
    assert.deepEqual(desk.problems, [])
  } finally {
    const lifted = await risk.post(`/risk-areas/${id}/lift`, { reason: '端到端结束' })
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body))
  }
})
