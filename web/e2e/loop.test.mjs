// Closed loop (闭环管理) end to end: a port officer imports a flight manifest, hands travellers
// over to the transfer team, which acknowledges on a phone and hands over to the quarantine site,
// which acknowledges and records health checks on a phone. A handover nobody acknowledges becomes
// a lost-from-loop alert that is acknowledged with a note. The board, the health code, a refused
// release and the policy page are checked on the way. A then goes home: the site hands over to the
// destination transfer, the transfer team to the destination grid, whose worker moves A into home
// monitoring. A fourth traveller, D, who arrived 40 days ago, is taken through every stage through
// the API and released by the grid worker in the console. Needs the closed-loop routes of
// docs/API-loop.md and `serve --handover-deadline-minutes 0`; a server without them fails.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser, residentId } from './helpers.mjs'
import { shot } from './shots.mjs'

const PHONE = { width: 375, height: 812 }
let desk // desktop browser: port officer, administrator
let phone // phone browser: transfer team, quarantine site
let api = {} // API clients per role, each with its own cookie jar
let reqs = []
const flight = `E2E${Math.floor(Math.random() * 9000) + 1000}`
const travellers = []
const orders = {} // traveller key → order id
let orgs = {} // code → org

async function client(user, pass) {
  const r = await pwRequest.newContext()
  reqs.push(r)
  return apiAs(r, user, pass)
}

