import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GreenApiWhatsAppProvider, NOTIFICATIONS_WE_HANDLE } from '../../adapters/green-api/green-api-whatsapp-provider'
import {
  DEFAULT_SIMULATOR_MOUNT_PATH,
  GreenApiSimulator,
  type GreenApiSimulatorOptions,
  createGreenApiSimulatorRouter,
  type SimRequest,
} from '../../adapters/green-api/simulator'

// The simulator state machine itself, driven through `handle` with an injected clock, plus its
// express transport over real HTTP on 127.0.0.1.

interface Delivered {
  url: string
  headers: Record<string, string>
  body: unknown
}

function setup(
  opts: {
    rateLimits?: boolean
    persistPath?: string
    now?: () => number
    receiptDelaysMs?: readonly [number, number, number]
    receiptPlan?: GreenApiSimulatorOptions['receiptPlan']
  } = {},
) {
  const clock = { t: 1_705_902_314_000 }
  const delivered: Delivered[] = []
  const sim = new GreenApiSimulator({
    now: opts.now ?? (() => clock.t),
    publicUrl: ({ origin, host }) => origin ?? `http://${host ?? 'sim.test'}`,
    deliverWebhook: async (url, headers, body) => {
      delivered.push({ url, headers, body })
    },
    rateLimits: opts.rateLimits ?? true,
    rebootMs: 2000,
    ...(opts.persistPath ? { persistPath: opts.persistPath } : {}),
    ...(opts.receiptDelaysMs ? { receiptDelaysMs: opts.receiptDelaysMs } : {}),
    ...(opts.receiptPlan ? { receiptPlan: opts.receiptPlan } : {}),
  })
  const [creds] = sim.createInstances(1)
  const call = (method: string, extra: Partial<SimRequest> = {}) =>
    sim.handle({
      method,
      httpMethod: ['setSettings', 'sendMessage', 'getAuthorizationCode'].includes(method) ? 'POST' : 'GET',
      instanceId: creds!.instanceId,
      token: creds!.apiToken,
      body: undefined,
      ...extra,
    })
  return { sim, clock, delivered, creds: creds!, call }
}

