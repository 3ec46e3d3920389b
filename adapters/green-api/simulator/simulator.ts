import { randomBytes, randomInt } from 'node:crypto'
import { simulatedAvatarPng } from './avatar-png'
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs'
import { dirname } from 'node:path'
import QRCode from 'qrcode'
import { z } from 'zod'
import { CONNECTION_STATES, type ConnectionState } from '../../../domain/whatsapp'
import { GREEN_API_RATE_LIMITS } from '../documented-limits'

/**
 * A stateful fake of Green-API (docs/green-api.md), transport-free: the express router (http.ts) and the
 * MSW handlers (tests/mocks/green-api.ts) both translate requests into `handle` / `handlePartner`
 * and the results back into HTTP. Same status codes and bodies as the real service, token checks,
 * per-instance rate limits, fault switches, a simulated phone (scan / pairing code) that fires the
 * `stateInstanceChanged` webhook.
 */

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface SimRequest {
  /** Green-API method name as it appears in the URL (case-insensitive, e.g. `getStateInstance`). */
  method: string
  httpMethod: string
  instanceId: string
  token: string
  /** Parsed JSON body (undefined when none). */
  body: unknown
  /** Host header of the request (used by the public URL resolver). */
  host?: string
  /** Origin (`scheme://host`) of the request when the transport knows it. */
  origin?: string
  /** Query string parameters (`receiveNotification?receiveTimeout=…`). */
  query?: Record<string, string>
  /** A path segment after the token (`deleteNotification/{token}/{receiptId}`). */
  pathTail?: string
  /**
   * Base URL of the Green-API surface as this request reached it (origin + mount path): where
   * the simulator serves its own profile pictures (`${apiBase}/simAvatar/{id}.png`).
   */
  apiBase?: string
}

/** What the simulated account's profile picture is (decision 241; the odd ones for tests). */
export type SimAvatarKind = 'image' | 'none' | 'notImage' | 'oversized' | 'http'

/** The simulated account's own profile (`getContactInfo` on its chat). */
export interface SimProfile {
  name: string
  avatar: SimAvatarKind
}

/** The default simulated profile name. */
export const SIM_PROFILE_NAME = 'Camille (simulé)'

export interface SimPartnerRequest {
  method: string
  httpMethod: string
  token: string
  body: unknown
  host?: string
  origin?: string
}

export interface SimResponse {
  status: number
  /** JSON body (sent with `application/json`), ignored when `rawBody` is set. */
  body: unknown
  headers?: Record<string, string>
  /** Sent verbatim instead of JSON (plain-text errors, garbage). */
  rawBody?: string
  /** Binary body (the simulated profile picture), sent with its own content-type header. */
  rawBytes?: Uint8Array
  /** Connection reset: transports destroy the socket / answer `HttpResponse.error()`. */
  reset?: true
}

/** One stored instance: the simulator's record (JSON) and a version bumped on every write. */
export interface SimulatorStoredRow {
  id: string
  record: unknown
  version: number
}

/** Shared storage of the simulator's instances (adapters/kysely/kysely-simulator-store.ts). */
export interface SimulatorStore {
  list(): Promise<SimulatorStoredRow[]>
  /** Adds an instance; null when the id is taken (another process created it first). */
  insert(id: string, record: Record<string, unknown>): Promise<number | null>
  /** Overwrites an instance (last writer wins); null when it is gone. Returns the new version. */
  save(id: string, record: Record<string, unknown>): Promise<number | null>
}

export type DeliverWebhook = (url: string, headers: Record<string, string>, body: unknown) => Promise<void>

/**
 * Base URL of the simulated phone pages. `webhookUrl` is the instance's configured webhook (the app
 * builds it from the browser's origin), so the QR can point back to wherever the admin is browsing.
 */
export type PublicUrlResolver = (req: {
  host?: string | undefined
  origin?: string | undefined
  webhookUrl?: string | undefined
}) => string

export interface GreenApiSimulatorOptions {
  /** Base URL of the app for the "simulated phone" pages encoded in QR codes. */
  publicUrl?: string | PublicUrlResolver
  /** How webhooks leave. Default: global fetch, errors swallowed, a few retries. */
  deliverWebhook?: DeliverWebhook
  /** Clock (ms). Default Date.now. */
  now?: () => number
  /** Used by the `slow` fault. Default: a real timer. */
  sleep?: (ms: number) => Promise<void>
  /** Per-instance 429s like Green-API's. Default true; switch off for load tests. */
  rateLimits?: boolean
  /** JSON file keeping instances (tokens, linked state, settings) across restarts. */
  persistPath?: string
  /**
   * Where the instances live when several processes share one simulator (`npm start`: the app's
   * PostgreSQL, decision 215). Each entry point (`handle`, `handlePartner`, `shared`) reads the
   * rows other processes changed first and writes back what it changed. Default: none, the
   * state stays in this process (tests behind MSW).
   */
  store?: SimulatorStore
  /** Partner token; generated (and persisted) when absent. */
  partnerToken?: string
  /** QR rotation period. Default 20 000 ms. */
  qrRotationMs?: number
  /** How long a just-rotated QR still scans (a phone camera is not instant). Default 5 000 ms. */
  qrGraceMs?: number
  /** Pairing code validity. Default 150 000 ms (≈2.5 min). */
  pairingValidityMs?: number
  /** Time spent in `starting` after a reboot. Default 1 500 ms. */
  rebootMs?: number
  /**
   * Time spent in `starting` after `setSettings` (Green-API restarts the instance on it). Default 0:
   * the instance passes through `starting` and is back at the next request (decision 160).
   */
  settingsRestartMs?: number
  /**
   * Time a partner-created instance has no state yet (`getStateInstance` answers `null`; Green-API:
   * up to 5 minutes). Default 0: the app still asks for a QR right after `createInstance`, so a
   * delay would fail a developer's first partner-mode link (decision 160); tests set it to see
   * Green-API's `null`.
   */
  creatingMs?: number
  /** Upper bound of `receiveNotification`'s long poll (its `receiveTimeout`, 5–60 s). Default: no bound. */
  maxReceiveWaitMs?: number
  /** First digits of generated instance ids (the per-instance host prefix). Default "1101". */
  idPrefix?: string
  /**
   * Gaps (ms) before the `sent`, then `delivered`, then `read` receipt (`outgoingMessageStatus`) of
   * an accepted message. Default [800, 1200, 2000]: slow enough to watch on the settings page.
   */
  receiptDelaysMs?: readonly [number, number, number]
  /**
   * Rewrites the receipt plan of each accepted message (tests: out of order, duplicated, none).
   * Receives the default plan and returns the one to schedule, emitted in its order.
   *
   * @example
   * // delivered before sent, read twice
   * receiptPlan: (_m, [sent, delivered, read]) => [delivered!, sent!, read!, read!]
   */
  receiptPlan?: (message: SimMessage, plan: ReceiptStep[]) => ReceiptStep[]
  /** The idMessage of the next accepted message (tests: a receipt sent before its send returns). Default random. */
  newMessageId?: () => string
}

/** What Green-API's `outgoingMessageStatus` notification reports (green-api.com OutgoingMessageStatus). */
export const OUTGOING_MESSAGE_STATUSES = ['sent', 'delivered', 'read', 'failed', 'noAccount', 'notInGroup', 'yellowCard'] as const
export type OutgoingMessageStatus = (typeof OUTGOING_MESSAGE_STATUSES)[number]

/**
 * One receipt of a plan. Steps go out in the plan's order, each `afterMs` after the previous one
 * (the first after the send, or after the phone came back for a queued message).
 */
export interface ReceiptStep {
  status: OutgoingMessageStatus
  afterMs: number
  /** Green-API's error text (failed statuses). */
  description?: string
}

/** The `typeMessage` values of incoming messages the simulator can produce. */
export const INCOMING_MESSAGE_TYPES = [
  'textMessage',
  'extendedTextMessage',
  'imageMessage',
  'videoMessage',
  'documentMessage',
  'audioMessage',
  'locationMessage',
  'contactMessage',
] as const
export type IncomingMessageType = (typeof INCOMING_MESSAGE_TYPES)[number]

/** A message the simulated contact sends to the linked phone (`injectIncoming`). */
export interface IncomingInput {
  /** The contact's number, E.164 (`+33612345678`). */
  from: string
  /** The text (text types) or the caption (media). Required for text types. */
  text?: string
  /** Default: `textMessage`, or `extendedTextMessage` when the text holds a link (like WhatsApp). */
  type?: IncomingMessageType
  senderName?: string
  /** Media: a document's file name and any media's MIME type (defaults per type). */
  fileName?: string
  mimeType?: string
  location?: { latitude: number; longitude: number; name?: string; address?: string }
  contact?: { displayName: string; vcard?: string }
  /** Reuse an id (tests: a redelivered notification). Default: a new one. */
  idMessage?: string
}

export type IncomingResult =
  /** `notified`: false when the instance's `incomingWebhook` is off (the phone got it, nobody was told). */
  | { ok: true; idMessage: string; body: unknown; notified: boolean }
  | { ok: false; reason: 'unknown_instance' | 'not_linked' | 'invalid_phone' | 'invalid_message' }

export interface SimCredentials {
  instanceId: string
  apiToken: string
}

