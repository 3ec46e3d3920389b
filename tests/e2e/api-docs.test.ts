import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, startServer, type RunningServer } from './support'

// /api/docs in Chromium under the app's real CSP: Swagger UI renders every operation of the
// document, with no CSP violation and no request to another origin.
let server: RunningServer
let browser: Browser
beforeAll(async () => {
  server = await startServer()
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('the API reference in Chromium', () => {
  it('renders every operation of /api/openapi.json under the nonce CSP', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>
    }
    const operations = Object.values(doc.paths).flatMap((item) => Object.values(item))
    expect(operations.length).toBeGreaterThanOrEqual(10)

    const page = await browser.newPage()
    const violations: string[] = []
    const foreign: string[] = []
    const consoleErrors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) foreign.push(r.url())
    })
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v))
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { reportViolation(v: string): void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
      )
    })
    const res = await page.goto(`${server.url}/api/docs`)
    expect(res?.status()).toBe(200)
    await page
      .locator('.opblock')
      .nth(operations.length - 1)
      .waitFor({ timeout: 15_000 })
    expect(await page.locator('.opblock').count()).toBe(operations.length)
    await expect(page.locator('.opblock-summary-description').allTextContents()).resolves.toContain(
      'Connection status of the tenant WhatsApp',
    )
    expect(await page.locator('.info .title').first().textContent()).toContain('WhatsApp Pro API')
    await page.screenshot({ path: 'tests/.artifacts/api-docs.png', fullPage: true })
    expect(violations).toEqual([])
    expect(foreign).toEqual([])
    expect(consoleErrors).toEqual([])
  })
})
