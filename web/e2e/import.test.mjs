// Import of a small persons CSV with one bad row: all-or-nothing writes nothing and lists the row
// error; valid-rows writes the good rows; the error report downloads as UTF-8 CSV with a BOM.
// Imports run as background jobs: the page submits, polls the job and then shows the report.
// A re-import with another name is an identity conflict, resolved on the duplicates page; an
// import run is undone from its report.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { BASE, apiAs, env, hook, inputHook, login, openBrowser, residentId } from './helpers.mjs'
import { shot } from './shots.mjs'

let b
let admin
let goodDocs
let badDoc
let csv
let area
let spareDoc

async function countByDoc(doc) {
  const res = await admin.get(`/persons?doc_number=${doc}`)
  assert.equal(res.status, 200)
  return res.body.items.length
}

before(async () => {
  b = await openBrowser()
  admin = await apiAs(b.context.request, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  // Place the new persons in the grid of an existing person, with ID numbers of its county.
  const other = await admin.get(`/persons?doc_number=${encodeURIComponent(env('BIHUAN_GRID_OTHER_DOC'))}`)
  area = other.body.items[0].area_code
  const county = area.slice(0, 6)
  // Sequence numbers 900-989 are unused by the generator's first persons; check to be sure.
  const docs = []
  for (let seq = 900; docs.length < 3 && seq < 990; seq++) {
    const doc = residentId(`${county}19880512${seq}`)
    if ((await countByDoc(doc)) === 0) docs.push(doc)
  }
  assert.equal(docs.length, 3)
  goodDocs = [docs[0], docs[2]]
  // Row 3 of the file: the right digits with a wrong check character.
  const right = docs[1]
  spareDoc = right
  badDoc = right.slice(0, 17) + (right[17] === '0' ? '1' : '0')
  // Chinese headers, as a registry office's spreadsheet has them; sex follows from the ID number.
  csv = [
    '证件号码,姓名,出生日期,手机号,网格编码,住址',
    `${docs[0]},测试甲,1988-05-12,13800001111,${area},测试路1号`,
    `${badDoc},测试乙,1988-05-12,13800002222,${area},测试路2号`,
    `${docs[2]},测试丙,1988-05-12,13800003333,${area},测试路3号`,
  ].join('\n') + '\n'
  await b.context.clearCookies()
  await login(b.page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
})
after(async () => {
  await b?.close()
})

async function runImport(page, mode, content = csv) {
  await page.goto(`${BASE()}/import`)
  await hook(page, 'import-kind-persons').click()
  await hook(page, `import-mode-${mode}`).click()
  await page.locator('input[data-test="import-file"]').setInputFiles({
    name: 'persons-test.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(content, 'utf8'),
  })
  await page.getByText('persons-test.csv').waitFor()
  await hook(page, 'import-submit').click()
  const report = hook(page, 'import-report')
  await report.waitFor()
  return report
}

async function stat(page, key) {
  const text = await hook(page, `stat-${key}`).locator('.stat-value').innerText()
  return Number(text.replace(/[^\d]/g, ''))
}

test('all-or-nothing: the bad row is listed and nothing is committed', async () => {
  const { page } = b
  const report = await runImport(page, 'all-or-nothing')
  assert.equal(await report.getAttribute('data-committed'), 'false')
  await hook(page, 'import-not-committed').waitFor()
  assert.equal(await stat(page, 'total_rows'), 3)
  assert.equal(await stat(page, 'rejected'), 1)
  assert.equal(await stat(page, 'inserted'), 0)
  const rows = hook(page, 'import-errors').locator('tbody tr')
  assert.equal(await rows.count(), 1)
  const cells = await rows.first().locator('td').allInnerTexts()
  assert.equal(cells[0].trim(), '3')
  assert.equal(cells[2].trim(), badDoc)
  await shot(page, 'import-all-or-nothing.png')
  for (const doc of goodDocs) assert.equal(await countByDoc(doc), 0, `${doc} must not be written`)
})

test('the error report downloads as CSV, UTF-8 with a BOM', async () => {
  const { page } = b
  const [download] = await Promise.all([page.waitForEvent('download'), hook(page, 'download-errors').click()])
  assert.match(download.suggestedFilename(), /\.csv$/)
  const bytes = readFileSync(await download.path())
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf])
  const lines = bytes.subarray(3).toString('utf8').trim().split(/\r?\n/)
  assert.equal(lines.length, 2)
  assert.equal(lines[0], '行号,列,值,原因')
  assert.ok(lines[1].startsWith(`3,`), lines[1])
  assert.ok(lines[1].includes(badDoc), lines[1])
})

