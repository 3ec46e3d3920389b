import type {
  CreatedInstance,
  InstanceCredentials,
  OutgoingMessageInfo,
  PairingCodeResult,
  QrResult,
  SendAttempt,
  WebhookSettings,
  WhatsAppPartnerProvider,
  WhatsAppProvider,
} from '../ports/whatsapp-provider'
import type { ConnectionState } from '../whatsapp/connection-state'
import type { LinkedAccount } from '../whatsapp/linked-account'
import { UpstreamAuthError } from '../whatsapp/whatsapp.errors'

type Method = keyof WhatsAppProvider

interface FakeInstance {
  token: string
  state: ConnectionState | null
  account: LinkedAccount | null
  webhook: WebhookSettings | null
  qrError?: string
  /** The account's own profile as `getContactInfo` shows it (name, upstream picture URL). */
  profile?: { name: string | null; avatarUrl: string | null }
  /** Messages that left (sendText / trySendText while authorized), oldest first. */
  sent: OutgoingMessageInfo[]
}

/**
 * A stateful WhatsAppProvider fake: per-instance state and phone, token checks (wrong token →
 * UpstreamAuthError), one-shot failures per method, and a call log to count upstream calls.
 */
export class FakeWhatsAppProvider implements WhatsAppProvider {
  readonly instances = new Map<string, FakeInstance>()
  readonly calls: { method: Method; instanceId: string; args?: unknown }[] = []
  private readonly failures = new Map<Method, Error[]>()
  private readonly attempts: SendAttempt[] = []
  /** The clock the fake stamps sent messages with (the tests' ManualClock). */
  now: () => Date = () => new Date()
  /** Artificial latency of getState (ms), to overlap concurrent polls. */
  stateDelayMs = 0

  addInstance(instanceId: string, token: string, state: ConnectionState | null = 'notAuthorized'): void {
    this.instances.set(instanceId, { token, state, account: null, webhook: null, sent: [] })
  }
  /** Simulates the phone scanning / the account changing state. */
  setState(instanceId: string, state: ConnectionState | null, account?: string | LinkedAccount | null): void {
    const i = this.must(instanceId)
    i.state = state
    if (account !== undefined) i.account = typeof account === 'string' ? { phone: account } : account
  }
  /** The linked account's profile as Green-API's `getContactInfo` answers it. */
  setProfile(instanceId: string, profile: { name: string | null; avatarUrl: string | null }): void {
    this.must(instanceId).profile = profile
  }
  setQrError(instanceId: string, message: string): void {
    this.must(instanceId).qrError = message
  }
  failNext(method: Method, error: Error): void {
    const list = this.failures.get(method) ?? []
    list.push(error)
    this.failures.set(method, list)
  }
  /** The next `trySendText` answers this instead of sending (a `maybeSent` still sends). */
  nextSendAttempt(attempt: SendAttempt): void {
    this.attempts.push(attempt)
  }
  count(method?: Method): number {
    return method ? this.calls.filter((c) => c.method === method).length : this.calls.length
  }

  private must(instanceId: string): FakeInstance {
    const i = this.instances.get(instanceId)
    if (!i) throw new Error(`fake: unknown instance ${instanceId}`)
    return i
  }
  private enter(method: Method, creds: InstanceCredentials, args?: unknown): FakeInstance {
    this.calls.push({ method, instanceId: creds.instanceId, args })
    const queued = this.failures.get(method)
    const err = queued?.shift()
    if (err) throw err
    const i = this.instances.get(creds.instanceId)
    if (!i || i.token !== creds.apiToken) throw new UpstreamAuthError()
    return i
  }

