// Nucleic-acid testing (核酸检测) end to end: the administrator starts a round over the grid's
// street; a sampler on a phone-sized page opens a pooled tube, samples two residents by ID number
// into it, closes it, boxes it, seals the box and hands it over; the county lab receives the box
// and uploads a CSV of results (one good row, one unknown tube: reported by row); the round page
// shows the two sampled and resulted people, the coverage table and the pool advice. Needs the
// testing routes of docs/API-testing.md and the sampler and lab accounts that
// tests/e2e/run-browser-tests.sh makes.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import QRCode from 'qrcode'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

const PHONE = { width: 390, height: 844 }
const stamp = `${Date.now() % 1_000_000}${Math.floor(Math.random() * 90) + 10}`
const TUBE = `E2E-T${stamp}`
const BOX = `E2E-B${stamp}`
let phone
let desk
let reqs = []
const api = {}
let round
let point
let docs

async function client(user, pass) {
  const r = await pwRequest.newContext()
  reqs.push(r)
  return apiAs(r, user, pass)
}

// Today in the deployment's zone (Asia/Shanghai in the test server).
function localToday() {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
}
// "YYYY-MM-DD HH:MM" local, a minute ago (a lab's test time is never in the future).
function localMinuteAgo() {
  return new Date(Date.now() + 8 * 3600_000 - 60_000).toISOString().slice(0, 16).replace('T', ' ')
}

