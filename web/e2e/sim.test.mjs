// 科学研判: an administrator runs the demo scenario (small city, few replicates) for two profiles
// and reads the comparison table, the fan chart and the Pareto front.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, env, hook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let b
before(async () => {
  b = await openBrowser()
  await login(b.page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
})
after(async () => {
  await b?.close()
})

test('a comparison runs as a job and shows the table and charts', async () => {
  const { page } = b
  await page.goto(`${BASE()}/simulation`)
  await hook(page, 'sim-form').waitFor()
  assert.match(await hook(page, 'side-menu').innerText(), /科学研判/)
  // el-input-number takes a typed value on change (blur).
  await hook(page, 'sim-persons').locator('input').fill('3000')
  await page.keyboard.press('Tab')
  await hook(page, 'sim-runs').locator('input').fill('2')
  await page.keyboard.press('Tab')
  await hook(page, 'sim-run').click()
  const table = hook(page, 'sim-table')
  await table.waitFor({ timeout: 120000 })
  const text = await table.innerText()
  assert.match(text, /反弹概率/)
  assert.match(text, /ninth-edition/)
  assert.match(text, /class-b/)
  await hook(page, 'sim-fan').locator('canvas').waitFor()
  await hook(page, 'sim-pareto').locator('canvas').waitFor()
  await shot(page, 'simulation.png')
})

test('a long run is cancelled from the page and ends cancelled with its progress', async () => {
  const { page } = b
  await page.goto(`${BASE()}/simulation`)
  await hook(page, 'sim-form').waitFor()
  // 200 replicates of each of the four profiles on a 20,000-person city: far longer than the
  // test takes.
  await hook(page, 'sim-persons').locator('input').fill('20000')
  await page.keyboard.press('Tab')
  await hook(page, 'sim-runs').locator('input').fill('200')
  await page.keyboard.press('Tab')
  await hook(page, 'sim-run').click()
  await hook(page, 'sim-cancel').waitFor()
  // Cancel once a replicate has finished (the bar has moved), so the job has progress to keep.
  await page.waitForFunction(() => {
    const t = document.querySelector('[data-test="sim-progress"]')?.innerText || ''
    return /[1-9]\d*%/.test(t)
  }, null, { timeout: 600000, polling: 500 }).catch(() => {})
  await hook(page, 'sim-cancel').click()
  const note = hook(page, 'sim-cancelled')
  await note.waitFor({ timeout: 600000 })
  assert.match(await note.innerText(), /模拟已取消/)
  assert.equal(await hook(page, 'sim-table').count(), 0)
  // The job itself: cancelled, its progress kept below 1.
  const jobs = await page.evaluate(async () => (await fetch('/api/jobs?limit=1')).json())
  assert.equal(jobs.items[0].status, 'cancelled')
  assert.ok(jobs.items[0].progress < 1)
  assert.equal(jobs.items[0].report.cancelled, true)
})

test('no script errors on the pages visited', () => {
  assert.deepEqual(b.problems, [])
})
