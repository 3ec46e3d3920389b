import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createGreenApiSimulatorRouter,
  DEFAULT_SIMULATOR_MOUNT_PATH,
  GreenApiSimulator,
  type GreenApiSimulatorOptions,
} from '../../adapters/green-api/simulator'
import { greenApiTestApiUrl, setupMockServer } from '../mocks'

// Green-API's own JavaScript client (@green-api/whatsapp-api-client) against the simulator served
// over real HTTP on loopback, the way `npm start` serves it: what a developer who already knows
// Green-API's SDK gets when pointing it at the simulator. The shapes are green-api.com's
// (docs/green-api.md); the client builds `{host}/waInstance{id}/{method}/{token}` itself.
const require = createRequire(import.meta.url)
const { restAPI } = require('@green-api/whatsapp-api-client') as typeof import('@green-api/whatsapp-api-client')
type Client = ReturnType<typeof restAPI>

const START = Date.UTC(2026, 11, 2, 4, 0, 0)

interface Served {
  sim: GreenApiSimulator
  clock: { t: number; advance(ms: number): void }
  host: string
  client(instanceId: string, apiToken: string): Client
  /** A fresh instance and a client on it. */
  instance(): { id: string; token: string; api: Client }
  close(): Promise<void>
}

async function serve(options: GreenApiSimulatorOptions = {}): Promise<Served> {
  const clock = {
    t: START,
    advance(ms: number) {
      this.t += ms
    },
  }
  const sim = new GreenApiSimulator({
    now: () => clock.t,
    deliverWebhook: async () => {},
    publicUrl: 'http://127.0.0.1',
    ...options,
  })
  const app = express()
  app.use(createGreenApiSimulatorRouter(sim))
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}${DEFAULT_SIMULATOR_MOUNT_PATH}`
  const client = (idInstance: string, apiTokenInstance: string) => restAPI({ host, idInstance, apiTokenInstance })
  return {
    sim,
    clock,
    host,
    client,
    instance() {
      const [c] = sim.createInstances(1)
      return { id: c!.instanceId, token: c!.apiToken, api: client(c!.instanceId, c!.apiToken) }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** The client has `settings.getWaSettings` (lib/bundle.js) but its index.d.ts omits it. */
function waSettings(api: Client): Promise<{ avatar: string; phone: string; stateInstance: string; deviceId: string }> {
  return (
    api.settings as unknown as {
      getWaSettings(): Promise<{ avatar: string; phone: string; stateInstance: string; deviceId: string }>
    }
  ).getWaSettings()
}

/** The HTTP answer behind the client's (axios) rejection. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }> {
  try {
    await p
  } catch (e) {
    const res = (e as { response?: { status: number; data: unknown; headers: Record<string, unknown> } }).response
    if (res) return { status: res.status, data: res.data, headers: res.headers }
    throw e
  }
  throw new Error('expected the call to be refused')
}

/** Every field of Green-API's getSettings answer (green-api.com GetSettings; the client's `Settings` type). */
const SETTINGS_FIELDS = [
  'wid',
  'countryInstance',
  'typeAccount',
  'webhookUrl',
  'webhookUrlToken',
  'delaySendMessagesMilliseconds',
  'markIncomingMessagesReaded',
  'markIncomingMessagesReadedOnReply',
  'sharedSession',
  'outgoingWebhook',
  'outgoingMessageWebhook',
  'outgoingAPIMessageWebhook',
  'incomingWebhook',
  'deviceWebhook',
  'statusInstanceWebhook',
  'stateWebhook',
  'enableMessagesHistory',
  'keepOnlineStatus',
  'pollMessageWebhook',
  'incomingBlockWebhook',
  'incomingCallWebhook',
  'editedMessageWebhook',
  'deletedMessageWebhook',
]

describe("Green-API's official client against the simulator", () => {
  let s: Served
  beforeAll(async () => {
    // Upstream rate limits off: this suite calls back to back (the 429 suite below has them on).
    s = await serve({ rateLimits: false, rebootMs: 1500, settingsRestartMs: 1000, maxReceiveWaitMs: 300 })
  })
  afterAll(() => s.close())

  it('links, reads and sends with the account methods: getStateInstance, qr, getAuthorizationCode, getWaSettings, sendMessage', async () => {
    const { id, api } = s.instance()
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'notAuthorized' })
    const qr = await api.instance.qr()
    expect(qr.type).toBe('qrCode')
    expect(Buffer.from(qr.message, 'base64').subarray(1, 4).toString('latin1')).toBe('PNG')
    expect(await api.instance.getAuthorizationCode(33612345678)).toEqual({
      status: true,
      code: expect.stringMatching(/^[A-Z0-9]{8}$/),
    })
    expect(await waSettings(api)).toMatchObject({ phone: '', stateInstance: 'notAuthorized' })

    s.sim.authorize(id, '+33612345678')
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'authorized' })
    expect(await api.instance.qr()).toEqual({ type: 'alreadyLogged', message: 'instance account already authorized' })
    expect(await waSettings(api)).toMatchObject({ phone: '33612345678', stateInstance: 'authorized' })
    const sent = await api.message.sendMessage('33698765432@c.us', undefined as unknown as number, 'Bonjour')
    expect(sent).toEqual({ idMessage: expect.stringMatching(/^[0-9A-F]{20}$/) })
    expect(s.sim.instance(id)?.sent.map((m) => m.message)).toEqual(['Bonjour'])
  })

  it('getSettings answers the full settings object with its defaults; setSettings changes only what it names', async () => {
    const { id, api } = s.instance()
    const defaults = await api.settings.getSettings()
    expect(Object.keys(defaults).sort()).toEqual([...SETTINGS_FIELDS].sort())
    expect(defaults).toMatchObject({ wid: '', webhookUrl: '', webhookUrlToken: '', stateWebhook: 'no', incomingWebhook: 'no' })
    expect(typeof defaults.delaySendMessagesMilliseconds).toBe('number')

    expect(await api.settings.setSettings({ webhookUrl: 'https://crm.example/wh', stateWebhook: 'yes' })).toEqual({
      saveSettings: true,
    })
    s.clock.advance(1000)
    s.sim.authorize(id, '+33612345678')
    const after = await api.settings.getSettings()
    expect(Object.keys(after).sort()).toEqual([...SETTINGS_FIELDS].sort())
    expect(after).toEqual({ ...defaults, wid: '33612345678@c.us', webhookUrl: 'https://crm.example/wh', stateWebhook: 'yes' })
  })

  it('setSettings restarts the instance: starting, then back to the state it was in', async () => {
    const { id, api } = s.instance()
    s.sim.authorize(id, '+33612345678')
    expect(await api.settings.setSettings({ incomingWebhook: 'yes' })).toEqual({ saveSettings: true })
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'starting' })
    s.clock.advance(1000)
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'authorized' })
  })

  it('reboot passes through starting and comes back; logout unlinks', async () => {
    const { id, api } = s.instance()
    s.sim.authorize(id, '+33612345678')
    expect(await api.instance.reboot()).toEqual({ isReboot: true })
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'starting' })
    s.clock.advance(1500)
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'authorized' })
    expect(await api.instance.logout()).toEqual({ isLogout: true })
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'notAuthorized' })
    expect(await waSettings(api)).toMatchObject({ phone: '' })
  })

  it('checkWhatsapp: whether a number has WhatsApp, on a linked instance, for 11 to 16 digits', async () => {
    const { id, api } = s.instance()
    expect(await refusal(api.instance.checkWhatsapp(33698765432))).toEqual({
      status: 400,
      data: { message: 'instance is starting or not authorized' },
      headers: expect.anything(),
    })
    s.sim.authorize(id, '+33612345678')
    expect(await api.instance.checkWhatsapp(33698765432)).toEqual({ existsWhatsapp: true })
    // The simulated WhatsApp knows every number except those ending in 0000 (docs/green-api.md).
    expect(await api.instance.checkWhatsapp(33600000000)).toEqual({ existsWhatsapp: false })
    expect(await refusal(api.instance.checkWhatsapp(1234))).toMatchObject({
      status: 400,
      data: { message: 'bad phone number, valid from 11 to 16 digits' },
    })
  })

  it('getDeviceInfo answers 405, as green-api.com documents the method today ("temporarily not working")', async () => {
    const { id, api } = s.instance()
    s.sim.authorize(id, '+33612345678')
    expect((await refusal(api.instance.getDeviceInfo())).status).toBe(405)
  })

  it('receiveNotification / deleteNotification: the HTTP-API queue of state notifications, FIFO, each until deleted', async () => {
    const { id, api } = s.instance()
    s.sim.authorize(id, '+33612345678')
    // HTTP API technology: webhookUrl empty, notifications wanted. Its own restart is notified
    // under the settings it replaces (none wanted): the queue starts with the reboot.
    await api.settings.setSettings({ webhookUrl: '', stateWebhook: 'yes' })
    s.clock.advance(1000)
    await api.instance.reboot()
    s.clock.advance(1500)
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'authorized' })

    const states: string[] = []
    for (let i = 0; i < 2; i++) {
      const n = await api.webhookService.receiveNotification()
      expect(n).toEqual({
        receiptId: expect.any(Number),
        body: {
          typeWebhook: 'stateInstanceChanged',
          instanceData: { idInstance: Number(id), wid: expect.any(String), typeInstance: 'whatsapp' },
          timestamp: expect.any(Number),
          stateInstance: expect.any(String),
        },
      })
      // Not deleted yet: the same notification again.
      expect((await api.webhookService.receiveNotification()).receiptId).toBe(n.receiptId)
      expect(await api.webhookService.deleteNotification(n.receiptId)).toEqual({ result: true })
      expect(await api.webhookService.deleteNotification(n.receiptId)).toMatchObject({ result: false })
      states.push((n.body as { stateInstance: string }).stateInstance)
    }
    expect(states).toEqual(['starting', 'authorized'])
    // Empty queue: null once the long poll gives up.
    expect(await api.webhookService.receiveNotification()).toBeNull()
  })

  it('receiveNotification long-polls: a notification arriving while it waits is returned', async () => {
    const slow = await serve({ rateLimits: false, maxReceiveWaitMs: 10_000, settingsRestartMs: 0 })
    try {
      const { id, api } = slow.instance()
      await api.settings.setSettings({ webhookUrl: '', stateWebhook: 'yes' })
      await api.instance.getStateInstance() // ends the settings restart
      const waiting = api.webhookService.receiveNotification()
      slow.sim.authorize(id, '+33612345678')
      expect(await waiting).toMatchObject({ body: { stateInstance: 'authorized', instanceData: { wid: '33612345678@c.us' } } })
    } finally {
      await slow.close()
    }
  })
})

describe('the simulator with a creation delay (Green-API: no state for up to 5 min), through the official client', () => {
  let s: Served
  beforeAll(async () => {
    // Off by default (decision 160: the app still asks for a QR right after createInstance).
    s = await serve({ creatingMs: 3_000 })
  })
  afterAll(() => s.close())

  it('a partner-created instance has no state for a while (getStateInstance null), then notAuthorized', async () => {
    const res = await fetch(`${s.host}/partner/createInstance/${s.sim.partnerToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'new-tenant' }),
    })
    const created = (await res.json()) as { idInstance: number; apiTokenInstance: string }
    const api = s.client(String(created.idInstance), created.apiTokenInstance)
    expect(await api.instance.getStateInstance()).toBeNull()
    expect((await api.instance.qr()).type).toBe('error')
    // Green-API: up to 5 minutes.
    s.clock.advance(5 * 60_000)
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'notAuthorized' })
    expect((await api.instance.qr()).type).toBe('qrCode')
  })

  it('beyond the documented rate (getStateInstance 1/s per instance): 429 with Retry-After', async () => {
    const { api } = s.instance()
    await api.instance.getStateInstance()
    const r = await refusal(api.instance.getStateInstance())
    expect(r.status).toBe(429)
    expect(r.headers['retry-after']).toBe('1')
    s.clock.advance(1000)
    expect(await api.instance.getStateInstance()).toEqual({ stateInstance: 'notAuthorized' })
  })
})

describe('the same surface through the MSW handlers the other tests use', () => {
  const mocks = setupMockServer({ simulatorOptions: { rateLimits: false, maxReceiveWaitMs: 0 } })
  beforeAll(() => mocks.listen())
  afterAll(() => mocks.close())

  it('routes the receiptId segment and the query string: receive, delete, checkWhatsapp', async () => {
    const [c] = mocks.simulator.createInstances(1)
    const api = restAPI({ host: greenApiTestApiUrl(c!.instanceId), idInstance: c!.instanceId, apiTokenInstance: c!.apiToken })
    await api.settings.setSettings({ webhookUrl: '', stateWebhook: 'yes' })
    mocks.simulator.authorize(c!.instanceId, '+33612345678')
    const n = await api.webhookService.receiveNotification()
    expect(n.body).toMatchObject({ stateInstance: 'authorized' })
    expect(await api.webhookService.deleteNotification(n.receiptId)).toEqual({ result: true })
    expect(await api.webhookService.receiveNotification()).toBeNull()
    expect(await api.instance.checkWhatsapp(33698765432)).toEqual({ existsWhatsapp: true })
  })
})