  // Green-API's `qr` needs an unlinked instance: any state with an account behind it (even
  // restricted, asleep or banned) answers `alreadyLogged`; one still being created or starting
  // answers an error. Same rules as the simulator (tests/contract/whatsapp-provider.port.test.ts).
  async requestQr(creds: InstanceCredentials): Promise<QrResult> {
    const i = this.enter('requestQr', creds)
    if (i.qrError) return { kind: 'error', message: i.qrError }
    if (i.state === null || i.state === 'starting') return { kind: 'error', message: 'instance is starting, try later' }
    if (i.state !== 'notAuthorized') return { kind: 'alreadyLinked' }
    return { kind: 'qr', pngBase64: 'iVBORw0KGgo=' }
  }
  async getState(creds: InstanceCredentials, _options?: { once?: boolean }): Promise<ConnectionState | null> {
    const i = this.enter('getState', creds)
    if (this.stateDelayMs > 0) await new Promise((r) => setTimeout(r, this.stateDelayMs))
    return i.state
  }
  async getLinkedAccount(creds: InstanceCredentials): Promise<LinkedAccount | null> {
    const i = this.enter('getLinkedAccount', creds)
    // getWaSettings shows the phone while the account is usable or merely restricted/asleep.
    const shown = i.state === 'authorized' || i.state === 'yellowCard' || i.state === 'sleepMode'
    return shown && i.account ? { ...i.account } : null
  }
  async getLinkedProfile(
    creds: InstanceCredentials,
    phoneE164: string,
  ): Promise<{ name: string | null; avatarUrl: string | null }> {
    const i = this.enter('getLinkedProfile', creds, { phoneE164 })
    const own = i.account?.phone === phoneE164 && i.state !== null && i.state !== 'notAuthorized' && i.state !== 'starting'
    return own && i.profile ? { ...i.profile } : { name: null, avatarUrl: null }
  }
  async requestPairingCode(creds: InstanceCredentials, phoneE164: string): Promise<PairingCodeResult> {
    this.enter('requestPairingCode', creds, { phoneE164 })
    return { code: 'ABCD-EFGH' }
  }
  async sendText(creds: InstanceCredentials, toE164: string, text: string): Promise<{ messageId: string }> {
    const i = this.enter('sendText', creds, { toE164, text })
    return { messageId: this.record(i, toE164, text) }
  }
  private record(i: FakeInstance, toE164: string, text: string): string {
    const messageId = `BAE5${this.calls.length}`
    // Like Green-API: an unlinked instance queues (not in the journal), a yellowCard drops.
    if (i.state === 'authorized')
      i.sent.push({ messageId, chatId: `${toE164.replace(/^\+/, '')}@c.us`, text, at: this.now(), status: 'sent' })
    return messageId
  }
  async trySendText(creds: InstanceCredentials, toE164: string, text: string): Promise<SendAttempt> {
    const i = this.enter('trySendText', creds, { toE164, text })
    const scripted = this.attempts.shift()
    if (scripted?.kind === 'maybeSent') {
      // The request left: the message went out, the answer was lost.
      this.record(i, toE164, text)
      return scripted
    }
    if (scripted) return scripted
    return { kind: 'sent', messageId: this.record(i, toE164, text) }
  }
  async lastOutgoingMessages(creds: InstanceCredentials, options: { minutes: number }): Promise<OutgoingMessageInfo[]> {
    const i = this.enter('lastOutgoingMessages', creds, options)
    const since = this.now().getTime() - options.minutes * 60_000
    return i.sent
      .filter((m) => m.at.getTime() >= since)
      .reverse()
      .map((m) => ({ ...m }))
  }
  async getMessage(creds: InstanceCredentials, chatId: string, messageId: string): Promise<OutgoingMessageInfo | null> {
    const i = this.enter('getMessage', creds, { chatId, messageId })
    const m = i.sent.find((x) => x.messageId === messageId && x.chatId === chatId)
    return m ? { ...m } : null
  }
  async logout(creds: InstanceCredentials): Promise<void> {
    const i = this.enter('logout', creds)
    i.state = 'notAuthorized'
    i.account = null
  }
  async reboot(creds: InstanceCredentials): Promise<void> {
    this.enter('reboot', creds)
  }
  async configureWebhook(creds: InstanceCredentials, settings: WebhookSettings): Promise<void> {
    const i = this.enter('configureWebhook', creds, { webhookUrl: settings.webhookUrl })
    i.webhook = { ...settings }
  }
}

/** Partner API fake that creates instances inside a FakeWhatsAppProvider. */
export class FakePartnerProvider implements WhatsAppPartnerProvider {
  private n = 7700000000
  readonly created: string[] = []
  readonly deleted: string[] = []
  failCreate: Error | null = null
  failDelete: Error | null = null

  constructor(private readonly provider: FakeWhatsAppProvider) {}

  async createInstance(): Promise<CreatedInstance> {
    if (this.failCreate) throw this.failCreate
    this.n++
    const instanceId = String(this.n)
    const apiToken = `partner-secret-${instanceId}`
    this.provider.addInstance(instanceId, apiToken)
    this.created.push(instanceId)
    return { instanceId, apiToken, apiUrl: `https://${instanceId.slice(0, 4)}.api.example.test` }
  }
  async deleteInstance(instanceId: string): Promise<void> {
    if (this.failDelete) throw this.failDelete
    this.provider.instances.delete(instanceId)
    this.deleted.push(instanceId)
  }
}
