// Screenshots for a person to look at: written only when BIHUAN_SCREENSHOTS names a folder.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

export async function shot(page, name) {
  const dir = process.env.BIHUAN_SCREENSHOTS
  if (!dir) return
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: join(dir, name), fullPage: true })
}