before(async () => {
  api.admin = await client(env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  api.sampler = await client(env('BIHUAN_SAMPLER_USER'), env('BIHUAN_SAMPLER_PASS'))
  docs = env('BIHUAN_NAT_DOCS').split(',')
  assert.equal(docs.length, 2, 'two ID numbers to sample')
  const res = await api.admin.post('/nat/rounds', {
    area_code: env('BIHUAN_NAT_STREET'),
    days: [localToday()],
    rule: 'outbreak_district_10m',
    outbreak_declared: true,
    pool_ratio: 5,
    campaign: 'e2e',
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  round = res.body.items[0]
  const points = await api.sampler.get('/nat/points')
  assert.equal(points.status, 200, JSON.stringify(points.body))
  point = points.body.items.find((p) => p.area_code.startsWith(env('BIHUAN_NAT_STREET')))
  assert.ok(point, 'the generator made a sampling point in the street')
  // Points sample only in their hours (07:00-21:00 for the generator's): the command centre keeps
  // this one open around the clock, as it would for a late round, so that the test runs at any hour.
  const opened = await api.admin.post(`/nat/points/${point.id}`, { opens: '00:00', closes: '24:00' }, 'put')
  assert.equal(opened.status, 200, JSON.stringify(opened.body))
  assert.equal(opened.body.closes, '24:00')
  phone = await openBrowser({ viewport: PHONE })
  desk = await openBrowser()
})
after(async () => {
  await phone?.close()
  await desk?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

async function choose(page, select, popper, text) {
  // A select already showing the choice (one point only is chosen by the page) is left alone.
  const box = hook(page, select)
  await box.waitFor()
  if ((await box.textContent()).includes(text)) return
  const item = page.locator(`.${popper} .el-select-dropdown__item`, { hasText: text }).first()
  for (let i = 0; i < 3; i++) {
    await box.click()
    try {
      await item.waitFor({ state: 'visible', timeout: 3000 })
      break
    } catch {
      // the list was still loading: open it again
    }
  }
  await item.click()
}

test('a sampler on a phone pools two residents into a tube and hands the box over', async () => {
  const page = phone.page
  await login(page, env('BIHUAN_SAMPLER_USER'), env('BIHUAN_SAMPLER_PASS'))
  // The sampling page is the sampler's first page.
  await page.waitForURL((url) => url.pathname === '/nat/sampling')
  await choose(page, 'nat-point', 'nat-point-popper', point.name)
  await choose(page, 'nat-round', 'nat-round-popper', `#${round.id} `)
  await hook(page, 'nat-ratio-5').click()
  await inputHook(page, 'nat-tube-barcode').fill(TUBE)
  await hook(page, 'nat-tube-open').click()
  await hook(page, 'nat-open-tube').waitFor()
  assert.equal((await hook(page, 'nat-tube-count').textContent()).trim(), '0/5')

  await hook(page, 'nat-who-doc').click()
  for (const [i, doc] of docs.entries()) {
    await inputHook(page, 'nat-scan').fill(doc)
    await inputHook(page, 'nat-scan').press('Enter')
    await page.waitForFunction(
      ([n]) => document.querySelector('[data-test="nat-tube-count"]')?.textContent.trim() === `${n}/5`,
      [i + 1],
    )
    if (i === 1) await shot(page, 'nat-sampling-phone.png')
    const name = (await hook(page, 'nat-last-name').textContent()).trim()
    assert.ok(name.includes('*'), `the name is masked: ${name}`)
  }
  // The same person twice in the round is refused with the server's reason.
  await inputHook(page, 'nat-scan').fill(docs[0])
  await inputHook(page, 'nat-scan').press('Enter')
  await hook(page, 'nat-error').waitFor()
  assert.equal((await hook(page, 'nat-tube-count').textContent()).trim(), '2/5')

  // A tube that is not full is closed by hand; the page asks for the next barcode.
  await hook(page, 'nat-tube-close').click()
  await hook(page, 'nat-new-tube').waitFor()
  await hook(page, `nat-done-${TUBE}`).waitFor()

  // Box: open, add the closed tube, seal, hand over to the carrier.
  await inputHook(page, 'nat-box-code').fill(BOX)
  await hook(page, 'nat-box-open').click()
  await page.locator(`[data-test="nat-box-${BOX}"][data-status="open"]`).waitFor()
  await hook(page, `nat-pick-${TUBE}`).click()
  await hook(page, 'nat-box-add').click()
  await page.locator(`[data-test="nat-box-${BOX}"][data-tubes="1"]`).waitFor()
  await hook(page, 'nat-box-seal').click()
  await page.locator(`[data-test="nat-box-${BOX}"][data-status="sealed"]`).waitFor()
  await inputHook(page, 'nat-box-carrier').fill('测试转运员')
  await shot(page, 'nat-box-phone.png')
  await hook(page, 'nat-box-pickup').click()
  await page.locator(`[data-test="nat-box-${BOX}"]`).waitFor({ state: 'detached' })
  const boxes = await api.sampler.get('/nat/boxes?status=in_transit')
  const box = boxes.body.items.find((b) => b.code === BOX)
  assert.ok(box, 'the box is in transit')
  assert.equal(box.carrier, '测试转运员')
  assert.equal(box.tubes, 1)
  assert.deepEqual(phone.problems, [])
})

test('the lab receives the box and uploads a CSV; a bad row is reported by row', async () => {
  const page = desk.page
  await login(page, env('BIHUAN_LAB_USER'), env('BIHUAN_LAB_PASS'))
  await page.goto(`${BASE()}/nat/lab`)
  await hook(page, `nat-receive-${BOX}`).click()
  await hook(page, `nat-receive-${BOX}`).waitFor({ state: 'detached' })

  const csv = `条码,检测结果,ORF1ab Ct值,N基因 Ct值,检测时间\n${TUBE},阴性,,,${localMinuteAgo()}\nNO-SUCH-TUBE-1,阴性,,,\n`
  await page.locator('input[data-test="nat-results-file"]').setInputFiles({ name: 'results.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
  await hook(page, 'nat-results-upload').click()
  const report = hook(page, 'nat-results-report')
  await report.waitFor()
  const errors = await hook(page, 'nat-results-errors').textContent()
  assert.equal(await report.getAttribute('data-accepted'), '1', errors)
  assert.equal(await report.getAttribute('data-rejected'), '1', errors)
  assert.match(errors, /NO-SUCH-TUBE-1/)
  assert.match(errors, /unknown tube/)
  assert.match(errors, /第 3 行/)
  await shot(page, 'nat-lab.png')
  assert.deepEqual(desk.problems, [])
})

test('the round page shows the sampled and resulted people, the coverage and the pool advice', async () => {
  const page = desk.page
  await desk.context.clearCookies()
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/nat/rounds`)
  // The start dialog offers the active profile's round rules (GET /api/policy/profiles/{name}).
  await hook(page, 'nat-round-start').click()
  await page.waitForFunction(() => /全员核酸检测/.test(document.querySelector('[data-test="nat-round-rule"]')?.textContent || ''))
  await hook(page, 'nat-round-mass-testing').waitFor()
  await page.keyboard.press('Escape')
  await hook(page, `nat-round-${round.id}`).click()
  await page.waitForURL((url) => url.pathname === `/nat/rounds/${round.id}`)
  await page.locator('[data-test="nat-cov-sampled"][data-value="2"]').waitFor()
  await page.locator('[data-test="nat-cov-resulted"][data-value="2"]').waitFor()
  // The street's coverage by community: one row holds the two.
  const table = await hook(page, 'nat-cov-table').textContent()
  assert.match(table, /2（/)
  await hook(page, 'nat-advice-recommended').waitFor()
  await hook(page, 'nat-next-round').waitFor()
  // ninth-edition pools only below 0.1 % positivity (testing.pooling_max_positivity).
  await page.waitForFunction(() => /0\.10%/.test(document.querySelector('[data-test="nat-pool-advice"]')?.textContent || ''))
  await shot(page, 'nat-round.png')
  // The door-to-door list does not name the sampled people (their ID numbers are masked, so the
  // list is compared by person ids through the API).
  await hook(page, 'nat-missing-list').waitFor()
  const missing = await api.admin.get(`/nat/rounds/${round.id}/missing?limit=1000`)
  assert.equal(missing.status, 200)
  // The list exports as an Excel workbook.
  const [download] = await Promise.all([page.waitForEvent('download'), hook(page, 'nat-missing-export').click()])
  assert.match(download.suggestedFilename(), /\.xlsx$/)
  const { readFileSync } = await import('node:fs')
  assert.equal(readFileSync(await download.path()).subarray(0, 2).toString(), 'PK')
  const cov = await api.admin.get(`/nat/rounds/${round.id}/coverage`)
  assert.equal(cov.body.total.sampled, 2)
  assert.deepEqual(desk.problems, [])
})

test('the re-test board lists a key group; the rounds page charts the turnaround and lists the points', async () => {
  const page = desk.page
  await desk.context.clearCookies()
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  const orgs = await api.admin.get('/orgs?kind=enterprise&limit=1')
  assert.equal(orgs.status, 200, JSON.stringify(orgs.body))
  const org = orgs.body.items[0]
  assert.ok(org, 'the demo city has an enterprise')
  const set = await api.admin.post('/nat/key-groups', { org_id: org.id, group: 'delivery_and_market_staff' })
  assert.equal(set.status, 200, JSON.stringify(set.body))
  await page.goto(`${BASE()}/nat/retests?tab=groups`)
  await page.waitForFunction((name) => (document.querySelector('[data-test="nat-groups"]')?.textContent || '').includes(name), org.name)
  // The lab's result of the earlier test is on the turnaround card (a routine tube).
  await page.goto(`${BASE()}/nat/rounds`)
  await page.waitForFunction(() => /常规/.test(document.querySelector('[data-test="nat-turnaround"]')?.textContent || ''))
  // The sampling points of the area, with the one the sampler used.
  await page.waitForFunction((name) => (document.querySelector('[data-test="nat-points"]')?.textContent || '').includes(name), point.name)
  await shot(page, 'nat-turnaround.png')
  const off = await api.admin.post('/nat/key-groups', { org_id: org.id, group: '' })
  assert.equal(off.status, 200)
  assert.deepEqual(desk.problems, [])
})

test('the round page plans the points within their capacity', async () => {
  const page = desk.page
  await page.goto(`${BASE()}/nat/rounds/${round.id}`)
  const plan = await api.admin.get(`/nat/rounds/${round.id}/plan`)
  assert.equal(plan.status, 200, JSON.stringify(plan.body))
  const mine = plan.body.points.find((p) => p.id === point.id)
  assert.ok(mine, 'the point is in the plan')
  assert.equal(mine.capacity, mine.capacity_per_hour * 24)  // open around the clock
  await page.locator(`[data-test="nat-plan"][data-capacity="${plan.body.capacity}"]`).waitFor()
  await page.locator(`[data-test="nat-plan-point-${point.id}"][data-load="${mine.load}"]`).waitFor()
  assert.equal(plan.body.assigned + plan.body.overflow_residents, plan.body.residents)
  assert.deepEqual(desk.problems, [])
})

test('the round page plans every household into a time slot as a job and compares it with the samples', async () => {
  const page = desk.page
  await page.goto(`${BASE()}/nat/rounds/${round.id}`)
  await hook(page, 'nat-slots-none').waitFor()
  await hook(page, 'nat-slots-make').click()
  const plan = await api.admin.get(`/nat/rounds/${round.id}/plan`)
  assert.equal(plan.status, 200, JSON.stringify(plan.body))
  // Every expected resident of the street is in one slot.
  await page.locator(`[data-test="nat-slots"][data-planned="${plan.body.residents}"]`).waitFor()
  await page.locator('[data-test="nat-slots-households"] .el-table__row').first().waitFor()
  const slots = await api.admin.get(`/nat/rounds/${round.id}/slots`)
  assert.equal(slots.status, 200, JSON.stringify(slots.body))
  assert.equal(slots.body.planned, plan.body.residents)
  const cov = await api.admin.get(`/nat/rounds/${round.id}/coverage`)
  assert.equal(cov.status, 200, JSON.stringify(cov.body))
  assert.equal(slots.body.compared, true)
  assert.equal(slots.body.sampled, cov.body.total.sampled)  // the residents sampled above, in their slots
  for (const p of slots.body.points) for (const s of p.slots) assert.ok(s.planned <= s.capacity, JSON.stringify(s))
  await shot(page, 'nat-slots.png')
  assert.deepEqual(desk.problems, [])
})

test("the holders' page lists today's planned test of an order, sampled this morning", async () => {
  // The first resident sampled above is put under home isolation by its grid today (a close
  // contact: tests on days 1, 2, 3, 5 and 7); today's test shows as sampled (awaiting the lab).
  const who = await api.admin.get(`/persons?doc_number=${encodeURIComponent(docs[0])}`)
  assert.equal(who.status, 200, JSON.stringify(who.body))
  const person = (who.body.items || [who.body])[0]
  assert.ok(person?.id, JSON.stringify(who.body))
  const order = await api.admin.post('/loop/orders', {
    person_id: person.id,
    group: 'close_contact',
    source: 'close_contact',
    start_date: localToday(),
    stage: 'home_isolation',
    owner: { kind: 'area', area_code: person.area_code },
  })
  assert.equal(order.status, 201, JSON.stringify(order.body))
  const orderId = order.body.id ?? order.body.order?.id
  const list = await api.admin.get(`/nat/order-tests?holder=area:${person.area_code}`)
  assert.equal(list.status, 200, JSON.stringify(list.body))
  const mine = list.body.items.find((x) => x.order_id === orderId)
  assert.ok(mine, JSON.stringify(list.body))
  assert.equal(mine.status, 'sampled')
  assert.ok(mine.person_name.includes('*'))
  const page = desk.page
  await page.goto(`${BASE()}/nat/order-tests`)
  await page.locator(`[data-test="nat-ot-${orderId}"][data-status="sampled"]`).waitFor()
  await hook(page, `nat-ot-holder-area:${person.area_code}`).waitFor()
  await shot(page, 'nat-order-tests.png')
  // The sampler reads no control orders.
  assert.equal((await api.sampler.get('/nat/order-tests')).status, 403)
  assert.deepEqual(desk.problems, [])
})

test('the sampling page reads a health code from a photo of its QR code (jsQR)', async () => {
  // The second resident's health code as their phone shows it, photographed: a PNG of the QR code.
  const who = await api.admin.get(`/persons?doc_number=${encodeURIComponent(docs[1])}`)
  const person = (who.body.items || [who.body])[0]
  const code = await api.admin.get(`/persons/${person.id}/code`)
  assert.equal(code.status, 200, JSON.stringify(code.body))
  const png = await QRCode.toBuffer(code.body.token, { type: 'png', margin: 4, scale: 6 })
  const page = phone.page
  await page.goto(`${BASE()}/nat/sampling`)
  await choose(page, 'nat-point', 'nat-point-popper', point.name)
  await hook(page, 'nat-ratio-1').click()
  await inputHook(page, 'nat-tube-barcode').fill(`${TUBE}Q`)
  await hook(page, 'nat-tube-open').click()
  await hook(page, 'nat-open-tube').waitFor()
  await hook(page, 'nat-who-code').click()
  await page.locator('input[data-test="nat-qr-file"]').setInputFiles({ name: 'code.png', mimeType: 'image/png', buffer: png })
  // A single tube is full with one person: it closes and the page asks for the next barcode.
  await hook(page, `nat-done-${TUBE}Q`).waitFor()
  const tubes = await api.sampler.get(`/nat/tubes?barcode=${TUBE}Q`)
  assert.equal(tubes.status, 200, JSON.stringify(tubes.body))
  assert.equal(tubes.body.items[0].members, 1)
  const detail = await api.admin.get(`/nat/tubes/${tubes.body.items[0].id}`)
  assert.equal(detail.body.member_list[0].person_id, person.id)
  // A QR code that is not a health code is decoded, sent, and refused with the server's reason.
  await hook(page, 'nat-ratio-1').click()
  await inputHook(page, 'nat-tube-barcode').fill(`${TUBE}R`)
  await hook(page, 'nat-tube-open').click()
  await hook(page, 'nat-open-tube').waitFor()
  await hook(page, 'nat-who-code').click()
  const other = await QRCode.toBuffer('not-a-health-code', { type: 'png', margin: 4, scale: 6 })
  await page.locator('input[data-test="nat-qr-file"]').setInputFiles({ name: 'other.png', mimeType: 'image/png', buffer: other })
  await hook(page, 'nat-error').waitFor()
  assert.equal((await hook(page, 'nat-tube-count').textContent()).trim(), '0/1')
  assert.deepEqual(phone.problems, [])
})
