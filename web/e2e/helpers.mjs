// Shared helpers of the browser tests: Debian's chromium driven by playwright-core, a fresh
// profile per browser, log-in through the console's own form, and the test environment.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function env(name) {
  const v = process.env[name]
  if (!v) throw new Error(`environment variable ${name} is required (see tests/e2e/run-browser-tests.sh)`)
  return v
}

export const BASE = () => env('BIHUAN_URL').replace(/\/$/, '')

// A browser with a fresh profile (cookies and localStorage start empty). `close()` removes it.
export async function openBrowser({ viewport = { width: 1366, height: 860 }, locale = 'zh-CN' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bihuan-chromium-'))
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.BIHUAN_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    locale,
    acceptDownloads: true,
    timeout: 60_000,
  })
  context.setDefaultTimeout(20_000)
  const page = context.pages()[0] || (await context.newPage())
  const problems = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  return {
    context,
    page,
    problems,
    async close() {
      await context.close().catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

// An element carrying data-test="name": Element Plus puts the attribute either on the native
// control (inputs) or on the component's root (buttons, tables, cards).
export function hook(page, name) {
  return page.locator(`[data-test="${name}"]`).first()
}
export function inputHook(page, name) {
  return page.locator(`input[data-test="${name}"], textarea[data-test="${name}"], [data-test="${name}"] input, [data-test="${name}"] textarea`).first()
}

export async function login(page, username, password) {
  await page.goto(`${BASE()}/login`)
  await inputHook(page, 'login-username').fill(username)
  await inputHook(page, 'login-password').fill(password)
  await hook(page, 'login-submit').click()
  await page.waitForURL((url) => !url.pathname.startsWith('/login'))
  // The header is always there; the side menu sits in a closed drawer on a phone.
  await hook(page, 'menu-toggle').waitFor()
}

export async function searchByDoc(page, doc) {
  await page.goto(`${BASE()}/persons`)
  await inputHook(page, 'search-doc').fill(doc)
  await hook(page, 'search-submit').click()
}

// Resident ID numbers: 17 digits and the ISO 7064 MOD 11-2 check character.
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
export function residentId(first17) {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]
  return first17 + '10X98765432'[sum % 11]
}
export function maskedForm(doc) {
  return `${doc.slice(0, 6)}${'*'.repeat(doc.length - 10)}${doc.slice(-4)}`
}

// Calls the API with the cookie of a separate request context (not the page's).
export async function apiAs(request, username, password) {
  const res = await request.post(`${BASE()}/api/auth/login`, { data: { username, password } })
  if (!res.ok()) throw new Error(`API login as ${username} failed: ${res.status()}`)
  return {
    async get(path) {
      const r = await request.get(`${BASE()}/api${path}`)
      return { status: r.status(), body: await r.json().catch(() => null) }
    },
    async post(path, data, method = 'post') {
      const r = await request[method](`${BASE()}/api${path}`, { data })
      return { status: r.status(), body: await r.json().catch(() => null) }
    },
  }
}
