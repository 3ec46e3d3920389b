import { sql, type Kysely, type Transaction } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type { CredentialVault } from '../../domain/ports/credential-vault'
import type {
  ApplyStatusOutcome,
  CreateOutboundOutcome,
  JobRequest,
  ListMessagesQuery,
  MessageStore,
  NewInboundMessage,
  NewOutboundMessage,
  StatusChange,
} from '../../domain/ports/message-store'
import {
  MESSAGE_CONTENT_TYPES,
  MESSAGE_ERROR_CODES,
  MESSAGE_STATUSES,
  advanceStatus,
  messageSecretLocation,
  type MessageRecord,
  type StatusEntry,
} from '../../domain/messages'
import { addJob } from '../queue/graphile-job-queue'
import { isUniqueViolation } from './pg-errors'

const date = z.coerce.date()
const HistorySchema = z.array(z.object({ status: z.enum(MESSAGE_STATUSES), at: date }))
const MessageRowSchema = z.object({
  id: z.string(),
  tenant_id: z.string(),
  direction: z.enum(['outbound', 'inbound']),
  instance_id: z.string(),
  peer_encrypted: z.string(),
  text_encrypted: z.string(),
  content_type: z.enum(MESSAGE_CONTENT_TYPES).catch('other'),
  reference: z.string().nullable(),
  status: z.enum(MESSAGE_STATUSES),
  status_history: HistorySchema,
  error_code: z.enum(MESSAGE_ERROR_CODES).nullable(),
  error_message: z.string().nullable(),
  upstream_message_id: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  request_fingerprint: z.string().nullable(),
  created_at: date,
  updated_at: date,
  send_started_at: date.nullable(),
  expires_at: date.nullable(),
})
type MessageRow = z.infer<typeof MessageRowSchema>

const IDEMPOTENCY_INDEX = 'wa_messages_idempotency_key'

function historyJson(entries: StatusEntry[]): string {
  return JSON.stringify(entries.map((e) => ({ status: e.status, at: e.at.toISOString() })))
}

/**
 * `MessageStore` on PostgreSQL. The one place message texts and peers are encrypted and
 * decrypted (vault locations bound to tenant and message id). Rows are parsed with zod before
 * they become domain records; a row that does not decrypt throws the vault's error.
 */
