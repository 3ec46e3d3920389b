import { randomBytes } from 'node:crypto'
import jsQR from 'jsqr'
import { http, HttpResponse } from 'msw'
import { PNG } from 'pngjs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  GreenApiPartnerProvider,
  GreenApiWhatsAppProvider,
  type GreenApiCallEvent,
  type GreenApiClientOptions,
} from '../../adapters/green-api/green-api-whatsapp-provider'
import { GreenApiSimulator } from '../../adapters/green-api/simulator'
import type { InstanceCredentials } from '../../domain/ports/whatsapp-provider'
import { CONNECTION_STATES } from '../../domain/whatsapp/connection-state'
import { DomainError } from '../../domain/whatsapp/whatsapp.errors'
import { GREEN_API_TEST_PARTNER_URL, greenApiTestApiUrl, setupMockServer } from '../mocks'

// The REAL provider against the MSW fake of Green-API (the simulator behind it).
const PUBLIC_URL = 'http://app.example.test'
// Upstream rate limits are off by default (tests call back-to-back); pacing tests switch them on.
// Created instances are ready at once (Green-API's creation delay: green-api-official-client.test.ts).
const sim = new GreenApiSimulator({
  publicUrl: PUBLIC_URL,
  deliverWebhook: async () => {},
  rebootMs: 100,
  creatingMs: 0,
  rateLimits: false,
})
const mocks = setupMockServer({ simulator: sim })
beforeAll(() => mocks.listen())
afterEach(() => mocks.reset())
afterAll(() => mocks.close())

function newInstance(): InstanceCredentials {
  const c = sim.createInstances(1)[0]!
  return { instanceId: c.instanceId, apiToken: c.apiToken, apiUrl: greenApiTestApiUrl(c.instanceId) }
}

/** Short deadlines so failure tests are fast; retries without waiting for the client limiter. */
function provider(extra: GreenApiClientOptions = {}): GreenApiWhatsAppProvider {
  return new GreenApiWhatsAppProvider({
    timeoutMs: 800,
    qrTimeoutMs: 1500,
    retryBaseDelayMs: 5,
    clientRateLimits: false,
    ...extra,
  })
}

async function withUpstreamRateLimits(fn: () => Promise<void>): Promise<void> {
  sim.setRateLimitsEnabled(true)
  try {
    await fn()
  } finally {
    sim.setRateLimitsEnabled(false)
  }
}

async function caught(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError)
    return e as DomainError
  }
  throw new Error('expected a rejection')
}

function calls(instanceId: string, method?: string): number {
  return sim.callCount(method === undefined ? { instanceId } : { instanceId, method })
}

function decodeQr(pngBase64: string): string | null {
  const png = PNG.sync.read(Buffer.from(pngBase64, 'base64'))
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null
}

describe('Green-API provider contract: states', () => {
  for (const state of CONNECTION_STATES) {
    it(`maps stateInstance "${state}"`, async () => {
      const creds = newInstance()
      sim.setState(creds.instanceId, state)
      await expect(provider().getState(creds)).resolves.toBe(state)
    })
  }

  it('maps a null body (instance still being created) to null', async () => {
    const creds = newInstance()
    sim.setState(creds.instanceId, null)
    await expect(provider().getState(creds)).resolves.toBeNull()
  })

  it('maps the null-state fault to null for getState but rejects null from getWaSettings', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).nullState()
    const p = provider()
    await expect(p.getState(creds)).resolves.toBeNull()
    const err = await caught(p.getLinkedAccount(creds))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
  })

  it('rejects an unknown state value as garbage', async () => {
    const creds = newInstance()
    mocks.server.use(
      http.get(`${creds.apiUrl}/waInstance${creds.instanceId}/getStateInstance/:token`, () =>
        HttpResponse.json({ stateInstance: 'flying' }),
      ),
    )
    const err = await caught(provider().getState(creds))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.retryAfterSeconds).toBeGreaterThan(0)
  })
})

