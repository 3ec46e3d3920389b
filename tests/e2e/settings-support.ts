import fs from 'node:fs'
import path from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import jsQR from 'jsqr'
import pg from 'pg'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { PNG } from 'pngjs'
import { expect } from 'vitest'
import { DEMO_PASSWORD } from './support'

/** Helpers of the settings-page tests (tests/e2e/settings-*.test.ts). */
// `UPDATE_SCREENSHOTS=1 npm run test:e2e` refreshes the pictures of docs/settings-page.md in docs/screenshots;
// an ordinary run writes them to tests/.artifacts (ignored) so tests never dirty the tree.
export const SHOTS = path.resolve(
  __dirname,
  process.env.UPDATE_SCREENSHOTS === '1' ? '../../docs/screenshots' : '../.artifacts/screenshots',
)
export const MOBILE = { width: 375, height: 812 }
export const DESKTOP = { width: 1100, height: 860 }

/** Every Content-Security-Policy violation Chromium reported in any context (must stay empty). */
export const cspViolations: string[] = []

export async function newContext(
  browser: Browser,
  opts: { js?: boolean; locale?: string; viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    javaScriptEnabled: opts.js ?? true,
    locale: opts.locale ?? 'fr-FR',
    viewport: opts.viewport ?? DESKTOP,
    extraHTTPHeaders: { 'Accept-Language': opts.locale ?? 'fr-FR' },
  })
  context.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${msg.location().url}: ${msg.text()}`)
  })
  return context
}

/** Signs in through the real /login form (labels "E-mail" / "Mot de passe", or English). */
export async function signIn(page: Page, baseUrl: string, email: string, en = false): Promise<void> {
  await page.goto(`${baseUrl}/settings/whatsapp`)
  await expect.poll(() => new URL(page.url()).pathname, { timeout: 10_000 }).toBe('/login')
  await page.getByLabel(en ? 'Email' : 'E-mail', { exact: true }).fill(email)
  await page.getByLabel(en ? 'Password' : 'Mot de passe', { exact: true }).fill(DEMO_PASSWORD)
  await page.getByRole('button', { name: en ? 'Sign in' : 'Se connecter' }).click()
  await page.waitForURL((u) => u.pathname === '/settings/whatsapp')
}

/** The status line (polite live region) of the panel. */
export const statusLine = (page: Page) => page.locator('#wa-status')

/** Reads the QR image the page shows and decodes it (jsQR on the PNG data URL). */
export async function decodeQr(page: Page): Promise<string> {
  const img = page.getByRole('img', { name: /QR code/ })
  await img.waitFor()
  const src = await img.getAttribute('src')
  expect(src).toMatch(/^data:image\/png;base64,/)
  const png = PNG.sync.read(Buffer.from(src!.split(',')[1]!, 'base64'))
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)
  expect(decoded, 'the QR image decodes').not.toBeNull()
  return decoded!.data
}

/**
 * Starts a QR link attempt with the expected-number field set to `expected` (decision 200). The
 * page prefills the last linked number; a journey that links another phone clears it, as the
 * field's hint tells a user to.
 */
export async function connectByQr(
  page: Page,
  { en = false, expected = '' }: { en?: boolean; expected?: string } = {},
): Promise<void> {
  await page.getByLabel(en ? 'Expected number (optional)' : 'Numéro attendu (facultatif)').fill(expected, { timeout: 10_000 })
  await page.getByRole('button', { name: en ? 'Connect my WhatsApp' : 'Connecter mon WhatsApp' }).click({ timeout: 10_000 })
}

/** The simulated phone scans: POST the QR's URL with our phone number (no login: it is a phone). */
export async function scanWithPhone(scanUrl: string, phoneNumber: string): Promise<void> {
  const res = await fetch(scanUrl, { method: 'POST', body: new URLSearchParams({ phoneNumber }) })
  expect(res.status, await res.clone().text()).toBe(200)
}

/** axe on the current page: no serious or critical violation. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze()
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  expect(
    bad.map((v) => `${label}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    `axe on ${label}`,
  ).toEqual([])
}

export async function shoot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true })
  // No blinking caret or mid-animation frame in the picture.
  await page
    .addStyleTag({ content: '*,*::before,*::after{animation:none!important;caret-color:transparent!important}' })
    .catch(() => {})
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
}

/** Direct SQL on the test file's database (the one the server under test uses). */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}
