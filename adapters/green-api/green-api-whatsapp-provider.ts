import { z } from 'zod'
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
} from '../../domain/ports/whatsapp-provider'
import {
  CONNECTION_STATES,
  InvalidInputError,
  UpstreamAuthError,
  UpstreamUnavailableError,
  type ConnectionState,
  type DomainError,
  type LinkedAccount,
} from '../../domain/whatsapp'
import { GreenApiHttpClient, callFailureOf, type CallSpec, type GreenApiClientOptions } from './http-client'

export type { GreenApiCallEvent, GreenApiClientOptions, GreenApiLogger, GreenApiOutcome } from './http-client'

// ---------------------------------------------------------------------------------------------
// Response schemas (docs/green-api.md#methods-we-call). Anything else is "garbage" → UpstreamUnavailableError.
// ---------------------------------------------------------------------------------------------

const qrSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('qrCode'),
    message: z
      .string()
      .min(16)
      .regex(/^[A-Za-z0-9+/=\s]+$/),
  }),
  z.object({ type: z.literal('alreadyLogged'), message: z.string() }),
  z.object({ type: z.literal('error'), message: z.string() }),
])
/** `null` while a new instance is still being created (docs/green-api.md#methods-we-call). */
const stateSchema = z.union([z.null(), z.object({ stateInstance: z.enum(CONNECTION_STATES) })])
const waSettingsSchema = z.object({
  phone: z.string().regex(/^(\d{6,15})?$/),
  stateInstance: z.string().optional(),
  avatar: z.string().optional(),
  deviceId: z.string().optional(),
})
// getContactInfo: only the fields we use; a chat with no name or picture has empty strings.
const contactInfoSchema = z.object({ name: z.string().nullish(), avatar: z.string().nullish() })
const authCodeSchema = z.object({ status: z.boolean(), code: z.string().optional() })
const sendSchema = z.object({ idMessage: z.string().min(1) })
const journalEntrySchema = z
  .object({
    type: z.string().optional(),
    idMessage: z.string().min(1),
    timestamp: z.number(),
    statusMessage: z.string().optional(),
    typeMessage: z.string().optional(),
    chatId: z.string(),
    textMessage: z.string().optional(),
  })
  .loose()
const lastOutgoingSchema = z.array(journalEntrySchema)
const logoutSchema = z.object({ isLogout: z.boolean() })
const rebootSchema = z.object({ isReboot: z.boolean() })
const saveSettingsSchema = z.object({ saveSettings: z.boolean() })

/**
 * The notifications the app handles (docs/green-api.md#notifications-we-turn-on): state changes,
 * receipts of the messages we send (`outgoingMessageStatus` needs `outgoingWebhook`; green-api.com
 * also names `outgoingAPIMessageWebhook` for messages sent through the API) and incoming messages.
 * Not `outgoingMessageWebhook`: copies of what the owner types on the phone are not ours to keep.
 */
export const NOTIFICATIONS_WE_HANDLE = {
  stateWebhook: 'yes',
  outgoingWebhook: 'yes',
  outgoingAPIMessageWebhook: 'yes',
  incomingWebhook: 'yes',
} as const

const createInstanceSchema = z.object({
  idInstance: z.union([z.number().int().positive(), z.string().regex(/^\d{1,20}$/)]),
  apiTokenInstance: z.string().min(1),
  typeInstance: z.string().optional(),
})
const deleteInstanceSchema = z.union([
  z.object({ deleteInstanceAccount: z.boolean() }),
  // "Not found": already deleted → success for an idempotent disconnect.
  z.object({ code: z.literal(404), description: z.string().optional() }),
])
const partnerInstanceSchema = z.object({
  idInstance: z.union([z.number().int(), z.string()]),
  name: z.string().optional(),
  typeInstance: z.string().optional(),
  deleted: z.boolean().optional(),
  timeCreated: z.string().optional(),
  timeDeleted: z.string().optional(),
  isExpired: z.boolean().optional(),
})
const getInstancesSchema = z.array(partnerInstanceSchema)

export interface PartnerInstanceSummary {
  instanceId: string
  name: string
  typeInstance: string
  deleted: boolean
  timeCreated: string | null
}

// ---------------------------------------------------------------------------------------------

function toOutgoingInfo(e: z.infer<typeof journalEntrySchema>): OutgoingMessageInfo {
  return {
    messageId: e.idMessage,
    chatId: e.chatId,
    text: e.textMessage ?? null,
    at: new Date(e.timestamp * 1000),
    status: e.statusMessage ?? null,
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '')
}

function validationError(message: string, path: string): DomainError {
  return new InvalidInputError(message, [{ path, message }])
}