describe('Green-API provider contract: QR, phone, pairing, send, logout', () => {
  it('returns a PNG QR that decodes to the simulated phone scan URL', async () => {
    const creds = newInstance()
    const res = await provider().requestQr(creds)
    expect(res.kind).toBe('qr')
    if (res.kind !== 'qr') return
    const nonce = sim.currentQrNonce(creds.instanceId)
    expect(decodeQr(res.pngBase64)).toBe(`${PUBLIC_URL}/dev/simulator/scan/${creds.instanceId}/${nonce}`)
  })

  it('maps alreadyLogged to alreadyLinked', async () => {
    const creds = newInstance()
    sim.authorize(creds.instanceId, '+33612345678')
    await expect(provider().requestQr(creds)).resolves.toEqual({ kind: 'alreadyLinked' })
  })

  it('maps the qr "error" type (instance starting)', async () => {
    const creds = newInstance()
    sim.starting(creds.instanceId)
    const res = await provider().requestQr(creds)
    expect(res.kind).toBe('error')
    if (res.kind === 'error') expect(res.message).toMatch(/starting/)
  })

  it('scanning the decoded QR links the phone: state authorized and E.164 phone with +', async () => {
    const creds = newInstance()
    const p = provider()
    expect(await p.getLinkedAccount(creds)).toBeNull()
    const res = await p.requestQr(creds)
    if (res.kind !== 'qr') throw new Error('expected a QR')
    const url = new URL(decodeQr(res.pngBase64) ?? '')
    const [, , , , instanceId, nonce] = url.pathname.split('/')
    expect(sim.scan(instanceId!, nonce!, '+4915112345678')).toMatchObject({ ok: true })
    await expect(p.getState(creds)).resolves.toBe('authorized')
    await expect(p.getLinkedAccount(creds)).resolves.toEqual({ phone: '+4915112345678' })
  })

  it('gets a pairing code formatted XXXX-XXXX (integer phoneNumber upstream) that links the phone', async () => {
    const creds = newInstance()
    const p = provider()
    const { code } = await p.requestPairingCode(creds, '+33 6 12 34 56 78')
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/)
    expect(sim.pair(code)).toEqual({ ok: true, instanceId: creds.instanceId, phoneE164: '+33612345678' })
    await expect(p.getState(creds)).resolves.toBe('authorized')
  })

  it('maps a pairing answer with status:false to UpstreamUnavailableError', async () => {
    const creds = newInstance()
    sim.authorize(creds.instanceId)
    const err = await caught(provider().requestPairingCode(creds, '+33612345678'))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
  })

  it('refuses a non-E.164 pairing phone before calling upstream', async () => {
    const creds = newInstance()
    const err = await caught(provider().requestPairingCode(creds, 'not a phone'))
    expect(err.code).toBe('VALIDATION_FAILED')
    expect(calls(creds.instanceId)).toBe(0)
  })

  it('sends a text to <digits>@c.us and returns the idMessage', async () => {
    const creds = newInstance()
    sim.authorize(creds.instanceId)
    const { messageId } = await provider().sendText(creds, '+33698765432', 'Bonjour 👋')
    expect(messageId).toMatch(/^[0-9A-F]{20}$/)
    const sent = sim.instance(creds.instanceId)?.sent ?? []
    expect(sent).toEqual([expect.objectContaining({ idMessage: messageId, chatId: '33698765432@c.us', message: 'Bonjour 👋' })])
  })

  it('a send while not authorized is still a 200 with an id: the message is queued', async () => {
    const creds = newInstance()
    const { messageId } = await provider().sendText(creds, '+33698765432', 'queued')
    expect(messageId.length).toBeGreaterThan(0)
    expect(sim.instance(creds.instanceId)?.queued.map((m) => m.idMessage)).toEqual([messageId])
  })

  it('logout unlinks: state notAuthorized and no phone', async () => {
    const creds = newInstance()
    sim.authorize(creds.instanceId)
    const p = provider()
    await p.logout(creds)
    await expect(p.getState(creds)).resolves.toBe('notAuthorized')
    await expect(p.getLinkedAccount(creds)).resolves.toBeNull()
  })

  it('reboot passes the instance through starting', async () => {
    const creds = newInstance()
    sim.authorize(creds.instanceId)
    await provider().reboot(creds)
    expect(sim.instance(creds.instanceId)?.state).toBe('starting')
    await new Promise((r) => setTimeout(r, 150))
    expect(sim.instance(creds.instanceId)?.state).toBe('authorized')
  })

  it('configureWebhook sets the URL, its token and the notifications we handle: state, receipts, incoming', async () => {
    const creds = newInstance()
    await provider().configureWebhook(creds, { webhookUrl: 'https://crm.example/hook', webhookToken: 'whsec-1' })
    const s = sim.instance(creds.instanceId)?.settings
    expect(s).toMatchObject({
      webhookUrl: 'https://crm.example/hook',
      webhookUrlToken: 'whsec-1',
      stateWebhook: 'yes',
      outgoingWebhook: 'yes',
      outgoingAPIMessageWebhook: 'yes',
      incomingWebhook: 'yes',
    })
    // Copies of what the owner types on the phone stay off: not ours to keep.
    expect(s?.['outgoingMessageWebhook']).toBeUndefined()
  })
})

