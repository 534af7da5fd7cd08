// Language switch: Chinese by default, English on request, kept across reloads; Element Plus's
// own texts follow.
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

async function datePickerFooter(page) {
  await page.goto(`${BASE()}/audit`)
  await hook(page, 'audit-range').locator('input').first().click()
  const footer = page.locator('.el-picker-panel__footer').last()
  await footer.waitFor({ state: 'visible' })
  const text = await footer.innerText()
  await page.keyboard.press('Escape')
  return text
}

test('the console starts in Chinese, Element Plus included', async () => {
  const { page } = b
  assert.match(await hook(page, 'side-menu').innerText(), /人员查询/)
  assert.match(await datePickerFooter(page), /确定/)
})

test('switching to English changes the console and Element Plus, and survives a reload', async () => {
  const { page } = b
  await page.goto(`${BASE()}/persons`)
  await hook(page, 'lang-toggle').click()
  await page.getByText('Person search').first().waitFor()
  assert.equal(await page.locator('html').getAttribute('lang'), 'en')
  const menu = await hook(page, 'side-menu').innerText()
  for (const label of ['Areas & counts', 'Person search', 'Import', 'Audit log']) assert.ok(menu.includes(label), menu)
  await shot(page, 'english.png')
  await page.reload()
  await hook(page, 'side-menu').waitFor()
  assert.match(await hook(page, 'side-menu').innerText(), /Person search/)
  assert.match(await datePickerFooter(page), /OK/)
})

test('switching back to Chinese', async () => {
  const { page } = b
  await hook(page, 'lang-toggle').click()
  await page.getByText('人员查询').first().waitFor()
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN')
})

test('no script errors on the pages visited', () => {
  assert.deepEqual(b.problems, [])
})
