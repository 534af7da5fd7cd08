// Time to first paint of the public portal on a phone-sized Chromium (issue 10's measure):
//   node bench/portal-paint.mjs URL REPS
// For each page, REPS cold loads (a fresh browser context: empty cache), each timing the first
// contentful paint (the browser's own entry) and the moment the page's data is on screen (its
// figures or list visible). Prints one JSON document with p50/p99/max in ms per page.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(fileURLToPath(new URL('../web/package.json', import.meta.url)))
const { chromium } = require('playwright-core')

const [base, repsText] = process.argv.slice(2)
const reps = Number(repsText || 20)
const pages = [
  { name: 'home', path: '/p/', ready: '[data-test="portal-confirmed-local"]' },
  { name: 'bulletins', path: '/p/bulletins', ready: '[data-test="portal-bulletins"] li' },
  { name: 'bulletin_day', path: null, ready: '[data-test="portal-bulletin-text"]' },
  { name: 'risk', path: '/p/risk', ready: '[data-test="portal-risk-district"] option:nth-child(2)' },
]
const browser = await chromium.launch({
  executablePath: process.env.BIHUAN_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
})
const pct = (xs, q) => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]
const out = { base, reps, pages: {} }
let day = null
for (const p of pages) {
  const fcp = []
  const ready = []
  for (let r = 0; r < reps; ++r) {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' })
    const page = await ctx.newPage()
    if (!p.path) p.path = `/p/bulletins/${day}`
    await page.goto(`${base}${p.path}`, { waitUntil: 'commit' })
    await page.waitForSelector(p.ready, { state: 'attached', timeout: 30000 })
    const t = await page.evaluate(() => ({
      ready: performance.now(),
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    }))
    if (p.name === 'bulletins' && !day) day = await page.locator('[data-test="portal-bulletins"] li a').first().getAttribute('href').then((h) => h.split('/').pop())
    ready.push(t.ready)
    if (t.fcp !== null) fcp.push(t.fcp)
    await ctx.close()
  }
  fcp.sort((a, b) => a - b)
  ready.sort((a, b) => a - b)
  out.pages[p.name] = {
    path: p.path,
    fcp_p50_ms: pct(fcp, 0.5), fcp_p99_ms: pct(fcp, 0.99),
    ready_p50_ms: pct(ready, 0.5), ready_p99_ms: pct(ready, 0.99), ready_max_ms: ready[ready.length - 1],
  }
}
await browser.close()
console.log(JSON.stringify(out, null, 2))