describe('Green-API simulator: linking', () => {
  it('scan authorizes the instance and fires stateInstanceChanged with the Bearer webhook token', async () => {
    const { sim, delivered, creds, call } = setup()
    expect(
      (
        await call('setSettings', {
          body: { webhookUrl: 'https://crm.example/wh/1', webhookUrlToken: 'tok-123', stateWebhook: 'yes' },
        })
      ).body,
    ).toEqual({
      saveSettings: true,
    })
    const nonce = sim.currentQrNonce(creds.instanceId)!
    expect(sim.scan(creds.instanceId, nonce, '+71231234567')).toEqual({
      ok: true,
      instanceId: creds.instanceId,
      phoneE164: '+71231234567',
    })
    await sim.flushWebhooks()
    expect(delivered).toEqual([
      {
        url: 'https://crm.example/wh/1',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok-123' },
        body: {
          typeWebhook: 'stateInstanceChanged',
          instanceData: { idInstance: Number(creds.instanceId), wid: '71231234567@c.us', typeInstance: 'whatsapp' },
          timestamp: 1705902314,
          stateInstance: 'authorized',
        },
      },
    ])
    expect((await call('getStateInstance')).body).toEqual({ stateInstance: 'authorized' })
    expect((await call('getWaSettings')).body).toMatchObject({ phone: '71231234567', stateInstance: 'authorized' })
    expect((await call('qr')).body).toEqual({ type: 'alreadyLogged', message: 'instance account already authorized' })
  })

  it('fires no webhook unless stateWebhook is "yes" (like the real service)', async () => {
    const { sim, delivered, creds, call } = setup()
    await call('setSettings', { body: { webhookUrl: 'https://crm.example/wh', webhookUrlToken: 't' } })
    sim.scan(creds.instanceId, sim.currentQrNonce(creds.instanceId)!, '+33612345678')
    await sim.flushWebhooks()
    expect(delivered).toEqual([])
  })

  it('rejects a stale nonce and an already linked instance', async () => {
    const { sim, creds } = setup()
    expect(sim.scan(creds.instanceId, 'deadbeefdeadbeef', '+33612345678')).toEqual({ ok: false, reason: 'stale_qr' })
    expect(sim.scan('1109999999', 'x', '+33612345678')).toEqual({ ok: false, reason: 'unknown_instance' })
    expect(sim.scan(creds.instanceId, sim.currentQrNonce(creds.instanceId)!, 'abc')).toEqual({
      ok: false,
      reason: 'invalid_phone',
    })
    expect(sim.scan(creds.instanceId, sim.currentQrNonce(creds.instanceId)!, '+33612345678').ok).toBe(true)
    expect(sim.scan(creds.instanceId, sim.currentQrNonce(creds.instanceId)!, '+33612345678')).toEqual({
      ok: false,
      reason: 'already_linked',
    })
  })

  it('rotates the QR every 20 s (injected clock); the previous code scans only during a short grace', async () => {
    const { sim, clock, creds } = setup()
    const first = sim.currentQrNonce(creds.instanceId)!
    clock.t += 19_999
    expect(sim.currentQrNonce(creds.instanceId)).toBe(first)
    clock.t += 1
    const second = sim.currentQrNonce(creds.instanceId)!
    expect(second).not.toBe(first)
    clock.t += 5_000 // grace over
    expect(sim.scan(creds.instanceId, first, '+33612345678')).toEqual({ ok: false, reason: 'stale_qr' })
    clock.t += 15_000 // rotation again
    expect(sim.currentQrNonce(creds.instanceId)).not.toBe(second)
    expect(sim.scan(creds.instanceId, second, '+33612345678').ok).toBe(true) // within 5 s of rotation
  })

  it('pairing code: 8 chars, valid ~150 s, links the requested phone and fires the webhook', async () => {
    const { sim, clock, delivered, creds, call } = setup()
    await call('setSettings', { body: { webhookUrl: 'https://crm.example/wh', webhookUrlToken: 'w', stateWebhook: 'yes' } })
    const bad = await call('getAuthorizationCode', { body: { phoneNumber: '+33612345678' } })
    expect(bad.status).toBe(400)
    const res = await call('getAuthorizationCode', { body: { phoneNumber: 33612345678 } })
    const { code } = res.body as { status: boolean; code: string }
    expect(res.body).toMatchObject({ status: true })
    expect(code).toMatch(/^[A-Z0-9]{8}$/)
    expect(sim.pair(code, '+33700000000')).toEqual({ ok: false, reason: 'phone_mismatch' })
    clock.t += 150_000
    expect(sim.pair(code)).toEqual({ ok: false, reason: 'expired_code' })
    const again = (await call('getAuthorizationCode', { body: { phoneNumber: 33612345678 } })).body as { code: string }
    clock.t += 60_000
    expect(sim.pair(`${again.code.slice(0, 4)}-${again.code.slice(4)}`.toLowerCase())).toEqual({
      ok: true,
      instanceId: creds.instanceId,
      phoneE164: '+33612345678',
    })
    await sim.flushWebhooks()
    expect(delivered.map((d) => (d.body as { stateInstance: string }).stateInstance)).toEqual(['authorized'])
    expect((await call('getAuthorizationCode', { body: { phoneNumber: 33612345678 } })).body).toEqual({ status: false, code: '' })
    expect(sim.pair('ZZZZ-ZZZZ')).toEqual({ ok: false, reason: 'unknown_code' })
  })
})

