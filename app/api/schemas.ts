import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi'
import { z } from 'zod'
import { API_ERROR_CODES } from './error-codes'
import { toE164 } from '../utils/phone.server'
import { CRM_EVENT_TYPES } from '../../domain/ports/event-sink'
import {
  CONNECTION_STATES,
  MAX_HISTORY_PAGE,
  STATUS_ADVICE,
  STATUS_REASONS,
  STATUS_SOURCES,
  TestMessageSchema,
} from '../../domain/whatsapp'
import {
  MAX_PAGE_SIZE,
  MAX_REFERENCE_LENGTH,
  MAX_TEXT_LENGTH,
  MESSAGE_CONTENT_TYPES,
  MESSAGE_ERROR_CODES,
  MESSAGE_STATUSES,
} from '../../domain/messages'

extendZodWithOpenApi(z)

/**
 * The request and response schemas of the JSON API. Routes parse with the request schemas and
 * `/api/openapi.json` is generated from the same objects, so the document cannot drift.
 */

// E.164, or national in the tenant's country (France for now, decision 173), checked against real
// numbering plans (libphonenumber-js); routes turn it into E.164 with `toE164`. One check, so a
// bad number is one issue (`api.issue.phone`, in the caller's language), not two.
const ApiPhoneNumberSchema = z
  .string()
  .max(40)
  .refine((v) => toE164(v) !== null, { message: 'api.issue.phone', abort: true })
  .openapi({
    description: 'E.164 (`+33612345678`), or a national number of the tenant country (FR: `06 12 34 56 78`)',
    example: '+33612345678',
  })

export const EmptyBodySchema = z.object({}).strict().openapi('EmptyBody')

// The right phone (decision 200): E.164, or a national number read with the tenant's country
// (default FR); the route normalises it with `toE164`.
const ExpectedPhoneSchema = ApiPhoneNumberSchema.openapi({
  example: '+33612345678',
  description:
    'Optional. The number that must be linked (E.164, or national with the tenant country, FR by default). Another phone that scans is logged out and the status says `wrongNumber`.',
})
export const QrGenerateBodySchema = z
  .object({ expectedPhone: ExpectedPhoneSchema.optional() })
  .strict()
  .openapi('QrGenerateBody', { example: { expectedPhone: '+33612345678' } })
export const PairingCodeBodySchema = z
  .object({ phoneNumber: ApiPhoneNumberSchema, expectedPhone: ExpectedPhoneSchema.optional() })
  .strict()
  .openapi('PairingCodeBody')
export const TestSendBodySchema = z
  .object({ to: ApiPhoneNumberSchema.optional(), message: TestMessageSchema.optional() })
  .strict()
  .openapi('TestSendBody')

const StatusSchema = z.enum(CONNECTION_STATES)

