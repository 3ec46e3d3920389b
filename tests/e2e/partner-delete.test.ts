import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linkByScan, newTenant, providerRow } from '../integration/api-support'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'
import { expectAccessible, newContext, shoot, statusLine } from './settings-support'
import { launchBrowser } from './support'

// Partner mode in Chromium (issue #16, decision 211): "Supprimer le numéro" is its own action
// with a confirmation that states the consequence and a box to tick, distinct from
// "Déconnecter". The app runs in this process against the simulator's Partner API (MSW), the
// browser talks to it over real HTTP.
const h = useWaApp({ partner: true })
let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

describe('partner mode: deleting the number from the settings page', () => {
  it('asks for a confirmation naming the consequence, refuses without the box, then deletes upstream and locally', async () => {
    const t = await newTenant()
    const instanceId = await linkByScan(h, t, '+33620000009')
    // Signed in as the tenant's owner: the session cookie a login would have set, sent by Chromium
    // with each request (a `__Host-` cookie cannot be planted for an http origin through CDP).
    const context = await newContext(browser)
    await context.setExtraHTTPHeaders({ 'Accept-Language': 'fr-FR', cookie: await sessionCookie(testDb(), t.userId) })
    const page = await context.newPage()
    await page.goto(`${h.app.url}/settings/whatsapp`)
    await statusLine(page).getByText('WhatsApp Pro Connecté').waitFor()

    // Two distinct actions on the connected card.
    await page.getByRole('button', { name: 'Déconnecter', exact: true }).waitFor()
    await page.getByRole('button', { name: 'Supprimer le numéro' }).click()
    await page.getByRole('heading', { name: 'Supprimer le numéro et son instance ?' }).waitFor()
    await expectAccessible(page, 'delete confirmation (partner)')
    await shoot(page, 'confirm-delete-number-fr')

    // Without the box: the browser does not send the form (the box is required; the server's own
    // refusal is proven over HTTP in lifecycle-partner), nothing deleted.
    const box = page.getByLabel('Je comprends que l’instance et ses identifiants seront supprimés définitivement.')
    await page.getByRole('button', { name: 'Oui, supprimer le numéro' }).click()
    expect(await box.evaluate((el) => (el as HTMLInputElement).validity.valueMissing)).toBe(true)
    await page.getByRole('heading', { name: 'Supprimer le numéro et son instance ?' }).waitFor()
    expect(h.sim.callCount({ method: 'deleteInstanceAccount' })).toBe(0)
    expect(h.sim.instance(instanceId)?.deleted).toBe(false)

    await box.check()
    await page.getByRole('button', { name: 'Oui, supprimer le numéro' }).click()
    await expect.poll(() => statusLine(page).textContent(), { timeout: 10_000 }).toContain('WhatsApp n’est pas connecté.')
    expect(h.sim.callCount({ method: 'deleteInstanceAccount' })).toBe(1)
    expect(h.sim.instance(instanceId)?.deleted).toBe(true)
    expect(await providerRow(t.tenantId)).toBeUndefined()
    await context.close()
  })
})
