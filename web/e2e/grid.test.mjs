// Grid worker: sees only their own grid. A person of another grid is neither found nor shown.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser, searchByDoc } from './helpers.mjs'
import { shot } from './shots.mjs'

let b
let otherId
before(async () => {
  b = await openBrowser({ viewport: { width: 390, height: 844 } }) // a phone
  // The other grid's person's record id, looked up as the administrator.
  const admin = await apiAs(b.context.request, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  const res = await admin.get(`/persons?doc_number=${encodeURIComponent(env('BIHUAN_GRID_OTHER_DOC'))}`)
  assert.equal(res.status, 200)
  assert.equal(res.body.items.length, 1)
  otherId = res.body.items[0].id
  await b.context.clearCookies()
})
after(async () => {
  await b?.close()
})

test('grid worker logs in on a phone-sized screen; the menu holds only permitted pages', async () => {
  const { page } = b
  await login(page, env('BIHUAN_GRID_USER'), env('BIHUAN_GRID_PASS'))
  await hook(page, 'menu-toggle').click()
  const menu = hook(page, 'side-menu')
  await menu.waitFor({ state: 'visible' })
  const text = await menu.innerText()
  assert.ok(text.includes('人员查询'), text)
  assert.ok(!text.includes('用户与角色') && !text.includes('审计日志') && !text.includes('数据导入'), text)
  await shot(page, 'grid-menu-phone.png')
})

test('grid worker finds a person of their own grid by name', async () => {
  const { page } = b
  await page.goto(`${BASE()}/persons`)
  await inputHook(page, 'search-name').fill(env('BIHUAN_GRID_OWN_NAME'))
  await hook(page, 'search-submit').click()
  const rows = hook(page, 'persons-table').locator('tbody tr')
  await rows.first().waitFor()
  assert.ok((await rows.count()) >= 1)
  await shot(page, 'grid-search-phone.png')
})

test("grid worker searching the other grid's person by ID number gets no result", async () => {
  const { page } = b
  await searchByDoc(page, env('BIHUAN_GRID_OTHER_DOC'))
  await hook(page, 'search-empty').waitFor()
  assert.equal(await hook(page, 'persons-table').locator('tbody tr').count(), 0)
})

test("opening the other grid's person directly shows the not-found message", async () => {
  const { page } = b
  await page.goto(`${BASE()}/persons/${otherId}`)
  const err = hook(page, 'detail-error')
  await err.waitFor()
  assert.equal(await err.getAttribute('data-status'), '404')
  assert.match(await err.innerText(), /记录不存在或不在您的管辖范围内/)
  assert.equal(await hook(page, 'person-detail').count(), 0)
  await shot(page, 'grid-404-phone.png')
})

test('a page the grid worker may not use sends them back to a permitted one', async () => {
  const { page } = b
  await page.goto(`${BASE()}/users`)
  await page.waitForURL((u) => !u.pathname.startsWith('/users'))
  assert.equal(await hook(page, 'users-table').count(), 0)
})

test('when the session is gone, the next API answer (401) leads to the login form', async () => {
  const { page } = b
  await page.goto(`${BASE()}/persons`)
  await inputHook(page, 'search-name').waitFor()
  const cookies = await b.context.cookies()
  await b.context.clearCookies()
  await inputHook(page, 'search-name').fill(env('BIHUAN_GRID_OWN_NAME'))
  await hook(page, 'search-submit').click()
  await page.waitForURL(/\/login\?redirect=/)
  await inputHook(page, 'login-username').waitFor()
  await b.context.addCookies(cookies)
})

test('after logging out, any page leads to the login form', async () => {
  const { page } = b
  await page.goto(`${BASE()}/persons`)
  await hook(page, 'user-menu').click()
  await hook(page, 'logout').click()
  await page.waitForURL(/\/login/)
  await page.goto(`${BASE()}/persons/${otherId}`)
  await page.waitForURL(/\/login/)
  await inputHook(page, 'login-username').waitFor()
})

test('no script errors on the pages visited', () => {
  assert.deepEqual(b.problems, [])
})