export const ErrorSchema = z
  .object({
    ok: z.literal(false),
    error: z.enum(API_ERROR_CODES).openapi({ example: 'WHATSAPP_DISABLED' }),
    message: z.string(),
    upgrade_required: z.boolean().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Error')

export const FeaturesResponseSchema = z
  .object({ whatsapp_enabled: z.boolean(), sms_enabled: z.boolean(), email_enabled: z.boolean() })
  .openapi('Features')

export const QrResponseSchema = z
  .object({
    ok: z.literal(true),
    qrCode: z.string().startsWith('data:image/png;base64,'),
    expiresAt: z.string().datetime(),
    linkExpiresAt: z.string().datetime(),
  })
  .openapi('QrCode')

export const StatusResponseSchema = z
  .object({
    connected: z.boolean(),
    status: StatusSchema,
    phoneNumber: z.string().optional(),
    profileName: z.string().optional().openapi({
      description: "The linked account's WhatsApp profile name, once fetched (in the background, on link and at most daily).",
      example: 'Camille Martin',
    }),
    pictureUrl: z.string().optional().openapi({
      description:
        "The linked account's profile picture, served by this app (a path on its own origin, versioned): `GET /api/wa/profile-picture`. Absent: no picture.",
      example: '/api/wa/profile-picture?v=3f1c9a0d2b7e4c5a6f81',
    }),
    checkedAt: z.string().datetime().optional(),
    stale: z.boolean().optional(),
    linkExpired: z.boolean().optional(),
    linkExpiresAt: z.string().datetime().optional(),
    advice: z.enum(STATUS_ADVICE).optional().openapi({
      description:
        'In a degraded state, what to do now: `wait_for_start` (starting: up to 5 min), `check_phone` (sleepMode), `pause_sending` (yellowCard), `appeal_ban` (blocked).',
      example: 'pause_sending',
    }),
    addonEndedAt: z.string().datetime().optional().openapi({
      description:
        'WhatsApp Pro was switched off at this time; the number stays linked until `unlinkAt` (disconnect stays allowed).',
    }),
    unlinkAt: z.string().datetime().optional().openapi({
      description: 'When the number is unlinked because WhatsApp Pro ended (`WA_DISABLED_GRACE_DAYS` after `addonEndedAt`).',
    }),
    wrongNumber: z
      .object({
        code: z.literal('WRONG_NUMBER'),
        expectedPhone: z.string().openapi({ example: '+33612345678' }),
        actualPhoneMasked: z.string().openapi({ example: '+33 6 •• •• 99 99' }),
      })
      .optional()
      .openapi({
        description:
          'The last link attempt was refused: another phone than `expectedPhone` scanned; it was logged out and nothing is linked. Only its masked number is kept.',
      }),
  })
  .openapi('Status')
/** The status JSON as clients (the settings page's script included) receive it. */
export type StatusResponse = z.infer<typeof StatusResponseSchema>

export const DisconnectResponseSchema = z.object({ ok: z.literal(true), message: z.string() }).openapi('Disconnected')
export const PairingCodeResponseSchema = z
  .object({
    ok: z.literal(true),
    code: z.string(),
    expiresAt: z.string().datetime(),
    linkExpiresAt: z.string().datetime().optional(),
  })
  .openapi('PairingCode')
export const TestSendResponseSchema = z
  .object({
    ok: z.literal(true),
    /** Green-API's id of the sent message. */
    idMessage: z.string(),
    /** The message as recorded (GET /api/wa/messages/:id): its receipts move its status. */
    messageId: z.string().uuid().optional(),
  })
  .openapi('TestSent', {
    example: { ok: true, idMessage: 'BAE5F4886F6F2D05', messageId: '0b8f3c8e-5d7a-4d0e-9a51-2f0c6f1d2b7a' },
  })
// --- Reboot and remove (issue #16, decisions 210–211) ---
export const RebootResponseSchema = z.object({ ok: z.literal(true), message: z.string() }).openapi('Rebooted', {
  example: { ok: true, message: 'Redémarrage demandé : WhatsApp redémarre, l’état se met à jour tout seul.' },
})
export const DeleteInstanceResponseSchema = z
  .object({
    ok: z.literal(true),
    /** True when the tenant had no instance left (idempotent second call). */
    alreadyDeleted: z.boolean(),
    message: z.string(),
  })
  .openapi('InstanceDeleted', {
    example: { ok: true, alreadyDeleted: false, message: 'Numéro supprimé : l’instance est supprimée et n’est plus facturée.' },
  })
// --- end reboot and remove ---
export const WebhookAckSchema = z.object({ ok: z.literal(true), applied: z.boolean() }).openapi('WebhookAck')

// --- Messages (docs/api.md#messages) ---
const MESSAGE_EXAMPLE_ID = '3f0c7b8e-2d4a-4b6e-9c1d-5a7e8f9b0c12'
export const SendMessageBodySchema = z
  .object({
    to: ApiPhoneNumberSchema.openapi({
      description: 'E.164 (`+33612345678`), or a national number of the tenant country (FR: `06 12 34 56 78`)',
      example: '+33612345678',
    }),
    text: z.string().min(1).max(MAX_TEXT_LENGTH).openapi({ example: 'Bonjour, votre commande est prête.' }),
    reference: z
      .string()
      .min(1)
      .max(MAX_REFERENCE_LENGTH)
      .optional()
      .openapi({ description: 'Your own id (CRM contact, deal…), echoed back', example: 'crm-contact-42' }),
  })
  .strict()
  .openapi('SendMessageBody')

export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, '1 to 255 visible ASCII characters')
  .openapi({
    description: 'Same key + same body within 24 h: the same message (200); another body: 409 IDEMPOTENCY_CONFLICT',
    example: 'order-1042-confirmation',
  })

const MessageSchema = z
  .object({
    id: z.string().uuid(),
    direction: z.enum(['outbound', 'inbound']),
    to: z.string().optional().openapi({ description: 'Outbound: the recipient (E.164)' }),
    from: z.string().optional().openapi({ description: 'Inbound: the sender' }),
    text: z.string(),
    contentType: z.enum(MESSAGE_CONTENT_TYPES),
    status: z.enum(MESSAGE_STATUSES),
    statusHistory: z.array(z.object({ status: z.enum(MESSAGE_STATUSES), at: z.string().datetime() })),
    error: z.object({ code: z.enum(MESSAGE_ERROR_CODES), message: z.string() }).optional(),
    reference: z.string().nullable(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi('Message')
const MESSAGE_EXAMPLE = {
  id: MESSAGE_EXAMPLE_ID,
  direction: 'outbound',
  to: '+33612345678',
  text: 'Bonjour, votre commande est prête.',
  contentType: 'text',
  status: 'delivered',
  statusHistory: [
    { status: 'queued', at: '2026-12-03T10:00:00.000Z' },
    { status: 'sending', at: '2026-12-03T10:00:00.120Z' },
    { status: 'sent', at: '2026-12-03T10:00:00.480Z' },
    { status: 'delivered', at: '2026-12-03T10:00:02.000Z' },
  ],
  reference: 'crm-contact-42',
  createdAt: '2026-12-03T10:00:00.000Z',
  updatedAt: '2026-12-03T10:00:02.000Z',
}
export const MessageResponseSchema = z.object({ ok: z.literal(true), message: MessageSchema }).openapi('MessageResponse')
export const MessageListResponseSchema = z
  .object({
    ok: z.literal(true),
    messages: z.array(MessageSchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next (older) page; null on the last one' }),
  })
  .openapi('MessageList')
export const MessageListQuerySchema = z
  .object({
    direction: z.enum(['outbound', 'inbound']).optional(),
    status: z.enum(MESSAGE_STATUSES).optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .optional()
      .openapi({ description: `1–${MAX_PAGE_SIZE}, default 20` }),
    cursor: z.string().min(1).max(200).optional(),
  })
  .strict()
export const MessageIdParamsSchema = z.object({ id: z.string().uuid() })
// --- Status history (docs/api.md#status-history) ---
const STATUS_EVENT_EXAMPLES = [
  { id: '42', at: '2026-12-03T10:05:00.000Z', from: 'notAuthorized', to: 'authorized', source: 'webhook', reason: 'linked' },
  { id: '41', at: '2026-12-03T10:04:30.000Z', to: 'notAuthorized', source: 'link', reason: 'link_started' },
]
const StatusEventSchema = z
  .object({
    id: z.string().openapi({ example: '42' }),
    at: z.string().datetime().openapi({ example: '2026-12-03T10:05:00.000Z' }),
    from: StatusSchema.optional().openapi({ description: 'Absent on the first entry' }),
    to: StatusSchema,
    source: z.enum(STATUS_SOURCES).openapi({
      description:
        '`link` (a link attempt started), `poll` (a status check), `webhook` (Green-API notified), `disconnect`, `reconcile` (check at start-up), `expire` (an attempt passed its limit unscanned)',
    }),
    reason: z.enum(STATUS_REASONS).openapi({ description: 'Why, as a stable code (the page shows it in words)' }),
  })
  .openapi('StatusEvent')
export const TimelineResponseSchema = z
  .object({
    ok: z.literal(true),
    events: z.array(StatusEventSchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next (older) page; null on the last one' }),
  })
  .openapi('Timeline')
/** One history entry as clients (the settings page included) receive it. */
export type StatusEventResponse = z.infer<typeof StatusEventSchema>
export const TimelineQuerySchema = z
  .object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_HISTORY_PAGE)
      .optional()
      .openapi({ description: `1–${MAX_HISTORY_PAGE}, default 20` }),
    cursor: z.string().min(1).max(200).optional(),
  })
  .strict()
// --- CRM webhook endpoints (docs/api.md#crm-events) ---

const EXAMPLE_ENDPOINT_ID = '5b0f3f7e-3c7a-4d52-9a55-3f1f2f3b9c10'
const EXAMPLE_DELIVERY_ID = '0d6e4a7b-8f21-4b8e-a3f6-2c1d9e0b7a55'
const CrmEventTypeSchema = z.enum(CRM_EVENT_TYPES as [string, ...string[]]).openapi({ example: 'whatsapp.connection.updated' })

export const WebhookEndpointCreateBodySchema = z
  .object({
    url: z
      .string()
      .max(2048)
      .url()
      .openapi({ example: 'https://crm.example.com/hooks/whatsapp', description: 'https in production; public addresses only' }),
    events: z
      .array(CrmEventTypeSchema)
      .min(1)
      .max(CRM_EVENT_TYPES.length)
      .optional()
      .openapi({ description: 'Event types to receive; absent = all of them' }),
  })
  .strict()
  .openapi('WebhookEndpointCreateBody', {
    example: { url: 'https://crm.example.com/hooks/whatsapp', events: ['whatsapp.connection.updated'] },
  })

// Examples per field (an object-level example with an `id` key reads as a schema id to draft-07 tools).
export const WebhookEndpointSchema = z
  .object({
    id: z.string().uuid().openapi({ example: EXAMPLE_ENDPOINT_ID }),
    url: z.string().openapi({ example: 'https://crm.example.com/hooks/whatsapp' }),
    events: z.array(CrmEventTypeSchema),
    allEvents: z.boolean().openapi({ example: true, description: 'No explicit list: every type, present and future' }),
    enabled: z.boolean().openapi({ example: true }),
    disabledAt: z.string().datetime().optional().openapi({ example: '2026-12-04T10:00:05.000Z' }),
    disabledReason: z
      .string()
      .optional()
      .openapi({ example: 'retries_exhausted', description: 'Why it was disabled (deliveries failed for 24 h)' }),
    createdAt: z.string().datetime().openapi({ example: '2026-12-03T10:00:00.000Z' }),
  })
  .openapi('WebhookEndpoint')
export const WebhookEndpointCreatedSchema = z
  .object({
    ok: z.literal(true),
    endpoint: WebhookEndpointSchema,
    secret: z.string().startsWith('whsec_').openapi({
      example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0Kn8oC3fE4Y=',
      description: 'The signing secret: shown this once, never again',
    }),
  })
  .openapi('WebhookEndpointWithSecret')
export const WebhookEndpointListSchema = z
  .object({ ok: z.literal(true), endpoints: z.array(WebhookEndpointSchema) })
  .openapi('WebhookEndpointList')
export const OkSchema = z.object({ ok: z.literal(true) }).openapi('Ok', { example: { ok: true } })
export const WebhookDeliveryListSchema = z
  .object({
    ok: z.literal(true),
    deliveries: z.array(
      z.object({
        id: z.string().uuid().openapi({ example: EXAMPLE_DELIVERY_ID }),
        eventId: z.string().openapi({ example: 'msg_2c1d9e0b7a554b8ea3f60d6e4a7b8f21', description: 'The webhook-id header' }),
        eventType: CrmEventTypeSchema,
        status: z.enum(['pending', 'succeeded', 'failed', 'exhausted']).openapi({ example: 'failed' }),
        attempts: z.number().int().min(0).openapi({ example: 1 }),
        nextAttemptAt: z.string().datetime().optional().openapi({ example: '2026-12-03T10:00:06.000Z' }),
        createdAt: z.string().datetime().openapi({ example: '2026-12-03T10:00:00.000Z' }),
        attemptLog: z.array(
          z.object({
            at: z.string().datetime().openapi({ example: '2026-12-03T10:00:01.000Z' }),
            httpStatus: z.number().int().optional().openapi({ example: 500 }),
            error: z.string().optional().openapi({ example: 'timeout', description: 'Why no answer came' }),
            durationMs: z.number().int().min(0).openapi({ example: 84 }),
            response: z
              .string()
              .max(1024)
              .optional()
              .openapi({ example: 'Internal error', description: 'At most 1 KiB of the answer' }),
          }),
        ),
      }),
    ),
  })
  .openapi('WebhookDeliveryList')

const OpenApiDocumentSchema = z
  .object({
    openapi: z.string(),
    info: z.object({ title: z.string(), version: z.string() }).loose(),
    paths: z.record(z.string(), z.unknown()),
  })
  .loose()
  .openapi('OpenApiDocument')

const jsonContent = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } })
const jsonExample = (schema: z.ZodType, example: unknown) => ({ content: { 'application/json': { schema, example } } })

