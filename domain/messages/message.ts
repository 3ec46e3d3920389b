import type { SecretLocation } from '../ports/credential-vault'
import type { ConnectionState } from '../whatsapp/connection-state'

export type MessageDirection = 'outbound' | 'inbound'

/**
 * Outbound: `queued → sending → sent → delivered → read`, or `failed` (with an error code), or
 * `unknown` (the send may or may not have left: docs/decisions/172). Inbound: `received`.
 */
export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'unknown', 'received'] as const
export type MessageStatus = (typeof MESSAGE_STATUSES)[number]

/** What an inbound message carries; outbound messages are `text`. */
export const MESSAGE_CONTENT_TYPES = [
  'text',
  'image',
  'video',
  'audio',
  'document',
  'sticker',
  'location',
  'contact',
  'other',
] as const
export type MessageContentType = (typeof MESSAGE_CONTENT_TYPES)[number]

export interface StatusEntry {
  status: MessageStatus
  at: Date
}

/** Why a message failed or is unknown. `code` is stable (MESSAGE_ERROR_CODES), `message` is English for operators. */
export interface MessageError {
  code: MessageErrorCode
  message: string
}

export const MESSAGE_ERROR_CODES = [
  'NO_WHATSAPP_ACCOUNT',
  'EXPIRED',
  'UPSTREAM_REJECTED',
  'SEND_OUTCOME_UNKNOWN',
  'UPSTREAM_FAILED',
  /** Green-API answered `yellowCard` for it: WhatsApp suspended the number's sending (spam). */
  'YELLOW_CARD',
] as const
export type MessageErrorCode = (typeof MESSAGE_ERROR_CODES)[number]

/**
 * A stored message as the domain sees it, decrypted. `peer` (the `to` of an outbound message,
 * the `from` of an inbound one) and `text` are personal data: never log them.
 */
export interface MessageRecord {
  id: string
  tenantId: string
  direction: MessageDirection
  /** Green-API instance it went through / came in on. Safe to log. */
  instanceId: string
  /** PERSONAL DATA. E.164 with `+` (or a Green-API chat id for groups, inbound). */
  peer: string
  /** PERSONAL DATA. */
  text: string
  contentType: MessageContentType
  reference: string | null
  status: MessageStatus
  statusHistory: StatusEntry[]
  error: MessageError | null
  /** Green-API idMessage, once known. */
  upstreamMessageId: string | null
  idempotencyKey: string | null
  createdAt: Date
  updatedAt: Date
  /** When the app last marked it `sending` (just before calling Green-API). */
  sendStartedAt: Date | null
  /** Outbound: not sent by then → `failed` `EXPIRED` (created + 24 h). */
  expiresAt: Date | null
}

/**
 * Where a message's encrypted fields live: bound to the tenant AND the message id (the AEAD
 * associated data), so an envelope copied to another row or tenant fails to decrypt.
 */
export function messageSecretLocation(
  tenantId: string,
  messageId: string,
  column: 'text_encrypted' | 'peer_encrypted',
): SecretLocation {
  return { tenantId, table: 'wa_messages', column: `${column}:${messageId}` }
}

/** Green-API keeps its own send queue for 24 h: ours never lets a message wait longer (decision 171). */
export const MESSAGE_SEND_WINDOW_HOURS = 24

/** The idempotency window of `POST /api/wa/messages` (a key is reusable after it). */
export const IDEMPOTENCY_WINDOW_HOURS = 24

/**
 * What the tenant's outbound queue does under a connection state (the settings page's banner,
 * `GET /api/wa/messages` consumers):
 * - `sending`: authorized, messages leave at the instance's pace;
 * - `waiting`: the instance is asleep / starting / not linked: messages wait (and expire at 24 h);
 * - `paused`: yellowCard / blocked: WhatsApp silently drops messages, so nothing is sent until
 *   the instance is authorized again.
 */
export type SendingState = 'sending' | 'waiting' | 'paused'

export function sendingState(connectionStatus: ConnectionState | null): SendingState {
  switch (connectionStatus) {
    case 'authorized':
      return 'sending'
    case 'yellowCard':
    case 'blocked':
      return 'paused'
    default:
      return 'waiting'
  }
}