/** "+33 6 12-34-56-78" → "33612345678"; null when not a plausible E.164 number. */
function e164Digits(phone: string): string | null {
  const compact = phone.replace(/[\s().-]/g, '')
  const m = /^\+?(\d{6,15})$/.exec(compact)
  return m?.[1] ?? null
}

/** Green-API's 8-character pairing code as the phone shows it: "ABCD-EFGH". */
function formatPairingCode(code: string): string {
  const c = code.trim().toUpperCase()
  return c.length === 8 && !c.includes('-') ? `${c.slice(0, 4)}-${c.slice(4)}` : c
}

/**
 * `WhatsAppProvider` on Green-API's instance API, with our own fetch client (see http-client.ts
 * for deadlines, retries, pacing, breaker). URL: `{apiUrl}/waInstance{id}/{method}/{token}`.
 */
export class GreenApiWhatsAppProvider implements WhatsAppProvider {
  private readonly http: GreenApiHttpClient

  constructor(opts: GreenApiClientOptions = {}) {
    this.http = new GreenApiHttpClient(opts)
  }

  /** Per-instance circuit breakers by state (metrics only; no instance ids or tokens). */
  breakerStates() {
    return this.http.breakerStates()
  }

  private spec<T>(
    creds: InstanceCredentials,
    method: string,
    httpMethod: 'GET' | 'POST',
    schema: z.ZodType<T>,
    extra: { body?: unknown; idempotent?: boolean; timeoutMs?: number } = {},
  ): CallSpec<T> {
    if (!/^\d{1,20}$/.test(creds.instanceId)) throw new UpstreamAuthError('Green-API instance id is not numeric')
    if (creds.apiToken.length === 0) throw new UpstreamAuthError(`Green-API token missing for instance ${creds.instanceId}`)
    const base = trimSlash(creds.apiUrl)
    if (!/^https?:\/\/[^/\s]+/.test(base)) {
      throw new UpstreamUnavailableError(`Green-API apiUrl of instance ${creds.instanceId} is not an http(s) URL`)
    }
    const spec: CallSpec<T> = {
      method,
      httpMethod,
      url: `${base}/waInstance${creds.instanceId}/${method}/${encodeURIComponent(creds.apiToken)}`,
      secret: creds.apiToken,
      instanceId: creds.instanceId,
      partitionKey: `${base}|${creds.instanceId}`,
      idempotent: extra.idempotent ?? false,
      timeoutMs: extra.timeoutMs ?? this.http.timeoutMs,
      schema,
    }
    if (extra.body !== undefined) spec.body = extra.body
    return spec
  }

  async requestQr(creds: InstanceCredentials): Promise<QrResult> {
    const res = await this.http.call(
      this.spec(creds, 'qr', 'GET', qrSchema, { idempotent: true, timeoutMs: this.http.qrTimeoutMs }),
    )
    switch (res.type) {
      case 'qrCode':
        return { kind: 'qr', pngBase64: res.message.replace(/\s+/g, '') }
      case 'alreadyLogged':
        return { kind: 'alreadyLinked' }
      case 'error':
        return { kind: 'error', message: res.message.slice(0, 300) }
    }
  }

  async getState(creds: InstanceCredentials, options: { once?: boolean } = {}): Promise<ConnectionState | null> {
    // `once`: not retried (the engine retries idempotent reads only).
    const res = await this.http.call(
      this.spec(creds, 'getStateInstance', 'GET', stateSchema, { idempotent: options.once !== true }),
    )
    return res === null ? null : res.stateInstance
  }

  async getLinkedAccount(creds: InstanceCredentials): Promise<LinkedAccount | null> {
    const res = await this.http.call(this.spec(creds, 'getWaSettings', 'GET', waSettingsSchema, { idempotent: true }))
    return res.phone === '' ? null : { phone: `+${res.phone}` }
  }

  /**
   * `getContactInfo` on the account's own chat (`<digits>@c.us`): its profile name and picture
   * URL (decision 240; `getWaSettings` has the picture but no name). 1 request/s per instance.
   */
  async getLinkedProfile(
    creds: InstanceCredentials,
    phoneE164: string,
  ): Promise<{ name: string | null; avatarUrl: string | null }> {
    const digits = e164Digits(phoneE164)
    if (digits === null) throw validationError('phone must be an E.164 number', 'phone')
    const res = await this.http.call(
      this.spec(creds, 'getContactInfo', 'POST', contactInfoSchema, { body: { chatId: `${digits}@c.us` }, idempotent: true }),
    )
    return { name: res.name?.trim() || null, avatarUrl: res.avatar?.trim() || null }
  }

