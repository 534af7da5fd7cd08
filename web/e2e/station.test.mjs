// Supply station staff (保供站工作人员) in the browser: the administrator sets up a station run by
// an organisation and an account of that organisation (role supply_station); the grid worker
// raises a necessities request for a resident under home isolation and hands it to the station.
// The staff member signs in, opens the station's page, finds the request among the requests the
// station serves (what and where, no one's name), fills the packing form from it (装配) and packs
// the delivery: the request goes on the way, owned by the station. Needs BIHUAN_SUPPLY_* from
// tests/e2e/run-browser-tests.sh.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'

let desk
let req
let gridReq
let admin
let grid

before(async () => {
  req = await pwRequest.newContext()
  gridReq = await pwRequest.newContext()
  admin = await apiAs(req, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  grid = await apiAs(gridReq, env('BIHUAN_SUPPLY_USER'), env('BIHUAN_SUPPLY_PASS'))
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
  await req?.dispose().catch(() => {})
  await gridReq?.dispose().catch(() => {})
})

test('station staff see the requests their station serves and pack one', async () => {
  const area = env('BIHUAN_SUPPLY_GRID')
  const [controlled] = env('BIHUAN_SUPPLY_HOUSEHOLDS').split(',')
  const person = Number(env('BIHUAN_SUPPLY_PERSON'))

  // The operator: an organisation of the demo city; its staff account.
  const orgs = await admin.get('/orgs?limit=1')
  assert.equal(orgs.status, 200, JSON.stringify(orgs.body))
  const org = orgs.body.items[0].id
  // The package kinds of supply.test.mjs (every station has a line of every kind: a kind of its own
  // would leave that test's station short); whichever test runs first adds them.
  for (const k of [
    { code: 'e2e-veg', name: '端到端蔬菜包', unit: '箱', lasts_days: 3 },
    { code: 'e2e-grain', name: '端到端米面包', unit: '袋', lasts_days: 10 },
  ]) {
    const r = await admin.post('/supply/kinds', k)
    assert.ok([201, 409].includes(r.status), JSON.stringify(r.body))
  }
  const st = await admin.post('/supply/stations', { name: '端到端站点保供点', area_code: area, org_id: org, min_days: 3 })
  assert.equal(st.status, 201, JSON.stringify(st.body))
  const stock = await admin.post(`/supply/stations/${st.body.id}/stock`, {
    move: 'receipt', ref: '端到端站点调拨', lines: [{ kind: 'e2e-grain', quantity: 4 }],
  })
  assert.equal(stock.status, 201, JSON.stringify(stock.body))
  const password = randomBytes(12).toString('hex')
  const user = await admin.post('/users', {
    username: 'e2e-station', display_name: '端到端保供站', password, role: 'supply_station', scope_org: org,
  })
  assert.equal(user.status, 201, JSON.stringify(user.body))

  // The resident under home isolation (the supply test may have put them there already).
  const order = await admin.post('/loop/orders', {
    person_id: person, group: 'close_contact', source: 'close_contact',
    start_date: new Date().toISOString().slice(0, 10), stage: 'home_isolation', owner: { kind: 'area', area_code: area },
  })
  assert.ok([201, 409].includes(order.status), JSON.stringify(order.body))
  const r = await grid.post('/supply/requests', {
    person_id: person, kind: 'necessities', detail: '端到端站点需求：米面一袋', owner_kind: 'supply_station', owner_org: st.body.id,
  })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  const who = await admin.get(`/persons/${person}`)
  assert.equal(who.status, 200)
  const name = who.body.name

  // The staff member's station page: the request it serves, with no one's name.
  const page = desk.page
  await login(page, 'e2e-station', password)
  await page.goto(`${BASE()}/supply/stations`)
  await hook(page, 'stations-table').locator('.el-table__row', { hasText: '端到端站点保供点' }).click()
  await hook(page, 'station-detail').waitFor()
  const served = hook(page, 'station-requests')
  const row = served.locator('.el-table__row', { hasText: '端到端站点需求' })
  await row.waitFor()
  assert.match(await row.textContent(), /已受理|已接收/)
  assert.ok(name && !(await served.textContent()).includes(name), 'the list names no one')

  // 装配 fills the packing form from the request; packed, the request goes on the way.
  await hook(page, `served-pack-${r.body.id}`).click()
  assert.equal(await inputHook(page, 'pack-household').inputValue(), controlled)
  assert.equal(await inputHook(page, 'pack-request').inputValue(), String(r.body.id))
  await inputHook(page, 'pack-e2e-grain').fill('1')
  await hook(page, 'pack-save').click()
  await hook(page, 'pack-done').waitFor()
  await served.locator('.el-table__row', { hasText: '端到端站点需求' }).filter({ hasText: '配送/转运中' }).waitFor()
  const moved = await grid.get(`/supply/requests/${r.body.id}`)
  assert.equal(moved.body.status, 'on_the_way')
  assert.equal(moved.body.owner.kind, 'supply_station')
  assert.equal(moved.body.owner.org_id, st.body.id)
  assert.deepEqual(desk.problems, [])
})