describe('Green-API provider contract: failures become domain errors', () => {
  it('401 (wrong token) → UpstreamAuthError', async () => {
    const creds = { ...newInstance(), apiToken: 'wrong-token' }
    const err = await caught(provider().getState(creds))
    expect(err.code).toBe('UPSTREAM_AUTH')
    expect(calls(creds.instanceId)).toBe(1)
  })

  it('403 (unknown instance id) → UpstreamAuthError', async () => {
    const creds: InstanceCredentials = { instanceId: '1109999999', apiToken: 'x', apiUrl: greenApiTestApiUrl('1109999999') }
    const err = await caught(provider().getLinkedAccount(creds))
    expect(err.code).toBe('UPSTREAM_AUTH')
  })

  it('429 with Retry-After larger than the deadline fails fast with retryAfterSeconds', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).rateLimited(30)
    const t0 = Date.now()
    const err = await caught(provider().getState(creds))
    expect(Date.now() - t0).toBeLessThan(2_500) // vs 30 s if it waited: a wide margin, not a speed check
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.retryAfterSeconds).toBe(30)
    expect(calls(creds.instanceId)).toBe(1)
  })

  it('429 with a short Retry-After on a read is waited out and retried', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId, times: 1 }).rateLimited(1)
    const t0 = Date.now()
    await expect(provider({ timeoutMs: 3000 }).getState(creds)).resolves.toBe('notAuthorized')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950)
    expect(calls(creds.instanceId)).toBe(2)
  })

  it('getState once (the background refresher): a 429 is not retried, even with a short Retry-After', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId, times: 1 }).rateLimited(1)
    const err = await caught(provider({ timeoutMs: 3000 }).getState(creds, { once: true }))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(calls(creds.instanceId)).toBe(1)
  })

  it('429 without Retry-After on a send → UpstreamUnavailableError, not retried', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).rateLimited()
    const err = await caught(provider().sendText(creds, '+33698765432', 'hi'))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.retryAfterSeconds).toBe(1)
    expect(calls(creds.instanceId)).toBe(1)
  })

  it('466 (plan quota) → UpstreamUnavailableError with a long retry-after', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).quota466()
    const err = await caught(provider().sendText(creds, '+33698765432', 'hi'))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.retryAfterSeconds).toBe(3600)
  })

  it('500 on a send → UpstreamUnavailableError, never retried', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).down(500)
    const err = await caught(provider().sendText(creds, '+33698765432', 'hi'))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.retryAfterSeconds).toBe(5)
    expect(calls(creds.instanceId)).toBe(1)
  })

  it('502 on a read → retried twice, then UpstreamUnavailableError', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).down(502)
    const err = await caught(provider().getState(creds))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(calls(creds.instanceId)).toBe(3)
  })

  it('a transient 503 on a read is absorbed by a retry', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId, times: 1 }).down(503)
    await expect(provider().getLinkedAccount(creds)).resolves.toBeNull()
    expect(calls(creds.instanceId)).toBe(2)
  })

  it('retries only reads: getState/getLinkedAccount/qr retried, send/logout/pairing/reboot/setSettings not', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).down(503)
    const p = provider({ breakerThreshold: 100 })
    await caught(p.getState(creds))
    await caught(p.getLinkedAccount(creds))
    await caught(p.requestQr(creds))
    await caught(p.sendText(creds, '+33698765432', 'x'))
    await caught(p.logout(creds))
    await caught(p.requestPairingCode(creds, '+33612345678'))
    await caught(p.reboot(creds))
    await caught(p.configureWebhook(creds, { webhookUrl: 'https://x.example/h', webhookToken: 't' }))
    const id = creds.instanceId
    expect({
      getStateInstance: calls(id, 'getStateInstance'),
      getWaSettings: calls(id, 'getWaSettings'),
      qr: calls(id, 'qr'),
      sendMessage: calls(id, 'sendMessage'),
      logout: calls(id, 'logout'),
      getAuthorizationCode: calls(id, 'getAuthorizationCode'),
      reboot: calls(id, 'reboot'),
      setSettings: calls(id, 'setSettings'),
    }).toEqual({
      getStateInstance: 3,
      getWaSettings: 3,
      qr: 3,
      sendMessage: 1,
      logout: 1,
      getAuthorizationCode: 1,
      reboot: 1,
      setSettings: 1,
    })
  })

  it('timeout (deadline via AbortSignal) → UpstreamUnavailableError within the deadline', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).slow(3000)
    const t0 = Date.now()
    const err = await caught(provider({ timeoutMs: 300 }).getState(creds))
    expect(Date.now() - t0).toBeLessThan(2_500) // vs 3 s upstream: a wide margin
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.message).toMatch(/no answer within 300 ms/)
  })

  it('qr has its own, longer deadline', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId, methods: ['qr', 'getStateInstance'] }).slow(500)
    const p = provider({ timeoutMs: 300, qrTimeoutMs: 2000 })
    await expect(p.requestQr(creds)).resolves.toMatchObject({ kind: 'qr' })
    expect((await caught(p.getState(creds))).code).toBe('UPSTREAM_UNAVAILABLE')
  })

  it('connection reset → UpstreamUnavailableError (network)', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).reset()
    const events: GreenApiCallEvent[] = []
    const err = await caught(provider({ onCall: (e) => events.push(e) }).sendText(creds, '+33698765432', 'x'))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(events.map((e) => e.outcome)).toEqual(['network'])
  })

  it('malformed JSON → UpstreamUnavailableError (garbage), not retried', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).garbage()
    const err = await caught(provider().getState(creds))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.message).toMatch(/not JSON/)
    expect(calls(creds.instanceId)).toBe(1)
  })

  it('wrong shape → UpstreamUnavailableError for every method', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId }).wrongShape()
    const p = provider()
    const results = await Promise.all([
      caught(p.getState(creds)),
      caught(p.requestQr(creds)),
      caught(p.sendText(creds, '+33698765432', 'x')),
      caught(p.requestPairingCode(creds, '+33612345678')),
    ])
    expect(results.map((e) => e.code)).toEqual(Array(4).fill('UPSTREAM_UNAVAILABLE'))
  })

  it('reports metric outcomes through onCall', async () => {
    const ok = newInstance()
    const events: GreenApiCallEvent[] = []
    const p = provider({ onCall: (e) => events.push(e), maxRetries: 0 })
    await p.getState(ok)
    await caught(p.getState({ ...ok, apiToken: 'nope' }))
    const broken = newInstance()
    sim.fault({ instanceId: broken.instanceId, times: 1 }).down(503)
    await caught(p.getState(broken))
    sim.fault({ instanceId: broken.instanceId, times: 1 }).rateLimited()
    await caught(p.getState(broken))
    sim.fault({ instanceId: broken.instanceId, times: 1 }).garbage()
    await caught(p.getState(broken))
    sim.fault({ instanceId: broken.instanceId, times: 1 }).quota466()
    await caught(p.getState(broken))
    expect(events.map((e) => `${e.method}:${e.outcome}`)).toEqual([
      'getStateInstance:ok',
      'getStateInstance:auth',
      'getStateInstance:http_5xx',
      'getStateInstance:rate_limited',
      'getStateInstance:garbage',
      'getStateInstance:http_4xx',
    ])
    expect(events.every((e) => e.durationMs >= 0)).toBe(true)
  })
})

