// Alerts pushed to the console: a quarantine site's account has the console open; a fever check
// recorded for one of its people raises an alert, which reaches the page without a reload (the
// server's event stream): a notification, the bell's count, and the bell's list, which opens the
// alerts page. The grid worker's page, whose scope does not hold the order, is not told.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, login, openBrowser, residentId } from './helpers.mjs'
import { shot } from './shots.mjs'

let site
let other
let admin
let siteApi
let siteOrg
const reqs = []

before(async () => {
  const r = await pwRequest.newContext()
  reqs.push(r)
  admin = await apiAs(r, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  const r2 = await pwRequest.newContext()
  reqs.push(r2)
  siteApi = await apiAs(r2, env('BIHUAN_SITE_USER'), env('BIHUAN_SITE_PASS'))
  const orgs = await admin.get(`/orgs?q=${encodeURIComponent(env('BIHUAN_SITE_ORG'))}`)
  assert.equal(orgs.status, 200)
  siteOrg = orgs.body.items.find((o) => o.code === env('BIHUAN_SITE_ORG'))
  assert.ok(siteOrg, 'the site exists')
  site = await openBrowser()
  other = await openBrowser()
})
after(async () => {
  await site?.close()
  await other?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

test('an alert of the site reaches its open console within seconds, and nobody else', async () => {
  const grid = env('BIHUAN_GRID_AREA')
  const seq = String(Math.floor(Math.random() * 90) + 10)
  const doc = residentId(`${grid.slice(0, 6)}19770405${seq}1`)
  const person = await admin.post('/persons', { doc_number: doc, name: `告警${seq}`, area_code: grid })
  assert.equal(person.status, 201, JSON.stringify(person.body))
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  const order = await admin.post('/loop/orders', {
    person_id: person.body.id,
    group: 'close_contact',
    source: 'close_contact',
    start_date: today,
    stage: 'quarantine_site',
    owner: { kind: 'org', org_id: siteOrg.id },
  })
  assert.equal(order.status, 201, JSON.stringify(order.body))

  await login(site.page, env('BIHUAN_SITE_USER'), env('BIHUAN_SITE_PASS'))
  await hook(site.page, 'alert-bell').waitFor()
  await login(other.page, env('BIHUAN_TRANSFER_USER'), env('BIHUAN_TRANSFER_PASS'))
  await hook(other.page, 'alert-bell').waitFor()
  // Both streams are open (the bell turns live) before the alert is raised.
  await site.page.locator('[data-test="alert-bell"] .live').waitFor()
  await other.page.locator('[data-test="alert-bell"] .live').waitFor()

  const check = await siteApi.post(`/loop/orders/${order.body.id}/checks`, { temperature_c: 38.7, symptoms: ['cough'] })
  assert.equal(check.status, 201, JSON.stringify(check.body))
  const toast = site.page.locator('.alert-toast')
  await toast.waitFor({ timeout: 20000 })
  assert.match(await toast.innerText(), /1 条新告警/)
  assert.match(await toast.innerText(), /需医学评估/)
  assert.equal((await hook(site.page, 'alert-bell-count').locator('sup').innerText()).trim(), '1')
  await shot(site.page, 'alert-bell-toast')
  await hook(site.page, 'alert-bell').click()
  const list = hook(site.page, 'alert-bell-list')
  await list.waitFor()
  await list.getByText('需医学评估').click()
  await site.page.waitForURL(/\/loop\/alerts/)

  // The transfer team does not hold the order: its page was not told (its bell has no count).
  assert.equal(await other.page.locator('.alert-toast').count(), 0)
  assert.equal(await hook(other.page, 'alert-bell-count').locator('sup').isVisible(), false)
  assert.deepEqual(site.problems, [])
  assert.deepEqual(other.problems, [])
})
