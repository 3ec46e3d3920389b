import { z } from 'zod'
import type { Clock } from '../ports/clock'
import type { EventSink } from '../ports/event-sink'
import type { IdGenerator } from '../ports/id-generator'
import type { JobQueue } from '../ports/job-queue'
import type { Logger } from '../ports/logger'
import type { MessageStore, StatusChange } from '../ports/message-store'
import { PROVIDER_RECEIPT_STATUSES, type ProviderReceiptStatus, type ReceiptStore } from '../ports/receipt-store'
import type { MessageStatusPublisher } from '../ports/status-publisher'
import type { MessageContentType, MessageError, MessageRecord } from './message'
import { messageView } from './message-view'

/** What the receipt and inbound use cases talk to (built by the composition root). */
export interface MessageEventDeps {
  messages: MessageStore
  receipts: ReceiptStore
  jobs: JobQueue
  events: EventSink
  /** Live updates for the settings page (ids and status only). */
  messagePublisher: MessageStatusPublisher
  ids: IdGenerator
  clock: Clock
  logger: Logger
}

/** An early receipt is kept this long (Green-API keeps its notifications 24 h too). */
export const PARKED_RECEIPT_HOURS = 24
/** Tries of the job applying parked receipts: graphile-worker's backoff (e^n s) spans ≈ 26 h. */
const PARKED_RECEIPT_ATTEMPTS = 12

/** Green-API receipt → what it does to our message (docs/green-api.md#outgoingmessagestatus). */
function changeFor(status: ProviderReceiptStatus): { status: StatusChange['status']; error?: MessageError } {
  switch (status) {
    case 'sent':
    case 'delivered':
    case 'read':
      return { status }
    case 'noAccount':
      return { status: 'failed', error: { code: 'NO_WHATSAPP_ACCOUNT', message: 'The recipient has no WhatsApp account' } }
    case 'yellowCard':
      return {
        status: 'failed',
        error: { code: 'YELLOW_CARD', message: 'WhatsApp suspended sending from this number (yellow card): not delivered' },
      }
    case 'notInGroup':
      return { status: 'failed', error: { code: 'UPSTREAM_REJECTED', message: 'The number is not a member of this group' } }
    case 'failed':
      return { status: 'failed', error: { code: 'UPSTREAM_REJECTED', message: 'WhatsApp refused the message' } }
  }
}

export const ReceiptEventSchema = z.object({
  typeWebhook: z.literal('outgoingMessageStatus'),
  idMessage: z.string().min(1).max(128),
  status: z.string(),
})

export type ReceiptOutcome = 'changed' | 'unchanged' | 'parked' | 'ignored'

/**
 * Moves an outbound message on Green-API's receipt, through `advanceStatus` under the store's
 * row lock (late, duplicate and out-of-order receipts never move it back). A receipt for an id
 * we do not know yet is kept (docs/decisions/175) and applied by `applyParkedReceipts` once the
 * send stores the id. Only the message of the tenant holding the instance moves.
 */
export async function applyReceipt(
  deps: MessageEventDeps,
  input: { tenantId: string; instanceId: string; upstreamMessageId: string; status: string; eventAt: Date },
): Promise<ReceiptOutcome> {
  const status = z.enum(PROVIDER_RECEIPT_STATUSES).safeParse(input.status)
  if (!status.success) return 'ignored'
  const message = await deps.messages.findByUpstreamId(input.instanceId, input.upstreamMessageId)
  if (!message) {
    await deps.receipts.park({
      tenantId: input.tenantId,
      instanceId: input.instanceId,
      upstreamMessageId: input.upstreamMessageId,
      status: status.data,
      eventAt: input.eventAt,
      receivedAt: deps.clock.now(),
    })
    await deps.jobs.enqueue(
      'wa.apply-receipts',
      { instanceId: input.instanceId, upstreamMessageId: input.upstreamMessageId },
      {
        key: `wa-receipts:${input.instanceId}:${input.upstreamMessageId}`,
        runAt: new Date(deps.clock.now().getTime() + 1000),
        maxAttempts: PARKED_RECEIPT_ATTEMPTS,
      },
    )
    deps.logger.info({ instanceId: input.instanceId, status: status.data }, 'receipt kept until its message id is stored')
    return 'parked'
  }
  if (message.tenantId !== input.tenantId || message.direction !== 'outbound') return 'ignored'
  return (await moveMessage(deps, message, status.data, input.eventAt)) ? 'changed' : 'unchanged'
}

/**
 * The job `wa.apply-receipts`: applies the receipts kept for one idMessage once a message
 * carries it; throws (retried with backoff) while none does, and forgets them after 24 h. The
 * send job may also call it right after storing the id, to apply them at once.
 */
export async function applyParkedReceipts(
  deps: MessageEventDeps,
  input: { instanceId: string; upstreamMessageId: string },
): Promise<{ applied: number }> {
  const parked = await deps.receipts.listFor(input.instanceId, input.upstreamMessageId)
  if (parked.length === 0) return { applied: 0 }
  const message = await deps.messages.findByUpstreamId(input.instanceId, input.upstreamMessageId)
  if (!message) {
    const cutoff = deps.clock.now().getTime() - PARKED_RECEIPT_HOURS * 3600_000
    const expired = parked.filter((r) => r.receivedAt.getTime() < cutoff)
    await deps.receipts.delete(expired.map((r) => r.id))
    if (expired.length === parked.length) return { applied: 0 }
    throw new Error('no message carries this upstream id yet: retried later')
  }
  let applied = 0
  for (const r of parked) {
    if (message.tenantId === r.tenantId && message.direction === 'outbound') {
      await moveMessage(deps, message, r.status, r.eventAt)
      applied += 1
    }
  }
  await deps.receipts.delete(parked.map((r) => r.id))
  return { applied }
}

