import { describe, expect, it } from 'vitest'
import { StatusResponseSchema } from '../../app/api/schemas'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, instanceRow, linkByScan, newTenant, post, providerRow, scanTarget, statusOf } from './api-support'

// No flushWebhooks() here: it also waits for the retries (up to 5 s) of webhooks an earlier
// disconnect made the simulator send to a released instance; eventually() polls instead.
const h = useWaApp({ instances: 8 })
const macrea = () => ({ token: h.tokens.owner, tenantId: 'macrea' })

describe('full journey over HTTP (simulator behind MSW)', () => {
  it('generate → notAuthorized → scan → authorized → test send → disconnect → not connected → disconnect again', async () => {
    const gen = await post(h, '/api/wa/qr/generate', macrea())
    expect(gen.status).toBe(200)
    const qr = (await gen.json()) as { ok: boolean; qrCode: string; expiresAt: string }
    expect(qr.ok).toBe(true)
    expect(qr.qrCode).toMatch(/^data:image\/png;base64,/)

    expect(await statusOf(h, macrea())).toMatchObject({ connected: false, status: 'notAuthorized' })

    const { instanceId, nonce, url } = await scanTarget(qr.qrCode)
    expect(url.startsWith(`${h.app.url}/dev/simulator/scan/`)).toBe(true)
    expect(h.sim.scan(instanceId, nonce, '+33612345678')).toMatchObject({ ok: true })
    const connected = await eventually(async () => {
      const s = await statusOf(h, macrea())
      expect(s).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
      return s
    })
    expect(connected.phoneNumber).toBe('+33612345678')

    // Test send to the connected number itself (default recipient) …
    h.sim.resetCallCounts()
    const sent = await post(h, '/api/wa/test', macrea())
    expect(sent.status).toBe(200)
    const sentBody = (await sent.json()) as { ok: boolean; idMessage: string }
    expect(sentBody).toEqual({ ok: true, idMessage: expect.any(String), messageId: expect.any(String) })
    expect(sentBody.idMessage.length).toBeGreaterThan(0)
    // … reached the simulator, on the tenant's own instance, to the right chatId.
    expect(h.sim.callCount({ instanceId, method: 'sendMessage' })).toBe(1)
    const delivered = h.sim.instance(instanceId)!.sent.find((m) => m.idMessage === sentBody.idMessage)
    expect(delivered).toMatchObject({ chatId: '33612345678@c.us' })

    // … and to an explicit recipient with an explicit text.
    const sent2 = await post(h, '/api/wa/test', macrea(), { to: '+33698765432', message: 'Bonjour depuis le test' })
    expect(sent2.status).toBe(200)
    const id2 = ((await sent2.json()) as { idMessage: string }).idMessage
    expect(h.sim.instance(instanceId)!.sent.find((m) => m.idMessage === id2)).toMatchObject({
      chatId: '33698765432@c.us',
      message: 'Bonjour depuis le test',
    })

    const first = await post(h, '/api/wa/disconnect', macrea())
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({ ok: true, message: 'WhatsApp déconnecté avec succès' })
    // Logged out upstream, row gone, instance released.
    expect(h.sim.instance(instanceId)!.state).toBe('notAuthorized')
    expect(await providerRow('macrea')).toBeUndefined()
    expect((await instanceRow(instanceId)).tenant_id).toBeNull()

    const after = await statusOf(h, macrea())
    expect(after).toMatchObject({ connected: false, status: 'notAuthorized' })
    expect(after.phoneNumber).toBeUndefined()

    const second = await post(h, '/api/wa/disconnect', macrea())
    expect(second.status).toBe(200)
    expect(await second.json()).toEqual({ ok: true, message: 'WhatsApp déconnecté avec succès' })

    // The timeline recorded the transitions.
    const events = await testDb()
      .selectFrom('wa_status_events')
      .select(['to_status'])
      .where('tenant_id', '=', 'macrea')
      .orderBy('id')
      .execute()
    expect(events.map((e) => e.to_status)).toEqual(expect.arrayContaining(['notAuthorized', 'authorized']))
  })

  it('pairing code: POST /api/wa/pairing-code → the phone types the code → authorized with that number', async () => {
    const p = await newTenant()
    const res = await post(h, '/api/wa/pairing-code', p, { phoneNumber: '+33611223344' })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { ok: boolean; code: string; expiresAt: string }
    expect(body.ok).toBe(true)
    expect(body.code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/)
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now())
    expect(await statusOf(h, p)).toMatchObject({ connected: false, status: 'notAuthorized' })

    expect(h.sim.pair(body.code)).toMatchObject({ ok: true, phoneE164: '+33611223344' })
    await eventually(async () =>
      expect(await statusOf(h, p)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33611223344' }),
    )
    const row = await providerRow(p.tenantId)
    expect(row).toMatchObject({ connection_status: 'authorized', is_active: true, phone_number: '+33611223344' })

    // Already authorized: generate and pairing-code both refuse with 409 ALREADY_CONNECTED, no QR asked.
    h.sim.resetCallCounts()
    await expectError(await post(h, '/api/wa/qr/generate', p), 409, 'ALREADY_CONNECTED')
    await expectError(await post(h, '/api/wa/pairing-code', p, { phoneNumber: '+33611223344' }), 409, 'ALREADY_CONNECTED')
    expect(h.sim.callCount({ method: 'qr' })).toBe(0)
    expect(h.sim.callCount({ method: 'getAuthorizationCode' })).toBe(0)
  })

  it('test send while not authorized → 409 NOT_CONNECTED and no sendMessage reaches Green-API', async () => {
    const n = await newTenant()
    h.sim.resetCallCounts()
    // No connection at all.
    await expectError(await post(h, '/api/wa/test', n), 409, 'NOT_CONNECTED')
    // A link attempt in progress (QR shown, not scanned): still refused, nothing queued upstream.
    const gen = await post(h, '/api/wa/qr/generate', n)
    expect(gen.status).toBe(200)
    const { instanceId } = await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)
    await expectError(await post(h, '/api/wa/test', n, { to: '+33698765432' }), 409, 'NOT_CONNECTED')
    expect(h.sim.callCount({ method: 'sendMessage' })).toBe(0)
    expect(h.sim.instance(instanceId)!.queued).toHaveLength(0)
    await post(h, '/api/wa/disconnect', n)
  })

  it('Green-API answers alreadyLogged → recorded as connected and 409 ALREADY_CONNECTED', async () => {
    const l = await newTenant()
    const gen = await post(h, '/api/wa/qr/generate', l)
    expect(gen.status).toBe(200)
    const { instanceId } = await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)
    // The phone got linked behind our back and the webhook never arrived: switch the state
    // webhook off upstream (as a misconfigured instance would be), then link.
    const view = h.sim.instance(instanceId)!
    h.sim.setRateLimitsEnabled(false)
    try {
      const off = await h.sim.handle({
        method: 'setSettings',
        httpMethod: 'POST',
        instanceId,
        token: view.apiToken,
        body: { stateWebhook: 'no' },
      })
      expect(off.status).toBe(200)
    } finally {
      h.sim.setRateLimitsEnabled(true)
    }
    h.sim.authorize(instanceId, '+33655555555')
    expect(await providerRow(l.tenantId)).toMatchObject({ connection_status: 'notAuthorized' })

    h.sim.resetCallCounts()
    await expectError(await post(h, '/api/wa/qr/generate', l), 409, 'ALREADY_CONNECTED')
    expect(h.sim.callCount({ instanceId, method: 'qr' })).toBe(1)
    expect(await providerRow(l.tenantId)).toMatchObject({
      connection_status: 'authorized',
      is_active: true,
      phone_number: '+33655555555',
    })
    expect(await statusOf(h, l)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33655555555' })
    await post(h, '/api/wa/disconnect', l)
  })
})

