import { beforeAll, describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { post, scanTarget, statusOf } from './api-support'

// What a user reads follows their language (French by default, English by Accept-Language or the
// `lang` cookie) everywhere, not only on the WhatsApp panel: error pages, page titles, the
// simulator's control page and the test message the API sends when given no text.
const h = useWaApp({ instances: 2 })
const macrea = () => ({ token: h.tokens.owner, tenantId: 'macrea' })
const EN = { 'accept-language': 'en-GB,en;q=0.9' }

let instanceId: string
beforeAll(async () => {
  const gen = await post(h, '/api/wa/qr/generate', macrea())
  expect(gen.status).toBe(200)
  const target = await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)
  instanceId = target.instanceId
  expect(h.sim.scan(instanceId, target.nonce, '+33612345678')).toMatchObject({ ok: true })
  await eventually(async () => expect(await statusOf(h, macrea())).toMatchObject({ connected: true }))
})

describe('user-facing texts in both languages', () => {
  it('the error page of an unknown URL: French by default, English by Accept-Language, with the matching <html lang>', async () => {
    const fr = await fetch(`${h.app.url}/no-such-page`)
    expect(fr.status).toBe(404)
    const frHtml = await fr.text()
    expect(frHtml).toContain('<html lang="fr"')
    expect(frHtml).toContain('Page introuvable')
    expect(frHtml).toContain('Retour à l’accueil')

    const en = await fetch(`${h.app.url}/no-such-page`, { headers: EN })
    expect(en.status).toBe(404)
    const enHtml = await en.text()
    expect(enHtml).toContain('<html lang="en"')
    expect(enHtml).toContain('Page not found')
    expect(enHtml).toContain('Back to the home page')
    expect(enHtml).not.toContain('Page introuvable')
  })

  it('page titles follow the language (sign-in, API tokens)', async () => {
    expect(await (await fetch(`${h.app.url}/login`)).text()).toContain('<title>Connexion · WhatsApp Pro</title>')
    expect(await (await fetch(`${h.app.url}/login`, { headers: EN })).text()).toContain('<title>Sign in · WhatsApp Pro</title>')
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const tokens = await fetch(`${h.app.url}/settings/api-tokens`, { headers: { cookie, ...EN } })
    expect(tokens.status).toBe(200)
    expect(await tokens.text()).toContain('<title>API tokens · WhatsApp Pro</title>')
  })

  it('the simulator control page speaks English when asked', async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const fr = await (await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie } })).text()
    expect(fr).toContain('Supprimer les pannes de mon instance')
    const en = await (await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie, ...EN } })).text()
    expect(en).toContain('<html lang="en"')
    expect(en).toContain('Green-API simulator')
    expect(en).toContain('Clear my instance’s faults')
    expect(en).toMatch(/\d+ sent, \d+ queued/)
    expect(en).not.toContain('Simulateur')
  })

  it('POST /api/wa/test without a message sends the default text of the caller’s language', async () => {
    const frSent = await post(h, '/api/wa/test', macrea())
    expect(frSent.status).toBe(200)
    const frId = ((await frSent.json()) as { idMessage: string }).idMessage
    const enSent = await post(h, '/api/wa/test', macrea(), {}, EN)
    expect(enSent.status).toBe(200)
    const enId = ((await enSent.json()) as { idMessage: string }).idMessage

    const sent = h.sim.instance(instanceId)!.sent
    // The same texts the settings page prefills in its test form.
    expect(sent.find((m) => m.idMessage === frId)?.message).toBe(
      'Message de test envoyé depuis WhatsApp Pro : votre numéro est bien connecté.',
    )
    expect(sent.find((m) => m.idMessage === enId)?.message).toBe('Test message sent from WhatsApp Pro: your number is connected.')
  })
})