async function moveMessage(
  deps: MessageEventDeps,
  message: MessageRecord,
  status: ProviderReceiptStatus,
  eventAt: Date,
): Promise<boolean> {
  const change = changeFor(status)
  // Green-API's times are whole seconds: never let the history run backwards.
  const last = message.statusHistory.at(-1)?.at.getTime() ?? 0
  const at = new Date(Math.max(eventAt.getTime(), last))
  const outcome = await deps.messages.applyStatus(message.tenantId, message.id, {
    status: change.status,
    at,
    ...(change.error ? { error: change.error } : {}),
  })
  if (!outcome?.changed) return false
  deps.logger.info(
    { tenantId: message.tenantId, messageId: message.id, status: outcome.message.status },
    'message status changed by receipt',
  )
  await publishQuietly(deps, { tenantId: message.tenantId, messageId: message.id, status: outcome.message.status })
  await deps.events.emit(message.tenantId, { type: 'whatsapp.message.updated', data: { ...messageView(outcome.message) } })
  return true
}

/** The live signal is a convenience (a reload shows the same): its failure never fails the change. */
async function publishQuietly(deps: MessageEventDeps, signal: { tenantId: string; messageId: string; status: string }) {
  try {
    await deps.messagePublisher.publishMessage(signal)
  } catch (err) {
    deps.logger.warn({ tenantId: signal.tenantId, messageId: signal.messageId, err }, 'message status not published')
  }
}

// ------------------------------------------------------------------ inbound

const forwarded = { forwardingScore: z.number().optional(), isForwarded: z.boolean().optional() }
const FileData = z.object({ caption: z.string().optional(), fileName: z.string().optional(), ...forwarded })
export const IncomingEventSchema = z.object({
  typeWebhook: z.literal('incomingMessageReceived'),
  idMessage: z.string().min(1).max(128),
  senderData: z.object({ chatId: z.string().min(1).max(128), sender: z.string().max(128).optional() }),
  messageData: z.object({
    typeMessage: z.string(),
    textMessageData: z.object({ textMessage: z.string() }).optional(),
    extendedTextMessageData: z.object({ text: z.string() }).optional(),
    fileMessageData: FileData.optional(),
    locationMessageData: z.object({ nameLocation: z.string().optional(), address: z.string().optional() }).optional(),
    contactMessageData: z.object({ displayName: z.string().optional() }).optional(),
  }),
})
type IncomingEvent = z.infer<typeof IncomingEventSchema>

const MEDIA: Record<string, MessageContentType> = {
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
}

/**
 * What we keep of an incoming message: its text, or for media a typed placeholder (`[image]`)
 * followed by the caption (no media download, decision 176).
 */
export function inboundContent(data: IncomingEvent['messageData']): { contentType: MessageContentType; text: string } {
  const withCaption = (tag: string, caption: string | undefined) =>
    caption && caption.trim() !== '' ? `[${tag}] ${caption}` : `[${tag}]`
  switch (data.typeMessage) {
    case 'textMessage':
      return { contentType: 'text', text: data.textMessageData?.textMessage ?? '' }
    case 'extendedTextMessage':
    case 'quotedMessage':
      return { contentType: 'text', text: data.extendedTextMessageData?.text ?? data.textMessageData?.textMessage ?? '' }
    case 'locationMessage': {
      const l = data.locationMessageData
      const label = [l?.nameLocation, l?.address].filter((x) => x && x.trim() !== '').join(', ')
      return { contentType: 'location', text: withCaption('location', label) }
    }
    case 'contactMessage':
      return { contentType: 'contact', text: withCaption('contact', data.contactMessageData?.displayName) }
    default: {
      const media = MEDIA[data.typeMessage]
      // A document without a caption is known by its file name (WhatsApp shows it so).
      const label = data.fileMessageData?.caption || (media === 'document' ? data.fileMessageData?.fileName : undefined)
      if (media) return { contentType: media, text: withCaption(media, label) }
      return { contentType: 'other', text: `[${data.typeMessage.replace(/[^A-Za-z]/g, '').slice(0, 40) || 'other'}]` }
    }
  }
}

/** `33612345678@c.us` → `+33612345678`; a group or other chat id is kept as it is. */
function peerOf(chatId: string): string {
  const m = /^(\d{7,15})@c\.us$/.exec(chatId)
  return m ? `+${m[1]}` : chatId
}

/**
 * `incomingMessageReceived` → an `inbound` message of the tenant holding the instance (text
 * encrypted by the store), once: the same idMessage again (Green-API resends until it gets a
 * 200) writes nothing and emits nothing.
 */
export async function receiveInbound(
  deps: MessageEventDeps,
  input: { tenantId: string; instanceId: string; event: IncomingEvent; receivedAt: Date },
): Promise<'received' | 'duplicate'> {
  const content = inboundContent(input.event.messageData)
  const { inserted, message } = await deps.messages.insertInbound({
    id: deps.ids.newId(),
    tenantId: input.tenantId,
    instanceId: input.instanceId,
    from: peerOf(input.event.senderData.chatId),
    text: content.text,
    contentType: content.contentType,
    upstreamMessageId: input.event.idMessage,
    receivedAt: input.receivedAt,
  })
  if (!inserted) return 'duplicate'
  deps.logger.info(
    { tenantId: input.tenantId, messageId: message.id, contentType: content.contentType },
    'inbound message stored',
  )
  await publishQuietly(deps, { tenantId: input.tenantId, messageId: message.id, status: message.status })
  await deps.events.emit(input.tenantId, { type: 'whatsapp.message.received', data: { ...messageView(message) } })
  return 'received'
}