// --- Server-sent events --------------------------------------------------------------------------

interface SseEvent {
  event: string
  data: unknown
}

/** Opens the SSE stream and returns a reader of parsed events with a per-read timeout. */
async function openEvents(token: string, tenant: string) {
  const controller = new AbortController()
  const res = await fetch(`${h.app.url}/api/wa/events`, {
    headers: { authorization: `Bearer ${token}`, 'x-tenant': tenant, accept: 'text/event-stream' },
    signal: controller.signal,
  })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const queue: SseEvent[] = []
  async function next(timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const shifted = queue.shift()
      if (shifted) return shifted
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error('no SSE event in time')
      let timer: NodeJS.Timeout | undefined
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no SSE event in time')), remaining)
        }),
      ]).finally(() => clearTimeout(timer))
      if (chunk.done) throw new Error('SSE stream ended')
      buffer += decoder.decode(chunk.value, { stream: true })
      let sep: number
      while ((sep = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, sep)
        buffer = buffer.slice(sep + 2)
        const lines = block.split('\n')
        const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim())
        if (data.length === 0) continue // comment (heartbeat) or retry-only block
        const event =
          lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim() ?? 'message'
        queue.push({ event, data: JSON.parse(data.join('\n')) })
      }
    }
  }
  return { res, next, close: () => controller.abort() }
}