describe('Green-API simulator: methods, errors, limits', () => {
  it('401 for a wrong token, 403 for an unknown instance, 404 for a wrong verb or method', async () => {
    const { call } = setup()
    expect((await call('getStateInstance', { token: 'nope' })).status).toBe(401)
    expect((await call('getStateInstance', { instanceId: '1109999999' })).status).toBe(403)
    expect((await call('getStateInstance', { httpMethod: 'POST' })).status).toBe(404)
    expect((await call('doSomethingElse')).status).toBe(404)
  })

  it('answers 429 past the per-instance limits (qr 3/s, getStateInstance 1/s), switchable off', async () => {
    const { sim, clock, call } = setup()
    expect((await call('getStateInstance')).status).toBe(200)
    expect((await call('getStateInstance')).status).toBe(429)
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await call('qr')).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    clock.t += 1000
    expect((await call('getStateInstance')).status).toBe(200)
    sim.setRateLimitsEnabled(false)
    for (let i = 0; i < 5; i++) expect((await call('getStateInstance')).status).toBe(200)
  })

  it('sendMessage validates chatId/message (400) and queues silently until the phone links', async () => {
    const { sim, creds, call } = setup()
    expect((await call('sendMessage', { body: { chatId: '+33612345678', message: 'x' } })).status).toBe(400)
    const long = await call('sendMessage', { body: { chatId: '33612345678@c.us', message: 'x'.repeat(20_001) } })
    expect(long).toMatchObject({ status: 400, body: { message: expect.stringContaining('20000') } })
    const ok = await call('sendMessage', { body: { chatId: '33612345678@c.us', message: 'hello' } })
    expect(ok.status).toBe(200)
    expect(sim.instance(creds.instanceId)?.queued).toHaveLength(1)
    sim.authorize(creds.instanceId)
    expect(sim.instance(creds.instanceId)).toMatchObject({ queued: [], sent: [expect.objectContaining({ message: 'hello' })] })
    sim.yellowCard(creds.instanceId)
    await call('sendMessage', { body: { chatId: '33612345678@c.us', message: 'dropped' } })
    expect(sim.instance(creds.instanceId)?.dropped).toHaveLength(1)
  })

  it('lastOutgoingMessages lists what left within `minutes`, newest first; getMessage finds one by chat and id', async () => {
    const { sim, clock, creds, call } = setup({ rateLimits: false })
    sim.authorize(creds.instanceId)
    const first = await call('sendMessage', { body: { chatId: '33612345678@c.us', message: 'un' } })
    clock.t += 10 * 60_000
    const second = await call('sendMessage', { body: { chatId: '33612345679@c.us', message: 'deux' } })
    const journal = (minutes?: string) => call('lastOutgoingMessages', minutes ? { query: { minutes } } : {})
    expect((await journal('5')).body).toEqual([
      {
        type: 'outgoing',
        idMessage: (second.body as { idMessage: string }).idMessage,
        timestamp: Math.floor(clock.t / 1000),
        statusMessage: 'sent',
        typeMessage: 'textMessage',
        chatId: '33612345679@c.us',
        textMessage: 'deux',
        sendByApi: true,
      },
    ])
    expect(((await journal()).body as unknown[]).length).toBe(2)
    expect((await journal('zero')).status).toBe(400)
    const id = (first.body as { idMessage: string }).idMessage
    const found = await call('getMessage', { httpMethod: 'POST', body: { chatId: '33612345678@c.us', idMessage: id } })
    expect(found.body).toMatchObject({ idMessage: id, textMessage: 'un' })
    const wrongChat = await call('getMessage', { httpMethod: 'POST', body: { chatId: '33612345679@c.us', idMessage: id } })
    expect(wrongChat.status).toBe(400)
  })

  it('reboot passes through starting, then returns to the previous state after rebootMs', async () => {
    const { sim, clock, creds, call } = setup()
    sim.authorize(creds.instanceId)
    expect((await call('reboot')).body).toEqual({ isReboot: true })
    expect((await call('getStateInstance')).body).toEqual({ stateInstance: 'starting' })
    clock.t += 2000
    expect((await call('getStateInstance')).body).toEqual({ stateInstance: 'authorized' })
  })

  it('logout returns to notAuthorized with a fresh QR and empty phone fields', async () => {
    const { sim, creds, call } = setup({ rateLimits: false })
    sim.authorize(creds.instanceId, '+33612345678')
    const before = sim.currentQrNonce(creds.instanceId)
    expect((await call('logout')).body).toEqual({ isLogout: true })
    expect((await call('getStateInstance')).body).toEqual({ stateInstance: 'notAuthorized' })
    expect((await call('getWaSettings')).body).toMatchObject({ phone: '', avatar: '', deviceId: '' })
    expect(sim.currentQrNonce(creds.instanceId)).not.toBe(before)
    expect(sim.scan(creds.instanceId, before!, '+33612345678')).toEqual({ ok: false, reason: 'stale_qr' })
  })

  it('fault switches: down, 429 with/without Retry-After, 466, garbage, wrong shape, null state, reset, slow, times', async () => {
    const { sim, creds, call } = setup({ rateLimits: false })
    const id = creds.instanceId
    const clear = sim.fault({ instanceId: id }).down(502)
    expect((await call('getStateInstance')).status).toBe(502)
    clear()
    sim.fault({ times: 1 }).down() // global
    expect((await call('getStateInstance')).status).toBe(503)
    expect((await call('getStateInstance')).status).toBe(200)
    sim.fault({ instanceId: id, times: 1 }).rateLimited(7)
    expect(await call('getStateInstance')).toMatchObject({ status: 429, headers: { 'retry-after': '7' } })
    sim.fault({ instanceId: id, times: 1 }).rateLimited()
    const noHeader = await call('getStateInstance')
    expect(noHeader.status).toBe(429)
    expect(noHeader.headers?.['retry-after']).toBeUndefined()
    sim.fault({ instanceId: id, times: 1 }).quota466()
    expect(await call('sendMessage', { body: { chatId: '1@c.us', message: 'x' } })).toMatchObject({
      status: 466,
      body: { invokeStatus: { status: 'QUOTE_EXCEEDED' } },
    })
    sim.fault({ instanceId: id, times: 1 }).garbage()
    const garbage = await call('getStateInstance')
    expect(() => JSON.parse(garbage.rawBody ?? '')).toThrow()
    sim.fault({ instanceId: id, times: 1, methods: ['getStateInstance'] }).wrongShape()
    expect((await call('getStateInstance')).body).not.toHaveProperty('stateInstance')
    sim.fault({ instanceId: id, times: 1 }).nullState()
    expect((await call('getStateInstance')).body).toBeNull()
    sim.fault({ instanceId: id, times: 1 }).reset()
    expect((await call('getStateInstance')).reset).toBe(true)
    sim.fault({ instanceId: id, times: 1 }).slow(80)
    const t0 = Date.now()
    await call('getStateInstance')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75)
    expect((await call('getStateInstance')).body).toEqual({ stateInstance: 'notAuthorized' })
  })

  it('partner API: token check and errors as HTTP 200 + {code, description}', async () => {
    const { sim } = setup()
    const wrong = await sim.handlePartner({ method: 'createInstance', httpMethod: 'POST', token: 'nope', body: { name: 'x' } })
    expect(wrong).toMatchObject({ status: 200, body: { code: 401, description: 'Unauthorized' } })
    const created = await sim.handlePartner({
      method: 'createInstance',
      httpMethod: 'POST',
      token: sim.partnerToken,
      body: { name: 'acme', webhookUrl: 'https://crm.example/wh', webhookUrlToken: 't', stateWebhook: 'yes' },
    })
    const { idInstance, apiTokenInstance } = created.body as { idInstance: number; apiTokenInstance: string }
    expect(created.body).toMatchObject({ typeInstance: 'whatsapp' })
    expect(sim.instance(String(idInstance))).toMatchObject({ apiToken: apiTokenInstance, name: 'acme' })
    const list = await sim.handlePartner({ method: 'getInstances', httpMethod: 'GET', token: sim.partnerToken, body: undefined })
    expect(list.body).toEqual(expect.arrayContaining([expect.objectContaining({ idInstance, deleted: false })]))
    const del = () =>
      sim.handlePartner({ method: 'deleteInstanceAccount', httpMethod: 'POST', token: sim.partnerToken, body: { idInstance } })
    expect((await del()).body).toEqual({ deleteInstanceAccount: true })
    expect((await del()).body).toEqual({ code: 404, description: 'Not found' })
  })
})

