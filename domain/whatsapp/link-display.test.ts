import { describe, expect, it } from 'vitest'
import { InMemoryLinkDisplayStore } from '../testing/in-memory-link-display-store'
import { createTestWorld } from '../testing/test-deps'
import { DEFAULT_WHATSAPP_CONFIG } from './whatsapp-deps'
import { generateQr } from './generate-qr'
import { MAX_AUTO_RENEWALS, currentLinkDisplay, showNewPairingCode, showNewQr } from './link-display'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const
const input = { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' }
const QR_TTL_MS = 20_000

function setup() {
  // A roomy QR rate limit: the bound under test is the renewal count, not the limiter.
  const w = createTestWorld({
    rateLimits: { ...DEFAULT_WHATSAPP_CONFIG.rateLimits, generateQr: { limit: 100, windowSeconds: 60 } },
  })
  w.addInstance('1101000001')
  const displays = new InMemoryLinkDisplayStore()
  /** The running attempt's hard limit, as the status answer gives it. */
  const attempt = () => w.connections.rows.get('acme')?.linkExpiresAt ?? new Date(0)
  const show = (mayRenew = true) => currentLinkDisplay(w.deps, displays, { ...input, attemptExpiresAt: attempt(), mayRenew })
  return { w, displays, show }
}

describe('currentLinkDisplay: renew the QR at most 5 times after the last click', () => {
  it('shows the clicked QR until it expires, renews it 5 times, then asks for a click; a click re-arms', async () => {
    const { w, show, displays } = setup()
    const clicked = await showNewQr(w.deps, displays, input)
    expect(w.provider.count('requestQr')).toBe(1)

    // Reloads within the QR's lifetime show the same image and call nobody.
    w.clock.advance(QR_TTL_MS - 1)
    expect(await show()).toEqual({ kind: 'qr', qrCode: clicked.qrCode, expiresAt: clicked.expiresAt })
    expect(w.provider.count('requestQr')).toBe(1)

    for (let i = 1; i <= MAX_AUTO_RENEWALS; i++) {
      w.clock.advance(QR_TTL_MS)
      const renewed = await show()
      expect(renewed.kind, `renewal ${i}`).toBe('qr')
      expect(await show()).toEqual(renewed) // the next reload shows it again
      expect(w.provider.count('requestQr')).toBe(1 + i)
    }
    w.clock.advance(QR_TTL_MS)
    expect(await show()).toEqual({ kind: 'exhausted' })
    expect(await show()).toEqual({ kind: 'exhausted' })
    expect(w.provider.count('requestQr')).toBe(1 + MAX_AUTO_RENEWALS)

    await showNewQr(w.deps, displays, input)
    w.clock.advance(QR_TTL_MS)
    expect((await show()).kind).toBe('qr')
    expect(w.provider.count('requestQr')).toBe(3 + MAX_AUTO_RENEWALS)
  })

  it('renews nothing when the request may not (not the page’s own reload)', async () => {
    const { w, show, displays } = setup()
    await showNewQr(w.deps, displays, input)
    w.clock.advance(QR_TTL_MS)
    expect(await show(false)).toEqual({ kind: 'exhausted' })
    expect(w.provider.count('requestQr')).toBe(1)
    expect(w.audit.entries).toHaveLength(1)
  })

  it('a failed renewal is answered, counted, and retried on the next reload, within the same bound', async () => {
    const { w, show, displays } = setup()
    await showNewQr(w.deps, displays, input)
    w.clock.advance(QR_TTL_MS)
    w.provider.failNext('requestQr', new UpstreamUnavailableError('down'))
    expect(await show()).toMatchObject({ kind: 'renewFailed', error: { code: 'UPSTREAM_UNAVAILABLE' } })
    expect(displays.get('acme')?.renewals).toBe(1)
    // The next reload tries again at once (nothing to show meanwhile); the failure used a renewal.
    expect((await show()).kind).toBe('qr')
    for (let i = 3; i <= MAX_AUTO_RENEWALS; i++) {
      w.clock.advance(QR_TTL_MS)
      expect((await show()).kind, `renewal ${i}`).toBe('qr')
    }
    w.clock.advance(QR_TTL_MS)
    expect(await show()).toEqual({ kind: 'exhausted' })
  })

  it('a pairing code is shown for its attempt and never renewed', async () => {
    const { w, show, displays } = setup()
    const pairing = await showNewPairingCode(w.deps, displays, { ...input, phoneNumber: '+33612345678' })
    w.clock.advance(60_000)
    expect(await show()).toEqual({ kind: 'pairing', code: pairing.code, expiresAt: pairing.expiresAt })
    expect(w.provider.count('requestQr')).toBe(0)
  })

  it('an attempt started elsewhere (API, another process) gets a QR once; a finished attempt’s count starts over', async () => {
    const { w, show, displays } = setup()
    // A record of an older attempt that used up its renewals and has ended.
    displays.save('acme', { attemptExpiresAt: new Date(w.clock.now().getTime() - 1), shown: null, renewals: MAX_AUTO_RENEWALS })
    await generateQr(w.deps, input)
    expect((await show()).kind).toBe('qr')
    expect(w.provider.count('requestQr')).toBe(2)
    expect(displays.get('acme')?.renewals).toBe(1)
  })

  it('another running attempt’s image is not shown, and its count still applies', async () => {
    const { w, show, displays } = setup()
    await showNewQr(w.deps, displays, input)
    const record = displays.get('acme')
    displays.save('acme', { ...record!, renewals: MAX_AUTO_RENEWALS - 1 })
    // Another process renewed: a new attempt (new hard limit) this process has no image of.
    w.clock.advance(1_000)
    await generateQr(w.deps, input)
    const renewed = await show()
    expect(renewed.kind).toBe('qr')
    expect(renewed).not.toEqual(record?.shown)
    w.clock.advance(QR_TTL_MS)
    expect(await show()).toEqual({ kind: 'exhausted' })
  })

  it('concurrent reloads share one renewal', async () => {
    const { w, show, displays } = setup()
    await showNewQr(w.deps, displays, input)
    w.clock.advance(QR_TTL_MS)
    const answers = await Promise.all([show(), show(), show()])
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1)
    expect(w.provider.count('requestQr')).toBe(2)
    expect(displays.get('acme')?.renewals).toBe(1)
  })
})