before(async () => {
  api.admin = await client(env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  api.port = await client(env('BIHUAN_PORT_USER'), env('BIHUAN_PORT_PASS'))
  api.transfer = await client(env('BIHUAN_TRANSFER_USER'), env('BIHUAN_TRANSFER_PASS'))
  api.site = await client(env('BIHUAN_SITE_USER'), env('BIHUAN_SITE_PASS'))
  api.grid = await client(env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  for (const code of [env('BIHUAN_PORT_ORG'), env('BIHUAN_TRANSFER_ORG'), env('BIHUAN_SITE_ORG')]) {
    const res = await api.admin.get(`/orgs?q=${encodeURIComponent(code)}`)
    assert.equal(res.status, 200)
    const o = res.body.items.find((x) => x.code === code)
    assert.ok(o, `organisation ${code} exists`)
    orgs[code] = o
  }
  // Three travellers with passports, all bound for the grid worker's grid.
  const base = Math.floor(Math.random() * 900000) + 100000
  for (const [i, key] of ['a', 'b', 'c'].entries()) {
    travellers.push({ key, doc: `E${base}${i}`, name: `测试旅客${key.toUpperCase()}${base % 1000}`, seat: `${12 + i}A` })
  }
  desk = await openBrowser()
  phone = await openBrowser({ viewport: PHONE })
})
after(async () => {
  await desk?.close()
  await phone?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

async function relogin(b, user, pass) {
  await b.context.clearCookies()
  await login(b.page, user, pass)
}

async function orderOf(doc) {
  const res = await api.admin.get(`/loop/orders?q=${encodeURIComponent(doc)}`)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  assert.equal(res.body.items.length, 1, `one order for ${doc}`)
  return res.body.items[0]
}

async function openOrder(page, id) {
  await page.goto(`${BASE()}/loop/orders/${id}`)
  await hook(page, 'order-detail').waitFor()
}

async function stageOf(page) {
  return hook(page, 'order-detail').getAttribute('data-stage')
}

// Sends a handover in the order page's dialog, choosing the receiving organisation by name.
async function handOver(page, id, stage, orgName, vehicle) {
  await openOrder(page, id)
  await hook(page, 'order-handover').click()
  const dlg = hook(page, 'handover-dialog')
  await dlg.waitFor()
  await hook(page, `handover-stage-${stage}`).click()
  await hook(page, 'handover-org').click()
  await page.locator('.handover-org-popper .el-select-dropdown__item', { hasText: orgName }).first().click()
  await inputHook(page, 'handover-vehicle').fill(vehicle)
  await inputHook(page, 'handover-escort').fill('张医生')
  await hook(page, 'handover-confirm').click()
  await hook(page, 'order-pending').waitFor()
}

// The receiver acknowledges from the handover inbox on a phone.
async function ackInInbox(page, orderId) {
  const res = await api.admin.get(`/loop/orders/${orderId}`)
  const h = res.body.pending_handover
  assert.ok(h, `order ${orderId} has a pending handover`)
  await page.goto(`${BASE()}/loop/handovers`)
  const card = hook(page, `handover-${h.id}`)
  await card.waitFor()
  await hook(page, `handover-ack-${h.id}`).click()
  await card.waitFor({ state: 'detached' })
  return h
}

test('port officer imports a small flight manifest; one order per traveller at the port', async () => {
  const { page } = desk
  await relogin(desk, env('BIHUAN_PORT_USER'), env('BIHUAN_PORT_PASS'))
  const grid = env('BIHUAN_GRID_AREA')
  const csv =
    '证件类型,证件号码,国籍,姓名,性别,出生日期,手机号,座位号,目的地网格\n' +
    travellers.map((x, i) => `护照,${x.doc},CHN,${x.name},${i % 2 ? '女' : '男'},1990-0${i + 1}-15,1390000${String(1000 + i)},${x.seat},${grid}`).join('\n') +
    '\n'
  await page.goto(`${BASE()}/loop/arrivals`)
  await inputHook(page, 'manifest-ref').fill(flight)
  // The port officer's own port is chosen already.
  await page.locator('[data-test="manifest-port"]').getByText(orgs[env('BIHUAN_PORT_ORG')].name).waitFor()
  await page.locator('input[data-test="manifest-file"]').setInputFiles({ name: `${flight}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') })
  await hook(page, 'manifest-file-name').getByText(`${flight}.csv`).waitFor()
  await hook(page, 'manifest-submit').click()
  const report = hook(page, 'manifest-report')
  await report.waitFor()
  assert.equal(await report.getAttribute('data-committed'), 'true', await report.innerText())
  const created = await hook(page, 'manifest-stat-created_orders').locator('.stat-value').innerText()
  assert.equal(Number(created), 3)
  await shot(page, 'loop-manifest.png')
  for (const x of travellers) {
    const o = await orderOf(x.doc)
    assert.equal(o.stage, 'port_screening')
    assert.equal(o.group, 'inbound')
    assert.equal(o.owner.kind, 'org')
    assert.equal(o.owner.org_id, orgs[env('BIHUAN_PORT_ORG')].id)
    orders[x.key] = o.id
  }
})

test('port officer hands travellers A and B over to the transfer team', async () => {
  const { page } = desk
  const team = orgs[env('BIHUAN_TRANSFER_ORG')].name
  await handOver(page, orders.a, 'transfer', team, '沪A·12345')
  // The sender stays responsible until the receiver acknowledges.
  assert.equal(await stageOf(page), 'port_screening')
  await handOver(page, orders.b, 'transfer', team, '沪A·67890')
  await shot(page, 'loop-order-pending.png')
  // The outbox lists both.
  await page.goto(`${BASE()}/loop/handovers?direction=outbox`)
  const table = hook(page, 'handovers-table')
  await table.getByText(travellers[0].name.slice(0, 1), { exact: false }).first().waitFor()
  assert.ok((await table.locator('tbody tr').count()) >= 2)
})

test('transfer team acknowledges A on a phone and hands over to the quarantine site', async () => {
  const { page } = phone
  await relogin(phone, env('BIHUAN_TRANSFER_USER'), env('BIHUAN_TRANSFER_PASS'))
  await page.goto(`${BASE()}/loop/handovers`)
  await hook(page, 'handovers-list').waitFor()
  await shot(page, 'loop-inbox-phone.png')
  await ackInInbox(page, orders.a)
  await openOrder(page, orders.a)
  assert.equal(await stageOf(page), 'transfer')
  await handOver(page, orders.a, 'quarantine_site', orgs[env('BIHUAN_SITE_ORG')].name, '沪B·00001')
  const detail = await api.admin.get(`/loop/orders/${orders.a}`)
  assert.equal(detail.body.pending_handover.to_stage, 'quarantine_site')
})

test('quarantine site acknowledges A and records health checks on a phone', async () => {
  const { page } = phone
  await relogin(phone, env('BIHUAN_SITE_USER'), env('BIHUAN_SITE_PASS'))
  await ackInInbox(page, orders.a)
  await openOrder(page, orders.a)
  assert.equal(await stageOf(page), 'quarantine_site')
  assert.match(await hook(page, 'order-owner').innerText(), new RegExp(orgs[env('BIHUAN_SITE_ORG')].name))

  // A normal check, then a febrile one with a cough.
  for (const [temp, symptoms] of [['36.6', []], ['37.8', ['cough']]]) {
    const before = await hook(page, 'order-timeline').locator('[data-test="timeline-check"]').count()
    await hook(page, 'order-check').click()
    await hook(page, 'check-dialog').waitFor()
    await inputHook(page, 'check-temperature').fill(temp)
    for (const s of symptoms) await hook(page, `check-symptom-${s}`).click()
    if (temp === '37.8') await shot(page, 'loop-check-phone.png')
    await hook(page, 'check-confirm').click()
    await hook(page, 'check-dialog').waitFor({ state: 'hidden' })
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-test="order-timeline"] [data-test="timeline-check"]').length > n,
      before,
    )
  }
  const timeline = await hook(page, 'order-timeline').innerText()
  assert.match(timeline, /37\.8/)
  assert.match(timeline, /咳嗽/)
  // Every stage and handover of the journey is on the timeline.
  for (const word of ['口岸检疫', '转运', '集中隔离点']) assert.ok(timeline.includes(word), `${word} in ${timeline}`)
  await shot(page, 'loop-order-phone.png')

  // The fever opened a medical-assessment alert for the site.
  const alerts = await api.site.get('/loop/alerts?status=open')
  assert.equal(alerts.status, 200)
  assert.ok(alerts.body.items.some((a) => a.order_id === orders.a), JSON.stringify(alerts.body.items))
})

test('the health code of a person in quarantine is red, with a QR code drawn in the browser', async () => {
  const { page } = phone
  const code = hook(page, 'health-code')
  await hook(page, 'health-code-qr').waitFor()
  assert.equal(await code.getAttribute('data-colour'), 'red')
  const src = await hook(page, 'health-code-qr').getAttribute('src')
  assert.match(src, /^data:image\/png;base64,/)
})

test('release is refused with the missing items while the plan is not done', async () => {
  const { page } = phone
  await hook(page, 'order-release').click()
  await hook(page, 'release-confirm').click()
  const err = hook(page, 'release-error')
  await err.waitFor()
  assert.equal(await hook(page, 'order-detail').getAttribute('data-status'), 'active')
  await shot(page, 'loop-release-refused-phone.png')
  await page.keyboard.press('Escape')
})

test('quarantine site: rooms with occupancy, and automatic room assignment of A', async () => {
  const { page } = phone
  const site = orgs[env('BIHUAN_SITE_ORG')]
  const rooms = await api.admin.post(`/loop/sites/${site.id}/rooms`, {
    rooms: [
      { number: `${flight}-1`, type: 'single', capacity: 1 },
      { number: `${flight}-2`, type: 'family', capacity: 2 },
    ],
  })
  assert.ok(rooms.status >= 200 && rooms.status < 300, JSON.stringify(rooms.body))
  // The site's own staff land on their site.
  await page.goto(`${BASE()}/loop/sites`)
  await page.waitForURL(new RegExp(`/loop/sites/${site.id}$`))
  await hook(page, 'site-rooms').waitFor()
  const waiting = hook(page, 'site-waiting')
  await waiting.getByText(travellers[0].name.slice(0, 1)).first().waitFor()
  await hook(page, 'site-assign').click()
  // A now sits in one of the new rooms and the occupancy counts them.
  await page.locator(`[data-test^="room-${flight}-"]`).filter({ hasText: travellers[0].name.slice(0, 1) }).first().waitFor()
  assert.ok(Number(await hook(page, 'site-occupancy').getAttribute('data-occupied')) >= 1)
  await shot(page, 'loop-site-phone.png')
})

test('A goes home: destination transfer, then the grid receives A and moves A into home monitoring', async () => {
  const { page } = phone
  const team = orgs[env('BIHUAN_TRANSFER_ORG')]
  // The site hands A over to the transfer team for the journey home.
  await handOver(page, orders.a, 'destination_transfer', team.name, '沪B·00002')
  await relogin(phone, env('BIHUAN_TRANSFER_USER'), env('BIHUAN_TRANSFER_PASS'))
  await ackInInbox(page, orders.a)
  await openOrder(page, orders.a)
  assert.equal(await stageOf(page), 'destination_transfer')
  // The destination community is an area: the dialog proposes the traveller's destination grid.
  await hook(page, 'order-handover').click()
  await hook(page, 'handover-dialog').waitFor()
  await hook(page, 'handover-stage-destination_community').click()
  assert.equal(await inputHook(page, 'handover-area').inputValue(), env('BIHUAN_GRID_AREA'))
  await inputHook(page, 'handover-vehicle').fill('沪B·00003')
  await hook(page, 'handover-confirm').click()
  await hook(page, 'order-pending').waitFor()
  // The grid worker acknowledges and moves A into home health monitoring on the same grid.
  await relogin(phone, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await ackInInbox(page, orders.a)
  await openOrder(page, orders.a)
  assert.equal(await stageOf(page), 'destination_community')
  assert.equal(await hook(page, 'order-handover').isDisabled(), true, 'no handover from the community to the home')
  await hook(page, 'order-move-home_monitoring').click()
  await page.locator('[data-test="order-detail"][data-stage="home_monitoring"]').waitFor()
  const timeline = await hook(page, 'order-timeline').innerText()
  for (const word of ['口岸检疫', '集中隔离点', '目的地社区', '居家健康监测']) assert.ok(timeline.includes(word), `${word} in ${timeline}`)
  await shot(page, 'loop-order-home-phone.png')
  const detail = (await api.admin.get(`/loop/orders/${orders.a}`)).body
  assert.equal(detail.stage, 'home_monitoring')
  assert.equal(detail.owner.area_code, env('BIHUAN_GRID_AREA'))
  assert.deepEqual(detail.allowed_next, ['hospital', 'transfer', 'released']) // transfer: a medical trip (docs/API-supply.md)
})

test('a handover nobody acknowledges becomes an alert; the port acknowledges it with a note', async () => {
  const { page } = desk
  // B's handover has its deadline at the sending time; the watcher raises the alert on its own.
  await page.goto(`${BASE()}/loop/alerts`)
  const alertFor = page.locator(`[data-test^="alert-"][data-order="${orders.b}"][data-kind="handover_overdue"]`).first()
  // The watcher runs on its own schedule: look again every half second, for two minutes at most.
  for (let i = 0; !(await alertFor.count()); i++) {
    assert.ok(i < 240, `no handover_overdue alert for order ${orders.b} within two minutes`)
    await page.waitForTimeout(500)
    await hook(page, 'alerts-refresh').click()
  }
  const id = (await alertFor.getAttribute('data-test')).replace('alert-', '')
  await shot(page, 'loop-alerts.png')
  // Acknowledging needs a note.
  await hook(page, `alert-ack-${id}`).click()
  const dlg = hook(page, 'alert-note-dialog')
  await dlg.waitFor()
  await hook(page, 'alert-note-confirm').click()
  await dlg.getByText('请填写处置说明').waitFor()
  await inputHook(page, 'alert-note-input').fill('已电话联系转运专班，车辆在途')
  await hook(page, 'alert-note-confirm').click()
  await dlg.waitFor({ state: 'hidden' })
  await hook(page, 'alerts-status-acknowledged').click()
  await page.locator(`[data-test="alert-${id}"]`).waitFor()
  const res = await api.port.get('/loop/alerts?status=acknowledged')
  const a = res.body.items.find((x) => String(x.id) === id)
  assert.ok(a, 'the alert is acknowledged')
  assert.ok(a.notes.some((n) => n.note === '已电话联系转运专班，车辆在途'), JSON.stringify(a.notes))
  // The overdue handover is highlighted in the port's outbox.
  await page.goto(`${BASE()}/loop/handovers?direction=outbox`)
  const h = (await api.admin.get(`/loop/orders/${orders.b}`)).body.pending_handover
  await page.locator(`[data-test="handover-${h.id}"][data-overdue="true"]`).waitFor()
})

test('D, who arrived 40 days ago, goes through every stage and the grid worker releases D', async () => {
  const grid = env('BIHUAN_GRID_AREA')
  const port = orgs[env('BIHUAN_PORT_ORG')]
  const team = orgs[env('BIHUAN_TRANSFER_ORG')]
  const site = orgs[env('BIHUAN_SITE_ORG')]
  const d = { doc: `E${Math.floor(Math.random() * 900000) + 100000}9`, name: `测试旅客D${Math.floor(Math.random() * 1000)}` }
  const arrived = new Date(Date.now() - 40 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z')
  // The manifest through the API (a CSV body), as the port officer.
  const r = await pwRequest.newContext()
  reqs.push(r)
  const login = await r.post(`${BASE()}/api/auth/login`, { data: { username: env('BIHUAN_PORT_USER'), password: env('BIHUAN_PORT_PASS') } })
  assert.ok(login.ok())
  const csv = `证件类型,证件号码,国籍,姓名,性别,出生日期,手机号,座位号,目的地网格\n护照,${d.doc},CHN,${d.name},男,1985-03-15,13900002000,30C,${grid}\n`
  const q = new URLSearchParams({ kind: 'flight', ref: `${flight}D`, arrived_at: arrived, port_org: String(port.id) })
  const m = await r.post(`${BASE()}/api/loop/manifests?${q}`, { data: csv, headers: { 'content-type': 'text/csv' } })
  assert.equal(m.status(), 202, await m.text())
  // The manifest is imported as a background job: wait for it to finish.
  const { job_id: jobId } = await m.json()
  let job
  for (let i = 0; i < 600; i++) {
    job = await (await r.get(`${BASE()}/api/jobs/${jobId}`)).json()
    if (job.status === 'done' || job.status === 'failed') break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal(job.status, 'done', JSON.stringify(job))
  assert.equal(job.report.created_orders, 1, JSON.stringify(job.report))
  const id = (await orderOf(d.doc)).id
  const ok = (res, what) => assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${JSON.stringify(res.body)}`)
  const hand = async (who, to_stage, receiver) => {
    const res = await api[who].post(`/loop/orders/${id}/handover`, { to_stage, receiver })
    ok(res, `${who} hands over to ${to_stage}`)
    return res.body.id
  }
  const ack = async (who, hid) => ok(await api[who].post(`/loop/handovers/${hid}/ack`, {}), `${who} acknowledges`)
  await ack('transfer', await hand('port', 'transfer', { kind: 'org', org_id: team.id }))
  await ack('site', await hand('transfer', 'quarantine_site', { kind: 'org', org_id: site.id }))
  await ack('transfer', await hand('site', 'destination_transfer', { kind: 'org', org_id: team.id }))
  await ack('grid', await hand('transfer', 'destination_community', { kind: 'area', area_code: grid }))
  ok(await api.grid.post(`/loop/orders/${id}/move`, { to_stage: 'home_monitoring' }), 'grid moves D home')
  // The lab results of every test day of the plan (lab feeds arrive with issue 4).
  const detail = (await api.grid.get(`/loop/orders/${id}`)).body
  assert.equal(detail.stage, 'home_monitoring')
  const days = detail.plan.phases.flatMap((ph) => ph.test_dates || [])
  for (const day of days) ok(await api.grid.post(`/loop/orders/${id}/tests`, { day, result: 'negative' }), `test ${day}`)
  // The grid worker releases D in the console.
  const { page } = desk
  await relogin(desk, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await openOrder(page, id)
  assert.equal(await stageOf(page), 'home_monitoring')
  await hook(page, 'order-release').click()
  await hook(page, 'release-confirm').click()
  await page.locator('[data-test="order-detail"][data-status="released"]').waitFor()
  assert.equal(await stageOf(page), 'released')
  const timeline = await hook(page, 'order-timeline').innerText()
  for (const word of ['口岸检疫', '转运', '集中隔离点', '目的地社区', '居家健康监测', '解除管控']) assert.ok(timeline.includes(word), `${word} in ${timeline}`)
  await shot(page, 'loop-order-released.png')
  assert.equal((await api.admin.get(`/loop/orders/${id}`)).body.status, 'released')
})

test('the board counts the travellers per stage and links to the list', async () => {
  const { page } = desk
  await relogin(desk, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/loop/board`)
  await hook(page, 'board-chart').waitFor()
  const board = (await api.admin.get('/loop/board')).body
  const home = board.by_stage.find((r) => r.stage === 'home_monitoring')
  assert.ok(home && home.count >= 1, JSON.stringify(board.by_stage))
  assert.equal(Number((await hook(page, 'board-count-home_monitoring').innerText()).replace(/\D/g, '')), home.count)
  await shot(page, 'loop-board.png')
  await hook(page, 'board-stage-home_monitoring').click()
  await page.waitForURL(/\/loop\/orders\?stage=home_monitoring/)
  await hook(page, 'orders-table').locator(`[data-test="order-row-${orders.a}"]`).waitFor()
  await shot(page, 'loop-orders.png')
})

test('policy page: profiles with the active one, groups with sources and confidence', async () => {
  const { page } = desk
  await page.goto(`${BASE()}/loop/policy`)
  await hook(page, 'profile-active').waitFor()
  const detail = hook(page, 'policy-detail')
  await detail.waitFor()
  await hook(page, 'group-confidence-inbound').waitFor()
  // Rules without a source are marked as local settings.
  const locals = await page.locator('[data-test^="group-confidence-"][data-confidence="local_setting"]').count()
  assert.equal(await page.locator('[data-test^="group-local-"]').count(), locals)
  await shot(page, 'loop-policy.png')
  // Re-plan preview changes nothing.
  await hook(page, 'policy-replan').click()
  await inputHook(page, 'replan-reason').fill('e2e: preview only')
  await hook(page, 'replan-preview').click()
  await hook(page, 'replan-changes').waitFor()
  assert.equal(await hook(page, 'replan-applied').count(), 0)
})

// A manifest row with a registered ID number under another name (身份冲突): the port's report
// holds the traveller (no order), the conflict is on the duplicates page with its manifest, and
// confirming the registered identity there creates the traveller's order at the port.
test('a manifest row under another name is held until the identity is confirmed', async () => {
  const { page } = desk
  const grid = env('BIHUAN_GRID_AREA')
  const seq = String(Math.floor(Math.random() * 900) + 100)
  const doc = residentId(`${grid.slice(0, 6)}19770707${seq}`)
  const created = await api.admin.post('/persons', { doc_number: doc, name: `测试登记${seq}`, area_code: grid })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const impostor = `测试冒名${seq}`
  const ref = `${flight}H`
  await relogin(desk, env('BIHUAN_PORT_USER'), env('BIHUAN_PORT_PASS'))
  const csv = `证件类型,证件号码,国籍,姓名,性别,出生日期,座位号,目的地网格\n居民身份证,${doc},CHN,${impostor},男,1977-07-07,30C,${grid}\n`
  await page.goto(`${BASE()}/loop/arrivals`)
  await inputHook(page, 'manifest-ref').fill(ref)
  await page.locator('[data-test="manifest-port"]').getByText(orgs[env('BIHUAN_PORT_ORG')].name).waitFor()
  await page.locator('input[data-test="manifest-file"]').setInputFiles({ name: `${ref}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') })
  await hook(page, 'manifest-file-name').getByText(`${ref}.csv`).waitFor()
  await hook(page, 'manifest-submit').click()
  const report = hook(page, 'manifest-report')
  await report.waitFor()
  assert.equal(await report.getAttribute('data-committed'), 'true', await report.innerText())
  assert.equal(Number(await hook(page, 'manifest-stat-held').locator('.stat-value').innerText()), 1)
  assert.equal(Number(await hook(page, 'manifest-stat-created_orders').locator('.stat-value').innerText()), 0)
  const rows = hook(page, 'manifest-conflicts').locator('tbody tr')
  assert.equal(await rows.count(), 1)
  assert.equal((await report.innerText()).includes(`测试登记${seq}`), false)
  await shot(page, 'loop-manifest-held.png')
  const none = await api.admin.get(`/loop/orders?q=${encodeURIComponent(doc)}`)
  assert.equal(none.body.items.length, 0)

  await relogin(desk, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/duplicates`)
  await page.locator('#tab-conflicts').click()
  const card = page.locator('[data-test^="conflict-"][data-status="open"]').filter({ hasText: impostor }).first()
  await card.waitFor()
  await card.locator('[data-test="conflict-manifest"]').waitFor()
  await card.locator('[data-test="conflict-held"]').waitFor()
  await card.locator('[data-test="keep-stored"]').click()
  await inputHook(page, 'resolve-input').fill('浏览器测试：护照核验为本人，名单姓名有误')
  await hook(page, 'resolve-confirm').click()
  await page.locator('[data-test^="conflict-"][data-status="kept"]').filter({ hasText: impostor }).first().waitFor()
  await shot(page, 'duplicates-manifest-conflict.png')
  const o = await orderOf(doc)
  assert.equal(o.stage, 'port_screening')
  assert.equal(o.owner.org_id, orgs[env('BIHUAN_PORT_ORG')].id)
})

test('no script errors on the pages visited', () => {
  assert.deepEqual([...desk.problems, ...phone.problems], [])
})
