// Referral letters between deployments (跨地区协查函) in the browser, both ends played by this one
// deployment (tests/e2e/run-browser-tests.sh gives the server its own code key and trusts that key
// as a peer's): on a case's contacts tab 发跨地区协查函 writes the contacts living in another region
// into a signed letter and downloads it; the 跨地区协查函 page lists it as sent; the letter is imported
// on the received side (pasted), opened, accepted into the closed loop in one action (each person
// 已纳入管控) and the signed reply downloaded; the reply imported on the sent side marks the letter
// 已回函 with each person's outcome. Needs the routes of docs/API-cases.md.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
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

async function downloaded(page, click) {
  const [download] = await Promise.all([page.waitForEvent('download'), click()])
  return readFileSync(await download.path(), 'utf8')
}

test('a letter written from a case is accepted at the other end and its reply comes back', async () => {
  const page = desk.page
  // Three residents of another district than the grid's, under no order: the case and two contacts.
  const district = env('BIHUAN_LETTER_DISTRICT')
  const people = env('BIHUAN_LETTER_PERSONS').split(',').map((id) => ({ id: Number(id) }))
  assert.equal(people.length, 3)
  const opened = await admin.post('/cases', { person_id: people[0].id, classification: 'confirmed', onset_date: '2022-04-02' })
  assert.equal(opened.status, 201, JSON.stringify(opened.body))
  const caseId = opened.body.id
  for (const p of people.slice(1)) {
    const c = await admin.post(`/cases/${caseId}/contacts`, { person_id: p.id, note: '同桌就餐' })
    assert.equal(c.status, 201, JSON.stringify(c.body))
  }

  // The investigator's side: the case's contacts tab writes the letter.
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/cases/${caseId}`)
  await hook(page, 'case-letter').click()
  const box = page.locator('.el-message-box')
  await box.locator('input').fill(district)
  const letter = await downloaded(page, () => box.locator('.el-message-box__btns .el-button--primary').click())
  const doc = JSON.parse(letter)
  assert.ok(doc.signature || doc.payload || Object.keys(doc).length > 0, 'a signed letter downloaded')

  // The letters page: sent, waiting for the reply.
  await page.goto(`${BASE()}/referral-letters`)
  const table = hook(page, 'letters-table')
  await table.locator('tbody tr').first().waitFor()
  const sent = (await admin.get('/referral-letters?direction=out')).body.items.find((l) => l.case_id === caseId)
  assert.ok(sent, 'the letter is listed as sent')
  assert.match(await hook(page, `letter-status-${sent.id}`).textContent(), /待回函/)
  await shot(page, 'referral-letters-sent')

  // The receiving command centre: imports the letter, opens it and accepts everyone in one action.
  await page.goto(`${BASE()}/referral-letters?direction=in`)
  await hook(page, 'letters-import').click()
  await inputHook(page, 'letters-paste').fill(letter)
  await hook(page, 'letters-paste-submit').click()
  await hook(page, 'letter-persons').locator('tbody tr').nth(1).waitFor()
  assert.match(await hook(page, 'letter-outcome-1').textContent(), /待协查/)
  await hook(page, 'letter-accept').click()
  const reply = await downloaded(page, () => hook(page, 'letter-decision-submit').click())
  await page.waitForFunction(() => /已纳入管控/.test(document.querySelector('[data-test="letter-outcome-2"]')?.textContent || ''))
  assert.match(await hook(page, 'letter-outcome-1').textContent(), /已纳入管控/)
  await shot(page, 'referral-letter-accepted')

  // Back at the sender: the reply imported, the letter answered with each person's outcome.
  await page.goto(`${BASE()}/referral-letters?direction=out`)
  await hook(page, 'letters-import-ack').click()
  await inputHook(page, 'letters-paste').fill(reply)
  await hook(page, 'letters-paste-submit').click()
  await page.waitForFunction(
    (id) => /已回函/.test(document.querySelector(`[data-test="letter-status-${id}"]`)?.textContent || ''),
    sent.id,
  )
  const answered = (await admin.get(`/referral-letters/${sent.id}`)).body
  assert.equal(answered.status, 'acknowledged')
  assert.equal(answered.under_control, 2)
  assert.deepEqual(desk.problems, [])
})
