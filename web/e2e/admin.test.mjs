// Administrator: Chinese console, login errors, person search by ID number, masked detail and
// audited unmasking, area tree with its chart.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { BASE, apiAs, env, hook, inputHook, login, maskedForm, openBrowser, searchByDoc } from './helpers.mjs'
import { shot } from './shots.mjs'

let b
before(async () => {
  b = await openBrowser()
})
after(async () => {
  await b?.close()
})

test('wrong password shows the bad-credentials message in Chinese', async () => {
  const { page } = b
  await page.goto(`${BASE()}/login`)
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN')
  await inputHook(page, 'login-username').fill(env('BIHUAN_ADMIN_USER'))
  await inputHook(page, 'login-password').fill('not-the-password-123')
  await hook(page, 'login-submit').click()
  await hook(page, 'login-error').waitFor()
  assert.match(await hook(page, 'login-error').innerText(), /用户名或密码错误/)
  await shot(page, 'login-error.png')
  assert.match(page.url(), /\/login/)
})

test('repeated failures for one username show the rate-limit message', async () => {
  const { page } = b
  const username = `e2e-nobody-${process.pid}`
  // Five failures through the API, the sixth through the form.
  for (let i = 0; i < 5; i++) {
    const res = await page.context().request.post(`${BASE()}/api/auth/login`, { data: { username, password: 'wrong-password-1' } })
    assert.equal(res.status(), 401)
  }
  await page.goto(`${BASE()}/login`)
  await inputHook(page, 'login-username').fill(username)
  await inputHook(page, 'login-password').fill('wrong-password-1')
  await hook(page, 'login-submit').click()
  await page.getByText('登录失败次数过多').waitFor()
})

test('admin logs in and sees the Chinese console with every menu entry', async () => {
  const { page } = b
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  const menu = await hook(page, 'side-menu').innerText()
  for (const label of ['区划与统计', '人员查询', '疑似重复', '数据导入', '用户与角色', '审计日志']) {
    assert.ok(menu.includes(label), `menu lacks ${label}: ${menu}`)
  }
})

test('area tree loads lazily with counts and draws the chart of the selected area', async () => {
  const { page } = b
  await page.goto(`${BASE()}/areas`)
  const tree = hook(page, 'area-tree')
  const firstNode = tree.locator('.el-tree-node__content').first()
  await firstNode.waitFor()
  // The root's counts are "households / persons", both positive in the generated city.
  const counts = await tree.locator('.tree-counts').first().innerText()
  const [hh, persons] = counts.split('/').map((s) => Number(s.replace(/[^\d]/g, '')))
  assert.ok(hh > 0 && persons > 0, `root counts ${counts}`)
  await firstNode.click()
  await hook(page, 'area-chart').locator('canvas').first().waitFor()
  const childRows = hook(page, 'area-children').locator('tbody tr')
  await childRows.first().waitFor()
  assert.ok((await childRows.count()) > 0)
  // Expanding the root loads its children into the tree.
  await firstNode.locator('.el-tree-node__expand-icon').click()
  await tree.locator('.el-tree-node .el-tree-node .el-tree-node__content').first().waitFor()
  await shot(page, 'areas.png')
})

test('admin finds a person by ID number and sees the masked number, then unmasks with a reason', async () => {
  const { page } = b
  const doc = env('BIHUAN_GRID_OTHER_DOC')
  await searchByDoc(page, doc)
  const rows = hook(page, 'persons-table').locator('tbody tr')
  await rows.first().waitFor()
  assert.equal(await rows.count(), 1)
  const shown = (await rows.first().locator('[data-test="person-doc"]').innerText()).trim()
  assert.equal(shown, maskedForm(doc))
  await shot(page, 'persons.png')

  await rows.first().locator('a, .el-link').first().click()
  await page.waitForURL(/\/persons\/\d+$/)
  await hook(page, 'detail-doc').waitFor()
  assert.equal((await hook(page, 'detail-doc').innerText()).trim(), maskedForm(doc))
  await hook(page, 'masked-tag').waitFor()
  await shot(page, 'person-detail.png')

  await hook(page, 'unmask-button').click()
  const reason = inputHook(page, 'unmask-input')
  await reason.waitFor()
  // Confirming without a reason is refused by the dialog.
  await hook(page, 'unmask-confirm').click()
  await page.getByText('请填写事由').waitFor()
  await reason.fill('浏览器测试：核实身份')
  await shot(page, 'unmask-dialog.png')
  await hook(page, 'unmask-confirm').click()
  await hook(page, 'unmasked-tag').waitFor()
  assert.equal((await hook(page, 'detail-doc').innerText()).trim(), doc)
})

test('a search with more than one page of results loads more on request', async () => {
  const { page } = b
  await page.goto(`${BASE()}/persons`)
  // Every generated address starts with the city's name.
  const city = (await (await page.context().request.get(`${BASE()}/api/areas`)).json()).items[0].name
  await inputHook(page, 'search-address').fill(city)
  await hook(page, 'search-submit').click()
  const rows = hook(page, 'persons-table').locator('tbody tr')
  await hook(page, 'load-more').waitFor()
  assert.equal(await rows.count(), 50)
  await hook(page, 'load-more').click()
  await rows.nth(50).waitFor()
  const ids = await rows.locator('a, .el-link').evaluateAll((els) => els.map((e) => e.getAttribute('data-test')))
  assert.equal(new Set(ids).size, ids.length, 'no person is listed twice')
  assert.ok(ids.length > 50 && ids.length <= 100)
})

test('the unmasking is in the audit log with its reason', async () => {
  const { page } = b
  await page.goto(`${BASE()}/audit`)
  const table = hook(page, 'audit-table')
  await table.locator('tbody tr').first().waitFor()
  await page.getByText('浏览器测试：核实身份').first().waitFor()
  await shot(page, 'audit.png')
  // And through the API, with the same session rules.
  const api = await apiAs(page.context().request, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  const res = await api.get('/audit?limit=50')
  assert.equal(res.status, 200)
  assert.ok(res.body.items.some((a) => a.reason === '浏览器测试：核实身份'))
})

test('the audit log exports as CSV (UTF-8 with BOM) after a reason is given', async () => {
  const { page } = b
  await page.goto(`${BASE()}/audit`)
  await hook(page, 'audit-table').locator('tbody tr').first().waitFor()
  await hook(page, 'audit-export').click()
  await inputHook(page, 'export-input').fill('浏览器测试：导出')
  const [download] = await Promise.all([page.waitForEvent('download'), hook(page, 'export-confirm').click()])
  const bytes = readFileSync(await download.path())
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf])
  assert.ok(bytes.toString('utf8').includes('浏览器测试：核实身份'), 'the unmask reason is in the export')
})

test('data retention: the administrator sees the rules and runs a dry-run purge', async () => {
  const { page } = b
  await page.goto(`${BASE()}/retention`)
  const rules = hook(page, 'retention-rules')
  await rules.locator('tbody tr').first().waitFor()
  const text = await rules.innerText()
  for (const label of ['已解除的管控记录', '入境名单', '登录会话', '审计日志']) assert.ok(text.includes(label), `rules lack ${label}`)
  await hook(page, 'retention-dry-run').click()
  await hook(page, 'retention-result').waitFor()
  assert.match(await hook(page, 'retention-result').innerText(), /将删除/)
  await hook(page, 'retention-last').waitFor()
  await shot(page, 'retention.png')
})

test('no script errors on the pages visited', () => {
  assert.deepEqual(b.problems, [])
})