  async requestPairingCode(creds: InstanceCredentials, phoneE164: string): Promise<PairingCodeResult> {
    const digits = e164Digits(phoneE164)
    if (digits === null) throw validationError('phoneNumber must be an E.164 number', 'phoneNumber')
    const res = await this.http.call(
      this.spec(creds, 'getAuthorizationCode', 'POST', authCodeSchema, { body: { phoneNumber: Number(digits) } }),
    )
    if (!res.status || !res.code) {
      throw new UpstreamUnavailableError(`Green-API getAuthorizationCode for instance ${creds.instanceId} returned no code`, {
        retryAfterSeconds: 5,
      })
    }
    return { code: formatPairingCode(res.code) }
  }

  async sendText(creds: InstanceCredentials, toE164: string, text: string): Promise<{ messageId: string }> {
    const digits = e164Digits(toE164)
    if (digits === null) throw validationError('recipient must be an E.164 number', 'to')
    if (text.length === 0 || text.length > 20_000) throw validationError('message must be 1 to 20000 characters', 'message')
    const res = await this.http.call(
      this.spec(creds, 'sendMessage', 'POST', sendSchema, { body: { chatId: `${digits}@c.us`, message: text } }),
    )
    return { messageId: res.idMessage }
  }

  async trySendText(creds: InstanceCredentials, toE164: string, text: string): Promise<SendAttempt> {
    try {
      return { kind: 'sent', messageId: (await this.sendText(creds, toE164, text)).messageId }
    } catch (err) {
      if (!(err instanceof UpstreamUnavailableError)) throw err
      const failure = callFailureOf(err)
      const detail = err.message
      const retryAfterSeconds = err.retryAfterSeconds ?? 5
      // Nothing we can tell about: treat as possibly sent (the safe side is a lookup, not a resend).
      if (!failure) return { kind: 'maybeSent', detail }
      if (failure.local) return { kind: 'notSent', retryAfterSeconds, detail }
      switch (failure.outcome) {
        case 'http_4xx':
          if (failure.status === 466) return { kind: 'notSent', retryAfterSeconds, detail }
          return {
            kind: 'rejected',
            reason: /noAccount|not.{0,20}(exist|whatsapp|registered)/i.test(detail) ? 'noAccount' : 'invalid',
            detail,
          }
        case 'http_5xx':
        case 'rate_limited':
          return { kind: 'notSent', retryAfterSeconds, detail }
        case 'network':
          // Refused / unresolvable: the request never reached Green-API.
          return failure.networkCode && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH)$/.test(failure.networkCode)
            ? { kind: 'notSent', retryAfterSeconds, detail }
            : { kind: 'maybeSent', detail }
        default:
          // timeout, garbage: the request left and its fate is unknown.
          return { kind: 'maybeSent', detail }
      }
    }
  }

  async lastOutgoingMessages(creds: InstanceCredentials, options: { minutes: number }): Promise<OutgoingMessageInfo[]> {
    const minutes = Math.max(1, Math.min(1440 * 7, Math.ceil(options.minutes)))
    const spec = this.spec(creds, 'lastOutgoingMessages', 'GET', lastOutgoingSchema, { idempotent: true })
    spec.url = `${spec.url}?minutes=${minutes}`
    const entries = await this.http.call(spec)
    return entries.map(toOutgoingInfo)
  }

  async getMessage(creds: InstanceCredentials, chatId: string, messageId: string): Promise<OutgoingMessageInfo | null> {
    try {
      const entry = await this.http.call(
        this.spec(creds, 'getMessage', 'POST', journalEntrySchema, { body: { chatId, idMessage: messageId }, idempotent: true }),
      )
      return toOutgoingInfo(entry)
    } catch (err) {
      // An id Green-API does not know in that chat is a 4xx: "not found", not an outage.
      const failure = callFailureOf(err)
      if (failure?.outcome === 'http_4xx' && failure.status !== 466) return null
      throw err
    }
  }

  async logout(creds: InstanceCredentials): Promise<void> {
    const res = await this.http.call(this.spec(creds, 'logout', 'GET', logoutSchema))
    if (!res.isLogout) {
      throw new UpstreamUnavailableError(`Green-API logout for instance ${creds.instanceId} was refused`, {
        retryAfterSeconds: 5,
      })
    }
  }

  async reboot(creds: InstanceCredentials): Promise<void> {
    const res = await this.http.call(this.spec(creds, 'reboot', 'GET', rebootSchema))
    if (!res.isReboot) {
      throw new UpstreamUnavailableError(`Green-API reboot for instance ${creds.instanceId} was refused`, {
        retryAfterSeconds: 5,
      })
    }
  }

  async configureWebhook(creds: InstanceCredentials, settings: WebhookSettings): Promise<void> {
    const res = await this.http.call(
      this.spec(creds, 'setSettings', 'POST', saveSettingsSchema, {
        body: { webhookUrl: settings.webhookUrl, webhookUrlToken: settings.webhookToken, ...NOTIFICATIONS_WE_HANDLE },
      }),
    )
    if (!res.saveSettings) {
      throw new UpstreamUnavailableError(`Green-API setSettings for instance ${creds.instanceId} was not saved`, {
        retryAfterSeconds: 5,
      })
    }
  }
}