/** A linked instance with the notifications the app turns on, and what it has delivered so far. */
async function linkedWithNotifications(opts: Parameters<typeof setup>[0] = {}) {
  const t = setup(opts)
  await t.call('setSettings', {
    body: { webhookUrl: 'https://crm.example/wh', webhookUrlToken: 'tok', ...NOTIFICATIONS_WE_HANDLE },
  })
  t.sim.authorize(t.creds.instanceId, '+71231234567')
  await t.sim.flushWebhooks()
  t.delivered.length = 0
  const send = async (chatId: string, message = 'hello') =>
    ((await t.call('sendMessage', { body: { chatId, message } })).body as { idMessage: string }).idMessage
  const bodies = () => t.delivered.map((d) => d.body as Record<string, unknown>)
  return { ...t, send, bodies }
}

describe('Green-API simulator: receipts (outgoingMessageStatus)', () => {
  it('an accepted message gets sent → delivered → read, in Green-API’s shape, with the Bearer token', async () => {
    const { sim, creds, send, delivered } = await linkedWithNotifications()
    const id = await send('33612345678@c.us')
    expect(sim.pendingReceipts({ idMessage: id })).toEqual([
      { idMessage: id, status: 'sent' },
      { idMessage: id, status: 'delivered' },
      { idMessage: id, status: 'read' },
    ])
    expect(await sim.releaseReceipts({ instanceId: creds.instanceId })).toBe(3)
    const receipt = (status: string) => ({
      url: 'https://crm.example/wh',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok' },
      body: {
        typeWebhook: 'outgoingMessageStatus',
        chatId: '33612345678@c.us',
        instanceData: { idInstance: Number(creds.instanceId), wid: '71231234567@c.us', typeInstance: 'whatsapp' },
        timestamp: 1705902314,
        idMessage: id,
        status,
        sendByApi: true,
      },
    })
    expect(delivered).toEqual([receipt('sent'), receipt('delivered'), receipt('read')])
    expect(sim.pendingReceipts()).toEqual([])
  })

  it('emits them on their own after the configured delays', async () => {
    const { sim, send, bodies } = await linkedWithNotifications({ receiptDelaysMs: [1, 1, 1] })
    const id = await send('33612345678@c.us')
    for (let i = 0; i < 200 && sim.pendingReceipts().length > 0; i++) await new Promise((r) => setTimeout(r, 5))
    await sim.flushWebhooks()
    expect(bodies().map((b) => [b['idMessage'], b['status']])).toEqual([
      [id, 'sent'],
      [id, 'delivered'],
      [id, 'read'],
    ])
  })

  it('a number ending in 0000 answers noAccount only; noAccount and failed go out even with outgoingWebhook off', async () => {
    const { sim, clock, creds, call, send, bodies } = await linkedWithNotifications()
    const none = await send('33600000000@c.us')
    await sim.releaseReceipts()
    expect(bodies().map((b) => [b['idMessage'], b['status']])).toEqual([[none, 'noAccount']])

    clock.t += 1000 // setSettings: 1 request/s
    expect((await call('setSettings', { body: { outgoingWebhook: 'no' } })).status).toBe(200)
    sim.authorize(creds.instanceId, '+71231234567') // back from the settings restart
    await sim.flushWebhooks()
    const before = bodies().length
    const quiet = await send('33612345678@c.us')
    await sim.releaseReceipts()
    sim.emitReceipt(creds.instanceId, quiet, 'failed', { description: 'error while sending' })
    await sim.flushWebhooks()
    const after = bodies()
      .slice(before)
      .filter((b) => b['typeWebhook'] === 'outgoingMessageStatus')
    expect(after).toEqual([expect.objectContaining({ idMessage: quiet, status: 'failed', description: 'error while sending' })])
  })

  it('receiptPlan scripts out-of-order and duplicated receipts; emitReceipt sends any status at once', async () => {
    const { sim, creds, send, bodies } = await linkedWithNotifications({
      receiptPlan: (_m, [sent, delivered, read]) => [read!, delivered!, sent!, delivered!],
    })
    const id = await send('33612345678@c.us')
    await sim.releaseReceipts()
    expect(bodies().map((b) => b['status'])).toEqual(['read', 'delivered', 'sent', 'delivered'])
    sim.emitReceipt(creds.instanceId, 'NEVER-STORED', 'delivered', { chatId: '33611111111@c.us' })
    await sim.flushWebhooks()
    expect(bodies().at(-1)).toMatchObject({ idMessage: 'NEVER-STORED', status: 'delivered', chatId: '33611111111@c.us' })
    expect(() => sim.emitReceipt(creds.instanceId, 'NEVER-STORED', 'read')).toThrow(/chatId/)
    expect(id).toMatch(/^[0-9A-F]{20}$/)
  })

  it('a message sent under a yellow card is dropped and its receipt says yellowCard; a queued one gets its receipts once linked', async () => {
    const { sim, creds, send, bodies } = await linkedWithNotifications()
    sim.yellowCard(creds.instanceId)
    const dropped = await send('33612345678@c.us')
    await sim.releaseReceipts()
    expect(
      bodies()
        .filter((b) => b['idMessage'] === dropped)
        .map((b) => b['status']),
    ).toEqual(['yellowCard'])
    expect(sim.instance(creds.instanceId)?.dropped.map((m) => m.idMessage)).toEqual([dropped])

    sim.setState(creds.instanceId, 'notAuthorized')
    const queued = await send('33612345678@c.us')
    expect(sim.pendingReceipts({ idMessage: queued })).toEqual([])
    sim.authorize(creds.instanceId, '+71231234567')
    await sim.releaseReceipts()
    expect(
      bodies()
        .filter((b) => b['idMessage'] === queued)
        .map((b) => b['status']),
    ).toEqual(['sent', 'delivered', 'read'])
  })

  it('with no webhook URL (HTTP API technology) receipts wait in the receiveNotification queue', async () => {
    const { sim, creds, call } = setup()
    await call('setSettings', { body: { webhookUrl: '', outgoingWebhook: 'yes' } })
    sim.authorize(creds.instanceId)
    const { idMessage } = (await call('sendMessage', { body: { chatId: '33612345678@c.us', message: 'hi' } })).body as {
      idMessage: string
    }
    await sim.releaseReceipts()
    const statuses: unknown[] = []
    for (;;) {
      const n = (await call('receiveNotification', { query: { receiveTimeout: '5' } })).body as {
        receiptId: number
        body: Record<string, unknown>
      } | null
      if (!n) break
      if (n.body['typeWebhook'] === 'outgoingMessageStatus') statuses.push([n.body['idMessage'], n.body['status']])
      await call('deleteNotification', { httpMethod: 'DELETE', pathTail: String(n.receiptId) })
    }
    expect(statuses).toEqual([
      [idMessage, 'sent'],
      [idMessage, 'delivered'],
      [idMessage, 'read'],
    ])
  })
})

