// Cutting transmission chains (流调) end to end: two residents scan in at a venue of the grid's
// street (one by ID number, one by health code); the investigator opens a case for the first on
// the cases page, finds its contacts (the fellow visitor with the venue as evidence, and the
// co-residents), accepts them all and puts them under control in one action; the chain page
// draws the graph; the grid worker sees the venue's disinfection task and records it done.
// Needs the routes of docs/API-cases.md and the accounts and venue that
// tests/e2e/run-browser-tests.sh makes (the venue type's minimum overlap is 0 there, so that
// visits seconds apart overlap).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk
let reqs = []
const api = {}
let docs
let venue

async function client(user, pass) {
  const r = await pwRequest.newContext()
  reqs.push(r)
  return apiAs(r, user, pass)
}

before(async () => {
  api.admin = await client(env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  docs = env('BIHUAN_TRACE_DOCS').split(',')
  venue = env('BIHUAN_TRACE_VENUE')
  assert.equal(docs.length, 2, 'two ID numbers to scan')
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
  for (const r of reqs) await r.dispose().catch(() => {})
})

test('scans, a case, its contacts into the loop, the chain and the disinfection', async () => {
  const page = desk.page
  // The door: the first visitor by ID number on the scan page, the second through the API.
  await login(page, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await page.goto(`${BASE()}/scan`)
  await inputHook(page, 'scan-venue').fill(venue)
  await inputHook(page, 'scan-who').fill(docs[0])
  await hook(page, 'scan-submit').click()
  await hook(page, 'scan-result').waitFor()
  assert.match(await hook(page, 'scan-result').textContent(), /通行/)
  await shot(page, 'venue-scan')
  const second = await api.admin.post('/scan', { venue, doc_number: docs[1] })
  assert.equal(second.status, 200, JSON.stringify(second.body))
  assert.equal(second.body.result, 'pass')

  // The investigator opens the case and finds its contacts.
  await page.context().clearCookies()
  await login(page, env('BIHUAN_CDC_USER'), env('BIHUAN_CDC_PASS'))
  await page.goto(`${BASE()}/cases`)
  await hook(page, 'case-new').click()
  await inputHook(page, 'case-doc').fill(docs[0])
  await hook(page, 'case-submit').click()
  await page.waitForURL(/\/cases\/\d+$/)
  await hook(page, 'case-trace').click()
  const table = hook(page, 'contacts-table')
  await table.locator('.el-table__row').first().waitFor()
  const text = await table.textContent()
  assert.match(text, /同时在场/, 'the fellow visitor carries the venue as evidence')
  await shot(page, 'case-contacts')
  await hook(page, 'case-accept-all').click()
  await page.locator('[data-test="case-counts"]', { hasText: /候选 0/ }).waitFor()
  await hook(page, 'case-control').click()
  await page.locator('[data-test="case-counts"]', { hasText: /已判定 0/ }).waitFor()
  assert.doesNotMatch(await hook(page, 'case-counts').textContent(), /已管控 0 /)
  await shot(page, 'case-controlled')

  // The chain graph draws the case.
  await page.goto(`${BASE()}/chains`)
  await hook(page, 'chain-graph').locator('canvas').first().waitFor()
  await shot(page, 'chains')

  // The grid worker's disinfection task for the venue.
  await page.context().clearCookies()
  await login(page, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await page.goto(`${BASE()}/disinfections`)
  const tasks = hook(page, 'disinfections-table')
  await tasks.locator('.el-table__row', { hasText: venue }).first().waitFor()
  await tasks.locator('.el-table__row', { hasText: venue }).first().locator('button').click()
  await tasks.locator('.el-table__row', { hasText: venue }).first().waitFor({ state: 'detached' })
  assert.deepEqual(desk.problems, [])
})