export interface GreenApiPartnerOptions extends GreenApiClientOptions {
  /** Partner API base, e.g. https://api.green-api.com (the path `/partner/...` is appended). */
  partnerApiUrl: string
  /** SECRET: master key for all partner instances. */
  partnerToken: string
  /**
   * apiUrl to give a created instance (createInstance does not return one: docs/green-api.md#request-model-and-hosts). Default: the
   * partner base URL (universal host), or a function of the new instance id.
   */
  instanceApiUrl?: string | ((instanceId: string) => string)
}

/**
 * `WhatsAppPartnerProvider` on Green-API's Partner API. Its errors are HTTP 200 +
 * `{code, description}`: 401/403 → UpstreamAuthError, others → UpstreamUnavailableError;
 * deleting an already deleted instance (404) succeeds.
 */
export class GreenApiPartnerProvider implements WhatsAppPartnerProvider {
  private readonly http: GreenApiHttpClient
  private readonly base: string
  private readonly token: string
  private readonly instanceApiUrl: (instanceId: string) => string

  constructor(opts: GreenApiPartnerOptions) {
    const { partnerApiUrl, partnerToken, instanceApiUrl, ...clientOpts } = opts
    this.http = new GreenApiHttpClient(clientOpts)
    this.base = trimSlash(partnerApiUrl)
    this.token = partnerToken
    this.instanceApiUrl = typeof instanceApiUrl === 'function' ? instanceApiUrl : () => trimSlash(instanceApiUrl ?? partnerApiUrl)
  }

  private spec<T>(
    method: string,
    httpMethod: 'GET' | 'POST',
    schema: z.ZodType<T>,
    extra: { body?: unknown; idempotent?: boolean; passThroughCodes?: number[] } = {},
  ): CallSpec<T> {
    if (this.token.length === 0) throw new UpstreamAuthError('Green-API partner token is not configured')
    const spec: CallSpec<T> = {
      method: `partner.${method}`,
      httpMethod,
      url: `${this.base}/partner/${method}/${encodeURIComponent(this.token)}`,
      secret: this.token,
      instanceId: 'partner',
      partitionKey: `${this.base}|partner`,
      idempotent: extra.idempotent ?? false,
      timeoutMs: this.http.timeoutMs,
      schema,
      partner: extra.passThroughCodes ? { passThroughCodes: extra.passThroughCodes } : {},
    }
    if (extra.body !== undefined) spec.body = extra.body
    return spec
  }

  async createInstance(input: { name: string } & WebhookSettings): Promise<CreatedInstance> {
    const res = await this.http.call(
      this.spec('createInstance', 'POST', createInstanceSchema, {
        body: {
          name: input.name,
          webhookUrl: input.webhookUrl,
          webhookUrlToken: input.webhookToken,
          ...NOTIFICATIONS_WE_HANDLE,
        },
      }),
    )
    const instanceId = String(res.idInstance)
    return { instanceId, apiToken: res.apiTokenInstance, apiUrl: this.instanceApiUrl(instanceId) }
  }

  async deleteInstance(instanceId: string): Promise<void> {
    if (!/^\d{1,20}$/.test(instanceId)) throw validationError('instanceId must be numeric', 'instanceId')
    const res = await this.http.call(
      this.spec('deleteInstanceAccount', 'POST', deleteInstanceSchema, {
        body: { idInstance: Number(instanceId) },
        passThroughCodes: [404],
      }),
    )
    if ('deleteInstanceAccount' in res && !res.deleteInstanceAccount) {
      throw new UpstreamUnavailableError(`Green-API partner refused to delete instance ${instanceId}`, { retryAfterSeconds: 5 })
    }
  }

  /** Partner `getInstances` (ops listing). Tokens in the upstream answer are dropped here. */
  async listInstances(): Promise<PartnerInstanceSummary[]> {
    const res = await this.http.call(this.spec('getInstances', 'GET', getInstancesSchema, { idempotent: true }))
    return res.map((i) => ({
      instanceId: String(i.idInstance),
      name: i.name ?? '',
      typeInstance: i.typeInstance ?? 'whatsapp',
      deleted: i.deleted ?? false,
      timeCreated: i.timeCreated ?? null,
    }))
  }
}
