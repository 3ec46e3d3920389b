import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GreenApiWhatsAppProvider } from '../../adapters/green-api/green-api-whatsapp-provider'
import { GreenApiSimulator } from '../../adapters/green-api/simulator'
import type { InstanceCredentials, QrResult, WhatsAppProvider } from '../../domain/ports/whatsapp-provider'
import { FakeWhatsAppProvider } from '../../domain/testing/fake-whatsapp-provider'
import { CONNECTION_STATES, type ConnectionState } from '../../domain/whatsapp/connection-state'
import { greenApiTestApiUrl, setupMockServer } from '../mocks'

/**
 * One suite, two implementations of the WhatsAppProvider port: the in-memory fake the domain's
 * unit tests use, and the real Green-API adapter over HTTP (MSW) on the simulator that backs the
 * integration tests, `npm start` offline and the end-to-end tests. When one of them drifts from
 * Green-API's rules, the unit tests and the app stop telling the same story; this catches it.
 */
interface Upstream {
  provider: WhatsAppProvider
  /** An instance whose account is linked to `phone`, then put in `state` upstream. */
  instanceIn(state: ConnectionState | null, phone: string): InstanceCredentials
  /** The linked account's profile name upstream (its picture: one the upstream serves). */
  setProfileName(creds: InstanceCredentials, name: string): void
}

const sim = new GreenApiSimulator({ publicUrl: 'http://app.example.test', deliverWebhook: async () => {}, rateLimits: false })
const mocks = setupMockServer({ simulator: sim })
beforeAll(() => mocks.listen())
afterAll(() => mocks.close())

let fakeSeq = 0
const IMPLEMENTATIONS: Array<{ name: string; upstream: () => Upstream }> = [
  {
    name: 'FakeWhatsAppProvider (domain/testing)',
    upstream: () => {
      const fake = new FakeWhatsAppProvider()
      return {
        provider: fake,
        instanceIn(state, phone) {
          const instanceId = String(7_100_000_000 + fakeSeq++)
          fake.addInstance(instanceId, 'token', 'notAuthorized')
          fake.setState(instanceId, 'authorized', phone)
          fake.setState(instanceId, state)
          return { instanceId, apiToken: 'token', apiUrl: greenApiTestApiUrl(instanceId) }
        },
        setProfileName(creds, name) {
          fake.setProfile(creds.instanceId, { name, avatarUrl: 'https://pps.whatsapp.net/v/t61/simulated.jpg' })
        },
      }
    },
  },
  {
    name: 'GreenApiWhatsAppProvider over HTTP on the simulator',
    upstream: () => ({
      provider: new GreenApiWhatsAppProvider({
        timeoutMs: 2_000,
        qrTimeoutMs: 2_000,
        retryBaseDelayMs: 5,
        clientRateLimits: false,
      }),
      instanceIn(state, phone) {
        const c = sim.createInstances(1)[0]!
        sim.authorize(c.instanceId, phone)
        sim.setState(c.instanceId, state)
        return { instanceId: c.instanceId, apiToken: c.apiToken, apiUrl: greenApiTestApiUrl(c.instanceId) }
      },
      setProfileName(creds, name) {
        sim.setProfile(creds.instanceId, { name, avatar: 'image' })
      },
    }),
  },
]

// Green-API: `qr` needs an unlinked instance ("alreadyLogged" while an account is behind it, even
// restricted, asleep or banned; an error while it is created or starting); getWaSettings shows
// the phone while the account is usable, restricted or asleep.
const EXPECTED: Record<string, { qr: QrResult['kind']; phoneShown: boolean }> = {
  notAuthorized: { qr: 'qr', phoneShown: false },
  authorized: { qr: 'alreadyLinked', phoneShown: true },
  yellowCard: { qr: 'alreadyLinked', phoneShown: true },
  sleepMode: { qr: 'alreadyLinked', phoneShown: true },
  blocked: { qr: 'alreadyLinked', phoneShown: false },
  starting: { qr: 'error', phoneShown: false },
  null: { qr: 'error', phoneShown: false },
}
const STATES: Array<ConnectionState | null> = [...CONNECTION_STATES, null]

it('the table covers every state the port can report', () => {
  expect(Object.keys(EXPECTED).sort()).toEqual(STATES.map(String).sort())
})

describe.each(IMPLEMENTATIONS)('WhatsAppProvider port: $name', ({ upstream }) => {
  const u = upstream()

  it.each(STATES.map((state) => ({ state, ...EXPECTED[String(state)]! })))(
    'in state $state: requestQr → $qr, linked phone shown: $phoneShown',
    async ({ state, qr, phoneShown }) => {
      const phone = '+33612345678'
      const creds = u.instanceIn(state, phone)
      expect(await u.provider.getState(creds)).toBe(state)
      expect((await u.provider.requestQr(creds)).kind).toBe(qr)
      expect(await u.provider.getLinkedAccount(creds)).toEqual(phoneShown ? { phone } : null)
    },
  )

  it("getLinkedProfile: the account's own chat has its name and an https picture URL; another chat has neither", async () => {
    const creds = u.instanceIn('authorized', '+33612345681')
    u.setProfileName(creds, 'Camille Martin')
    const own = await u.provider.getLinkedProfile(creds, '+33612345681')
    expect(own.name).toBe('Camille Martin')
    expect(own.avatarUrl).toMatch(/^https:\/\/[^/]+\//)
    expect(await u.provider.getLinkedProfile(creds, '+33698765432')).toEqual({ name: null, avatarUrl: null })
  })

  it('logout unlinks: the state becomes notAuthorized and a QR can be requested', async () => {
    const creds = u.instanceIn('authorized', '+33612345679')
    await u.provider.logout(creds)
    expect(await u.provider.getState(creds)).toBe('notAuthorized')
    expect((await u.provider.requestQr(creds)).kind).toBe('qr')
    expect(await u.provider.getLinkedAccount(creds)).toBeNull()
  })

  it('a text sent while authorized is in lastOutgoingMessages and getMessage by chat, text and time', async () => {
    const creds = u.instanceIn('authorized', '+33612345680')
    const before = Date.now() - 1000
    const attempt = await u.provider.trySendText(creds, '+33698765432', 'Bonjour, votre commande est prête')
    expect(attempt.kind).toBe('sent')
    const messageId = attempt.kind === 'sent' ? attempt.messageId : ''
    const journal = await u.provider.lastOutgoingMessages(creds, { minutes: 5 })
    expect(journal).toHaveLength(1)
    expect(journal[0]).toMatchObject({
      messageId,
      chatId: '33698765432@c.us',
      text: 'Bonjour, votre commande est prête',
      status: 'sent',
    })
    expect(journal[0]!.at.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000)
    expect(await u.provider.getMessage(creds, '33698765432@c.us', messageId)).toMatchObject({
      messageId,
      text: 'Bonjour, votre commande est prête',
    })
    expect(await u.provider.getMessage(creds, '33698765432@c.us', 'NO-SUCH-ID')).toBeNull()
  })

  it('a text sent while not linked is queued upstream: not in the journal', async () => {
    const creds = u.instanceIn('notAuthorized', '+33612345681')
    expect((await u.provider.trySendText(creds, '+33698765433', 'plus tard')).kind).toBe('sent')
    expect(await u.provider.lastOutgoingMessages(creds, { minutes: 5 })).toEqual([])
  })
})
