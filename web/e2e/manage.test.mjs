// Administrator's management pages: duplicate review with merge and undo, user creation with a
// role and scope, an API token shown once, and the roles table.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let b
before(async () => {
  b = await openBrowser()
  await login(b.page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
})
after(async () => {
  await b?.close()
})

test('a duplicate pair is merged with a reason, and the merge is undone from the kept record', async () => {
  const { page } = b
  await page.goto(`${BASE()}/duplicates`)
  const pair = hook(page, 'duplicate-0')
  await pair.waitFor()
  // The server's reason phrase is shown in Chinese.
  assert.match(await pair.innerText(), /姓名、出生日期/)
  await shot(page, 'duplicates.png')
  await pair.locator('[data-test="keep-a"]').click()
  await inputHook(page, 'merge-input').fill('浏览器测试：同一人重复登记')
  await hook(page, 'merge-confirm').click()
  await pair.locator('[data-test="undo"]').waitFor()
  // The kept record (A) lists the merge; undo it there.
  await pair.locator('.who-title a').first().click()
  await page.waitForURL(/\/persons\/\d+$/)
  const undo = page.locator('[data-test^="undo-merge-"]').first()
  await undo.waitFor()
  await undo.click()
  await inputHook(page, 'undo-input').fill('浏览器测试：撤销')
  await hook(page, 'undo-confirm').click()
  await page.locator('[data-test="merges-table"]').getByText('已撤销').waitFor()
  assert.equal(await page.locator('[data-test^="undo-merge-"]').count(), 0)
})

test('a user is created with a role and an area scope, and an API token is shown once', async () => {
  const { page } = b
  await page.goto(`${BASE()}/users`)
  await hook(page, 'users-table').locator('tbody tr').first().waitFor()
  await hook(page, 'user-create').click()
  const username = `e2e-worker-${process.pid}`
  await inputHook(page, 'user-username').fill(username)
  await inputHook(page, 'user-display-name').fill('测试网格员')
  await inputHook(page, 'user-password').fill('short')
  await hook(page, 'user-save').click()
  await page.getByText('密码至少 10 个字符').first().waitFor()
  await inputHook(page, 'user-password').fill('a-long-enough-password')
  // The grid worker role is preselected; its scope is an area code: the admin's first area.
  const root = await page.context().request.get(`${BASE()}/api/areas`)
  const code = (await root.json()).items[0].code
  await inputHook(page, 'user-scope-area').fill(code)
  await hook(page, 'user-save').click()
  const row = hook(page, 'users-table').locator('tbody tr', { hasText: username })
  await row.waitFor()
  assert.match(await row.innerText(), /网格员/)

  await row.locator('[data-test^="user-token-"]').click()
  await inputHook(page, 'token-name').fill('ci')
  await hook(page, 'token-issue').click()
  const token = inputHook(page, 'token-value')
  await token.waitFor()
  assert.match(await token.inputValue(), /^bh_/)
  await page.getByText('令牌只显示这一次').waitFor()
  await shot(page, 'token.png')
})

test('the roles tab lists every role with translated permissions', async () => {
  const { page } = b
  await page.goto(`${BASE()}/users`)
  await page.locator('#tab-roles').click()
  const table = hook(page, 'roles-table')
  await table.getByText('审计员').waitFor()
  const text = await table.innerText()
  for (const s of ['系统管理员', '网格员', '查看完整号码', '审计查阅']) assert.ok(text.includes(s), s)
  assert.ok(!text.includes('person.read'), 'permission names are translated')
})

test('no script errors on the pages visited', () => {
  assert.deepEqual(b.problems, [])
})
