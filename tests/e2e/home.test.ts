import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, startServer, type RunningServer } from './support'

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

describe('the app in Chromium', () => {
  it('serves the home page', async () => {
    const page = await browser.newPage()
    const res = await page.goto(server.url)
    expect(res?.status()).toBe(200)
    await expect(page.title()).resolves.toBe('WhatsApp Pro')
    expect(await page.locator('h1').first().textContent()).toContain('WhatsApp Pro')
  })

  it('prints the URL and demo logins on start, never the JWT secret', () => {
    expect(server.output()).toContain('admin@macrea.test')
    expect(server.output()).not.toContain('e2e-jwt-secret')
  })
})