test('valid-rows: the two good rows are committed, the bad one is reported', async () => {
  const { page } = b
  const report = await runImport(page, 'valid-rows')
  assert.equal(await report.getAttribute('data-committed'), 'true')
  await hook(page, 'import-committed').waitFor()
  assert.equal(await stat(page, 'accepted'), 2)
  assert.equal(await stat(page, 'rejected'), 1)
  assert.equal(await stat(page, 'inserted'), 2)
  assert.equal(await hook(page, 'import-errors').locator('tbody tr').count(), 1)
  await shot(page, 'import-valid-rows.png')
  for (const doc of goodDocs) assert.equal(await countByDoc(doc), 1, `${doc} must be written`)
  assert.equal(await countByDoc(badDoc), 0)
})

test('a re-import under another name is an identity conflict, resolved on the duplicates page', async () => {
  const { page } = b
  const conflictCsv = `证件号码,姓名,出生日期,手机号,网格编码,住址\n${goodDocs[0]},测试丁,1988-05-12,13800009999,${area},测试路9号\n`
  const report = await runImport(page, 'all-or-nothing', conflictCsv)
  assert.equal(await report.getAttribute('data-committed'), 'true')
  const rows = hook(page, 'import-conflicts').locator('tbody tr')
  assert.equal(await rows.count(), 1)
  const cells = await rows.first().locator('td').allInnerTexts()
  assert.equal(cells[0].trim(), '2')
  assert.equal(cells[2].trim(), '测试丁')
  await shot(page, 'import-conflict.png')
  // Nothing of the row was written.
  const before = (await admin.get(`/persons?doc_number=${goodDocs[0]}`)).body.items[0]
  assert.equal(before.name, '测试甲')
  assert.equal(before.address, '测试路1号')
  // The duplicates page lists it under 身份冲突; take the imported name.
  await page.goto(`${BASE()}/duplicates`)
  await page.locator('#tab-conflicts').click()
  const card = page.locator('[data-test^="conflict-"][data-status="open"]').filter({ hasText: '测试丁' }).first()
  await card.waitFor()
  assert.equal((await card.locator('[data-test="stored-name"]').innerText()).includes('测试甲'), true)
  await card.locator('[data-test="take-imported"]').click()
  await inputHook(page, 'resolve-input').fill('浏览器测试：户籍核实为测试丁')
  await hook(page, 'resolve-confirm').click()
  await page.locator('[data-test^="conflict-"][data-status="taken"]').filter({ hasText: '测试丁' }).first().waitFor()
  await shot(page, 'duplicates-conflicts.png')
  assert.equal((await admin.get(`/persons?doc_number=${goodDocs[0]}`)).body.items[0].name, '测试丁')
})

test('an import run is undone from its report', async () => {
  const { page } = b
  const one = `证件号码,姓名,出生日期,手机号,网格编码,住址\n${spareDoc},测试戊,1988-05-12,13800005555,${area},测试路5号\n`
  const report = await runImport(page, 'all-or-nothing', one)
  assert.equal(await report.getAttribute('data-committed'), 'true')
  assert.equal(await countByDoc(spareDoc), 1)
  await hook(page, 'import-undo').click()
  await inputHook(page, 'import-undo-input').fill('浏览器测试：撤销导入')
  await hook(page, 'import-undo-confirm').click()
  await hook(page, 'import-undone').waitFor()
  assert.equal(await countByDoc(spareDoc), 0)
})

test('no script errors on the pages visited', () => {
  assert.deepEqual(b.problems, [])
})