describe('Green-API simulator: incoming messages (incomingMessageReceived)', () => {
  it('a text arrives as textMessage with senderData, in Green-API’s shape', async () => {
    const { sim, creds, delivered } = await linkedWithNotifications()
    const res = sim.injectIncoming(creds.instanceId, { from: '+33698765432', text: 'Bonjour', senderName: 'Alice' })
    expect(res).toMatchObject({ ok: true })
    await sim.flushWebhooks()
    expect(delivered).toEqual([
      {
        url: 'https://crm.example/wh',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok' },
        body: {
          typeWebhook: 'incomingMessageReceived',
          instanceData: { idInstance: Number(creds.instanceId), wid: '71231234567@c.us', typeInstance: 'whatsapp' },
          timestamp: 1705902314,
          idMessage: res.ok ? res.idMessage : '',
          senderData: {
            chatId: '33698765432@c.us',
            chatName: 'Alice',
            sender: '33698765432@c.us',
            senderName: 'Alice',
            senderContactName: 'Alice',
          },
          messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'Bonjour' } },
        },
      },
    ])
  })

  it('a link makes an extendedTextMessage; media, location and contact have their documented data objects', async () => {
    const { sim, creds, bodies } = await linkedWithNotifications()
    const id = creds.instanceId
    sim.injectIncoming(id, { from: '+33698765432', text: 'voir https://example.org' })
    sim.injectIncoming(id, { from: '+33698765432', type: 'imageMessage', text: 'ma photo' })
    sim.injectIncoming(id, { from: '+33698765432', type: 'documentMessage', fileName: 'devis.pdf' })
    sim.injectIncoming(id, { from: '+33698765432', type: 'videoMessage' })
    sim.injectIncoming(id, { from: '+33698765432', type: 'audioMessage' })
    sim.injectIncoming(id, {
      from: '+33698765432',
      type: 'locationMessage',
      location: { latitude: 43.3, longitude: 5.4, name: 'Vieux-Port', address: 'Marseille' },
    })
    sim.injectIncoming(id, { from: '+33698765432', type: 'contactMessage', contact: { displayName: 'Bob' } })
    await sim.flushWebhooks()
    const data = bodies().map((b) => b['messageData'] as Record<string, Record<string, unknown>>)
    expect(data.map((d) => d['typeMessage'])).toEqual([
      'extendedTextMessage',
      'imageMessage',
      'documentMessage',
      'videoMessage',
      'audioMessage',
      'locationMessage',
      'contactMessage',
    ])
    expect(data[0]?.['extendedTextMessageData']).toMatchObject({ text: 'voir https://example.org' })
    expect(data[1]?.['fileMessageData']).toMatchObject({
      caption: 'ma photo',
      mimeType: 'image/jpeg',
      downloadUrl: expect.stringMatching(/^https:\/\//),
      fileName: expect.stringMatching(/\.jpg$/),
    })
    expect(data[2]?.['fileMessageData']).toMatchObject({ fileName: 'devis.pdf', mimeType: 'application/pdf', caption: '' })
    expect(data[3]?.['fileMessageData']).toMatchObject({ mimeType: 'video/mp4' })
    expect(data[4]?.['fileMessageData']).toMatchObject({ mimeType: expect.stringMatching(/^audio\//) })
    expect(data[5]?.['locationMessageData']).toMatchObject({
      nameLocation: 'Vieux-Port',
      address: 'Marseille',
      latitude: 43.3,
      longitude: 5.4,
    })
    expect(data[6]?.['contactMessageData']).toMatchObject({ displayName: 'Bob', vcard: expect.stringContaining('FN:Bob') })
  })

  it('refuses an unlinked phone, a bad number or an empty text; sends nothing with incomingWebhook off; can redeliver an id', async () => {
    const { sim, clock, creds, call, bodies } = await linkedWithNotifications()
    const id = creds.instanceId
    expect(sim.injectIncoming('1109999999', { from: '+33698765432', text: 'x' })).toEqual({
      ok: false,
      reason: 'unknown_instance',
    })
    expect(sim.injectIncoming(id, { from: 'abc', text: 'x' })).toEqual({ ok: false, reason: 'invalid_phone' })
    expect(sim.injectIncoming(id, { from: '+33698765432', text: '  ' })).toEqual({ ok: false, reason: 'invalid_message' })
    const first = sim.injectIncoming(id, { from: '+33698765432', text: 'once' })
    const again = sim.injectIncoming(id, { from: '+33698765432', text: 'once', idMessage: first.ok ? first.idMessage : '' })
    await sim.flushWebhooks()
    expect(bodies().map((b) => b['idMessage'])).toEqual([first.ok && first.idMessage, again.ok && again.idMessage])
    expect(first.ok && again.ok && first.idMessage === again.idMessage).toBe(true)

    clock.t += 1000 // setSettings: 1 request/s
    expect((await call('setSettings', { body: { incomingWebhook: 'no' } })).status).toBe(200)
    sim.authorize(id, '+71231234567')
    await sim.flushWebhooks()
    const before = bodies().length
    expect(sim.injectIncoming(id, { from: '+33698765432', text: 'unheard' })).toMatchObject({ ok: true })
    await sim.flushWebhooks()
    expect(
      bodies()
        .slice(before)
        .filter((b) => b['typeWebhook'] === 'incomingMessageReceived'),
    ).toEqual([])

    sim.setState(id, 'notAuthorized')
    expect(sim.injectIncoming(id, { from: '+33698765432', text: 'x' })).toEqual({ ok: false, reason: 'not_linked' })
  })
})

describe('Green-API simulator: persistence', () => {
  it('keeps tokens, linked state, settings and the partner token across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gsim-'))
    const file = join(dir, 'sub', 'green-api-sim.json')
    try {
      const a = setup({ persistPath: file })
      await a.call('setSettings', { body: { webhookUrl: 'https://crm.example/wh', webhookUrlToken: 'w', stateWebhook: 'yes' } })
      a.sim.authorize(a.creds.instanceId, '+33612345678')
      const [second] = a.sim.createInstances(1)
      expect(statSync(file).mode & 0o077).toBe(0)

      const b = new GreenApiSimulator({ persistPath: file, deliverWebhook: async () => {} })
      expect(b.partnerToken).toBe(a.sim.partnerToken)
      expect(b.instance(a.creds.instanceId)).toMatchObject({
        apiToken: a.creds.apiToken,
        state: 'authorized',
        phone: '33612345678',
        webhookUrl: 'https://crm.example/wh',
        settings: expect.objectContaining({ stateWebhook: 'yes' }),
      })
      expect(b.instance(second!.instanceId)).toMatchObject({ apiToken: second!.apiToken, state: 'notAuthorized' })
      // New ids continue after the persisted ones.
      const [third] = b.createInstances(1)
      expect([a.creds.instanceId, second!.instanceId]).not.toContain(third!.instanceId)
      expect(b.ensureInstances(2).map((c) => c.instanceId)).toEqual([a.creds.instanceId, second!.instanceId])
      expect(JSON.parse(readFileSync(file, 'utf8')).instances).toHaveLength(3)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('Green-API simulator: express transport and simulated phone', () => {
  const sim = new GreenApiSimulator({ deliverWebhook: async () => {}, rateLimits: false })
  let origin = ''
  let server: ReturnType<ReturnType<typeof express>['listen']>
  beforeAll(async () => {
    const app = express()
    app.use(createGreenApiSimulatorRouter(sim))
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve())
    })
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  const creds = () => {
    const c = sim.createInstances(1)[0]!
    return { ...c, apiUrl: `${origin}${DEFAULT_SIMULATOR_MOUNT_PATH}` }
  }
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  })

  it('serves the Green-API surface to the real provider over HTTP, QR pointing at the request origin', async () => {
    const c = creds()
    const p = new GreenApiWhatsAppProvider({ clientRateLimits: false })
    await expect(p.getState(c)).resolves.toBe('notAuthorized')
    await expect(p.requestQr(c)).resolves.toMatchObject({ kind: 'qr' })
    expect(sim.scanUrl(c.instanceId, { origin })).toBe(
      `${origin}/dev/simulator/scan/${c.instanceId}/${sim.currentQrNonce(c.instanceId)}`,
    )
    const bad = await fetch(`${c.apiUrl}/waInstance${c.instanceId}/sendMessage/${c.apiToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"chatId": oops',
    })
    expect(bad.status).toBe(400)
    sim.fault({ instanceId: c.instanceId, times: 1 }).reset()
    await expect(p.sendText(c, '+33612345678', 'x')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' })
  })

  it('GET scan page says SIMULATED, shows the instance and a labelled phone input; POST links; stale → "QR expiré"', async () => {
    const c = creds()
    const url = `${origin}/dev/simulator/scan/${c.instanceId}/${sim.currentQrNonce(c.instanceId)}`
    const page = await fetch(url)
    const html = await page.text()
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    expect(html).toMatch(/SIMULÉ/)
    expect(html).toContain(c.instanceId)
    expect(html).toMatch(
      /<label for="phoneNumber">[^<]+<\/label>\s*<input id="phoneNumber" name="phoneNumber"[^>]*value="\+33612345678"/,
    )
    expect(html).toMatch(/<button type="submit">Scanner<\/button>/)
    expect(html).not.toMatch(/<(script|link|img)\b/)

    const linked = await fetch(url, form({ phoneNumber: '+33611111111' }))
    expect(linked.status).toBe(200)
    expect(await linked.text()).toContain('+33611111111')
    expect(sim.instance(c.instanceId)).toMatchObject({ state: 'authorized', phone: '33611111111' })

    const d = creds()
    const staleUrl = `${origin}/dev/simulator/scan/${d.instanceId}/0000000000000000`
    const stale = await fetch(staleUrl, form({}))
    expect(stale.status).toBe(410)
    expect(await stale.text()).toContain('QR expiré')
    const staleGet = await fetch(staleUrl)
    expect(staleGet.status).toBe(410)
    expect(await staleGet.text()).toContain('QR expiré')
    expect(sim.instance(d.instanceId)?.state).toBe('notAuthorized')
  })

  it('POST /dev/simulator/pair links the instance waiting for that code', async () => {
    const c = creds()
    const p = new GreenApiWhatsAppProvider({ clientRateLimits: false })
    const { code } = await p.requestPairingCode(c, '+33622222222')
    const res = await fetch(`${origin}/dev/simulator/pair`, form({ code, phoneNumber: '' }))
    expect(res.status).toBe(200)
    await expect(p.getLinkedAccount(c)).resolves.toEqual({ phone: '+33622222222' })
    const unknown = await fetch(`${origin}/dev/simulator/pair`, form({ code: 'AAAA-AAAA', phoneNumber: '' }))
    expect(unknown.status).toBe(404)
  })
})