export interface SimMessage {
  idMessage: string
  chatId: string
  message: string
  at: number
  /**
   * Green-API's `statusMessage` of a sent message, as `lastOutgoingMessages` / `getMessage`
   * report it (`sent` when it leaves; receipts move it on). Absent = `sent`.
   */
  statusMessage?: string
}

export interface SimSettings {
  webhookUrl: string
  webhookUrlToken: string
  stateWebhook: 'yes' | 'no'
  [key: string]: unknown
}

/** A snapshot of one instance (copies; mutating it changes nothing). */
export interface SimInstanceView {
  instanceId: string
  apiToken: string
  name: string
  state: ConnectionState | null
  /** Digits only, '' when not linked. */
  phone: string
  webhookUrl: string
  webhookToken: string
  settings: SimSettings
  deleted: boolean
  qrNonce: string
  pairingCode: string | null
  queued: SimMessage[]
  sent: SimMessage[]
  dropped: SimMessage[]
}

export type ScanResult =
  | { ok: true; instanceId: string; phoneE164: string }
  | { ok: false; reason: 'unknown_instance' | 'stale_qr' | 'already_linked' | 'not_linkable' | 'invalid_phone' }

export type PairResult =
  | { ok: true; instanceId: string; phoneE164: string }
  | { ok: false; reason: 'unknown_code' | 'expired_code' | 'phone_mismatch' | 'not_linkable' | 'invalid_phone' }

export type FaultKind = 'slow' | 'down' | 'rateLimited' | 'quota466' | 'garbage' | 'wrongShape' | 'nullState' | 'reset'

export interface FaultScope {
  /** Only this instance (default: every instance and the partner API). */
  instanceId?: string
  /** Only these methods (case-insensitive). */
  methods?: string[]
  /** Apply this many times, then disappear (default: until cleared). */
  times?: number
}

export interface FaultSwitches {
  slow(ms: number): () => void
  down(status?: 502 | 503 | 500): () => void
  rateLimited(retryAfterSeconds?: number): () => void
  quota466(): () => void
  garbage(): () => void
  wrongShape(): () => void
  nullState(): () => void
  reset(): () => void
}

export interface WebhookDelivery {
  url: string
  body: unknown
  at: number
}

/** Green-API per-instance limits (requests/s), docs/green-api.md#errors-and-rate-limits. */
const SIMULATOR_RATE_LIMITS: Readonly<Record<string, number>> = GREEN_API_RATE_LIMITS

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

interface InstanceRecord {
  id: string
  token: string
  name: string
  state: ConnectionState | null
  phone: string
  settings: SimSettings
  deleted: boolean
  createdAt: number
  creatingUntil?: number
  startingUntil?: number
  stateAfterStarting?: ConnectionState
  /**
   * While a settings restart runs: the settings it replaced, under which its transitions are
   * notified (the new ones take effect once the instance is back).
   */
  settingsBeforeRestart?: SimSettings
  qrNonce: string
  qrIssuedAt: number
  prevQrNonce?: string
  prevQrValidUntil?: number
  pairing?: { code: string; phoneDigits: string; expiresAt: number }
  queue: SimMessage[]
  sent: SimMessage[]
  dropped: SimMessage[]
  /** Notifications waiting for `receiveNotification` (HTTP API technology: webhookUrl empty). */
  notifications: QueuedNotification[]
  /** The linked account's profile (`getContactInfo`); default: `SIM_PROFILE_NAME` and a generated picture. */
  profile?: SimProfile
}

interface ScheduledReceipt {
  instanceId: string
  idMessage: string
  chatId: string
  step: ReceiptStep
  dueAt: number
  seq: number
  timer: ReturnType<typeof setTimeout>
}

interface QueuedNotification {
  receiptId: number
  body: unknown
  at: number
}

interface Fault {
  kind: FaultKind
  scope: FaultScope
  remaining: number
  ms?: number
  status?: number
  retryAfterSeconds?: number
}

/** A sent message as Green-API's journals show it (`lastOutgoingMessages`, `getMessage`). */
function outgoingJournalEntry(m: SimMessage) {
  return {
    type: 'outgoing',
    idMessage: m.idMessage,
    timestamp: Math.floor(m.at / 1000),
    statusMessage: m.statusMessage ?? 'sent',
    typeMessage: 'textMessage',
    chatId: m.chatId,
    textMessage: m.message,
    sendByApi: true,
  }
}

type MethodDef = { name: string; verb: 'GET' | 'POST' | 'DELETE' }

const METHODS: MethodDef[] = [
  { name: 'qr', verb: 'GET' },
  { name: 'getStateInstance', verb: 'GET' },
  { name: 'getWaSettings', verb: 'GET' },
  { name: 'getSettings', verb: 'GET' },
  { name: 'setSettings', verb: 'POST' },
  { name: 'logout', verb: 'GET' },
  { name: 'reboot', verb: 'GET' },
  { name: 'sendMessage', verb: 'POST' },
  { name: 'getAuthorizationCode', verb: 'POST' },
  { name: 'checkWhatsapp', verb: 'POST' },
  { name: 'getDeviceInfo', verb: 'GET' },
  { name: 'receiveNotification', verb: 'GET' },
  { name: 'deleteNotification', verb: 'DELETE' },
  { name: 'lastOutgoingMessages', verb: 'GET' },
  { name: 'getMessage', verb: 'POST' },
  { name: 'getContactInfo', verb: 'POST' },
]
const PARTNER_METHODS: MethodDef[] = [
  { name: 'createInstance', verb: 'POST' },
  { name: 'deleteInstanceAccount', verb: 'POST' },
  { name: 'getInstances', verb: 'GET' },
]

const SETTINGS_FLAGS = [
  'markIncomingMessagesReaded',
  'markIncomingMessagesReadedOnReply',
  'outgoingWebhook',
  'outgoingMessageWebhook',
  'outgoingAPIMessageWebhook',
  'incomingWebhook',
  'deviceWebhook',
  'stateWebhook',
  'keepOnlineStatus',
  'pollMessageWebhook',
  'incomingBlockWebhook',
  'incomingCallWebhook',
  'editedMessageWebhook',
  'deletedMessageWebhook',
] as const

const yesNo = z.enum(['yes', 'no'])
const settingsShape = {
  webhookUrl: z.string().max(2048).optional(),
  webhookUrlToken: z.string().max(512).optional(),
  delaySendMessagesMilliseconds: z.number().int().min(500).max(600_000).optional(),
  ...Object.fromEntries(SETTINGS_FLAGS.map((f) => [f, yesNo.optional()])),
}
const setSettingsBody = z
  .object(settingsShape)
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'at least one setting')
const createInstanceBody = z
  .object({ name: z.string().max(200).optional(), ...settingsShape })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'at least one setting')
const sendMessageBody = z.object({
  chatId: z.string().regex(/^(\d{5,20}@c\.us|\d{5,20}(-\d{5,20})?@g\.us|\d{5,20}@lid)$/),
  message: z.string().min(1).max(20_000),
  quotedMessageId: z.string().optional(),
  linkPreview: z.boolean().optional(),
})
const lastOutgoingMinutes = z.coerce.number().int().min(1).max(1_000_000).default(1440)
const getMessageBody = z.object({ chatId: z.string().min(1), idMessage: z.string().min(1) })
const authCodeBody = z.object({ phoneNumber: z.number().int().min(1_000_000).max(999_999_999_999_999) })
// Either the documented `phoneNumber` (an integer) or, on newer pages, a `chatId`.
const checkWhatsappBody = z.union([
  z.object({ phoneNumber: z.number().int().nonnegative() }).strict(),
  z.object({ chatId: z.string().regex(/^\d{1,20}@(c\.us|lid)$/) }).strict(),
])
const receiveTimeoutSeconds = z.coerce.number().int().min(5).max(60).default(5)
const deleteInstanceBody = z.object({ idInstance: z.number().int().positive() })

const persistedSchema = z.object({
  version: z.literal(1),
  partnerToken: z.string().min(1),
  seq: z.number().int().nonnegative(),
  instances: z.array(
    z.object({
      id: z.string(),
      token: z.string(),
      name: z.string(),
      state: z.enum(CONNECTION_STATES).nullable(),
      phone: z.string(),
      settings: z.record(z.string(), z.unknown()),
      deleted: z.boolean(),
      createdAt: z.number(),
    }),
  ),
})

/** A stored instance (decision 215): what `snapshot` wrote; unknown fields are kept. */
const storedRecordSchema = z.looseObject({
  id: z.string().regex(/^\d{1,20}$/),
  token: z.string().min(1),
  name: z.string(),
  state: z.enum(CONNECTION_STATES).nullable(),
  phone: z.string(),
  settings: z.looseObject({ webhookUrl: z.string(), webhookUrlToken: z.string(), stateWebhook: z.enum(['yes', 'no']) }),
  deleted: z.boolean(),
  createdAt: z.number(),
  qrNonce: z.string(),
  qrIssuedAt: z.number(),
})

const contactInfoBody = z.object({ chatId: z.string().regex(/^\d{1,20}@(c\.us|g\.us|lid)$/) }).strict()

const PAIRING_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

