import { advanceStatus } from '../messages/advance-status'
import type { MessageRecord } from '../messages/message'
import type {
  ApplyStatusOutcome,
  CreateOutboundOutcome,
  JobRequest,
  ListMessagesQuery,
  MessageStore,
  NewInboundMessage,
  NewOutboundMessage,
  StatusChange,
} from '../ports/message-store'

interface Stored {
  record: MessageRecord
  fingerprint: string | null
}

/**
 * `MessageStore` in memory, for domain unit tests and the contract suite. Jobs the store would
 * add in its transaction are recorded in `jobs`. No encryption (nothing is persisted).
 */
export class InMemoryMessageStore implements MessageStore {
  private readonly rows = new Map<string, Stored>()
  readonly jobs: JobRequest[] = []

  private copy(r: MessageRecord): MessageRecord {
    return structuredClone(r)
  }

  async createOutbound(
    input: NewOutboundMessage,
    options: { idempotentSince: Date; job: JobRequest },
  ): Promise<CreateOutboundOutcome> {
    if (input.idempotencyKey !== null) {
      const existing = [...this.rows.values()].find(
        (s) => s.record.tenantId === input.tenantId && s.record.idempotencyKey === input.idempotencyKey,
      )
      if (existing) {
        if (existing.record.createdAt.getTime() >= options.idempotentSince.getTime()) {
          return { kind: 'existing', message: this.copy(existing.record), requestFingerprint: existing.fingerprint }
        }
        existing.record.idempotencyKey = null
      }
    }
    if (this.rows.has(input.id)) throw new Error('duplicate message id')
    const record: MessageRecord = {
      id: input.id,
      tenantId: input.tenantId,
      direction: 'outbound',
      instanceId: input.instanceId,
      peer: input.to,
      text: input.text,
      contentType: 'text',
      reference: input.reference,
      status: 'queued',
      statusHistory: [{ status: 'queued', at: input.createdAt }],
      error: null,
      upstreamMessageId: null,
      idempotencyKey: input.idempotencyKey,
      createdAt: input.createdAt,
      updatedAt: input.createdAt,
      sendStartedAt: null,
      expiresAt: input.expiresAt,
    }
    this.rows.set(input.id, { record, fingerprint: input.requestFingerprint })
    // A job key replaces the pending job of that key (graphile-worker's `add_job`).
    const key = options.job.options?.key
    const same = key === undefined ? -1 : this.jobs.findIndex((j) => j.options?.key === key)
    if (same >= 0) this.jobs.splice(same, 1)
    this.jobs.push(structuredClone(options.job))
    return { kind: 'created', message: this.copy(record) }
  }

  async insertSentOutbound(input: NewOutboundMessage & { upstreamMessageId: string; sentAt: Date }): Promise<MessageRecord> {
    const record: MessageRecord = {
      id: input.id,
      tenantId: input.tenantId,
      direction: 'outbound',
      instanceId: input.instanceId,
      peer: input.to,
      text: input.text,
      contentType: 'text',
      reference: input.reference,
      status: 'sent',
      statusHistory: [{ status: 'sent', at: input.sentAt }],
      error: null,
      upstreamMessageId: input.upstreamMessageId,
      idempotencyKey: input.idempotencyKey,
      createdAt: input.createdAt,
      updatedAt: input.sentAt,
      sendStartedAt: input.createdAt,
      expiresAt: input.expiresAt,
    }
    this.rows.set(input.id, { record, fingerprint: input.requestFingerprint })
    return this.copy(record)
  }

  async findById(tenantId: string, id: string): Promise<MessageRecord | null> {
    const s = this.rows.get(id)
    return s && s.record.tenantId === tenantId ? this.copy(s.record) : null
  }

  async list(tenantId: string, query: ListMessagesQuery): Promise<{ messages: MessageRecord[]; hasMore: boolean }> {
    const after = query.after
    const all = [...this.rows.values()]
      .map((s) => s.record)
      .filter((r) => r.tenantId === tenantId)
      .filter((r) => !query.direction || r.direction === query.direction)
      .filter((r) => !query.status || r.status === query.status)
      .filter(
        (r) =>
          !after ||
          r.createdAt.getTime() < after.createdAt.getTime() ||
          (r.createdAt.getTime() === after.createdAt.getTime() && r.id < after.id),
      )
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    return { messages: all.slice(0, query.limit).map((r) => this.copy(r)), hasMore: all.length > query.limit }
  }

