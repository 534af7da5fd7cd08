// Residents (居民) end to end on a phone-sized screen: a resident under control signs in at /r/login
// with ID, phone and the code (read from the notification outbox by the administrator: the test
// deployment has no SMS gateway), sees the colour, measures and plan, switches to English and
// back, and appeals the colour (赋码纠错); the grid worker of the resident's grid answers it on
// 赋码纠错 and the resident reads the answer; a second appeal is upheld, the grid ending the wrong
// order in the same answer, and the code turns green. Needs the accounts and resident of
// tests/e2e/run-browser-tests.sh (BIHUAN_RESIDENT_*, BIHUAN_RGRID_*).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let phone
let desk
let admin
const reqs = []

before(async () => {
  const r = await pwRequest.newContext()
  reqs.push(r)
  admin = await apiAs(r, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  phone = await openBrowser({ viewport: { width: 390, height: 844 } })
  desk = await openBrowser()
})
after(async () => {
  await phone?.close()
  await desk?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

async function codeFromOutbox() {
  const box = await admin.get('/notify/outbox?kind=otp&limit=1')
  assert.equal(box.status, 200, JSON.stringify(box.body))
  assert.equal(box.body.gateway.configured, false)
  const m = /([0-9]{6})/.exec(box.body.items[0]?.body || '')
  assert.ok(m, JSON.stringify(box.body.items))
  return m[1]
}

test('a resident signs in with a code, sees their code and plan, appeals; the grid answers', async () => {
  // Under control at home in their grid (today in the deployment's time, Asia/Shanghai).
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  const order = await admin.post('/loop/orders', {
    person_id: Number(env('BIHUAN_RESIDENT_PERSON')),
    group: 'close_contact',
    source: 'close_contact',
    start_date: today,
    stage: 'home_isolation',
    owner: { kind: 'area', area_code: env('BIHUAN_RESIDENT_GRID') },
  })
  assert.equal(order.status, 201, JSON.stringify(order.body))

  const page = phone.page
  await page.goto(`${BASE()}/r/me`)
  await page.waitForURL((u) => u.pathname === '/r/login')  // no resident session yet
  await inputHook(page, 'r-id').fill(env('BIHUAN_RESIDENT_DOC'))
  await inputHook(page, 'r-phone').fill(env('BIHUAN_RESIDENT_PHONE'))
  await hook(page, 'r-send-code').click()
  await hook(page, 'r-code-sent').waitFor()
  await shot(page, 'resident-login')
  // A wrong code first: refused, nothing else happens.
  const code = await codeFromOutbox()
  await inputHook(page, 'r-code').fill(code === '000000' ? '111111' : '000000')
  await hook(page, 'r-login').click()
  await hook(page, 'r-error').waitFor()
  await inputHook(page, 'r-code').fill(code)
  await hook(page, 'r-login').click()
  await page.waitForURL((u) => u.pathname === '/r/me')

  const card = hook(page, 'r-code-card')
  await card.waitFor()
  const colour = await card.getAttribute('data-colour')
  assert.ok(colour === 'yellow' || colour === 'red', `colour under control: ${colour}`)
  await hook(page, 'r-order').waitFor()
  assert.match(await hook(page, 'r-measures').textContent(), /居家隔离|集中隔离|居家健康监测/)
  await shot(page, 'resident-me')

  // English and back.
  await hook(page, 'r-lang').click()
  await page.getByText('Resident health service').waitFor()
  await hook(page, 'r-lang').click()
  await page.getByText('居民健康服务').waitFor()

  // An appeal: a reason is required.
  await hook(page, 'r-appeal-submit').click()
  await hook(page, 'r-appeal-error').waitFor()
  await inputHook(page, 'r-appeal-reason').fill('我已在外地隔离期满，未到过涉疫场所')
  await hook(page, 'r-appeal-submit').click()
  const mine = page.locator('[data-test^="r-appeal-"][data-status="open"]').first()
  await mine.waitFor()
  const id = (await mine.getAttribute('data-test')).replace('r-appeal-', '')

  // The grid worker of the resident's grid answers it.
  const g = desk.page
  await login(g, env('BIHUAN_RGRID_USER'), env('BIHUAN_RGRID_PASS'))
  await g.goto(`${BASE()}/appeals`)
  await hook(g, `appeal-answer-${id}`).click()
  await hook(g, 'appeal-rejected').click()
  await hook(g, 'appeal-submit').click()
  await hook(g, 'appeal-answer-error').waitFor()  // the reason of a rejection is required
  await inputHook(g, 'appeal-answer-text').fill('经核查您与确诊病例同乘航班，维持黄码')
  await hook(g, 'appeal-submit').click()
  await hook(g, 'appeal-dialog').waitFor({ state: 'hidden' })
  await hook(g, `appeal-answer-${id}`).waitFor({ state: 'detached' })

  // The resident reads the answer.
  await page.reload()
  const answered = hook(page, `r-appeal-${id}`)
  await answered.waitFor()
  assert.equal(await answered.getAttribute('data-status'), 'rejected')
  assert.match(await answered.textContent(), /同乘航班/)
  await shot(page, 'resident-appeal')

  // A second appeal is upheld: the grid ends the wrongly issued order in the same answer (the
  // order is offered ticked as what makes the colour) and the resident's code turns green.
  await inputHook(page, 'r-appeal-reason').fill('流调信息有误，我当天不在该航班')
  await hook(page, 'r-appeal-submit').click()
  const second = page.locator('[data-test^="r-appeal-"][data-status="open"]').first()
  await second.waitFor()
  const id2 = (await second.getAttribute('data-test')).replace('r-appeal-', '')
  await g.goto(`${BASE()}/appeals`)
  await hook(g, `appeal-answer-${id2}`).click()
  await hook(g, `appeal-cause-order-${order.body.id}`).waitFor()
  await inputHook(g, 'appeal-answer-text').fill('核实流调信息有误，解除管控')
  await shot(g, 'appeal-upheld')
  await hook(g, 'appeal-submit').click()
  await hook(g, 'appeal-dialog').waitFor({ state: 'hidden' })
  await hook(g, `appeal-answer-${id2}`).waitFor({ state: 'detached' })
  await page.reload()
  await hook(page, `r-appeal-${id2}`).waitFor()
  assert.equal(await hook(page, `r-appeal-${id2}`).getAttribute('data-status'), 'upheld')
  assert.equal(await hook(page, 'r-code-card').getAttribute('data-colour'), 'green')

  // The outbox holds the appeal's messages, written with it.
  for (const kind of ['appeal_received', 'appeal_answered']) {
    const box = await admin.get(`/notify/outbox?kind=${kind}`)
    assert.ok(box.body.items.length >= 1, `${kind}: ${JSON.stringify(box.body)}`)
  }
  assert.deepEqual(phone.problems, [])
})

test('a resident reports their own arrival from a listed high-risk area and comes under control', async () => {
  const day = (back) => new Date(Date.now() + 8 * 3600_000 - back * 86400_000).toISOString().slice(0, 10)
  const csv = `地区代码,名称,等级,起始日期\n420106,武汉市武昌区,高,${day(5)}\n`
  const listed = await reqs[0].post(`${BASE()}/api/external-risk-areas/import`, {
    data: csv,
    headers: { 'Content-Type': 'text/csv' },
  })
  assert.equal(listed.status(), 200, await listed.text())

  const page = phone.page
  await page.goto(`${BASE()}/r/me`)
  await hook(page, 'r-arrival').waitFor()
  assert.equal(await hook(page, 'r-code-card').getAttribute('data-colour'), 'green')
  // Where from is required.
  await hook(page, 'r-arrival-submit').click()
  await hook(page, 'r-arrival-error').waitFor()
  // The origin found by its name.
  await hook(page, 'r-arrival-origin').click()
  await page.keyboard.type('武昌')
  await page.locator('.el-select-dropdown__item', { hasText: '武汉市武昌区' }).first().click()
  await hook(page, 'r-arrival-submit').click()
  const outcome = hook(page, 'r-arrival-outcome')
  await outcome.waitFor()
  assert.equal(await outcome.getAttribute('data-group'), 'high_risk_area_arrival')
  await hook(page, 'r-arrival-row').first().waitFor()
  // The page reads the resident's data again: under control, the code no longer green.
  await hook(page, 'r-order').waitFor()
  await page.waitForFunction(
    () => document.querySelector('[data-test="r-code-card"]')?.getAttribute('data-colour') !== 'green',
  )
  await shot(page, 'resident-arrival')

  // The grid worker of the resident's grid sees the report as the resident's own.
  const g = desk.page
  await g.goto(`${BASE()}/loop/arrival-reports`)
  await hook(g, 'arrival-reports-table').waitFor()
  const tag = g.locator('[data-test^="arrival-channel-"]', { hasText: '居民自报' }).first()
  await tag.waitFor()
  assert.deepEqual(phone.problems, [])
})