function json(status: number, body: unknown, headers?: Record<string, string>): SimResponse {
  return headers ? { status, body, headers } : { status, body }
}
function text(status: number, message: string, headers: Record<string, string> = {}): SimResponse {
  return { status, body: null, rawBody: message, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } }
}
function badRequest(message: string): SimResponse {
  // Green-API answers validation failures with a 400 and a short text.
  return json(400, { message })
}
function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex')
}
function defaultSettings(): SimSettings {
  return { webhookUrl: '', webhookUrlToken: '', stateWebhook: 'no' }
}
/**
 * What `getSettings` answers for a setting nobody set: green-api.com's GetSettings fields, all off
 * after creation. The sending delay of a new instance is not documented: the documented minimum.
 */
const SETTINGS_DEFAULTS: Readonly<Record<string, string | number>> = {
  countryInstance: '',
  typeAccount: '',
  webhookUrl: '',
  webhookUrlToken: '',
  delaySendMessagesMilliseconds: 500,
  ...Object.fromEntries(
    [
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
    ].map((f) => [f, 'no']),
  ),
}
/** Notifications are kept 24 h in the queue (docs/green-api.md#notifications-webhooks). */
const NOTIFICATION_RETENTION_MS = 24 * 3600_000
const MAX_QUEUED_NOTIFICATIONS = 500
function e164Digits(phone: string): string | null {
  const m = /^\+?(\d{6,15})$/.exec(phone.replace(/[\s().-]/g, ''))
  return m?.[1] ?? null
}
function isLinked(state: ConnectionState | null): boolean {
  return state === 'authorized' || state === 'yellowCard' || state === 'sleepMode' || state === 'blocked'
}

/** Default delivery: POST JSON with global fetch; a few retries; never throws. */
const fetchDeliverWebhook: DeliverWebhook = async (url, headers, body) => {
  const delays = [0, 500, 1500, 3000]
  for (const delay of delays) {
    if (delay > 0) await new Promise((r) => setTimeout(r, delay).unref?.())
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      })
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) return
    } catch {
      // swallowed: the real service also just retries later
    }
  }
}

// ---------------------------------------------------------------------------------------------

export class GreenApiSimulator {
  private readonly instances = new Map<string, InstanceRecord>()
  private readonly faults: Fault[] = []
  private readonly rateWindows = new Map<string, number[]>()
  private readonly counts = new Map<string, number>()
  private readonly pending = new Set<Promise<void>>()
  private readonly qrCache = new Map<string, string>()
  private readonly notificationWaiters = new Map<string, Set<() => void>>()
  private receiptSeq = 0
  private readonly scheduledReceipts = new Set<ScheduledReceipt>()
  private scheduleSeq = 0
  private readonly receiptDelaysMs: readonly [number, number, number]
  private readonly receiptPlan: ((message: SimMessage, plan: ReceiptStep[]) => ReceiptStep[]) | undefined
  private readonly newMessageId: (() => string) | undefined
  private readonly resolvePublicUrl: PublicUrlResolver
  private readonly deliver: DeliverWebhook
  private readonly now: () => number
  private readonly sleep: (ms: number) => Promise<void>
  private readonly persistPath: string | undefined
  private readonly store: SimulatorStore | undefined
  /** Per stored instance: the version last read or written here and the record it held. */
  private readonly synced = new Map<string, { version: number; snapshot: string }>()
  private readonly qrRotationMs: number
  private readonly qrGraceMs: number
  private readonly pairingValidityMs: number
  private readonly rebootMs: number
  private readonly settingsRestartMs: number
  private readonly creatingMs: number
  private readonly maxReceiveWaitMs: number
  private readonly idPrefix: string
  private rateLimitsOn: boolean
  private seq = 0
  /** Partner token (a secret; only for wiring the app to the simulator). */
  partnerToken: string
  /** Every webhook the simulator emitted, oldest first (bounded). */
  readonly webhookLog: WebhookDelivery[] = []

  constructor(opts: GreenApiSimulatorOptions = {}) {
    const pub = opts.publicUrl
    this.resolvePublicUrl =
      typeof pub === 'function'
        ? pub
        : typeof pub === 'string'
          ? () => pub
          : ({ origin, host }) => origin ?? (host ? `http://${host}` : 'http://localhost:3000')
    this.deliver = opts.deliverWebhook ?? fetchDeliverWebhook
    this.now = opts.now ?? Date.now
    this.sleep =
      opts.sleep ??
      ((ms) =>
        new Promise((r) => {
          setTimeout(r, ms).unref?.()
        }))
    this.persistPath = opts.persistPath
    this.store = opts.store
    this.rateLimitsOn = opts.rateLimits ?? true
    this.qrRotationMs = opts.qrRotationMs ?? 20_000
    this.qrGraceMs = opts.qrGraceMs ?? 5_000
    this.pairingValidityMs = opts.pairingValidityMs ?? 150_000
    this.rebootMs = opts.rebootMs ?? 1_500
    this.settingsRestartMs = opts.settingsRestartMs ?? 0
    this.creatingMs = opts.creatingMs ?? 0
    this.maxReceiveWaitMs = opts.maxReceiveWaitMs ?? Number.POSITIVE_INFINITY
    this.idPrefix = opts.idPrefix ?? '1101'
    this.receiptDelaysMs = opts.receiptDelaysMs ?? [800, 1200, 2000]
    this.receiptPlan = opts.receiptPlan
    this.newMessageId = opts.newMessageId
    this.partnerToken = opts.partnerToken ?? randomHex(25)
    if (this.persistPath) this.load(this.persistPath, opts.partnerToken)
  }

  // ------------------------------------------------------------------ instances

  /** Creates `n` unauthorized instances with random tokens. */
  createInstances(n: number, settings: Partial<SimSettings> & { name?: string } = {}): SimCredentials[] {
    const out: SimCredentials[] = []
    for (let i = 0; i < n; i++) out.push(this.createOne(settings, 0))
    this.persist()
    return out
  }

  /** Adds one instance with chosen id/token (tests, fixtures); random ones when omitted. */
  addInstance(
    opts: { instanceId?: string; apiToken?: string; name?: string; settings?: Partial<SimSettings> } = {},
  ): SimCredentials {
    if (opts.instanceId !== undefined && !/^\d{1,20}$/.test(opts.instanceId)) throw new Error('instanceId must be digits')
    if (opts.instanceId !== undefined && this.instances.has(opts.instanceId)) throw new Error('instance exists')
    const created = this.createOne({ ...(opts.settings ?? {}), ...(opts.name === undefined ? {} : { name: opts.name }) }, 0, opts)
    this.persist()
    return created
  }

  /** Makes sure at least `n` live instances exist (handy with persistence) and returns `n` of them. */
  ensureInstances(n: number): SimCredentials[] {
    const live = this.listInstances().filter((i) => !i.deleted)
    if (live.length < n) this.createInstances(n - live.length)
    return this.listInstances()
      .filter((i) => !i.deleted)
      .slice(0, n)
      .map((i) => ({ instanceId: i.instanceId, apiToken: i.apiToken }))
  }

  listInstances(): SimInstanceView[] {
    return [...this.instances.keys()].map((id) => this.instance(id)).filter((v): v is SimInstanceView => v !== null)
  }

  /** A copy of an instance's state, or null. */
  instance(instanceId: string): SimInstanceView | null {
    const r = this.instances.get(instanceId)
    if (!r) return null
    this.settle(r)
    return {
      instanceId: r.id,
      apiToken: r.token,
      name: r.name,
      state: r.state,
      phone: r.phone,
      webhookUrl: r.settings.webhookUrl,
      webhookToken: r.settings.webhookUrlToken,
      settings: { ...r.settings },
      deleted: r.deleted,
      qrNonce: r.qrNonce,
      pairingCode: r.pairing && r.pairing.expiresAt > this.now() ? r.pairing.code : null,
      queued: r.queue.map((m) => ({ ...m })),
      sent: r.sent.map((m) => ({ ...m })),
      dropped: r.dropped.map((m) => ({ ...m })),
    }
  }

  /** Current QR nonce (rotating every 20 s), what the PNG of `qr` encodes. */
  currentQrNonce(instanceId: string): string | null {
    const r = this.instances.get(instanceId)
    if (!r) return null
    this.settle(r)
    return r.qrNonce
  }

  /** Whether a QR nonce would still scan (current code, or the previous one within the grace). */
  isQrNonceValid(instanceId: string, nonce: string): boolean {
    const r = this.instances.get(instanceId)
    if (!r) return false
    this.settle(r)
    if (nonce === r.qrNonce) return true
    return nonce === r.prevQrNonce && r.prevQrValidUntil !== undefined && this.now() < r.prevQrValidUntil
  }

  /**
   * The simulated account's profile (`getContactInfo` on its own chat): its name and what its
   * picture is (`'image'`: a generated PNG the simulator serves itself; the others for tests:
   * no picture, a text served as a PNG, an image over 1 MiB, a plain-http URL).
   */
  setProfile(instanceId: string, profile: Partial<SimProfile>): void {
    const r = this.instances.get(instanceId)
    if (!r) throw new Error(`simulator: unknown instance ${instanceId}`)
    r.profile = { name: SIM_PROFILE_NAME, avatar: 'image', ...r.profile, ...profile }
    this.persist()
  }