async function sseClients(): Promise<number> {
  const text = await (await fetch(`${h.app.url}/metrics`)).text()
  const m = /^wa_sse_clients (\d+)/m.exec(text)
  return m ? Number(m[1]) : Number.NaN
}

describe('GET /api/wa/events (SSE)', () => {
  it('sends the current status first, then `authorized` after a scan, and closes cleanly when the client goes', async () => {
    const s = await newTenant()
    const gen = await post(h, '/api/wa/qr/generate', s)
    expect(gen.status).toBe(200)
    const { instanceId, nonce } = await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)

    const before = await sseClients()
    const stream = await openEvents(s.token, s.tenantId)
    expect(stream.res.status).toBe(200)
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(stream.res.headers.get('cache-control')).toMatch(/no-store/)
    try {
      const initial = await stream.next()
      expect(initial).toMatchObject({ event: 'status', data: { connected: false, status: 'notAuthorized' } })
      expect(await sseClients()).toBe(before + 1)

      expect(h.sim.scan(instanceId, nonce, '+33612345678')).toMatchObject({ ok: true })
      let ev = await stream.next()
      while ((ev.data as { status?: string }).status !== 'authorized') ev = await stream.next()
      expect(ev).toMatchObject({ event: 'status', data: { connected: true, status: 'authorized', phoneNumber: '+33612345678' } })
      // The account's profile follows in its own push, once the background job stored it (decision 242).
      while (!('pictureUrl' in (ev.data as object))) ev = await stream.next()
      expect(ev.data).toMatchObject({
        profileName: expect.any(String),
        pictureUrl: expect.stringMatching(/^\/api\/wa\/profile-picture\?v=/),
      })
      // One status shape: a pushed event is the REST answer's JSON, key for key (one presenter).
      const rest = await statusOf(h, s)
      expect(Object.keys(ev.data as object)).toEqual(Object.keys(rest))
      expect(StatusResponseSchema.strict().parse(ev.data)).toEqual({ ...rest, checkedAt: expect.any(String) })
    } finally {
      stream.close()
    }
    // The server noticed the client left: the stream's subscription is gone.
    await eventually(async () => expect(await sseClients()).toBe(before))
    await post(h, '/api/wa/disconnect', s)
  })

  it("a tenant's stream never carries another tenant's status", async () => {
    const quiet = await newTenant()
    const busy = await newTenant()
    const stream = await openEvents(quiet.token, quiet.tenantId)
    try {
      expect(await stream.next()).toMatchObject({ data: { connected: false, status: 'notAuthorized' } })
      await linkByScan(h, busy, '+33677777777')
      await expect(stream.next(800)).rejects.toThrow(/no SSE event in time/)
    } finally {
      stream.close()
    }
    await post(h, '/api/wa/disconnect', busy)
  })
})