// 429, 502 and 503 answers say when to come back (app/utils/api.server.ts, api.wa.events.ts).
const RETRY_AFTER_STATUSES = new Set([429, 502, 503])
const retryAfterHeader = {
  'Retry-After': {
    description: 'Seconds to wait before retrying (delta-seconds, RFC 9110 §10.2.3).',
    schema: { type: 'integer' as const, minimum: 1 },
  },
}
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: `Error ${s}`,
        ...(RETRY_AFTER_STATUSES.has(s) ? { headers: retryAfterHeader } : {}),
        ...jsonContent(ErrorSchema),
      },
    ]),
  )

// GET /api/openapi.json and /api/docs have no 4xx of their own; what refuses it is the shell around every route
// (e.g. Remix's 403 for a `?_data=` naming another route), answered as the envelope.
const OPENAPI_4XX = { '4XX': { description: 'Refused before the route runs', ...jsonContent(ErrorSchema) } }

/** Every /api route, for the OpenAPI document and for tests that walk the route list. */
export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry()
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An API token (Settings → API tokens, or `npm run token`); the settings page uses its session cookie instead.',
  })
  const webhook = registry.registerComponent('securitySchemes', 'greenApiWebhookToken', {
    type: 'http',
    scheme: 'bearer',
    description:
      'The per-instance secret this app set as Green-API `webhookUrlToken`; Green-API sends it back as `Authorization: Bearer …`.',
  })
  const security = [{ [bearer.name]: [] }]
  const tenantHeader = z.object({
    'x-tenant': z.string().optional().openapi({ description: 'Tenant id (defaults to the token tenant_id)' }),
  })
  const common = errors(400, 401, 403, 429, 500)
  const upstream = errors(409, 502, 503)
  // Routes with a body also answer 413 past the body limit (server/body-limit.ts, 16 KiB JSON by
  // default) and 415 when it is not JSON (readJsonBody).
  const body = errors(413, 415)
  // summary and operationId are what generated clients and the /api/docs page name operations by.
  const api = (method: 'get' | 'post' | 'delete', path: string, operationId: string, summary: string) => ({
    method,
    path,
    operationId,
    summary,
    tags: ['WhatsApp'],
    security,
  })

  registry.registerPath({
    ...api('get', '/api/settings/features', 'getFeatures', 'Feature flags of the tenant'),
    tags: ['Settings'],
    request: { headers: tenantHeader },
    responses: { 200: { description: 'Feature flags', ...jsonContent(FeaturesResponseSchema) }, ...common },
  })
  registry.registerPath({
    ...api('post', '/api/wa/qr/generate', 'generateQrCode', 'Start (or renew) linking with a QR code'),
    request: { headers: tenantHeader, body: jsonContent(QrGenerateBodySchema) },
    responses: { 200: { description: 'A QR code to scan', ...jsonContent(QrResponseSchema) }, ...common, ...body, ...upstream },
  })
  registry.registerPath({
    ...api('get', '/api/wa/qr/status', 'getConnectionStatus', 'Connection status of the tenant WhatsApp'),
    request: { headers: tenantHeader },
    responses: { 200: { description: 'Connection status', ...jsonContent(StatusResponseSchema) }, ...common },
  })
  registry.registerPath({
    ...api('get', '/api/wa/profile-picture', 'getProfilePicture', 'Profile picture of the linked WhatsApp account'),
    description:
      "The picture the status answer's `pictureUrl` points at, fetched server-side from WhatsApp and served from this origin (never hot-linked). `Cache-Control: private`; an `ETag` (the version), `If-None-Match` answers 304. With the current `v` the answer may be kept (immutable). No linked account or no picture: 404 `NOT_FOUND`.",
    request: {
      headers: tenantHeader,
      query: z.object({ v: z.string().max(64).optional().openapi({ description: 'Version from `pictureUrl`' }) }),
    },
    responses: {
      200: {
        description: 'The picture (JPEG, PNG or WebP)',
        headers: {
          ETag: { description: "The picture's version", schema: { type: 'string' as const } },
          'Cache-Control': { description: '`private`', schema: { type: 'string' as const } },
        },
        content: {
          'image/jpeg': { schema: { type: 'string', format: 'binary' } },
          'image/png': { schema: { type: 'string', format: 'binary' } },
          'image/webp': { schema: { type: 'string', format: 'binary' } },
        },
      },
      304: { description: 'Not modified (`If-None-Match` named the current version)' },
      ...errors(404),
      ...common,
    },
  })
  registry.registerPath({
    ...api('post', '/api/wa/disconnect', 'disconnect', 'Unlink the WhatsApp number'),
    request: { headers: tenantHeader, body: jsonContent(EmptyBodySchema) },
    responses: {
      200: { description: 'Disconnected (idempotent)', ...jsonContent(DisconnectResponseSchema) },
      ...common,
      ...body,
    },
  })
  // --- Reboot and remove (issue #16, decisions 210–211) ---
  registry.registerPath({
    ...api('post', '/api/wa/reboot', 'rebootInstance', 'Restart a WhatsApp instance stuck in starting or sleepMode'),
    description:
      'Owners and admins. Only while the stored status is `starting` or `sleepMode` (else 409 `REBOOT_NOT_NEEDED`; no number: 409 `NOT_CONNECTED`). Rate-limited per tenant (`WA_RATE_LIMIT_REBOOT`, default 3 per 10 min: 429 + `Retry-After`). The instance passes through `starting` and comes back; the status follows.',
    request: { headers: tenantHeader, body: jsonContent(EmptyBodySchema) },
    responses: {
      200: { description: 'Reboot requested', ...jsonContent(RebootResponseSchema) },
      ...common,
      ...body,
      ...upstream,
    },
  })
  registry.registerPath({
    ...api('post', '/api/wa/delete-instance', 'deleteInstance', 'Delete the tenant WhatsApp instance (partner mode)'),
    description:
      'Owners and admins, partner mode only (else 409 `PARTNER_MODE_ONLY`). Logs the phone out, deletes the instance at Green-API (`deleteInstanceAccount`: its daily billing stops) and the stored credentials. Idempotent. Unlike `POST /api/wa/disconnect`, which keeps the instance for a new link.',
    request: { headers: tenantHeader, body: jsonContent(EmptyBodySchema) },
    responses: {
      200: { description: 'Deleted (idempotent)', ...jsonContent(DeleteInstanceResponseSchema) },
      ...common,
      ...body,
      ...upstream,
    },
  })
  // --- end reboot and remove ---
  registry.registerPath({
    ...api('post', '/api/wa/pairing-code', 'requestPairingCode', 'Start linking with a pairing code instead of a QR code'),
    request: { headers: tenantHeader, body: jsonContent(PairingCodeBodySchema) },
    responses: {
      200: { description: 'Pairing code', ...jsonContent(PairingCodeResponseSchema) },
      ...common,
      ...body,
      ...upstream,
    },
  })
  registry.registerPath({
    ...api('post', '/api/wa/test', 'sendTestMessage', 'Send a test message from the linked number'),
    request: { headers: tenantHeader, body: jsonContent(TestSendBodySchema) },
    responses: {
      200: { description: 'Test message queued', ...jsonContent(TestSendResponseSchema) },
      ...common,
      ...body,
      ...upstream,
    },
  })
  registry.registerPath({
    ...api('post', '/api/wa/messages', 'sendMessage', 'Queue a text message to a WhatsApp number'),
    tags: ['Messages'],
    description:
      'Queued, then sent by the instance at its pace while it is authorized (paused under yellowCard/blocked); not sent within 24 h: `failed` (`EXPIRED`). Members may send.',
    request: {
      headers: tenantHeader.extend({ 'idempotency-key': IdempotencyKeySchema.optional() }),
      body: jsonContent(SendMessageBodySchema),
    },
    responses: {
      202: {
        description: 'Queued',
        ...jsonExample(MessageResponseSchema, {
          ok: true,
          message: {
            ...MESSAGE_EXAMPLE,
            status: 'queued',
            statusHistory: [{ status: 'queued', at: '2026-12-03T10:00:00.000Z' }],
            updatedAt: '2026-12-03T10:00:00.000Z',
          },
        }),
      },
      200: {
        description: 'The same Idempotency-Key and body within 24 h: the message created then',
        ...jsonContent(MessageResponseSchema),
      },
      ...common,
      ...body,
      ...upstream,
    },
  })
  registry.registerPath({
    ...api('get', '/api/wa/messages', 'listMessages', 'Messages of the tenant, newest first'),
    tags: ['Messages'],
    request: { headers: tenantHeader, query: MessageListQuerySchema },
    responses: {
      200: {
        description: 'A page of messages',
        ...jsonExample(MessageListResponseSchema, {
          ok: true,
          messages: [MESSAGE_EXAMPLE],
          nextCursor: 'MTc2NDc1NjAwMDAwMC4zZjBjN2I4ZQ',
        }),
      },
      ...common,
    },
  })
  registry.registerPath({
    ...api('get', '/api/wa/messages/{id}', 'getMessage', 'One message and its status history'),
    tags: ['Messages'],
    request: { headers: tenantHeader, params: MessageIdParamsSchema },
    responses: {
      200: { description: 'The message', ...jsonExample(MessageResponseSchema, { ok: true, message: MESSAGE_EXAMPLE }) },
      ...common,
      ...errors(404),
    },
  })
  registry.registerPath({
    ...api('get', '/api/wa/timeline', 'getStatusTimeline', 'History of the connection status, newest first'),
    description:
      'Every recorded change of state (link attempts, scans, webhooks, checks, disconnects), with its source and reason. No phone number, no instance id. Same access as the status.',
    request: { headers: tenantHeader, query: TimelineQuerySchema },
    responses: {
      200: {
        description: 'A page of the history',
        ...jsonExample(TimelineResponseSchema, { ok: true, events: STATUS_EVENT_EXAMPLES, nextCursor: 'ZXYuNDE' }),
      },
      ...common,
    },
  })
  registry.registerPath({
    ...api('get', '/api/wa/events', 'streamStatusEvents', 'Live status changes (server-sent events)'),
    request: { headers: tenantHeader },
    responses: {
      200: {
        description:
          'Server-sent events: `event: status` (the status body; first the current one, then each change) and `event: message-status` (`{"id","status"}` when one of the tenant\'s messages changes status; no text, no phone).',
        content: {
          'text/event-stream': {
            schema: z.string(),
            example:
              'event: status\ndata: {"connected":true,"status":"authorized","phoneNumber":"+33612345678"}\n\nevent: message-status\ndata: {"id":"0b8f3c8e-5d7a-4d0e-9a51-2f0c6f1d2b7a","status":"delivered"}\n\n',
          },
        },
      },
      ...common,
    },
  })
  registry.registerPath({
    method: 'post',
    path: '/api/wa/webhooks/green-api/{instanceId}',
    operationId: 'receiveGreenApiWebhook',
    summary: 'Green-API webhook (called by Green-API, not by clients)',
    description:
      'Handles `stateInstanceChanged` (connection state), `outgoingMessageStatus` (moves the message named by `idMessage`; an id not stored yet is kept 24 h) and `incomingMessageReceived` (an inbound message of the tenant holding the instance, once per idMessage). Anything else, a duplicate or a malformed body is acknowledged with `applied: false`, so Green-API does not resend it.',
    tags: ['Green-API'],
    security: [{ [webhook.name]: [] }],
    request: {
      params: z.object({ instanceId: z.string().regex(/^\d{1,20}$/) }),
      body: { content: { 'application/json': { schema: z.object({ typeWebhook: z.string() }).passthrough() } } },
    },
    responses: { 200: { description: 'Acknowledged', ...jsonContent(WebhookAckSchema) }, ...errors(400, 401, 413) },
  })

  const endpointId = z.object({ id: z.string().openapi({ example: EXAMPLE_ENDPOINT_ID }) })
  const hooks = (method: 'get' | 'post' | 'delete', path: string, operationId: string, summary: string) => ({
    ...api(method, path, operationId, summary),
    tags: ['CRM webhooks'],
  })
  // Owners and admins only (members: 403 FORBIDDEN_ROLE); another tenant's id is a 404.
  registry.registerPath({
    ...hooks('get', '/api/wa/webhook-endpoints', 'listWebhookEndpoints', 'The CRM endpoints that receive signed events'),
    request: { headers: tenantHeader },
    responses: { 200: { description: 'Endpoints (never their secrets)', ...jsonContent(WebhookEndpointListSchema) }, ...common },
  })
  registry.registerPath({
    ...hooks('post', '/api/wa/webhook-endpoints', 'createWebhookEndpoint', 'Register a CRM endpoint for signed events'),
    description:
      'Answers the signing secret once. A URL the target policy refuses (plain http in production, a private or loopback address) is a 400 WEBHOOK_URL_REFUSED.',
    request: { headers: tenantHeader, body: jsonContent(WebhookEndpointCreateBodySchema) },
    responses: {
      201: { description: 'Created, with its secret (shown once)', ...jsonContent(WebhookEndpointCreatedSchema) },
      ...common,
      ...body,
    },
  })
  registry.registerPath({
    ...hooks('delete', '/api/wa/webhook-endpoints/{id}', 'deleteWebhookEndpoint', 'Delete a CRM endpoint and its deliveries'),
    request: { headers: tenantHeader, params: endpointId },
    responses: { 200: { description: 'Deleted', ...jsonContent(OkSchema) }, ...common, ...errors(404) },
  })
  registry.registerPath({
    ...hooks('post', '/api/wa/webhook-endpoints/{id}/rotate-secret', 'rotateWebhookSecret', 'Replace the signing secret'),
    description: 'The old secret stops verifying at once; the new one is answered this once.',
    request: { headers: tenantHeader, params: endpointId, body: jsonContent(EmptyBodySchema) },
    responses: {
      200: { description: 'The new secret (shown once)', ...jsonContent(WebhookEndpointCreatedSchema) },
      ...common,
      ...body,
      ...errors(404),
    },
  })
  registry.registerPath({
    ...hooks('get', '/api/wa/webhook-endpoints/{id}/deliveries', 'listWebhookDeliveries', 'Recent deliveries and their attempts'),
    request: { headers: tenantHeader, params: endpointId },
    responses: {
      200: { description: 'The 50 latest deliveries, 10 latest attempts each', ...jsonContent(WebhookDeliveryListSchema) },
      ...common,
      ...errors(404),
    },
  })
  registry.registerPath({
    ...hooks(
      'post',
      '/api/wa/webhook-endpoints/deliveries/{deliveryId}/resend',
      'resendWebhookDelivery',
      'Try a delivery again now (re-enables its endpoint)',
    ),
    request: {
      headers: tenantHeader,
      params: z.object({ deliveryId: z.string().openapi({ example: EXAMPLE_DELIVERY_ID }) }),
      body: jsonContent(EmptyBodySchema),
    },
    responses: { 202: { description: 'Queued', ...jsonContent(OkSchema) }, ...common, ...body, ...errors(404) },
  })

  // The contract itself is public: `security: []` says so (no scheme applies), rather than
  // leaving it unsaid.
  registry.registerPath({
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI document',
    tags: ['Contract'],
    security: [],
    responses: { 200: { description: 'This document (OpenAPI 3.1)', ...jsonContent(OpenApiDocumentSchema) }, ...OPENAPI_4XX },
  })
  registry.registerPath({
    method: 'get',
    path: '/api/docs',
    operationId: 'getApiReference',
    summary: 'This document as a human API reference (Swagger UI)',
    tags: ['Contract'],
    security: [],
    responses: { 200: { description: 'An HTML page', content: { 'text/html': { schema: z.string() } } }, ...OPENAPI_4XX },
  })

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'WhatsApp Pro API',
      version: '1.0.0',
      description: 'Link, check, test and disconnect a tenant WhatsApp through Green-API. Human reference: /api/docs.',
      // A private module of the CRM (package.json is "private"): no open-source licence applies.
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/' }],
  })
}
