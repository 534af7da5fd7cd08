// Emergency response (应急响应) end to end: the administrator declares a level IV response over
// the grid's district, starts the local-case playbook by hand, works the first task (checklist,
// note) and sees its clock close in time, writes the incident log and reads the situation
// report; the investigator finds its own tasks of the event on its task list. Needs the routes of
// docs/API-response.md and the accounts tests/e2e/run-browser-tests.sh makes.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, env, hook, inputHook, login, openBrowser } from './helpers.mjs'
import { shot } from './shots.mjs'

let desk

before(async () => {
  desk = await openBrowser()
})
after(async () => {
  await desk?.close()
})

test('a level, a playbook by hand, a task done in time, the log and the report', async () => {
  const page = desk.page
  const district = env('BIHUAN_GRID_AREA').slice(0, 6)
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  await page.goto(`${BASE()}/response`)
  await hook(page, 'response-levels').waitFor()

  // Declare level IV over the district.
  await hook(page, 'declare-level').click()
  await hook(page, 'declare-level-select').click()
  await page.locator('.declare-level-popper .el-select-dropdown__item', { hasText: '四级响应' }).first().click()
  await inputHook(page, 'declare-area').fill(district)
  await inputHook(page, 'declare-reason').fill('出现本土病例（演练）')
  await hook(page, 'declare-confirm').click()
  await page.locator('[data-test="response-levels"]', { hasText: '四级响应（一般）' }).waitFor()

  // Start the local-case playbook by hand over the district.
  await hook(page, 'start-event').click()
  await inputHook(page, 'start-area').fill(district)
  await inputHook(page, 'start-title').fill('演练事件E2E')
  await inputHook(page, 'start-note').fill('演练：手动启动')
  await hook(page, 'start-confirm').click()
  await page.waitForURL(/\/response\/events\/\d+$/)
  const eventId = page.url().split('/').pop()
  await hook(page, 'tasks-table').waitFor()
  await hook(page, 'clock-chart').waitFor()
  assert.match(await hook(page, 'clock-on_site').textContent(), /剩余 1 小时 59 分|剩余 2 小时 0 分|剩余 1 小时 5\d 分/)

  // The team on site: tick the checklist, complete with a note.
  const row = page.locator('[data-test="tasks-table"] tr', { hasText: '流调队伍到达现场' }).first()
  await row.locator('.el-table__expand-icon').click()
  for (const i of [0, 1]) {
    const checked = page.waitForResponse((r) => r.url().includes('/check') && r.request().method() === 'POST')
    await hook(page, `check-on_site-${i}`).click()
    assert.equal((await checked).status(), 200)
  }
  await hook(page, 'done-on_site').click()
  await inputHook(page, 'done-note').fill('已到达病例住所')
  await hook(page, 'done-confirm').click()
  await page.locator('[data-test="tasks-table"] tr', { hasText: '按时完成' }).first().waitFor()
  await shot(page, 'response-event')

  // The incident log and the situation report.
  await inputHook(page, 'log-text').fill('召开首次调度会')
  await hook(page, 'log-add').click()
  await page.locator('[data-test="incident-log"]', { hasText: '召开首次调度会' }).waitFor()
  assert.match(await hook(page, 'incident-log').textContent(), /流调队伍到达现场」完成：已到达病例住所/)
  assert.match(await hook(page, 'situation-text').textContent(), /疫情处置情况报告/)
  assert.match(await hook(page, 'situation-text').textContent(), /应急响应级别：四级响应（一般）/)

  // The investigator's task list holds the core investigation of this event, not the manager's tasks.
  await page.context().clearCookies()
  await login(page, env('BIHUAN_CDC_USER'), env('BIHUAN_CDC_PASS'))
  await page.goto(`${BASE()}/response/tasks`)
  await hook(page, 'my-tasks').waitFor()
  const mine = page.locator('[data-test="my-tasks"] tr', { hasText: '演练事件E2E' })
  await mine.filter({ hasText: '核心信息流调' }).first().waitFor()
  assert.equal(await mine.filter({ hasText: '划定并发布风险区' }).count(), 0)  // the command centre's
  await mine.filter({ hasText: '核心信息流调' }).first().click()
  await page.waitForURL((url) => url.pathname === `/response/events/${eventId}`)
  await hook(page, 'tasks-table').waitFor()
  assert.doesNotMatch(await hook(page, 'tasks-table').textContent(), /划定并发布风险区/)
})

test("a playbook's proposed response level is offered on its event and declared in one step", async () => {
  const { page } = desk
  await page.context().clearCookies()
  await login(page, env('BIHUAN_ADMIN_USER'), env('BIHUAN_ADMIN_PASS'))
  // Another district than the first test's (where level IV is in force): the risk test's.
  const district = env('BIHUAN_RISK_GRID').slice(0, 6)
  await page.goto(`${BASE()}/response`)
  await hook(page, 'start-event').click()
  await hook(page, 'start-playbook').click()
  await page.locator('.start-playbook-popper .el-select-dropdown__item', { hasText: '聚集性疫情处置' }).first().click()
  await inputHook(page, 'start-area').fill(district)
  await inputHook(page, 'start-title').fill('聚集性疫情演练E2E')
  await inputHook(page, 'start-note').fill('演练：聚集性疫情')
  await hook(page, 'start-confirm').click()
  await page.waitForURL(/\/response\/events\/\d+$/)
  const offer = hook(page, 'proposed-level')
  await offer.waitFor()
  assert.match(await offer.innerText(), /本土疫情应急状态（区县）/)
  await hook(page, 'declare-proposed').click()
  await offer.waitFor({ state: 'detached' })
  await page.goto(`${BASE()}/response`)
  await page.locator('[data-test="response-levels"]', { hasText: '本土疫情应急状态（区县）' }).waitFor()
})
