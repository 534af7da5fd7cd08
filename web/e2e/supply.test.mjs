// Supplies (保供) end to end: the administrator sets up package kinds, a station of the supply
// grid with a receiving point, and puts a resident of the first household in home isolation; on
// the 保供物资站 page stock is received (the ledger shows it), a delivery to the second household
// (not under control) is refused naming household_id, and one to the first is packed; the grid
// worker, on a phone-sized screen, follows it on 送货上门 to the receiving point and to the door
// (who took it); the stock and the ledger show it went out; the centre's board (保供看板) shows the
// station, the delivery, the enterprises and the map of shortages. Needs BIHUAN_SUPPLY_* from
// tests/e2e/run-browser-tests.sh.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk
let phone
let req
let admin

before(async () => {
  req = await pwRequest.newContext()
  admin = await apiAs(req, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  desk = await openBrowser()
  phone = await openBrowser({ viewport: { width: 390, height: 844 } })
})
after(async () => {
  await desk?.close()
  await phone?.close()
  await req?.dispose().catch(() => {})
})

test('a delivery to the door, and the centre board', async () => {
  const grid = env('BIHUAN_SUPPLY_GRID')
  const [controlled, free] = env('BIHUAN_SUPPLY_HOUSEHOLDS').split(',')
  for (const k of [
    { code: 'e2e-veg', name: '端到端蔬菜包', unit: '箱', lasts_days: 3 },
    { code: 'e2e-grain', name: '端到端米面包', unit: '袋', lasts_days: 10 },
  ]) {
    const r = await admin.post('/supply/kinds', k)
    assert.ok([201, 409].includes(r.status), JSON.stringify(r.body))  // 409: added by station.test.mjs
  }
  const st = await admin.post('/supply/stations', { name: '端到端保供点', area_code: grid, address: '小区东门', min_days: 3 })
  assert.equal(st.status, 201, JSON.stringify(st.body))
  const pt = await admin.post(`/supply/stations/${st.body.id}/points`, { name: '端到端收货点', area_code: grid, address: '3号楼' })
  assert.equal(pt.status, 201, JSON.stringify(pt.body))
  const order = await admin.post('/loop/orders', {
    person_id: Number(env('BIHUAN_SUPPLY_PERSON')), group: 'close_contact', source: 'close_contact',
    start_date: new Date().toISOString().slice(0, 10), stage: 'home_isolation', owner: { kind: 'area', area_code: grid },
  })
  // (409: station.test.mjs, which may run first, put them there already.)
  assert.ok([201, 409].includes(order.status), JSON.stringify(order.body))

  // The station's page: short before any stock; stock received; the ledger shows the receipt.
  const page = desk.page
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/supply/stations`)
  await hook(page, 'stations-table').locator('.el-table__row', { hasText: '端到端保供点' }).click()
  await hook(page, 'station-detail').waitFor()
  await page.locator('[data-test="station-short"]', { hasText: '短缺' }).waitFor()
  await inputHook(page, 'move-e2e-veg').fill('6')
  await inputHook(page, 'move-e2e-grain').fill('2')
  await inputHook(page, 'move-ref').fill('端到端调拨单 1')
  await hook(page, 'move-save').click()
  await page.locator('[data-test="station-short"]', { hasText: '充足' }).waitFor()
  await hook(page, 'station-ledger').locator('.el-table__row', { hasText: '端到端调拨单 1' }).first().waitFor()

  // A delivery to a household not under control: refused, naming the field; nothing taken out.
  await inputHook(page, 'pack-household').fill(free)
  await inputHook(page, 'pack-e2e-veg').fill('1')
  await hook(page, 'pack-save').click()
  assert.match(await hook(page, 'pack-error').textContent(), /household_id/)
  let s = await admin.get(`/supply/stations/${st.body.id}`)
  assert.equal(s.body.stock.find((k) => k.kind === 'e2e-veg').on_hand, 6)
  // To the controlled household through the receiving point: packed.
  await inputHook(page, 'pack-household').fill(controlled)
  await hook(page, 'pack-point').click()
  await page.locator('.el-select-dropdown__item', { hasText: '端到端收货点' }).click()
  await inputHook(page, 'pack-e2e-grain').fill('1')
  await hook(page, 'pack-save').click()
  await hook(page, 'pack-done').waitFor()
  s = await admin.get(`/supply/stations/${st.body.id}`)
  assert.equal(s.body.stock.find((k) => k.kind === 'e2e-veg').on_hand, 5)
  assert.equal(s.body.stock.find((k) => k.kind === 'e2e-grain').on_hand, 1)
  await shot(page, 'supply-station')

  // The grid worker on a phone: to the receiving point, then to the door.
  const m = phone.page
  await login(m, env('BIHUAN_SUPPLY_USER'), env('BIHUAN_SUPPLY_PASS'))
  await m.goto(`${BASE()}/supply/deliveries`)
  const card = m.locator('[data-test^="delivery-"]', { hasText: '端到端保供点' }).first()
  await card.waitFor()
  await card.locator('[data-test="delivery-arrive"]').click()
  await card.locator('[data-test="delivery-status"]', { hasText: '到达收货点' }).waitFor()
  await card.locator('input[data-test="delivery-receiver"], [data-test="delivery-receiver"] input').first().fill('本人')
  await card.locator('[data-test="delivery-deliver"]').click()
  await card.locator('[data-test="delivery-status"]', { hasText: '已送达' }).waitFor()
  const width = await m.evaluate(() => document.documentElement.scrollWidth)
  assert.ok(width <= 400, `the phone page scrolls sideways: ${width}px`)
  await shot(m, 'supply-door')
  const list = await admin.get(`/supply/deliveries?household_id=${controlled}&station_id=${st.body.id}`)
  assert.equal(list.body.items.length, 1, JSON.stringify(list.body))
  assert.equal(list.body.items[0].status, 'delivered')
  assert.equal(list.body.items[0].receiver, '本人')

  // The centre's board: the station with its stock, the delivery, the enterprises, the map.
  await page.goto(`${BASE()}/supply/board`)
  await hook(page, 'chart-stock').locator('canvas').waitFor()
  await hook(page, 'chart-deliveries').locator('canvas').waitFor()
  await hook(page, 'board-enterprises').waitFor()
  await hook(page, 'supply-map-table').locator('.el-table__row').first().waitFor()
  const board = await admin.get('/supply/board')
  assert.ok(board.body.stations.some((x) => x.name === '端到端保供点'))
  assert.ok(board.body.deliveries.delivered >= 1, JSON.stringify(board.body.deliveries))
  assert.ok(Number(await hook(page, 'tile-stations').locator('.tile-value').textContent()) >= 1)
  await shot(page, 'supply-board')
  assert.deepEqual(desk.problems, [])
  assert.deepEqual(phone.problems, [])
})