describe('Green-API provider contract: trySendText tells "not sent" from "maybe sent"', () => {
  const send = (creds: InstanceCredentials, p = provider()) => p.trySendText(creds, '+33698765432', 'Bonjour')

  it('200 → sent with the idMessage, which the journal (lastOutgoingMessages, getMessage) knows', async () => {
    const creds = newInstance()
    sim.authorize(creds.instanceId, '+33611112222')
    const attempt = await send(creds)
    expect(attempt.kind).toBe('sent')
    const id = attempt.kind === 'sent' ? attempt.messageId : ''
    const journal = await provider().lastOutgoingMessages(creds, { minutes: 2 })
    expect(journal).toEqual([
      { messageId: id, chatId: '33698765432@c.us', text: 'Bonjour', at: expect.any(Date), status: 'sent' },
    ])
    expect(await provider().getMessage(creds, '33698765432@c.us', id)).toMatchObject({ messageId: id })
    expect(await provider().getMessage(creds, '33698765432@c.us', 'UNKNOWN')).toBeNull()
  })

  it('400 → rejected (not sent, not worth resending); 5xx, 429 and 466 → notSent with a retry-after', async () => {
    const creds = newInstance()
    expect(await provider().trySendText(creds, '+33698765432', 'x'.repeat(20_000))).toMatchObject({ kind: 'sent' })
    sim.fault({ instanceId: creds.instanceId, times: 1 }).down(503)
    expect(await send(creds)).toMatchObject({ kind: 'notSent', retryAfterSeconds: 5 })
    sim.fault({ instanceId: creds.instanceId, times: 1 }).rateLimited(7)
    expect(await send(creds)).toMatchObject({ kind: 'notSent', retryAfterSeconds: 7 })
    sim.fault({ instanceId: creds.instanceId, times: 1 }).quota466()
    expect(await send(creds)).toMatchObject({ kind: 'notSent', retryAfterSeconds: 3600 })
    mocks.server.use(
      http.post(/\/sendMessage\//, () => HttpResponse.json({ message: 'Bad Request Validation failed' }, { status: 400 })),
    )
    expect(await send(creds)).toMatchObject({ kind: 'rejected', reason: 'invalid' })
  })

  it('a timeout, a connection reset or a garbage 200 → maybeSent (the request left: look it up, never resend blindly)', async () => {
    const creds = newInstance()
    sim.fault({ instanceId: creds.instanceId, times: 1 }).slow(1500)
    expect(await send(creds, provider({ timeoutMs: 200 }))).toMatchObject({ kind: 'maybeSent' })
    sim.fault({ instanceId: creds.instanceId, times: 1 }).reset()
    expect(await send(creds)).toMatchObject({ kind: 'maybeSent' })
    sim.fault({ instanceId: creds.instanceId, times: 1 }).garbage()
    expect(await send(creds)).toMatchObject({ kind: 'maybeSent' })
  })

  it('an open breaker → notSent without any request', async () => {
    const creds = newInstance()
    const p = provider({ breakerThreshold: 1, breakerHalfOpenAfterMs: 60_000 })
    sim.fault({ instanceId: creds.instanceId, times: 1 }).down(500)
    expect((await send(creds, p)).kind).toBe('notSent')
    const before = calls(creds.instanceId)
    expect(await send(creds, p)).toMatchObject({ kind: 'notSent' })
    expect(calls(creds.instanceId)).toBe(before)
  })
})

describe('Green-API provider contract: circuit breaker and pacing', () => {
  it('opens after consecutive failures, fails fast, then half-opens and recovers', async () => {
    const creds = newInstance()
    const healthy = newInstance()
    const events: GreenApiCallEvent[] = []
    const p = provider({ breakerThreshold: 3, breakerHalfOpenAfterMs: 300, maxRetries: 0, onCall: (e) => events.push(e) })
    const clear = sim.fault({ instanceId: creds.instanceId }).down(503)
    for (let i = 0; i < 3; i++) expect((await caught(p.getState(creds))).code).toBe('UPSTREAM_UNAVAILABLE')
    expect(calls(creds.instanceId)).toBe(3)

    const t0 = Date.now()
    const open = await caught(p.getState(creds))
    expect(Date.now() - t0).toBeLessThan(1_000) // no network wait: a wide margin
    expect(open.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(open.retryAfterSeconds).toBe(1)
    expect(calls(creds.instanceId)).toBe(3) // no upstream call while open
    expect(events.at(-1)?.outcome).toBe('breaker_open')

    // Per instance: another instance on the same provider is unaffected.
    await expect(p.getState(healthy)).resolves.toBe('notAuthorized')

    clear()
    await new Promise((r) => setTimeout(r, 350))
    await expect(p.getState(creds)).resolves.toBe('notAuthorized')
    await expect(p.getState(creds)).resolves.toBe('notAuthorized')
  })

  it('does not count 401s towards the breaker', async () => {
    const creds = { ...newInstance(), apiToken: 'bad' }
    const p = provider({ breakerThreshold: 2, maxRetries: 0 })
    for (let i = 0; i < 4; i++) expect((await caught(p.getState(creds))).code).toBe('UPSTREAM_AUTH')
    expect(calls(creds.instanceId)).toBe(4)
  })

  it('paces getStateInstance to 1/s per instance so the upstream never answers 429', async () => {
    await withUpstreamRateLimits(async () => {
      const creds = newInstance()
      const p = provider({ clientRateLimits: {}, timeoutMs: 3000, maxRetries: 0 })
      const t0 = Date.now()
      const states = await Promise.all([p.getState(creds), p.getState(creds)])
      expect(states).toEqual(['notAuthorized', 'notAuthorized'])
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950)
    })
  })

  it('paces qr to 3/s: four parallel calls all succeed', async () => {
    await withUpstreamRateLimits(async () => {
      const creds = newInstance()
      const p = provider({ clientRateLimits: {}, qrTimeoutMs: 3000, maxRetries: 0 })
      const res = await Promise.all([1, 2, 3, 4].map(() => p.requestQr(creds)))
      expect(res.every((r) => r.kind === 'qr')).toBe(true)
    })
  })

  it('fails fast when the client-side wait would not fit the deadline', async () => {
    const creds = newInstance()
    const p = provider({ clientRateLimits: {}, timeoutMs: 400 })
    await p.getState(creds)
    const err = await caught(p.getState(creds))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(err.retryAfterSeconds).toBe(1)
    expect(calls(creds.instanceId)).toBe(1)
  })

  it('without client pacing the simulator does answer 429 (proves the pacing test can fail)', async () => {
    await withUpstreamRateLimits(async () => {
      const creds = newInstance()
      const p = provider({ maxRetries: 0 })
      await p.getState(creds)
      const err = await caught(p.getState(creds))
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(err.message).toMatch(/429/)
    })
  })
})

describe('Green-API provider contract: secrets never leak', () => {
  it('a canary token never appears in errors, causes, stacks or log lines', async () => {
    const canary = `CANARY${randomBytes(12).toString('hex')}`
    const c = sim.addInstance({ apiToken: canary })
    const creds: InstanceCredentials = { instanceId: c.instanceId, apiToken: canary, apiUrl: greenApiTestApiUrl(c.instanceId) }
    const lines: unknown[] = []
    const logger = {
      info: (o: object, m?: string) => lines.push([o, m]),
      warn: (o: object, m?: string) => lines.push([o, m]),
      error: (o: object, m?: string) => lines.push([o, m]),
    }
    const events: GreenApiCallEvent[] = []
    const p = provider({ logger, onCall: (e) => events.push(e), breakerThreshold: 8, breakerHalfOpenAfterMs: 60_000 })
    const errors: unknown[] = []
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn()
      } catch (e) {
        errors.push(e)
      }
    }
    const id = creds.instanceId
    await attempt(() => p.getState(creds))
    for (const setFault of [
      () => sim.fault({ instanceId: id, times: 1 }).down(500),
      () => sim.fault({ instanceId: id, times: 1 }).rateLimited(99),
      () => sim.fault({ instanceId: id, times: 1 }).quota466(),
      () => sim.fault({ instanceId: id, times: 1 }).reset(),
      () => sim.fault({ instanceId: id, times: 1 }).garbage(),
      () => sim.fault({ instanceId: id, times: 1 }).wrongShape(),
      () => sim.fault({ instanceId: id, times: 1 }).slow(1500),
    ]) {
      setFault()
      await attempt(() => p.sendText(creds, '+33698765432', 'x'))
    }
    // An upstream 400 that echoes the token and the URL must be scrubbed.
    mocks.server.use(
      http.post(`${creds.apiUrl}/waInstance${id}/sendMessage/:token`, ({ request }) =>
        HttpResponse.text(`bad request data for ${request.url} token=${canary}`, { status: 400 }),
      ),
    )
    await attempt(() => p.sendText(creds, '+33698765432', 'x'))
    await attempt(() => p.getState({ ...creds, apiToken: `${canary}x` })) // 401
    await attempt(() => p.getState({ ...creds, instanceId: '1108888888', apiUrl: greenApiTestApiUrl('1108888888') })) // 403
    for (let i = 0; i < 4; i++) {
      sim.fault({ instanceId: id, times: 3, methods: ['getStateInstance'] }).down(503)
      await attempt(() => p.getState(creds)) // ends with the breaker open
    }
    // A 500 whose body quotes the URL (as some proxies do).
    const other = 'https://7777.api.greenapi.test'
    mocks.server.use(
      http.get(`${other}/waInstance${id}/getStateInstance/:token`, ({ request }) =>
        HttpResponse.text(`upstream exploded on ${request.url}`, { status: 500 }),
      ),
    )
    await attempt(() => p.getState({ ...creds, apiUrl: other }))

    expect(errors.length).toBeGreaterThanOrEqual(13)
    const dump = (e: unknown, depth = 0): string => {
      if (!(e instanceof Error) || depth > 5) return String(e)
      return [e.name, e.message, e.stack ?? '', JSON.stringify(e), dump((e as { cause?: unknown }).cause, depth + 1)].join('\n')
    }
    for (const e of errors) {
      expect(e).toBeInstanceOf(DomainError)
      expect(dump(e)).not.toContain(canary)
    }
    expect(lines.length).toBeGreaterThan(10)
    expect(JSON.stringify(lines)).not.toContain(canary)
    expect(JSON.stringify(events)).not.toContain(canary)
    expect(events.map((e) => e.outcome)).toEqual(
      expect.arrayContaining([
        'ok',
        'http_5xx',
        'rate_limited',
        'http_4xx',
        'network',
        'garbage',
        'timeout',
        'auth',
        'breaker_open',
      ]),
    )
    // log lines carry only the allowed fields
    for (const [obj] of lines as [Record<string, unknown>][]) {
      expect(Object.keys(obj).sort()).toEqual(['durationMs', 'instanceId', 'method', 'outcome', 'status'])
    }
  })
})

