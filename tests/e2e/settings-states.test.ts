import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { langCookie } from '../../app/utils/lang.server'
import { WEBHOOK_TOKEN_LOCATION } from '../../domain/whatsapp'
import { SIM_PROFILE_NAME } from '../../adapters/green-api/simulator'
import {
  MOBILE,
  decodeQr,
  expectAccessible,
  newContext,
  scanWithPhone,
  connectByQr,
  shoot,
  signIn,
  sql,
  statusLine,
  cspViolations,
} from './settings-support'
import { launchBrowser, startServer, type RunningServer } from './support'

// The other states of the settings page: disabled tenant (upsell), member (read only), English,
// the degraded Green-API states, and an upstream outage shown as a readable message.
const ENCRYPTION_KEYS = `e2e:${Buffer.alloc(32, 7).toString('base64')}`
let server: RunningServer
let browser: Browser
beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer({ WA_ENCRYPTION_KEYS: ENCRYPTION_KEYS }), launchBrowser()])
})
afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

// The nonce-based Content-Security-Policy (server/security-headers.ts) blocks nothing the app needs.
afterEach(() => expect(cspViolations).toEqual([]))

const statusText = (page: Page) => statusLine(page).textContent()
const waitStatus = (page: Page, text: string) => expect.poll(() => statusText(page), { timeout: 10_000 }).toContain(text)