  async findByUpstreamId(instanceId: string, upstreamMessageId: string): Promise<MessageRecord | null> {
    const s = [...this.rows.values()].find(
      (x) => x.record.instanceId === instanceId && x.record.upstreamMessageId === upstreamMessageId,
    )
    return s ? this.copy(s.record) : null
  }

  async applyStatus(tenantId: string, id: string, change: StatusChange): Promise<ApplyStatusOutcome | null> {
    const s = this.rows.get(id)
    if (!s || s.record.tenantId !== tenantId) return null
    const r = s.record
    const next = advanceStatus(r.status, change.status)
    const learntId = change.upstreamMessageId !== undefined && r.upstreamMessageId === null
    if (!next.changed && !learntId) return { changed: false, message: this.copy(r) }
    if (learntId && change.upstreamMessageId !== undefined) {
      if (
        [...this.rows.values()].some(
          (x) => x.record.instanceId === r.instanceId && x.record.upstreamMessageId === change.upstreamMessageId,
        )
      )
        throw new Error('duplicate upstream message id')
      r.upstreamMessageId = change.upstreamMessageId
    }
    r.updatedAt = change.at
    if (next.changed) {
      r.status = next.status
      r.statusHistory.push({ status: next.status, at: change.at })
      if (change.error !== undefined) r.error = change.error ? { ...change.error } : null
      else if (next.status !== 'failed' && next.status !== 'unknown') r.error = null
      if (change.sendStartedAt) r.sendStartedAt = change.sendStartedAt
    }
    return { changed: next.changed, message: this.copy(r) }
  }

  async returnToQueue(tenantId: string, id: string, at: Date): Promise<ApplyStatusOutcome | null> {
    const s = this.rows.get(id)
    if (!s || s.record.tenantId !== tenantId) return null
    const r = s.record
    if (r.status !== 'sending' || r.upstreamMessageId !== null) return { changed: false, message: this.copy(r) }
    r.status = 'queued'
    r.statusHistory.push({ status: 'queued', at })
    r.updatedAt = at
    return { changed: true, message: this.copy(r) }
  }

  async nextToSend(instanceId: string): Promise<MessageRecord | null> {
    const mine = [...this.rows.values()]
      .map((s) => s.record)
      .filter((r) => r.instanceId === instanceId && r.direction === 'outbound')
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const interrupted = mine.find((r) => r.status === 'sending' && r.upstreamMessageId === null)
    const next = interrupted ?? mine.find((r) => r.status === 'queued')
    return next ? this.copy(next) : null
  }

  async lastSendStartedAt(instanceId: string): Promise<Date | null> {
    let last: Date | null = null
    for (const { record: r } of this.rows.values()) {
      if (r.instanceId === instanceId && r.sendStartedAt && (!last || r.sendStartedAt > last)) last = r.sendStartedAt
    }
    return last ? new Date(last) : null
  }

  async insertInbound(input: NewInboundMessage): Promise<{ inserted: boolean; message: MessageRecord }> {
    const existing = await this.findByUpstreamId(input.instanceId, input.upstreamMessageId)
    if (existing) return { inserted: false, message: existing }
    const record: MessageRecord = {
      id: input.id,
      tenantId: input.tenantId,
      direction: 'inbound',
      instanceId: input.instanceId,
      peer: input.from,
      text: input.text,
      contentType: input.contentType,
      reference: null,
      status: 'received',
      statusHistory: [{ status: 'received', at: input.receivedAt }],
      error: null,
      upstreamMessageId: input.upstreamMessageId,
      idempotencyKey: null,
      createdAt: input.receivedAt,
      updatedAt: input.receivedAt,
      sendStartedAt: null,
      expiresAt: null,
    }
    this.rows.set(input.id, { record, fingerprint: null })
    return { inserted: true, message: this.copy(record) }
  }

  async purgeOlderThan(cutoff: Date): Promise<number> {
    let n = 0
    for (const [id, s] of this.rows) {
      if (s.record.createdAt.getTime() < cutoff.getTime()) {
        this.rows.delete(id)
        n++
      }
    }
    return n
  }
}
