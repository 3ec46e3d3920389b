import { z } from 'zod'
import {
  IncomingEventSchema,
  ReceiptEventSchema,
  applyReceipt,
  receiveInbound,
  type MessageEventDeps,
} from '../messages/provider-message-events'
import type { WhatsAppDeps } from './whatsapp-deps'
import { isConnectionState } from './connection-state'
import { WEBHOOK_TOKEN_LOCATION } from './use-case-helpers'
import { recordObservation } from './record-observation'
import { widToE164 } from './validation'
import { InvalidInputError, WebhookUnauthorizedError } from './whatsapp.errors'

/** The part of a Green-API notification we use (others pass through `passthrough`). */
const ProviderEventSchema = z.object({
  typeWebhook: z.string(),
  instanceData: z
    .object({
      idInstance: z.union([z.number().int(), z.string()]).transform(String),
      wid: z.string().optional(),
    })
    .optional(),
  timestamp: z.number().int().optional(),
  stateInstance: z.string().optional(),
})

/**
 * Accepted event times around our clock: Green-API resends an unacknowledged notification for
 * up to 24 h, and clocks drift a little. Outside it the event is refused (400): an event dated
 * 2100 would otherwise make every later one look stale, and a huge number is no date at all.
 */
const EVENT_MAX_AGE_SECONDS = 24 * 3600
const EVENT_MAX_AHEAD_SECONDS = 5 * 60

/** The event's `timestamp` (Unix seconds) as a date, `now` when absent; refuses one out of range. */
function eventTime(event: unknown, now: Date): Date {
  const raw = typeof event === 'object' && event !== null ? (event as { timestamp?: unknown }).timestamp : undefined
  if (raw === undefined) return now
  const nowSeconds = now.getTime() / 1000
  const inRange =
    typeof raw === 'number' &&
    Number.isSafeInteger(raw) &&
    raw >= nowSeconds - EVENT_MAX_AGE_SECONDS &&
    raw <= nowSeconds + EVENT_MAX_AHEAD_SECONDS
  if (!inRange) {
    throw new InvalidInputError('Webhook timestamp out of range', [
      {
        path: 'timestamp',
        message: 'must be integer Unix seconds within the last 24 hours (at most 5 minutes ahead)',
        code: 'timestamp',
      },
    ])
  }
  return new Date(raw * 1000)
}

export type ProviderEventResult =
  | { applied: true; outcome: 'changed' | 'unchanged' | 'parked' | 'received' }
  | {
      applied: false
      reason: 'ignored_type' | 'invalid_event' | 'instance_mismatch' | 'no_connection' | 'stale' | 'duplicate' | 'not_ours'
    }

/** `Bearer <t>` or a bare `<t>` → `<t>`; anything else → null. */
export function tokenFromAuthorization(header: string | null | undefined): string | null {
  if (!header) return null
  const trimmed = header.trim()
  const m = /^Bearer\s+(\S+)$/i.exec(trimmed)
  if (m) return m[1] ?? null
  return /^\S+$/.test(trimmed) ? trimmed : null
}

/**
 * `POST /api/wa/webhooks/green-api/:instanceId`. Authenticates the per-instance webhook token
 * (constant-time compare) before reading anything: unknown/unclaimed instance, missing or wrong
 * token → `WebhookUnauthorizedError` and no change. A timestamp outside [now − 24 h, now + 5 min]
 * → `InvalidInputError` (400), whatever the type. Then applies `stateInstanceChanged`
 * (events older than the last applied one are ignored; phone from `wid`), `outgoingMessageStatus`
 * (the message's status, `applyReceipt`) and `incomingMessageReceived` (an inbound message of the
 * tenant holding the instance, `receiveInbound`) — the last two only with `messages` (callers of
 * the link flow alone leave it out). Other notification types are acknowledged and ignored, so
 * Green-API stops resending them.
 */
export async function applyProviderEvent(
  deps: WhatsAppDeps,
  input: { instanceId: string; authorizationHeader: string | null | undefined; event: unknown },
  messages?: MessageEventDeps,
): Promise<ProviderEventResult> {
  const instance = await deps.instances.findById(input.instanceId)
  const presented = tokenFromAuthorization(input.authorizationHeader)
  if (!instance || !instance.tenantId || !instance.encryptedWebhookToken || !presented) {
    deps.logger.warn({ instanceId: input.instanceId, known: Boolean(instance) }, 'webhook refused')
    throw new WebhookUnauthorizedError()
  }
  const tenantId = instance.tenantId
  let expected: string
  try {
    expected = deps.vault.decrypt(instance.encryptedWebhookToken, WEBHOOK_TOKEN_LOCATION)
  } catch {
    deps.logger.warn({ instanceId: input.instanceId, tenantId }, 'webhook token undecryptable')
    throw new WebhookUnauthorizedError()
  }
  if (!deps.secrets.safeEqual(presented, expected)) {
    deps.logger.warn({ instanceId: input.instanceId, tenantId }, 'webhook refused: bad token')
    throw new WebhookUnauthorizedError()
  }

  const now = deps.clock.now()
  const eventAt = eventTime(input.event, now)
  const parsed = ProviderEventSchema.safeParse(input.event)
  if (!parsed.success) return { applied: false, reason: 'invalid_event' }
  const event = parsed.data
  if (event.instanceData && event.instanceData.idInstance !== input.instanceId) {
    return { applied: false, reason: 'instance_mismatch' }
  }
  if (messages && event.typeWebhook === 'outgoingMessageStatus') {
    const receipt = ReceiptEventSchema.safeParse(input.event)
    if (!receipt.success) return { applied: false, reason: 'invalid_event' }
    const outcome = await applyReceipt(messages, {
      tenantId,
      instanceId: input.instanceId,
      upstreamMessageId: receipt.data.idMessage,
      status: receipt.data.status,
      eventAt,
    })
    return outcome === 'ignored' ? { applied: false, reason: 'not_ours' } : { applied: true, outcome }
  }
  if (messages && event.typeWebhook === 'incomingMessageReceived') {
    const incoming = IncomingEventSchema.safeParse(input.event)
    if (!incoming.success) return { applied: false, reason: 'invalid_event' }
    const outcome = await receiveInbound(messages, {
      tenantId,
      instanceId: input.instanceId,
      event: incoming.data,
      receivedAt: eventAt,
    })
    return outcome === 'duplicate' ? { applied: false, reason: 'duplicate' } : { applied: true, outcome }
  }
  if (event.typeWebhook !== 'stateInstanceChanged') return { applied: false, reason: 'ignored_type' }
  const state = event.stateInstance
  if (!isConnectionState(state)) return { applied: false, reason: 'invalid_event' }

  const record = await deps.connections.findByTenant(tenantId)
  if (!record || record.instanceId !== input.instanceId) return { applied: false, reason: 'no_connection' }

  const phone = state === 'authorized' ? widToE164(event.instanceData?.wid) : null
  const account = state === 'notAuthorized' ? null : phone ? { phone } : undefined

  const result = await recordObservation(deps, tenantId, {
    status: state,
    ...(account !== undefined ? { account } : {}),
    checkedAt: now,
    source: 'webhook',
    eventAt,
  })
  if (result.outcome === 'missing') return { applied: false, reason: 'no_connection' }
  if (result.outcome === 'stale') return { applied: false, reason: 'stale' }
  if (result.outcome === 'changed') {
    deps.logger.info(
      { tenantId, instanceId: input.instanceId, from: result.previous.status, to: state },
      'state changed by webhook',
    )
  }
  return { applied: true, outcome: result.outcome }
}
