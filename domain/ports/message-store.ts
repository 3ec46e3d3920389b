import type { EnqueueOptions, JobName, JobPayload } from './job-queue'
import type { MessageCursor } from '../messages/cursor'
import type { MessageContentType, MessageDirection, MessageError, MessageRecord, MessageStatus } from '../messages/message'

export interface NewOutboundMessage {
  /** Chosen by the caller (uuid): the vault binds the envelopes to it. */
  id: string
  tenantId: string
  instanceId: string
  /** PERSONAL DATA: E.164 with `+`. Encrypted by the store. */
  to: string
  /** PERSONAL DATA. Encrypted by the store. */
  text: string
  reference: string | null
  idempotencyKey: string | null
  /** Keyed hash of the canonical request (never a plain hash of the text); null without a key. */
  requestFingerprint: string | null
  createdAt: Date
  expiresAt: Date
}

/** A job added in the same transaction as the row it is about. */
export interface JobRequest {
  task: JobName
  payload: JobPayload
  options?: EnqueueOptions
}

export type CreateOutboundOutcome =
  | { kind: 'created'; message: MessageRecord }
  /** A message with this idempotency key was created after `idempotentSince`: nothing written. */
  | { kind: 'existing'; message: MessageRecord; requestFingerprint: string | null }

export interface NewInboundMessage {
  id: string
  tenantId: string
  instanceId: string
  /** PERSONAL DATA: sender (E.164 with `+`, or a chat id). Encrypted by the store. */
  from: string
  /** PERSONAL DATA: the text, or a media message's caption / placeholder. Encrypted by the store. */
  text: string
  contentType: MessageContentType
  /** Green-API idMessage: the dedupe key with `instanceId`. */
  upstreamMessageId: string
  /** When it was received (Green-API's timestamp, or now). */
  receivedAt: Date
}

export interface ListMessagesQuery {
  direction?: MessageDirection
  status?: MessageStatus
  /** 1–100. */
  limit: number
  /** Items strictly older than this position (the last item of the previous page). */
  after?: MessageCursor
}

export interface StatusChange {
  status: MessageStatus
  at: Date
  /** Set with `failed` / `unknown`; cleared (null) when the message later moves to a success status. */
  error?: MessageError | null
  /** Green-API idMessage learnt with this change (`sent`, or a recovered send). */
  upstreamMessageId?: string
  /** With `sending`: when the call to Green-API starts. */
  sendStartedAt?: Date
}

export interface ApplyStatusOutcome {
  /** False when `advanceStatus` kept the current status (late or duplicate observation). */
  changed: boolean
  message: MessageRecord
}

/**
 * Messages of the CRM API (`wa_messages`). Every read and write of a tenant's message is keyed by
 * its tenant id, except the instance-level lookups the send queue and the webhooks need. The
 * store encrypts `to`/`from` and texts through the vault (location
 * `messageSecretLocation(tenantId, id, column)`) and decrypts them on read: callers see plain
 * records, the database only envelopes. Implementations never log peers or texts.
 */
export interface MessageStore {
  /**
   * Stores a `queued` outbound message (history `[{queued, createdAt}]`) and adds `job` in the
   * same transaction. With an idempotency key already used by this tenant after
   * `idempotentSince`, writes nothing and returns the existing message with its fingerprint (the
   * caller decides between replay and conflict); an older use of the key is released first.
   *
   * @example
   * const r = await messages.createOutbound(input, { idempotentSince, job: { task: 'wa.send-message', payload: { instanceId } } })
   */
  createOutbound(input: NewOutboundMessage, options: { idempotentSince: Date; job: JobRequest }): Promise<CreateOutboundOutcome>

  /**
   * Stores an outbound message that already left (the settings page's test message, sent at
   * once): `sent` with its upstream id, history `[{sent, sentAt}]`, no job.
   */
  insertSentOutbound(input: NewOutboundMessage & { upstreamMessageId: string; sentAt: Date }): Promise<MessageRecord>

  /** The tenant's message, or null (another tenant's id is "absent"). */
  findById(tenantId: string, id: string): Promise<MessageRecord | null>

  /** Newest first (`createdAt`, then `id`, descending); `hasMore` when another page exists. */
  list(tenantId: string, query: ListMessagesQuery): Promise<{ messages: MessageRecord[]; hasMore: boolean }>

  /** The message Green-API knows as `upstreamMessageId` on `instanceId` (receipts, inbound dedupe). */
  findByUpstreamId(instanceId: string, upstreamMessageId: string): Promise<MessageRecord | null>

  /**
   * Applies an observed status under a row lock through `advanceStatus`; when it changes,
   * appends `{status, at}` to the history and stores `error` / `upstreamMessageId` /
   * `sendStartedAt`. An unchanged status writes nothing (an `upstreamMessageId` learnt late is
   * still stored). Null when the tenant has no such message.
   */
  applyStatus(tenantId: string, id: string, change: StatusChange): Promise<ApplyStatusOutcome | null>

  /**
   * `sending` → `queued` again (Green-API answered that it did not take the message: 5xx, 429,
   * breaker open), appending `{queued, at}`; `send_started_at` stays (the instance's pace counts
   * every request that left, taken or not). False (nothing
   * written) when the message is not `sending`, or already has an upstream id.
   */
  returnToQueue(tenantId: string, id: string, at: Date): Promise<ApplyStatusOutcome | null>

  /**
   * The next outbound message of an instance's queue: one left `sending` without an upstream id
   * (a send interrupted: recover it first), else the oldest `queued`; null when none.
   */
  nextToSend(instanceId: string): Promise<MessageRecord | null>

  /** When this instance's last send started (the pace is measured from it), or null. */
  lastSendStartedAt(instanceId: string): Promise<Date | null>

  /**
   * Stores a `received` inbound message (history `[{received, receivedAt}]`). Idempotent on
   * `(instanceId, upstreamMessageId)`: a duplicate writes nothing and returns the stored one
   * with `inserted: false`.
   */
  insertInbound(input: NewInboundMessage): Promise<{ inserted: boolean; message: MessageRecord }>

  /** Deletes every message created before `cutoff` (all tenants); returns how many. */
  purgeOlderThan(cutoff: Date): Promise<number>
}