export class KyselyMessageStore implements MessageStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly vault: CredentialVault,
  ) {}

  private toRecord(raw: unknown): MessageRecord {
    const r: MessageRow = MessageRowSchema.parse(raw)
    return {
      id: r.id,
      tenantId: r.tenant_id,
      direction: r.direction,
      instanceId: r.instance_id,
      peer: this.vault.decrypt(r.peer_encrypted, messageSecretLocation(r.tenant_id, r.id, 'peer_encrypted')),
      text: this.vault.decrypt(r.text_encrypted, messageSecretLocation(r.tenant_id, r.id, 'text_encrypted')),
      contentType: r.content_type,
      reference: r.reference,
      status: r.status,
      statusHistory: r.status_history,
      error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
      upstreamMessageId: r.upstream_message_id,
      idempotencyKey: r.idempotency_key,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      sendStartedAt: r.send_started_at,
      expiresAt: r.expires_at,
    }
  }

  /** The columns every outbound message starts with, whatever its first status. */
  private outboundRow(input: NewOutboundMessage) {
    return {
      id: input.id,
      tenant_id: input.tenantId,
      direction: 'outbound' as const,
      instance_id: input.instanceId,
      ...this.seal(input.tenantId, input.id, input.to, input.text),
      content_type: 'text',
      reference: input.reference,
      idempotency_key: input.idempotencyKey,
      request_fingerprint: input.requestFingerprint,
      created_at: input.createdAt,
      expires_at: input.expiresAt,
    }
  }

  private seal(tenantId: string, id: string, peer: string, text: string) {
    return {
      peer_encrypted: this.vault.encrypt(peer, messageSecretLocation(tenantId, id, 'peer_encrypted')),
      text_encrypted: this.vault.encrypt(text, messageSecretLocation(tenantId, id, 'text_encrypted')),
    }
  }

  async createOutbound(
    input: NewOutboundMessage,
    options: { idempotentSince: Date; job: JobRequest },
  ): Promise<CreateOutboundOutcome> {
    const attempt = () =>
      this.db.transaction().execute(async (trx): Promise<CreateOutboundOutcome> => {
        if (input.idempotencyKey !== null) {
          const existing = await trx
            .selectFrom('wa_messages')
            .selectAll()
            .where('tenant_id', '=', input.tenantId)
            .where('idempotency_key', '=', input.idempotencyKey)
            .forUpdate()
            .executeTakeFirst()
          if (existing) {
            if (new Date(existing.created_at).getTime() >= options.idempotentSince.getTime()) {
              return { kind: 'existing', message: this.toRecord(existing), requestFingerprint: existing.request_fingerprint }
            }
            // The key's window is over: the old message keeps its data, the key is free again.
            await trx.updateTable('wa_messages').set({ idempotency_key: null }).where('id', '=', existing.id).execute()
          }
        }
        const history: StatusEntry[] = [{ status: 'queued', at: input.createdAt }]
        const row = await trx
          .insertInto('wa_messages')
          .values({
            ...this.outboundRow(input),
            status: 'queued',
            status_history: historyJson(history),
            updated_at: input.createdAt,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
        await addJob(trx, options.job.task, options.job.payload, options.job.options)
        return { kind: 'created', message: this.toRecord(row) }
      })
    try {
      return await attempt()
    } catch (err) {
      // Two requests with one key at once: the loser sees the winner's row on its second try.
      if (isUniqueViolation(err, IDEMPOTENCY_INDEX)) return attempt()
      throw err
    }
  }

  async insertSentOutbound(input: NewOutboundMessage & { upstreamMessageId: string; sentAt: Date }): Promise<MessageRecord> {
    const row = await this.db
      .insertInto('wa_messages')
      .values({
        ...this.outboundRow(input),
        status: 'sent',
        status_history: historyJson([{ status: 'sent', at: input.sentAt }]),
        upstream_message_id: input.upstreamMessageId,
        updated_at: input.sentAt,
        send_started_at: input.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return this.toRecord(row)
  }

  async findById(tenantId: string, id: string): Promise<MessageRecord | null> {
    if (!isUuid(id)) return null
    const row = await this.db
      .selectFrom('wa_messages')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? this.toRecord(row) : null
  }

  async list(tenantId: string, query: ListMessagesQuery): Promise<{ messages: MessageRecord[]; hasMore: boolean }> {
    let q = this.db.selectFrom('wa_messages').selectAll().where('tenant_id', '=', tenantId)
    if (query.direction) q = q.where('direction', '=', query.direction)
    if (query.status) q = q.where('status', '=', query.status)
    if (query.after) {
      const { createdAt, id } = query.after
      q = q.where(sql<boolean>`(created_at, id) < (${createdAt}::timestamptz, ${id}::uuid)`)
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute()
    return { messages: rows.slice(0, query.limit).map((r) => this.toRecord(r)), hasMore: rows.length > query.limit }
  }

  async findByUpstreamId(instanceId: string, upstreamMessageId: string): Promise<MessageRecord | null> {
    const row = await this.db
      .selectFrom('wa_messages')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('upstream_message_id', '=', upstreamMessageId)
      .executeTakeFirst()
    return row ? this.toRecord(row) : null
  }

  private locked(trx: Transaction<Database>, tenantId: string, id: string) {
    return trx
      .selectFrom('wa_messages')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst()
  }

  async applyStatus(tenantId: string, id: string, change: StatusChange): Promise<ApplyStatusOutcome | null> {
    if (!isUuid(id)) return null
    return this.db.transaction().execute(async (trx) => {
      const row = await this.locked(trx, tenantId, id)
      if (!row) return null
      const current = this.toRecord(row)
      const next = advanceStatus(current.status, change.status)
      const learntId = change.upstreamMessageId !== undefined && current.upstreamMessageId === null
      if (!next.changed && !learntId) return { changed: false, message: current }
      const set: Record<string, unknown> = { updated_at: change.at }
      if (learntId) set.upstream_message_id = change.upstreamMessageId
      if (next.changed) {
        set.status = next.status
        set.status_history = historyJson([...current.statusHistory, { status: next.status, at: change.at }])
        if (change.error !== undefined) {
          set.error_code = change.error?.code ?? null
          set.error_message = change.error?.message ?? null
        } else if (next.status !== 'failed' && next.status !== 'unknown') {
          set.error_code = null
          set.error_message = null
        }
        if (change.sendStartedAt) set.send_started_at = change.sendStartedAt
      }
      const updated = await trx.updateTable('wa_messages').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
      return { changed: next.changed, message: this.toRecord(updated) }
    })
  }

  async returnToQueue(tenantId: string, id: string, at: Date): Promise<ApplyStatusOutcome | null> {
    if (!isUuid(id)) return null
    return this.db.transaction().execute(async (trx) => {
      const row = await this.locked(trx, tenantId, id)
      if (!row) return null
      const current = this.toRecord(row)
      if (current.status !== 'sending' || current.upstreamMessageId !== null) return { changed: false, message: current }
      const updated = await trx
        .updateTable('wa_messages')
        .set({
          status: 'queued',
          status_history: historyJson([...current.statusHistory, { status: 'queued', at }]),
          updated_at: at,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      return { changed: true, message: this.toRecord(updated) }
    })
  }

  async nextToSend(instanceId: string): Promise<MessageRecord | null> {
    const row = await this.db
      .selectFrom('wa_messages')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('direction', '=', 'outbound')
      .where((eb) =>
        eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'sending'), eb('upstream_message_id', 'is', null)])]),
      )
      .orderBy(sql`(status = 'sending')`, 'desc')
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(1)
      .executeTakeFirst()
    return row ? this.toRecord(row) : null
  }

  async lastSendStartedAt(instanceId: string): Promise<Date | null> {
    const row = await this.db
      .selectFrom('wa_messages')
      .select('send_started_at')
      .where('instance_id', '=', instanceId)
      .where('send_started_at', 'is not', null)
      .orderBy('send_started_at', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row?.send_started_at ? new Date(row.send_started_at) : null
  }

  async insertInbound(input: NewInboundMessage): Promise<{ inserted: boolean; message: MessageRecord }> {
    const history: StatusEntry[] = [{ status: 'received', at: input.receivedAt }]
    const row = await this.db
      .insertInto('wa_messages')
      .values({
        id: input.id,
        tenant_id: input.tenantId,
        direction: 'inbound',
        instance_id: input.instanceId,
        ...this.seal(input.tenantId, input.id, input.from, input.text),
        content_type: input.contentType,
        reference: null,
        status: 'received',
        status_history: historyJson(history),
        upstream_message_id: input.upstreamMessageId,
        created_at: input.receivedAt,
        updated_at: input.receivedAt,
      })
      .onConflict((oc) =>
        oc.columns(['instance_id', 'upstream_message_id']).where('upstream_message_id', 'is not', null).doNothing(),
      )
      .returningAll()
      .executeTakeFirst()
    if (row) return { inserted: true, message: this.toRecord(row) }
    const existing = await this.findByUpstreamId(input.instanceId, input.upstreamMessageId)
    if (!existing) throw new Error('inbound message conflicted but cannot be found')
    return { inserted: false, message: existing }
  }

  async purgeOlderThan(cutoff: Date): Promise<number> {
    const result = await this.db.deleteFrom('wa_messages').where('created_at', '<', cutoff).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
function isUuid(id: string): boolean {
  return UUID.test(id)
}