describe('Green-API partner provider contract', () => {
  function partner(token = sim.partnerToken): GreenApiPartnerProvider {
    return new GreenApiPartnerProvider({
      partnerApiUrl: GREEN_API_TEST_PARTNER_URL,
      partnerToken: token,
      instanceApiUrl: (id) => greenApiTestApiUrl(id),
      timeoutMs: 800,
    })
  }

  it('creates an instance with the webhook settings; its credentials work on the instance API', async () => {
    const created = await partner().createInstance({
      name: 'tenant-acme',
      webhookUrl: 'https://crm.example/wh/1',
      webhookToken: 'wh-secret',
    })
    expect(created.instanceId).toMatch(/^\d+$/)
    expect(created.apiUrl).toBe(greenApiTestApiUrl(created.instanceId))
    expect(sim.instance(created.instanceId)).toMatchObject({
      name: 'tenant-acme',
      webhookUrl: 'https://crm.example/wh/1',
      webhookToken: 'wh-secret',
      settings: expect.objectContaining({ stateWebhook: 'yes' }),
    })
    await expect(provider().getState(created)).resolves.toBe('notAuthorized')
    const listed = await partner().listInstances()
    expect(listed.find((i) => i.instanceId === created.instanceId)).toMatchObject({ name: 'tenant-acme', deleted: false })
    expect(JSON.stringify(listed)).not.toContain(created.apiToken)
  })

  it('deletes an instance; deleting it again (200 + code 404) is a success', async () => {
    const created = await partner().createInstance({ name: 't', webhookUrl: 'https://crm.example/wh', webhookToken: 'x' })
    await partner().deleteInstance(created.instanceId)
    expect(sim.instance(created.instanceId)?.deleted).toBe(true)
    await expect(partner().deleteInstance(created.instanceId)).resolves.toBeUndefined()
  })

  it('maps a partner error sent as HTTP 200 + {code:401} to UpstreamAuthError', async () => {
    const canary = `PARTNERCANARY${randomBytes(8).toString('hex')}`
    const err = await caught(partner(canary).createInstance({ name: 't', webhookUrl: 'https://x.example', webhookToken: 'y' }))
    expect(err.code).toBe('UPSTREAM_AUTH')
    expect(`${err.message}${err.stack}`).not.toContain(canary)
    expect((await caught(partner(canary).deleteInstance('1101000001'))).code).toBe('UPSTREAM_AUTH')
  })

  it('maps other partner error codes (200 + {code:500}) to UpstreamUnavailableError', async () => {
    mocks.server.use(
      http.post(`${GREEN_API_TEST_PARTNER_URL}/partner/createInstance/:token`, () =>
        HttpResponse.json({ code: 500, description: 'Internal error' }),
      ),
    )
    const err = await caught(partner().createInstance({ name: 't', webhookUrl: 'https://x.example', webhookToken: 'y' }))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
  })

  it('maps a garbage partner answer to UpstreamUnavailableError', async () => {
    mocks.server.use(
      http.post(`${GREEN_API_TEST_PARTNER_URL}/partner/createInstance/:token`, () => HttpResponse.json({ idInstance: 'abc' })),
    )
    const err = await caught(partner().createInstance({ name: 't', webhookUrl: 'https://x.example', webhookToken: 'y' }))
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE')
  })
})
