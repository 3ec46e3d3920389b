import { describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { decodeQr, useWaApp } from '../utils/wa-harness'
import { askPairingCodeOnPage, newTenant, post, type TenantActor } from './api-support'

// Simulator mode (decision 216): the waiting page links the simulated phone (the URL the QR
// encodes, or the pairing screen with the code), owners and admins find /dev/simulator in the
// settings navigation, and a member sent there is told they are not allowed (decision 217).
// tests/integration/simulator-links-off.test.ts: none of it outside simulator mode.
const h = useWaApp()

async function page(t: TenantActor, path = '/settings/whatsapp', lang = 'fr'): Promise<Response> {
  return fetch(`${h.app.url}${path}`, {
    headers: {
      cookie: await sessionCookie(testDb(), t.userId),
      'accept-language': lang,
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    },
    redirect: 'manual',
  })
}

async function html(t: TenantActor, lang = 'fr'): Promise<string> {
  const res = await page(t, '/settings/whatsapp', lang)
  expect(res.status).toBe(200)
  return res.text()
}

const unescape = (s: string) => s.replace(/&amp;/g, '&')
const linkTo = (body: string, text: string): string | undefined =>
  [...body.matchAll(/<a\b[^>]*href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].find((m) => m[2] === text)?.[1]

describe('the waiting page links the simulated phone', () => {
  it('"Ouvrir le téléphone simulé" is the URL the QR on the page encodes', async () => {
    const t = await newTenant()
    expect(linkTo(await html(t), 'Ouvrir le téléphone simulé')).toBeUndefined()
    expect((await post(h, '/api/wa/qr/generate', t)).status).toBe(200)
    const body = await html(t)
    const href = linkTo(body, 'Ouvrir le téléphone simulé')
    expect(href).toBeDefined()
    const qr = /<img[^>]*class="wa-qr"[^>]*src="(data:image\/png;base64,[^"]+)"/.exec(body)?.[1]
    expect(qr).toBeDefined()
    expect(unescape(href!)).toBe(await decodeQr(qr!))
    expect(href).toMatch(/\/dev\/simulator\/scan\/\d+\/[0-9a-f]+$/)
    // In English too.
    expect(linkTo(await html(t, 'en'), 'Open the simulated phone')).toBe(href)
  })

  it('the pairing page links the phone’s pairing screen with the code it shows', async () => {
    const t = await newTenant()
    await askPairingCodeOnPage(h, t)
    const body = await html(t)
    const code = /<output class="wa-code"[^>]*>([^<]+)<\/output>/.exec(body)?.[1]
    expect(code).toBeDefined()
    expect(linkTo(body, 'Ouvrir le téléphone simulé')).toBeUndefined()
    const href = linkTo(body, 'Ouvrir l’écran d’association du téléphone simulé')
    expect(href).toBeDefined()
    const url = new URL(unescape(href!))
    expect(url.pathname).toBe('/dev/simulator/pair')
    expect(url.searchParams.get('code')?.replace(/-/g, '')).toBe(code!.replace(/-/g, ''))
    expect(linkTo(await html(t, 'en'), 'Open the simulated phone’s pairing screen')).toBe(href)
  })

  it('no link once the phone is linked', async () => {
    const t = await newTenant()
    expect((await post(h, '/api/wa/qr/generate', t)).status).toBe(200)
    const id = (
      await testDb().selectFrom('wa_instances').select('id').where('tenant_id', '=', t.tenantId).executeTakeFirstOrThrow()
    ).id
    h.sim.authorize(id, '+33612345678')
    await h.sim.flushWebhooks()
    const body = await html(t)
    expect(linkTo(body, 'Ouvrir le téléphone simulé')).toBeUndefined()
  })
})

describe('/dev/simulator in the settings navigation', () => {
  it('owners and admins see it, members do not', async () => {
    for (const role of ['owner', 'admin'] as const) {
      const t = await newTenant({ role })
      expect(linkTo(await html(t), 'Simulateur'), role).toBe('/dev/simulator')
      expect(linkTo(await html(t, 'en'), 'Simulator'), role).toBe('/dev/simulator')
    }
    const member = await newTenant({ role: 'member' })
    const body = await html(member)
    expect(body).not.toContain('href="/dev/simulator"')
  })

  it('a member sent to /dev/simulator gets a 403 page saying they are not allowed, in French and English', async () => {
    const member = await newTenant({ role: 'member' })
    const fr = await page(member, '/dev/simulator', 'fr')
    expect(fr.status).toBe(403)
    const frBody = await fr.text()
    expect(frBody).toContain('Accès non autorisé')
    expect(frBody).toContain('vous n’êtes pas autorisé')
    expect(frBody).not.toContain('Une erreur est survenue')
    const en = await page(member, '/dev/simulator', 'en')
    expect(en.status).toBe(403)
    const enBody = await en.text()
    expect(enBody).toContain('Not allowed')
    expect(enBody).toContain('you are not allowed to use it')
    expect(enBody).not.toContain('Something went wrong')
    // An owner still gets the page.
    const owner = await newTenant()
    expect((await page(owner, '/dev/simulator')).status).toBe(200)
  })
})
