// The daily bulletin and the public portal end to end: the administrator generates yesterday's
// bulletin on the 疫情通报 page, reviews and publishes it, writes and publishes an article; a
// phone-sized browser without a login opens the portal (/p/), sees the bulletin's figures and
// text, the risk areas, the measures for a traveller, the article, open data, and switches to
// English; the portal loads none of the console's code.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as pwRequest } from 'playwright-core'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk
let phone
let req
let admin
let day = ''
const title = `秋冬季防护提示 ${Date.now()}`

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

test('the centre generates, reviews and publishes the daily bulletin and an article', async () => {
  const { page } = desk
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/bulletins`)
  await hook(page, 'bulletin-generate').click()
  const detail = hook(page, 'bulletin-detail')
  await detail.waitFor()
  assert.match(await hook(page, 'bulletin-status').innerText(), /草稿/)
  const text = await hook(page, 'bulletin-text').innerText()
  assert.match(text, /0—24时，.+新增确诊病例\d+例/)
  day = /(\d{4}-\d{2}-\d{2})/.exec(await detail.locator('.el-card__header').innerText())[1]
  await inputHook(page, 'bulletin-note').fill('数据已核对')
  await hook(page, 'bulletin-save').click()
  await page.getByText('已保存').first().waitFor()
  await hook(page, 'bulletin-publish').click()
  // A day published before (an earlier run on the same data) is a correction: it asks why.
  const reason = inputHook(page, 'bulletin-reason')
  if (await reason.isVisible().catch(() => false)) {
    await reason.fill('复核')
    await hook(page, 'bulletin-reason-confirm').click()
  }
  await page.getByText('已发布').first().waitFor()
  assert.match(await hook(page, 'bulletin-status').innerText(), /已发布/)
  await shot(page, 'bulletin.png')

  // The Excel export answers a workbook.
  const list = await admin.get('/bulletins?status=published')
  assert.equal(list.status, 200)
  const id = list.body.items.find((b) => b.day === day).id
  const xlsx = await req.get(`${BASE()}/api/bulletins/${id}?format=xlsx`)
  assert.equal(xlsx.status(), 200)
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK')

  // An article: written, then published on the portal.
  await page.getByRole('tab', { name: '宣传文章' }).click()
  await hook(page, 'article-new').click()
  await inputHook(page, 'article-title').fill(title)
  await inputHook(page, 'article-summary').fill('勤洗手、戴口罩、常通风')
  await inputHook(page, 'article-body').fill('进入室内公共场所请佩戴口罩，保持一米线。')
  await hook(page, 'article-save').click()
  const row = hook(page, 'articles-table').locator('tr', { hasText: title })
  await row.waitFor()
  await row.getByRole('button', { name: '发布' }).click()
  await row.getByText('已发布').waitFor()
})

test('the public portal on a phone: bulletin, risk areas, travel measures, articles, open data, English', async () => {
  const { page } = phone
  const scripts = []
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(r.url())
  })
  await page.goto(`${BASE()}/p/`)
  const latest = hook(page, 'portal-latest')
  await latest.getByText(day).waitFor()
  assert.match(await latest.innerText(), /新增本土确诊/)
  await shot(page, 'portal-phone.png')
  // Nothing of the console: no Element Plus, no console entry.
  assert.ok(!scripts.some((u) => /\/assets\/main-/.test(u)), scripts.join('\n'))
  // No horizontal scrolling on a phone.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1))

  await latest.getByRole('link').last().click()
  await hook(page, 'portal-bulletin-text').waitFor()
  assert.match(await hook(page, 'portal-bulletin-text').innerText(), /0—24时/)

  await page.goto(`${BASE()}/p/risk`)
  // The districts are offered once they have loaded.
  await hook(page, 'portal-risk-district').locator('option').nth(1).waitFor({ state: 'attached' })

  await page.goto(`${BASE()}/p/travel`)
  const select = hook(page, 'portal-travel-district')
  await select.locator('option').nth(1).waitFor({ state: 'attached' })
  await select.selectOption({ index: 1 })
  const high = hook(page, 'portal-travel-high')
  await high.waitFor()
  assert.match(await high.innerText(), /集中隔离 7 天/)

  await page.goto(`${BASE()}/p/articles`)
  await hook(page, 'portal-articles').getByText(title).click()
  await hook(page, 'portal-article').getByText('保持一米线').waitFor()

  const csv = await req.get(`${BASE()}/api/public/open-data/daily.csv`)
  assert.equal(csv.status(), 200)
  const body = await csv.text()
  assert.match(body, /^date,area_code,revision,confirmed,/)
  assert.ok(body.includes(`\n${day},`), body)

  await page.goto(`${BASE()}/p/`)
  await hook(page, 'portal-lang').click()
  await page.getByText('COVID-19 public service').first().waitFor()
  assert.equal(await page.locator('html').getAttribute('lang'), 'en')
  await page.reload()
  await hook(page, 'portal-latest').getByText('latest bulletin').waitFor()
  assert.deepEqual(phone.problems, [])
})