  /**
   * The profile picture the simulator serves at `${apiBase}/simAvatar/{id}.png` (counted as the
   * method `simAvatar`): the generated PNG, or the odd answer `setProfile` asked for.
   */
  async avatarImage(instanceId: string): Promise<SimResponse> {
    return this.shared(() => {
      this.count(instanceId, 'simAvatar')
      const r = this.instances.get(instanceId)
      if (!r || r.phone === '') return text(404, 'Not Found')
      const kind = r.profile?.avatar ?? 'image'
      if (kind === 'notImage')
        return { status: 200, body: null, rawBody: '<html>not a picture</html>', headers: { 'content-type': 'image/png' } }
      const png = simulatedAvatarPng(r.phone)
      const bytes = kind === 'oversized' ? Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024)]) : png
      return { status: 200, body: null, rawBytes: bytes, headers: { 'content-type': 'image/png' } }
    })
  }

  private avatarUrl(r: InstanceRecord, kind: SimAvatarKind, req: SimRequest): string {
    if (kind === 'none') return ''
    const base = (req.apiBase ?? req.origin ?? (req.host ? `http://${req.host}` : 'http://localhost')).replace(/\/+$/, '')
    const url = `${base}/simAvatar/${r.id}.png`
    return kind === 'http' ? url.replace(/^https:/, 'http:') : url
  }

  /** Absolute URL of the simulated phone page for the current QR. */
  scanUrl(instanceId: string, req: { host?: string; origin?: string } = {}): string | null {
    const nonce = this.currentQrNonce(instanceId)
    if (nonce === null) return null
    return `${this.publicBase(req)}/dev/simulator/scan/${encodeURIComponent(instanceId)}/${nonce}`
  }

  /**
   * What the simulated phone's links point at, as the QR does (decision 216): `scan`, the URL the
   * current QR encodes; `pair`, the phone's pairing screen with the code filled in. Null for an
   * unknown or deleted instance, or `scan` when the instance is not waiting for one.
   */
  phoneUrls(instanceId: string): { scan: string | null; pair: string } | null {
    const r = this.instances.get(instanceId)
    if (!r || r.deleted) return null
    this.settle(r)
    const base = this.publicBase({ webhookUrl: r.settings.webhookUrl || undefined })
    const code = r.pairing && r.pairing.expiresAt > this.now() ? `?code=${encodeURIComponent(r.pairing.code)}` : ''
    return { scan: r.state === 'notAuthorized' ? this.phoneScanUrl(r, {}) : null, pair: `${base}/dev/simulator/pair${code}` }
  }

  private phoneScanUrl(r: InstanceRecord, req: { host?: string; origin?: string }): string {
    const base = this.publicBase({ ...req, webhookUrl: r.settings.webhookUrl || undefined })
    return `${base}/dev/simulator/scan/${encodeURIComponent(r.id)}/${r.qrNonce}`
  }

  private publicBase(req: { host?: string | undefined; origin?: string | undefined; webhookUrl?: string | undefined }): string {
    return this.resolvePublicUrl(req).replace(/\/+$/, '')
  }

  private createOne(
    settings: Partial<SimSettings> & { name?: string },
    creatingMs: number,
    fixed: { instanceId?: string; apiToken?: string } = {},
  ): SimCredentials {
    let id: string
    if (fixed.instanceId !== undefined) id = fixed.instanceId
    else {
      do {
        this.seq += 1
        id = `${this.idPrefix}${String(this.seq).padStart(6, '0')}`
      } while (this.instances.has(id))
    }
    const now = this.now()
    const { name, ...rest } = settings
    const rec: InstanceRecord = {
      id,
      token: fixed.apiToken ?? randomHex(25),
      name: name ?? `sim-${id}`,
      state: creatingMs > 0 ? null : 'notAuthorized',
      phone: '',
      settings: { ...defaultSettings(), ...stripUndefined(rest) },
      deleted: false,
      createdAt: now,
      qrNonce: randomHex(8),
      qrIssuedAt: now,
      queue: [],
      sent: [],
      dropped: [],
      notifications: [],
    }
    if (creatingMs > 0) rec.creatingUntil = now + creatingMs
    this.instances.set(id, rec)
    return { instanceId: id, apiToken: rec.token }
  }

  // ------------------------------------------------------------------ switches

  setRateLimitsEnabled(enabled: boolean): void {
    this.rateLimitsOn = enabled
  }

  /** Fault switches, global (no scope) or for one instance / some methods / N times. */
  fault(scope: FaultScope = {}): FaultSwitches {
    const add = (f: Omit<Fault, 'scope' | 'remaining'>): (() => void) => {
      const fault: Fault = { ...f, scope, remaining: scope.times ?? Number.POSITIVE_INFINITY }
      this.faults.push(fault)
      return () => {
        const i = this.faults.indexOf(fault)
        if (i >= 0) this.faults.splice(i, 1)
      }
    }
    return {
      slow: (ms) => add({ kind: 'slow', ms }),
      down: (status = 503) => add({ kind: 'down', status }),
      rateLimited: (retryAfterSeconds) =>
        add(retryAfterSeconds === undefined ? { kind: 'rateLimited' } : { kind: 'rateLimited', retryAfterSeconds }),
      quota466: () => add({ kind: 'quota466' }),
      garbage: () => add({ kind: 'garbage' }),
      wrongShape: () => add({ kind: 'wrongShape' }),
      nullState: () => add({ kind: 'nullState' }),
      reset: () => add({ kind: 'reset' }),
    }
  }

  /** Removes faults of one instance, or all faults. */
  clearFaults(instanceId?: string): void {
    for (let i = this.faults.length - 1; i >= 0; i--) {
      if (instanceId === undefined || this.faults[i]?.scope.instanceId === instanceId) this.faults.splice(i, 1)
    }
  }

  /** Sets a state directly (fires the webhook when it changes). `null` = being created. */
  setState(instanceId: string, state: ConnectionState | null): void {
    const r = this.mustGet(instanceId)
    this.settle(r)
    delete r.startingUntil
    delete r.stateAfterStarting
    this.changeState(r, state)
  }
  yellowCard(instanceId: string): void {
    this.setState(instanceId, 'yellowCard')
  }
  blocked(instanceId: string): void {
    this.setState(instanceId, 'blocked')
  }
  sleepMode(instanceId: string): void {
    this.setState(instanceId, 'sleepMode')
  }
  /** `starting` for `ms` (default: until another state is set), then back to the previous state. */
  starting(instanceId: string, ms?: number): void {
    const r = this.mustGet(instanceId)
    this.settle(r)
    this.enterStarting(r, ms)
  }
  /** Links a phone without going through a QR (test shortcut). */
  authorize(instanceId: string, phoneE164 = '+33612345678'): void {
    const r = this.mustGet(instanceId)
    const digits = e164Digits(phoneE164)
    if (!digits) throw new Error('invalid phone number')
    this.settle(r)
    this.link(r, digits)
  }

  private mustGet(instanceId: string): InstanceRecord {
    const r = this.instances.get(instanceId)
    if (!r) throw new Error(`unknown simulator instance ${instanceId}`)
    return r
  }

  // ------------------------------------------------------------------ simulated phone

  /** The phone scanned the QR carrying `nonce`: links `phoneE164` and fires the webhook. */
  scan(instanceId: string, nonce: string, phoneE164 = '+33612345678'): ScanResult {
    const r = this.instances.get(instanceId)
    if (!r || r.deleted) return { ok: false, reason: 'unknown_instance' }
    this.settle(r)
    if (r.state === 'authorized') return { ok: false, reason: 'already_linked' }
    if (r.state !== 'notAuthorized') return { ok: false, reason: 'not_linkable' }
    if (!this.isQrNonceValid(instanceId, nonce)) return { ok: false, reason: 'stale_qr' }
    const digits = e164Digits(phoneE164)
    if (!digits) return { ok: false, reason: 'invalid_phone' }
    this.link(r, digits)
    return { ok: true, instanceId: r.id, phoneE164: `+${digits}` }
  }

  /** The phone typed a pairing code (`ABCD-EFGH` or `ABCDEFGH`). Phone defaults to the requested one. */
  pair(code: string, phoneE164?: string): PairResult {
    const wanted = code.replace(/[\s-]/g, '').toUpperCase()
    const now = this.now()
    const r = [...this.instances.values()].find((i) => !i.deleted && i.pairing?.code === wanted)
    if (!r || !r.pairing) return { ok: false, reason: 'unknown_code' }
    if (r.pairing.expiresAt <= now) return { ok: false, reason: 'expired_code' }
    this.settle(r)
    if (r.state !== 'notAuthorized') return { ok: false, reason: 'not_linkable' }
    let digits = r.pairing.phoneDigits
    if (phoneE164 !== undefined && phoneE164.trim() !== '') {
      const given = e164Digits(phoneE164)
      if (!given) return { ok: false, reason: 'invalid_phone' }
      if (given !== digits) return { ok: false, reason: 'phone_mismatch' }
      digits = given
    }
    this.link(r, digits)
    return { ok: true, instanceId: r.id, phoneE164: `+${digits}` }
  }

  /** Resolves when every webhook emitted so far has been delivered (or given up on). */
  async flushWebhooks(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }

  // ------------------------------------------------------------------ receipts & incoming messages

  /** Receipts scheduled and not emitted yet, optionally of one instance / one message. */
  pendingReceipts(
    filter: { instanceId?: string; idMessage?: string } = {},
  ): Array<{ idMessage: string; status: OutgoingMessageStatus }> {
    return this.orderedReceipts(filter).map((x) => ({ idMessage: x.idMessage, status: x.step.status }))
  }

  /**
   * Emits the scheduled receipts now (in their planned order, without waiting for their delays)
   * and waits for their delivery. Returns how many were emitted.
   */
  async releaseReceipts(filter: { instanceId?: string; idMessage?: string } = {}): Promise<number> {
    const due = this.orderedReceipts(filter)
    for (const x of due) {
      clearTimeout(x.timer)
      this.scheduledReceipts.delete(x)
      this.fireReceipt(x)
    }
    await this.flushWebhooks()
    return due.length
  }

  /**
   * Emits one `outgoingMessageStatus` now, whatever was planned (tests: any order, duplicates,
   * a receipt for a message we never stored). `chatId` defaults to the message's own.
   */
  emitReceipt(
    instanceId: string,
    idMessage: string,
    status: OutgoingMessageStatus,
    opts: { chatId?: string; description?: string } = {},
  ): unknown {
    const r = this.mustGet(instanceId)
    const known = [...r.sent, ...r.dropped, ...r.queue].find((m) => m.idMessage === idMessage)
    const chatId = opts.chatId ?? known?.chatId
    if (chatId === undefined) throw new Error(`unknown simulator message ${idMessage}: pass a chatId`)
    return this.emitReceiptNow(r, idMessage, chatId, {
      status,
      afterMs: 0,
      ...(opts.description === undefined ? {} : { description: opts.description }),
    })
  }

  /**
   * A contact writes to the linked phone: `incomingMessageReceived` with Green-API's documented
   * `senderData` / `messageData` (text, link preview, image, video, document, audio, location,
   * contact). Only a phone that is online receives (authorized or under a yellow card); the
   * notification goes out only with `incomingWebhook: "yes"`, like the real service.
   */
  injectIncoming(instanceId: string, input: IncomingInput): IncomingResult {
    const r = this.instances.get(instanceId)
    if (!r || r.deleted) return { ok: false, reason: 'unknown_instance' }
    this.settle(r)
    if (r.state !== 'authorized' && r.state !== 'yellowCard') return { ok: false, reason: 'not_linked' }
    const digits = e164Digits(input.from)
    if (!digits) return { ok: false, reason: 'invalid_phone' }
    const messageData = incomingMessageData(input)
    if (!messageData) return { ok: false, reason: 'invalid_message' }
    const idMessage = input.idMessage ?? randomHex(16).toUpperCase()
    const name = input.senderName ?? `Contact ${digits.slice(-4)}`
    const body = {
      typeWebhook: 'incomingMessageReceived',
      instanceData: this.instanceData(r),
      timestamp: Math.floor(this.now() / 1000),
      idMessage,
      senderData: {
        chatId: `${digits}@c.us`,
        chatName: name,
        sender: `${digits}@c.us`,
        senderName: name,
        senderContactName: name,
      },
      messageData,
    }
    const settings = r.settingsBeforeRestart ?? r.settings
    const notified = settings.incomingWebhook === 'yes'
    if (notified) this.notify(r, settings, body)
    return { ok: true, idMessage, body, notified }
  }

  private orderedReceipts(filter: { instanceId?: string; idMessage?: string }): ScheduledReceipt[] {
    return [...this.scheduledReceipts]
      .filter(
        (x) =>
          (filter.instanceId === undefined || x.instanceId === filter.instanceId) &&
          (filter.idMessage === undefined || x.idMessage === filter.idMessage),
      )
      .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)
  }

  /** Plans the receipts of an accepted message: numbers ending in 0000 have no WhatsApp account. */
  private scheduleReceipts(r: InstanceRecord, m: SimMessage, fixed?: ReceiptStep[]): void {
    const [d0, d1, d2] = this.receiptDelaysMs
    const digits = m.chatId.split('@')[0] ?? ''
    const plan: ReceiptStep[] =
      fixed ??
      (m.chatId.endsWith('@c.us') && digits.endsWith('0000')
        ? [{ status: 'noAccount', afterMs: d0 }]
        : [
            { status: 'sent', afterMs: d0 },
            { status: 'delivered', afterMs: d1 },
            { status: 'read', afterMs: d2 },
          ])
    const steps = this.receiptPlan
      ? this.receiptPlan(
          { ...m },
          plan.map((s) => ({ ...s })),
        )
      : plan
    let offset = 0
    for (const step of steps) {
      offset += Math.max(0, step.afterMs)
      const delay = offset
      const entry: ScheduledReceipt = {
        instanceId: r.id,
        idMessage: m.idMessage,
        chatId: m.chatId,
        step,
        // Timers run on real time whatever the injected clock: order by when they fire.
        dueAt: performance.now() + delay,
        seq: ++this.scheduleSeq,
        timer: setTimeout(() => {
          if (!this.scheduledReceipts.delete(entry)) return
          this.fireReceipt(entry)
        }, delay),
      }
      entry.timer.unref?.()
      this.scheduledReceipts.add(entry)
    }
  }

  private fireReceipt(x: ScheduledReceipt): void {
    const r = this.instances.get(x.instanceId)
    if (r) this.emitReceiptNow(r, x.idMessage, x.chatId, x.step)
  }

  /**
   * `outgoingMessageStatus` (green-api.com OutgoingMessageStatus): sent/delivered/read and a
   * yellow card need `outgoingWebhook: "yes"`; `failed` and `noAccount` cannot be switched off.
   */
  private emitReceiptNow(r: InstanceRecord, idMessage: string, chatId: string, step: ReceiptStep): unknown {
    const body = {
      typeWebhook: 'outgoingMessageStatus',
      chatId,
      instanceData: this.instanceData(r),
      timestamp: Math.floor(this.now() / 1000),
      idMessage,
      status: step.status,
      ...(step.description === undefined ? {} : { description: step.description }),
      sendByApi: true,
    }
    const settings = r.settingsBeforeRestart ?? r.settings
    const alwaysSent = step.status === 'failed' || step.status === 'noAccount'
    if (!r.deleted && (alwaysSent || settings.outgoingWebhook === 'yes')) this.notify(r, settings, body)
    return body
  }

  // ------------------------------------------------------------------ observation

  /** Requests received (after routing), optionally for one instance and/or method. */
  callCount(filter: { instanceId?: string; method?: string } = {}): number {
    let n = 0
    for (const [key, count] of this.counts) {
      const [id, method] = key.split('|')
      if (filter.instanceId !== undefined && id !== filter.instanceId) continue
      if (filter.method !== undefined && method?.toLowerCase() !== filter.method.toLowerCase()) continue
      n += count
    }
    return n
  }
  resetCallCounts(): void {
    this.counts.clear()
  }

  // ------------------------------------------------------------------ request handling

  async handle(req: SimRequest): Promise<SimResponse> {
    return this.shared(() => this.handleHere(req))
  }

  async handlePartner(req: SimPartnerRequest): Promise<SimResponse> {
    return this.shared(() => this.handlePartnerHere(req))
  }

  /**
   * Runs `fn` on the shared state: reads what other processes changed (the store), runs, writes
   * back what changed. Without a store, just runs. The simulated phone and the control page go
   * through it too (`await sim.shared(() => sim.scan(…))`).
   */
  async shared<T>(fn: () => T | Promise<T>): Promise<T> {
    if (!this.store) return fn()
    await this.sync()
    try {
      return await fn()
    } finally {
      await this.flush()
    }
  }

  /**
   * Like `ensureInstances`, on the shared state: the first process creates them, the others find
   * them (an id two processes created at once goes to the first writer).
   */
  async ensureSharedInstances(n: number): Promise<SimCredentials[]> {
    if (!this.store) return this.ensureInstances(n)
    await this.sync()
    this.ensureInstances(n)
    await this.flush()
    await this.sync()
    return this.ensureInstances(n)
  }

  /** The durable part of an instance (what other processes must see), as JSON. */
  private snapshot(r: InstanceRecord): string {
    const { queue: _q, sent: _s, dropped: _d, notifications: _n, ...durable } = r
    return JSON.stringify(durable)
  }

  /**
   * Calls run concurrently (the refresher has dozens in flight): each would list every stored
   * instance and, before any of them recorded its save, write every changed instance again, so
   * a wave of 1000 reconciles cost thousands of UPDATEs. One sync and one flush at a time; a call
   * arriving while one runs shares the next, which starts after it arrived and so sees its changes.
   */
  private readonly sync = oneAtATime(() => this.syncNow())
  private readonly flush = oneAtATime(() => this.flushNow())

  private async syncNow(): Promise<void> {
    if (!this.store) return
    const rows = await this.store.list()
    const present = new Set<string>()
    for (const row of rows) {
      present.add(row.id)
      const known = this.synced.get(row.id)
      if (known && known.version >= row.version) continue
      const parsed = storedRecordSchema.safeParse(row.record)
      if (!parsed.success || parsed.data.id !== row.id) continue
      const local = this.instances.get(row.id)
      if (local) {
        // Same object (its reboot timer holds it): fields replaced, messages kept.
        for (const k of Object.keys(local) as Array<keyof InstanceRecord>) {
          if (k !== 'queue' && k !== 'sent' && k !== 'dropped' && k !== 'notifications') delete local[k]
        }
        Object.assign(local, parsed.data)
      } else {
        this.instances.set(row.id, {
          ...(parsed.data as unknown as InstanceRecord),
          queue: [],
          sent: [],
          dropped: [],
          notifications: [],
        })
      }
      const rec = this.instances.get(row.id)!
      this.synced.set(row.id, { version: row.version, snapshot: this.snapshot(rec) })
      const n = Number(row.id.startsWith(this.idPrefix) ? row.id.slice(this.idPrefix.length) : NaN)
      if (Number.isSafeInteger(n) && n > this.seq) this.seq = n
    }
    // Gone from the store (db:reset): gone here too, whatever this process remembered.
    for (const id of [...this.synced.keys()]) {
      if (present.has(id)) continue
      this.synced.delete(id)
      this.instances.delete(id)
    }
  }

  private async flushNow(): Promise<void> {
    if (!this.store) return
    for (const r of [...this.instances.values()]) {
      const snapshot = this.snapshot(r)
      const known = this.synced.get(r.id)
      if (known?.snapshot === snapshot) continue
      const record = JSON.parse(snapshot) as Record<string, unknown>
      const version = known ? await this.store.save(r.id, record) : await this.store.insert(r.id, record)
      if (version === null) {
        // Created elsewhere first, or removed from the store: the store's word wins.
        this.synced.delete(r.id)
        this.instances.delete(r.id)
        continue
      }
      this.synced.set(r.id, { version, snapshot })
    }
  }

  private async handleHere(req: SimRequest): Promise<SimResponse> {
    const def = METHODS.find((m) => m.name.toLowerCase() === req.method.toLowerCase())
    const method = def?.name ?? req.method
    this.count(req.instanceId, method)

    const pre = await this.applyPreFaults(req.instanceId, method)
    if (pre) return pre

    const r = this.instances.get(req.instanceId)
    if (!r) return text(403, 'Forbidden')
    if (req.token !== r.token) return text(401, 'Unauthorized')
    if (!def || def.verb !== req.httpMethod.toUpperCase()) return text(404, 'Not Found')
    // Only deleteNotification has a segment after the token (its receiptId).
    if ((req.pathTail !== undefined) !== (def.name === 'deleteNotification')) return text(404, 'Not Found')
    if (r.deleted) return badRequest('Instance is deleted')
    this.settle(r)

    // Limits are per second: the window has room again within one.
    if (!this.allow(r.id, method)) return text(429, 'Too Many Requests', { 'retry-after': '1' })

    const res = await this.dispatch(r, method, req)
    return this.applyPostFaults(req.instanceId, method, res)
  }

  private async handlePartnerHere(req: SimPartnerRequest): Promise<SimResponse> {
    const def = PARTNER_METHODS.find((m) => m.name.toLowerCase() === req.method.toLowerCase())
    const method = def?.name ?? req.method
    this.count('partner', method)
    const pre = await this.applyPreFaults('partner', method)
    if (pre) return pre
    if (!def || def.verb !== req.httpMethod.toUpperCase()) return text(404, 'Not Found')
    // Partner errors are HTTP 200 + {code, description} (docs/green-api.md#partner-api).
    if (req.token !== this.partnerToken) return json(200, { code: 401, description: 'Unauthorized' })

    let res: SimResponse
    switch (def.name) {
      case 'createInstance': {
        const parsed = createInstanceBody.safeParse(req.body)
        if (!parsed.success) {
          res = json(200, { code: 400, description: 'Bad Request Validation failed' })
          break
        }
        const { name, ...settings } = parsed.data as { name?: string } & Partial<SimSettings>
        const created = this.createOne(name === undefined ? settings : { ...settings, name }, this.creatingMs)
        this.persist()
        res = json(200, { idInstance: Number(created.instanceId), apiTokenInstance: created.apiToken, typeInstance: 'whatsapp' })
        break
      }
      case 'deleteInstanceAccount': {
        const parsed = deleteInstanceBody.safeParse(req.body)
        if (!parsed.success) {
          res = json(200, { code: 400, description: 'Bad Request Validation failed' })
          break
        }
        const r = this.instances.get(String(parsed.data.idInstance))
        if (!r || r.deleted) {
          res = json(200, { code: 404, description: 'Not found' })
          break
        }
        // Like the real service, deleting does not log the phone out (docs/green-api.md#partner-api).
        r.deleted = true
        this.persist()
        res = json(200, { deleteInstanceAccount: true })
        break
      }
      default: {
        res = json(
          200,
          [...this.instances.values()].map((r) => ({
            idInstance: Number(r.id),
            name: r.name,
            typeInstance: 'whatsapp',
            timeCreated: new Date(r.createdAt).toISOString().slice(0, 19),
            timeDeleted: r.deleted ? new Date(this.now()).toISOString().slice(0, 19) : '0001-01-01T00:00:00',
            apiTokenInstance: r.token,
            deleted: r.deleted,
            tariff: 'Developer',
            isFree: false,
            isPartner: true,
            expirationDate: '2099-01-01T00:00:00',
            isExpired: false,
          })),
        )
      }
    }
    return this.applyPostFaults('partner', method, res)
  }

  private async dispatch(r: InstanceRecord, method: string, req: SimRequest): Promise<SimResponse> {
    switch (method) {
      case 'qr':
        return this.qr(r, req)
      case 'getStateInstance':
        return json(200, r.state === null ? null : { stateInstance: r.state })
      case 'getWaSettings': {
        const showPhone = r.phone !== '' && (r.state === 'authorized' || r.state === 'yellowCard' || r.state === 'sleepMode')
        return json(200, {
          avatar: showPhone ? 'https://pps.whatsapp.net/simulated.jpg' : '',
          phone: showPhone ? r.phone : '',
          stateInstance: r.state ?? 'starting',
          deviceId: showPhone ? `${r.phone}:8@s.whatsapp.net` : '',
        })
      }
      case 'getContactInfo': {
        const parsed = contactInfoBody.safeParse(req.body)
        if (!parsed.success) return badRequest('Bad Request Validation failed')
        if (r.state !== 'authorized' && r.state !== 'yellowCard' && r.state !== 'sleepMode') {
          return badRequest('instance is starting or not authorized')
        }
        // Only the account's own chat has a profile here; any other chat: empty name and picture.
        const own = r.phone !== '' && parsed.data.chatId === `${r.phone}@c.us`
        const profile = r.profile ?? { name: SIM_PROFILE_NAME, avatar: 'image' }
        return json(200, {
          avatar: own ? this.avatarUrl(r, profile.avatar, req) : '',
          name: own ? profile.name : '',
          contactName: '',
          email: '',
          category: '',
          description: '',
          products: [],
          chatId: parsed.data.chatId,
          lastSeen: null,
          isArchive: false,
          isDisappearing: false,
          isMute: false,
          messageExpiration: 0,
          muteExpiration: null,
          isBusiness: false,
        })
      }
      case 'getSettings':
        return json(200, { wid: r.phone && isLinked(r.state) ? `${r.phone}@c.us` : '', ...SETTINGS_DEFAULTS, ...r.settings })
      case 'setSettings': {
        const parsed = setSettingsBody.safeParse(req.body)
        if (!parsed.success) return badRequest('Bad Request Validation failed')
        // Green-API restarts the instance on setSettings (`starting`, then back). The restart is
        // notified under the settings it replaces: the new ones take effect once it is over.
        if (r.state !== null) {
          r.settingsBeforeRestart ??= { ...r.settings }
          this.enterStarting(r, this.settingsRestartMs)
        }
        Object.assign(r.settings, stripUndefined(parsed.data as Record<string, unknown>))
        this.persist()
        return json(200, { saveSettings: true })
      }
      case 'checkWhatsapp': {
        const parsed = checkWhatsappBody.safeParse(req.body)
        if (!parsed.success) return badRequest('Bad Request Validation failed')
        if (r.state !== 'authorized') return badRequest('instance is starting or not authorized')
        const digits = 'phoneNumber' in parsed.data ? String(parsed.data.phoneNumber) : (parsed.data.chatId.split('@')[0] ?? '')
        if (!/^\d{11,16}$/.test(digits)) return badRequest('bad phone number, valid from 11 to 16 digits')
        // The simulated WhatsApp knows every number but those ending in 0000 (docs/green-api.md).
        const existsWhatsapp = !digits.endsWith('0000')
        return json(200, 'chatId' in parsed.data ? { existsWhatsapp, chatId: parsed.data.chatId } : { existsWhatsapp })
      }
      case 'getDeviceInfo':
        // green-api.com: "temporarily not working. When the method is called, a 405 error will be returned."
        return text(405, 'Method Not Allowed')
      case 'receiveNotification': {
        const timeout = receiveTimeoutSeconds.safeParse(req.query?.['receiveTimeout'])
        if (!timeout.success) return badRequest('Bad Request Validation failed')
        let next = this.nextNotification(r)
        if (!next) {
          const waitMs = Math.min(timeout.data * 1000, this.maxReceiveWaitMs)
          if (waitMs > 0) await this.notificationOrTimeout(r.id, waitMs)
          next = this.nextNotification(r)
        }
        return json(200, next ? { receiptId: next.receiptId, body: next.body } : null)
      }
      case 'deleteNotification': {
        if (!/^\d{1,15}$/.test(req.pathTail ?? '')) return badRequest('Bad Request Validation failed')
        const i = r.notifications.findIndex((n) => n.receiptId === Number(req.pathTail))
        if (i < 0) return json(200, { result: false, reason: 'notification not found' })
        r.notifications.splice(i, 1)
        return json(200, { result: true })
      }
      case 'logout': {
        if (r.state !== 'notAuthorized' && r.state !== null) this.unlink(r)
        return json(200, { isLogout: true })
      }
      case 'reboot': {
        this.enterStarting(r, this.rebootMs)
        return json(200, { isReboot: true })
      }
      case 'sendMessage': {
        const parsed = sendMessageBody.safeParse(req.body)
        if (!parsed.success) {
          const msg = parsed.error.issues.some((i) => i.path[0] === 'message' && i.code === 'too_big')
            ? "Validation failed. Details: 'message' length must be less than or equal to 20000 characters long"
            : 'Bad Request Validation failed'
          return badRequest(msg)
        }
        const m: SimMessage = {
          idMessage: this.newMessageId?.() ?? randomHex(10).toUpperCase(),
          chatId: parsed.data.chatId,
          message: parsed.data.message,
          at: this.now(),
        }
        // Queued silently when not linked (kept 24 h); dropped under yellowCard (docs/green-api.md#sendmessage),
        // which its receipt says. Receipts of a queued message start once the phone is back.
        if (r.state === 'authorized') {
          r.sent.push(m)
          this.scheduleReceipts(r, m)
        } else if (r.state === 'yellowCard') {
          r.dropped.push(m)
          this.scheduleReceipts(r, m, [{ status: 'yellowCard', afterMs: this.receiptDelaysMs[0] }])
        } else r.queue.push(m)
        return json(200, { idMessage: m.idMessage })
      }
      case 'lastOutgoingMessages': {
        // Messages that left through this instance within `minutes`, newest first (docs/green-api.md#lastoutgoingmessages).
        const minutes = lastOutgoingMinutes.safeParse(req.query?.['minutes'])
        if (!minutes.success) return badRequest('Bad Request Validation failed')
        const since = this.now() - minutes.data * 60_000
        return json(
          200,
          r.sent
            .filter((m) => m.at >= since)
            .sort((a, b) => b.at - a.at)
            .map((m) => outgoingJournalEntry(m)),
        )
      }
      case 'getMessage': {
        const parsed = getMessageBody.safeParse(req.body)
        if (!parsed.success) return badRequest('Bad Request Validation failed')
        const m = r.sent.find((x) => x.idMessage === parsed.data.idMessage && x.chatId === parsed.data.chatId)
        // Green-API answers 400 for an id it does not know in that chat.
        return m ? json(200, outgoingJournalEntry(m)) : badRequest('Message not found')
      }
      case 'getAuthorizationCode': {
        const parsed = authCodeBody.safeParse(req.body)
        if (!parsed.success) return badRequest('Bad Request Validation failed')
        if (r.state !== 'notAuthorized') return json(200, { status: false, code: '' })
        let code = ''
        for (let i = 0; i < 8; i++) code += PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)]
        r.pairing = { code, phoneDigits: String(parsed.data.phoneNumber), expiresAt: this.now() + this.pairingValidityMs }
        return json(200, { status: true, code })
      }
      default:
        return text(404, 'Not Found')
    }
  }

  private async qr(r: InstanceRecord, req: SimRequest): Promise<SimResponse> {
    if (r.state === null) return json(200, { type: 'error', message: 'Instance is being created, try later' })
    if (r.state === 'starting') return json(200, { type: 'error', message: 'instance in starting process try later' })
    if (isLinked(r.state)) return json(200, { type: 'alreadyLogged', message: 'instance account already authorized' })
    const url = this.phoneScanUrl(r, req)
    let png = this.qrCache.get(url)
    if (!png) {
      png = (await QRCode.toBuffer(url, { type: 'png', width: 264, margin: 2, errorCorrectionLevel: 'M' })).toString('base64')
      if (this.qrCache.size > 200) this.qrCache.clear()
      this.qrCache.set(url, png)
    }
    return json(200, { type: 'qrCode', message: png })
  }

  // ------------------------------------------------------------------ faults & limits

  private matchingFaults(instanceId: string, method: string): Fault[] {
    return this.faults.filter(
      (f) =>
        f.remaining > 0 &&
        (f.scope.instanceId === undefined || f.scope.instanceId === instanceId) &&
        (f.scope.methods === undefined || f.scope.methods.some((m) => m.toLowerCase() === method.toLowerCase())),
    )
  }

  private consume(f: Fault): void {
    f.remaining -= 1
    if (f.remaining <= 0) {
      const i = this.faults.indexOf(f)
      if (i >= 0) this.faults.splice(i, 1)
    }
  }

  private async applyPreFaults(instanceId: string, method: string): Promise<SimResponse | null> {
    const faults = this.matchingFaults(instanceId, method)
    for (const f of faults.filter((x) => x.kind === 'slow')) {
      this.consume(f)
      await this.sleep(f.ms ?? 0)
    }
    const f = faults.find((x) => x.kind !== 'slow' && x.kind !== 'wrongShape' && x.kind !== 'nullState')
    if (!f) return null
    this.consume(f)
    switch (f.kind) {
      case 'down':
        return text(f.status ?? 503, f.status === 502 ? 'Bad Gateway' : 'Service Unavailable')
      case 'rateLimited':
        return text(
          429,
          'Too Many Requests',
          f.retryAfterSeconds === undefined ? {} : { 'retry-after': String(f.retryAfterSeconds) },
        )
      case 'quota466':
        return json(466, {
          invokeStatus: {
            method,
            used: 100,
            total: 100,
            status: 'QUOTE_EXCEEDED',
            description: 'Monthly quota has been exceeded. You can upgrade your tariff.',
          },
        })
      case 'garbage':
        return {
          status: 200,
          body: null,
          rawBody: '<html>{"stateInstance": oops',
          headers: { 'content-type': 'application/json' },
        }
      case 'reset':
        return { status: 0, body: null, reset: true }
      default:
        return null
    }
  }

  private applyPostFaults(instanceId: string, method: string, res: SimResponse): SimResponse {
    if (res.status !== 200) return res
    const f = this.matchingFaults(instanceId, method).find((x) => x.kind === 'wrongShape' || x.kind === 'nullState')
    if (!f) return res
    this.consume(f)
    return f.kind === 'nullState' ? json(200, null) : json(200, { result: 'unexpected', data: [1, 2, 3] })
  }

  private allow(instanceId: string, method: string): boolean {
    if (!this.rateLimitsOn) return true
    const limit = SIMULATOR_RATE_LIMITS[method]
    if (limit === undefined) return true
    const key = `${instanceId}|${method}`
    const now = this.now()
    const hits = (this.rateWindows.get(key) ?? []).filter((t) => t > now - 1000)
    if (hits.length >= limit) {
      this.rateWindows.set(key, hits)
      return false
    }
    hits.push(now)
    this.rateWindows.set(key, hits)
    return true
  }

  private count(instanceId: string, method: string): void {
    const key = `${instanceId}|${method}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  // ------------------------------------------------------------------ state machine

  /** Applies time-driven transitions: creation finished, reboot over, QR rotation. */
  private settle(r: InstanceRecord): void {
    const now = this.now()
    if (r.state === null && r.creatingUntil !== undefined && now >= r.creatingUntil) {
      // No webhook for "instance created" (docs/green-api.md#notifications-webhooks): clients poll.
      r.state = 'notAuthorized'
      delete r.creatingUntil
      r.qrIssuedAt = now
    }
    if (r.state === 'starting' && r.startingUntil !== undefined && now >= r.startingUntil) {
      const next = r.stateAfterStarting ?? 'notAuthorized'
      delete r.startingUntil
      delete r.stateAfterStarting
      this.changeState(r, next)
    }
    const age = now - r.qrIssuedAt
    if (age >= this.qrRotationMs) {
      const periods = Math.floor(age / this.qrRotationMs)
      const lastRotation = r.qrIssuedAt + periods * this.qrRotationMs
      // Only the code shown just before the latest rotation stays valid for the grace period.
      r.prevQrNonce = periods === 1 ? r.qrNonce : randomHex(8)
      r.prevQrValidUntil = lastRotation + this.qrGraceMs
      r.qrNonce = randomHex(8)
      r.qrIssuedAt = lastRotation
    }
  }

  private enterStarting(r: InstanceRecord, ms: number | undefined): void {
    const back: ConnectionState = r.state === null || r.state === 'starting' ? (r.stateAfterStarting ?? 'notAuthorized') : r.state
    r.stateAfterStarting = back === 'sleepMode' || back === 'yellowCard' ? (r.phone ? 'authorized' : 'notAuthorized') : back
    if (ms !== undefined) {
      r.startingUntil = this.now() + ms
      // Real timer so the state also settles (and the webhook fires) without a request.
      setTimeout(() => this.settle(r), ms + 5).unref?.()
    } else delete r.startingUntil
    this.changeState(r, 'starting')
  }

  private link(r: InstanceRecord, digits: string): void {
    r.phone = digits
    delete r.pairing
    delete r.startingUntil
    delete r.stateAfterStarting
    const flushed = r.queue.splice(0)
    r.sent.push(...flushed)
    for (const m of flushed) this.scheduleReceipts(r, m)
    this.changeState(r, 'authorized', true)
  }

  private unlink(r: InstanceRecord): void {
    r.phone = ''
    delete r.pairing
    r.qrNonce = randomHex(8)
    r.qrIssuedAt = this.now()
    delete r.prevQrNonce
    delete r.prevQrValidUntil
    this.changeState(r, 'notAuthorized', true)
  }

  private changeState(r: InstanceRecord, next: ConnectionState | null, force = false): void {
    const prev = r.state
    r.state = next
    if (next === 'notAuthorized' && prev !== 'notAuthorized') {
      r.qrNonce = randomHex(8)
      r.qrIssuedAt = this.now()
    }
    this.persist()
    if ((prev !== next || force) && next !== null) this.fireStateWebhook(r)
    if (next !== 'starting') delete r.settingsBeforeRestart
  }

  /** The oldest notification still kept, or undefined. */
  private nextNotification(r: InstanceRecord): QueuedNotification | undefined {
    const oldest = this.now() - NOTIFICATION_RETENTION_MS
    while (r.notifications.length > 0 && (r.notifications[0]?.at ?? 0) <= oldest) r.notifications.shift()
    return r.notifications[0]
  }

  /** Resolves when a notification is queued for the instance, or after `ms` (a long poll). */
  private notificationOrTimeout(instanceId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.notificationWaiters.get(instanceId) ?? new Set<() => void>()
      this.notificationWaiters.set(instanceId, waiters)
      const done = (): void => {
        waiters.delete(done)
        resolve()
      }
      waiters.add(done)
      void this.sleep(ms).then(done)
    })
  }

  private instanceData(r: InstanceRecord): { idInstance: number; wid: string; typeInstance: 'whatsapp' } {
    return { idInstance: Number(r.id), wid: r.phone && isLinked(r.state) ? `${r.phone}@c.us` : '', typeInstance: 'whatsapp' }
  }

  private fireStateWebhook(r: InstanceRecord): void {
    const settings = r.settingsBeforeRestart ?? r.settings
    if (r.deleted || settings.stateWebhook !== 'yes' || r.state === null) return
    const body = {
      typeWebhook: 'stateInstanceChanged',
      instanceData: this.instanceData(r),
      timestamp: Math.floor(this.now() / 1000),
      stateInstance: r.state,
    }
    this.notify(r, settings, body)
  }

  /**
   * Sends one notification the way the instance is set up: to its webhook URL (with the
   * `Authorization: Bearer` token), or into the `receiveNotification` queue when the URL is empty.
   */
  private notify(r: InstanceRecord, settings: SimSettings, body: unknown): void {
    if (!settings.webhookUrl) {
      // HTTP API technology: the notification waits in the queue for receiveNotification.
      r.notifications.push({ receiptId: ++this.receiptSeq, body, at: this.now() })
      if (r.notifications.length > MAX_QUEUED_NOTIFICATIONS) r.notifications.shift()
      for (const wake of [...(this.notificationWaiters.get(r.id) ?? [])]) wake()
      return
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (settings.webhookUrlToken) headers.Authorization = `Bearer ${settings.webhookUrlToken}`
    const url = settings.webhookUrl
    this.webhookLog.push({ url, body, at: this.now() })
    if (this.webhookLog.length > 500) this.webhookLog.splice(0, this.webhookLog.length - 500)
    // Deliveries of one instance stay in order (FIFO like the real queue).
    const p: Promise<void> = Promise.resolve()
      .then(() => this.deliver(url, headers, body))
      .catch(() => undefined)
      .finally(() => this.pending.delete(p))
    this.pending.add(p)
  }

  // ------------------------------------------------------------------ persistence

  private persist(): void {
    if (!this.persistPath) return
    const data = {
      version: 1 as const,
      partnerToken: this.partnerToken,
      seq: this.seq,
      instances: [...this.instances.values()].map((r) => ({
        id: r.id,
        token: r.token,
        name: r.name,
        // A transient state is not worth restoring: come back from a restart as linked or not.
        state: r.state === 'starting' || r.state === null ? (r.phone ? 'authorized' : 'notAuthorized') : r.state,
        phone: r.phone,
        settings: r.settings,
        deleted: r.deleted,
        createdAt: r.createdAt,
      })),
    }
    try {
      mkdirSync(dirname(this.persistPath), { recursive: true })
      const tmp = `${this.persistPath}.${process.pid}.tmp`
      writeFileSync(tmp, JSON.stringify(data, null, 2), { mode: 0o600 })
      renameSync(tmp, this.persistPath)
    } catch {
      // persistence is a convenience: never break a request over it
    }
  }

  private load(path: string, explicitPartnerToken: string | undefined): void {
    if (!existsSync(path)) return
    let parsed: z.infer<typeof persistedSchema>
    try {
      parsed = persistedSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
    } catch {
      return // unreadable file: start fresh (it is overwritten on the next change)
    }
    if (explicitPartnerToken === undefined) this.partnerToken = parsed.partnerToken
    this.seq = parsed.seq
    const now = this.now()
    for (const i of parsed.instances) {
      this.instances.set(i.id, {
        id: i.id,
        token: i.token,
        name: i.name,
        state: i.state,
        phone: i.phone,
        settings: { ...defaultSettings(), ...(i.settings as Partial<SimSettings>) },
        deleted: i.deleted,
        createdAt: i.createdAt,
        qrNonce: randomHex(8),
        qrIssuedAt: now,
        queue: [],
        sent: [],
        dropped: [],
        notifications: [],
      })
    }
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v
  return out as Partial<T>
}

const URL_IN_TEXT = /\bhttps?:\/\/\S+/i
const MEDIA_DEFAULTS: Record<
  'imageMessage' | 'videoMessage' | 'documentMessage' | 'audioMessage',
  { ext: string; mime: string }
> = {
  imageMessage: { ext: 'jpg', mime: 'image/jpeg' },
  videoMessage: { ext: 'mp4', mime: 'video/mp4' },
  documentMessage: { ext: 'pdf', mime: 'application/pdf' },
  audioMessage: { ext: 'oga', mime: 'audio/ogg; codecs=opus' },
}

/** Green-API's `messageData` for an incoming message (green-api.com incoming-message formats), or null. */
function incomingMessageData(input: IncomingInput): Record<string, unknown> | null {
  const text = input.text ?? ''
  if (text.length > 20_000) return null
  const forwarding = { forwardingScore: 0, isForwarded: false }
  const type = input.type ?? (URL_IN_TEXT.test(text) ? 'extendedTextMessage' : 'textMessage')
  switch (type) {
    case 'textMessage':
      if (text.trim() === '') return null
      return { typeMessage: type, textMessageData: { textMessage: text } }
    case 'extendedTextMessage':
      if (text.trim() === '') return null
      return {
        typeMessage: type,
        extendedTextMessageData: {
          text,
          description: '',
          title: '',
          previewType: 'None',
          jpegThumbnail: '',
          ...forwarding,
        },
      }
    case 'locationMessage': {
      const loc = input.location ?? { latitude: 48.8584, longitude: 2.2945, name: 'Tour Eiffel', address: 'Paris' }
      return {
        typeMessage: type,
        locationMessageData: {
          nameLocation: loc.name ?? '',
          address: loc.address ?? '',
          jpegThumbnail: '',
          latitude: loc.latitude,
          longitude: loc.longitude,
          ...forwarding,
        },
      }
    }
    case 'contactMessage': {
      const c = input.contact ?? { displayName: 'Contact' }
      const vcard = c.vcard ?? `BEGIN:VCARD\nVERSION:3.0\nFN:${c.displayName}\nEND:VCARD`
      return { typeMessage: type, contactMessageData: { displayName: c.displayName, vcard, ...forwarding } }
    }
    default: {
      const d = MEDIA_DEFAULTS[type]
      const file = randomHex(16)
      const fileName = type === 'documentMessage' && input.fileName ? input.fileName : `${file}.${d.ext}`
      return {
        typeMessage: type,
        fileMessageData: {
          // Never fetched: the app keeps a typed placeholder and downloads no media.
          downloadUrl: `https://sw-media.simulator.invalid/${file}.${d.ext}`,
          caption: text,
          fileName,
          jpegThumbnail: '',
          mimeType: input.mimeType ?? d.mime,
          ...forwarding,
        },
      }
    }
  }
}

/**
 * `run` at most once at a time: callers arriving while it runs share the next run, which starts
 * when the current one ends (so after they arrived), and see its outcome.
 */
function oneAtATime(run: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined
  let next: Promise<void> | undefined
  const start = (): Promise<void> => {
    const p = run().finally(() => {
      if (current === p) current = undefined
    })
    current = p
    return p
  }
  return () => {
    if (!current) return start()
    next ??= current
      .catch(() => {})
      .then(() => {
        next = undefined
        return start()
      })
    return next
  }
}
