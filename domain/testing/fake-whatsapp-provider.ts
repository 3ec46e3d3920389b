import type {
  CreatedInstance,
  InstanceCredentials,
  PairingCodeResult,
  QrResult,
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
}

/**
 * A stateful WhatsAppProvider fake: per-instance state and phone, token checks (wrong token →
 * UpstreamAuthError), one-shot failures per method, and a call log to count upstream calls.
 */
export class FakeWhatsAppProvider implements WhatsAppProvider {
  readonly instances = new Map<string, FakeInstance>()
  readonly calls: { method: Method; instanceId: string; args?: unknown }[] = []
  private readonly failures = new Map<Method, Error[]>()
  /** Artificial latency of getState (ms), to overlap concurrent polls. */
  stateDelayMs = 0

  addInstance(instanceId: string, token: string, state: ConnectionState | null = 'notAuthorized'): void {
    this.instances.set(instanceId, { token, state, account: null, webhook: null })
  }
  /** Simulates the phone scanning / the account changing state. */
  setState(instanceId: string, state: ConnectionState | null, account?: string | LinkedAccount | null): void {
    const i = this.must(instanceId)
    i.state = state
    if (account !== undefined) i.account = typeof account === 'string' ? { phone: account } : account
  }
  setQrError(instanceId: string, message: string): void {
    this.must(instanceId).qrError = message
  }
  failNext(method: Method, error: Error): void {
    const list = this.failures.get(method) ?? []
    list.push(error)
    this.failures.set(method, list)
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
  async requestPairingCode(creds: InstanceCredentials, phoneE164: string): Promise<PairingCodeResult> {
    this.enter('requestPairingCode', creds, { phoneE164 })
    return { code: 'ABCD-EFGH' }
  }
  async sendText(creds: InstanceCredentials, toE164: string, text: string): Promise<{ messageId: string }> {
    this.enter('sendText', creds, { toE164, text })
    return { messageId: `BAE5${this.calls.length}` }
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