/** Green-API's `stateInstanceChanged` webhook for macrea's instance, signed with its token. */
async function pushState(state: string): Promise<void> {
  const [row] = await sql<{ id: string; encrypted_webhook_token: string }>(
    `select id, encrypted_webhook_token from wa_instances where tenant_id = 'macrea'`,
  )
  const token = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: ENCRYPTION_KEYS })).decrypt(
    row!.encrypted_webhook_token,
    WEBHOOK_TOKEN_LOCATION,
  )
  const res = await fetch(`${server.url}/api/wa/webhooks/green-api/${row!.id}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      typeWebhook: 'stateInstanceChanged',
      instanceData: { idInstance: Number(row!.id) },
      stateInstance: state,
    }),
  })
  expect(res.status).toBe(200)
}

describe('disabled tenant', () => {
  it('shows the upsell and records the upgrade request once, however many clicks', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await signIn(page, server.url, 'admin@blocked.test')
    await waitStatus(page, 'WhatsApp Pro n’est pas activé pour votre compte.')
    await page.getByText(/^\+15\s€\/mois$/).waitFor()
    expect(await page.getByRole('button', { name: 'Connecter mon WhatsApp' }).count()).toBe(0)
    await expectAccessible(page, 'disabled')
    await shoot(page, 'disabled-fr')

    const cta = page.getByRole('button', { name: 'Activer WhatsApp Pro' })
    await cta.click()
    await page.getByText('Demande enregistrée.', { exact: false }).waitFor()
    await cta.click()
    await page.getByText('Votre demande est déjà enregistrée', { exact: false }).waitFor()
    await cta.click()
    await page.locator('form[aria-busy]').waitFor({ state: 'detached' })
    await page.getByText('Votre demande est déjà enregistrée', { exact: false }).waitFor()
    await shoot(page, 'disabled-requested-fr')
    const rows = await sql<{ n: number }>(
      `select count(*)::int as n from upgrade_requests where tenant_id = 'test_tenant_blocked'`,
    )
    expect(rows[0]!.n).toBe(1)
    // The SSE stream is refused for a disabled tenant: the page does not open it at all.
    await page.setViewportSize(MOBILE)
    await shoot(page, 'disabled-fr-mobile')
    await context.close()

    const en = await newContext(browser, { locale: 'en-US' })
    const enPage = await en.newPage()
    await signIn(enPage, server.url, 'admin@blocked.test', true)
    await enPage.getByText('+€15/month', { exact: true }).waitFor()
    await enPage.getByRole('button', { name: 'Enable WhatsApp Pro' }).waitFor()
    await shoot(enPage, 'disabled-en')
    await en.close()
  })
})

describe('enabled tenant in English, members, degraded states', () => {
  it('follows Accept-Language, switches language by cookie, shows members the state without buttons', async () => {
    const context = await newContext(browser, { locale: 'en-US' })
    const page = await context.newPage()
    await signIn(page, server.url, 'admin@macrea.test', true)
    await waitStatus(page, 'WhatsApp is not connected.')
    expect(await page.getAttribute('html', 'lang')).toBe('en')
    await page.getByRole('button', { name: 'Connect my WhatsApp' }).waitFor()
    await page.getByText('Link with a phone number').waitFor()
    await expectAccessible(page, 'not connected (en)')
    await shoot(page, 'not-connected-en')

    await connectByQr(page, { en: true })
    await waitStatus(page, 'Waiting for connection...')
    await page.getByRole('button', { name: 'Generate a new QR code' }).waitFor()
    await shoot(page, 'waiting-qr-en')
    await scanWithPhone(await decodeQr(page), '+447700900123')
    await statusLine(page).getByText('WhatsApp Pro Connected').waitFor({ timeout: 5_000 })
    await page.getByRole('button', { name: 'Send a test' }).waitFor()
    await expectAccessible(page, 'connected (en)')
    await shoot(page, 'connected-en')

    // The linked account's profile (decision 240): fetched in the background, pushed to the page,
    // the picture loaded from our own origin (the CSP's img-src 'self' would block any other).
    await page.locator('.wa-profile-name').getByText(SIM_PROFILE_NAME, { exact: true }).waitFor({ timeout: 10_000 })
    const avatar = page.getByRole('img', { name: `WhatsApp profile picture of ${SIM_PROFILE_NAME}` })
    await avatar.waitFor()
    await expect
      .poll(() => avatar.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 5_000 })
      .toBeGreaterThan(0)
    const src = await avatar.evaluate((img: HTMLImageElement) => ({ src: img.currentSrc, origin: window.location.origin }))
    expect(new URL(src.src).origin).toBe(src.origin)
    expect(new URL(src.src).pathname).toBe('/api/wa/profile-picture')
    await expectAccessible(page, 'connected with profile (en)')
    await shoot(page, 'connected-profile-en')

    // The language switch (a POST form setting the `lang` cookie) wins over Accept-Language.
    await page.getByRole('button', { name: 'Français' }).click()
    await statusLine(page).getByText('WhatsApp Pro Connecté').waitFor()
    expect(await page.getAttribute('html', 'lang')).toBe('fr')
    const chosen = (await context.cookies()).find((c) => c.name === 'lang')
    expect(await langCookie.parse(`lang=${chosen?.value}`)).toBe('fr')

    // A member sees the state, not the buttons.
    const member = await newContext(browser)
    const memberPage = await member.newPage()
    await signIn(memberPage, server.url, 'member@macrea.test')
    await statusLine(memberPage).getByText('WhatsApp Pro Connecté').waitFor()
    await memberPage.getByText('+447700900123', { exact: true }).waitFor()
    expect(await memberPage.locator('main button').count()).toBe(0)
    await memberPage.getByText('Seuls les propriétaires et administrateurs peuvent modifier la connexion WhatsApp.').waitFor()
    await expectAccessible(memberPage, 'connected (member)')
    await shoot(memberPage, 'connected-member-fr')
    await member.close()

    // Degraded states pushed by Green-API webhooks: each says what it means and what to do.
    const degraded: Array<[string, string, string]> = [
      ['yellowCard', 'Compte WhatsApp limité temporairement (carton jaune).', 'N’envoyez aucun message pendant 24 heures'],
      ['blocked', 'Numéro bloqué par WhatsApp.', 'Contactez le support WhatsApp'],
      ['sleepMode', 'Téléphone hors ligne.', 'Vérifiez qu’il est allumé'],
      ['starting', 'WhatsApp démarre…', 'jusqu’à 5 minutes'],
    ]
    for (const [state, headline, help] of degraded) {
      await pushState(state)
      await statusLine(page).getByText(headline).waitFor({ timeout: 5_000 })
      await page.getByText(help, { exact: false }).waitFor()
      await expectAccessible(page, state)
      await shoot(page, `degraded-${state}-fr`)
    }
    await pushState('authorized')
    await statusLine(page).getByText('WhatsApp Pro Connecté').waitFor({ timeout: 5_000 })
    await page.getByRole('button', { name: 'Déconnecter', exact: true }).click()
    await page.getByRole('button', { name: 'Oui, déconnecter' }).click()
    await waitStatus(page, 'WhatsApp n’est pas connecté.')
    await context.close()
  })

  it('shows an upstream outage as a readable message next to the button, not an error page', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await signIn(page, server.url, 'admin@macrea.test')
    await waitStatus(page, 'WhatsApp n’est pas connecté.')
    // Green-API unreachable for every free instance.
    const saved = await sql<{ id: string; api_url: string }>(`select id, api_url from wa_instances where tenant_id is null`)
    await sql(`update wa_instances set api_url = 'http://127.0.0.1:9/down' where tenant_id is null`)
    try {
      await page.getByRole('button', { name: 'Connecter mon WhatsApp' }).click()
      // The attempt may have started before Green-API failed: then the waiting view explains it
      // where the QR would be; else the message sits under the button. Either way: readable.
      const alert = page
        .getByRole('alert')
        .filter({ hasText: /Le service WhatsApp ne répond pas pour le moment\. Réessayez dans \d+\ss\./ })
      await alert.first().waitFor({ timeout: 15_000 })
      expect(await page.locator('h1').first().textContent()).toBe('WhatsApp Pro')
      await expectAccessible(page, 'upstream down')
      await shoot(page, 'error-upstream-fr')
      if ((await statusText(page))?.includes('En attente')) {
        await page.getByRole('button', { name: 'Annuler' }).click()
        await waitStatus(page, 'WhatsApp n’est pas connecté.')
      }
    } finally {
      for (const row of saved) await sql(`update wa_instances set api_url = $1 where id = $2`, [row.api_url, row.id])
    }
    await context.close()
  })
})
