// List pages whose filters live in the address (web/src/utils/useListPage.js): 交接, 协查, 跨地区协查函
// and 场所消杀 open with the filters of their query (the radio shows them and the list is read
// with them), and a filter changed on the page goes into the address and reads the list again.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, env, hook, login, openBrowser } from './helpers.mjs'

let desk

before(async () => {
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
})

// The next read of `path` by the page, with each of `want`'s query parameters.
function read(page, path, want) {
  return page.waitForResponse((r) => {
    const u = new URL(r.url())
    if (u.pathname !== `/api${path}`) return false
    return Object.entries(want).every(([k, v]) => u.searchParams.get(k) === v)
  })
}

async function active(page, group) {
  return (await page.locator(`[data-test="${group}"] .el-radio-button.is-active`).allInnerTexts()).map((s) => s.trim())
}

test('list pages read their filters from the address and follow a change', async () => {
  const page = desk.page
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))

  // 交接: the outbox, all of it; then the inbox, still all.
  let seen = read(page, '/loop/handovers', { direction: 'outbox', status: 'all' })
  await page.goto(`${BASE()}/loop/handovers?direction=outbox&status=all`)
  assert.equal((await seen).status(), 200)
  assert.deepEqual(await active(page, 'handovers-direction'), ['我发出的'])
  assert.deepEqual(await active(page, 'handovers-status'), ['全部'])
  seen = read(page, '/loop/handovers', { direction: 'inbox', status: 'all' })
  await hook(page, 'handovers-inbox').click()
  await seen
  await page.waitForURL((u) => u.searchParams.get('direction') === 'inbox' && u.searchParams.get('status') === 'all')

  // 协查: the outbox, then the inbox.
  seen = read(page, '/loop/referrals', { direction: 'outbox' })
  await page.goto(`${BASE()}/loop/referrals?direction=outbox`)
  assert.equal((await seen).status(), 200)
  assert.deepEqual(await active(page, 'referrals-direction'), ['我发起的'])
  seen = read(page, '/loop/referrals', { direction: 'inbox' })
  await hook(page, 'referrals-inbox').click()
  await seen
  await page.waitForURL((u) => u.searchParams.get('direction') === 'inbox')

  // 跨地区协查函: received (the import button is there), then sent (the acknowledgement's).
  seen = read(page, '/referral-letters', { direction: 'in', limit: '200' })
  await page.goto(`${BASE()}/referral-letters?direction=in`)
  assert.equal((await seen).status(), 200)
  assert.deepEqual(await active(page, 'letters-direction'), ['收到的协查函'])
  await hook(page, 'letters-import').waitFor()
  seen = read(page, '/referral-letters', { direction: 'out' })
  await page.locator('[data-test="letters-direction"] .el-radio-button', { hasText: '发出的协查函' }).click()
  await seen
  await page.waitForURL((u) => u.searchParams.get('direction') === 'out')
  await hook(page, 'letters-import-ack').waitFor()

  // 场所消杀: done, then open.
  seen = read(page, '/disinfections', { status: 'done' })
  await page.goto(`${BASE()}/disinfections?status=done`)
  assert.equal((await seen).status(), 200)
  const group = page.locator('.toolbar .el-radio-group').first()
  assert.deepEqual((await group.locator('.el-radio-button.is-active').allInnerTexts()).map((s) => s.trim()), ['已完成'])
  seen = read(page, '/disinfections', { status: 'open' })
  await group.locator('.el-radio-button', { hasText: '待消杀' }).click()
  await seen
  await page.waitForURL((u) => u.searchParams.get('status') === 'open')
  assert.deepEqual(desk.problems, [])
})