// --- Webhooks ------------------------------------------------------------------------------------

describe('POST /api/wa/webhooks/green-api/:instanceId', () => {
  const stateEvent = (instanceId: string, state: string, timestamp = Math.floor(Date.now() / 1000)) => ({
    typeWebhook: 'stateInstanceChanged',
    instanceData: { idInstance: Number(instanceId), wid: '', typeInstance: 'whatsapp' },
    timestamp,
    stateInstance: state,
  })
  const hook = (instanceId: string, body: unknown, authorization?: string) =>
    fetch(`${h.app.url}/api/wa/webhooks/green-api/${instanceId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    })

  it('bad token, no token, unknown or malformed instance → 401 and no row change; the right token applies', async () => {
    const w = await newTenant()
    const instanceId = await linkByScan(h, w, '+33612345678')
    const snapshot = async () => {
      const row = await providerRow(w.tenantId)
      const events = await testDb()
        .selectFrom('wa_status_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('tenant_id', '=', w.tenantId)
        .executeTakeFirstOrThrow()
      return {
        status: row?.connection_status,
        phone: row?.phone_number,
        changed: row?.status_changed_at.toISOString(),
        events: Number(events.n),
      }
    }
    const before = await snapshot()
    expect(before.status).toBe('authorized')

    const logout = stateEvent(instanceId, 'notAuthorized')
    await expectError(await hook(instanceId, logout, 'Bearer not-the-token'), 401, 'WEBHOOK_UNAUTHORIZED')
    await expectError(await hook(instanceId, logout), 401, 'WEBHOOK_UNAUTHORIZED')
    await expectError(await hook(instanceId, logout, 'Basic Zm9vOmJhcg=='), 401, 'WEBHOOK_UNAUTHORIZED')
    const realToken = h.sim.instance(instanceId)!.webhookToken
    expect(realToken.length).toBeGreaterThan(10)
    // Another instance's id with this instance's token, an unknown id, a malformed id.
    await expectError(
      await hook('999999999999', stateEvent('999999999999', 'notAuthorized'), `Bearer ${realToken}`),
      401,
      'WEBHOOK_UNAUTHORIZED',
    )
    await expectError(await hook('not-a-number', logout, `Bearer ${realToken}`), 401, 'WEBHOOK_UNAUTHORIZED')
    expect(await snapshot()).toEqual(before)
    expect(await statusOf(h, w)).toMatchObject({ connected: true, status: 'authorized' })

    // Out-of-order: an event older than the last applied one is acknowledged and ignored.
    const stale = await hook(
      instanceId,
      stateEvent(instanceId, 'notAuthorized', Math.floor(Date.now() / 1000) - 3600),
      `Bearer ${realToken}`,
    )
    expect(stale.status).toBe(200)
    expect(await stale.json()).toEqual({ ok: true, applied: false })
    expect(await snapshot()).toEqual(before)

    // Positive control: the real token changes the state at once.
    const applied = await hook(
      instanceId,
      stateEvent(instanceId, 'yellowCard', Math.floor(Date.now() / 1000) + 1),
      `Bearer ${realToken}`,
    )
    expect(applied.status).toBe(200)
    expect(await applied.json()).toEqual({ ok: true, applied: true })
    expect(await providerRow(w.tenantId)).toMatchObject({ connection_status: 'yellowCard' })
    await post(h, '/api/wa/disconnect', w)
  })
})

describe('status reads', () => {
  it('a member may read the status and the features (read-only routes)', async () => {
    const res = await get(h, '/api/wa/qr/status', { token: h.tokens.member, tenantId: 'macrea' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ connected: false, status: 'notAuthorized' })
  })
})
