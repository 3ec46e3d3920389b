import { z } from 'zod'
import type { MessageStatusSignal } from '../../domain/ports/status-publisher'
import { decodeConnectionStatus, type ConnectionStatusResult } from '../../domain/whatsapp'
import { PgNotificationListener } from './pg-notification-listener'

const STATUS_CHANNEL = 'wa_status'

/** The NOTIFY payload of `PgStatusPublisher`; the status itself is decoded by the domain. */
const PayloadSchema = z.object({ tenantId: z.string(), status: z.unknown() })

// A message's new status (PgStatusPublisher.publishMessage): ids and a status only.
const MessageSignalSchema = z.object({
  kind: z.literal('message'),
  tenantId: z.string(),
  messageId: z.string(),
  status: z.string().max(20),
})

type Listener = (tenantId: string, status: ConnectionStatusResult) => void
type MessageListener = (signal: MessageStatusSignal) => void
type Log = { warn(obj: Record<string, unknown>, msg: string): void; info(obj: Record<string, unknown>, msg: string): void }

/**
 * Per-process fan-out of status changes: one dedicated connection LISTENs on `wa_status` and
 * hands each NOTIFY (from any app process) to this process's subscribers of that tenant (SSE
 * streams, caches). Reconnects with backoff; subscribers survive reconnects.
 */
export class PgStatusHub {
  private readonly byTenant = new Map<string, Set<Listener>>()
  private readonly anyListeners = new Set<Listener>()
  private readonly messagesByTenant = new Map<string, Set<MessageListener>>()
  private readonly listener: PgNotificationListener

  constructor(databaseUrl: string, log: Log) {
    this.listener = new PgNotificationListener(
      databaseUrl,
      STATUS_CHANNEL,
      {
        onNotify: (payload) => {
          let raw: unknown
          try {
            raw = JSON.parse(payload)
          } catch {
            return
          }
          const message = MessageSignalSchema.safeParse(raw)
          if (message.success) {
            const { kind: _kind, ...signal } = message.data
            this.dispatchMessage(signal)
            return
          }
          let tenantId: string
          let status: ConnectionStatusResult
          try {
            const parsed = PayloadSchema.parse(raw)
            tenantId = parsed.tenantId
            status = decodeConnectionStatus(parsed.status)
          } catch {
            return
          }
          this.dispatch(tenantId, status)
        },
      },
      log,
    )
  }

  /** Connects (idempotent). Resolves once LISTEN is active, so tests can rely on delivery. */
  start(): Promise<void> {
    return this.listener.start()
  }

  /** Delivers to local subscribers (also used directly when NOTIFY is not needed). */
  dispatch(tenantId: string, status: ConnectionStatusResult): void {
    for (const l of this.anyListeners) l(tenantId, status)
    for (const l of this.byTenant.get(tenantId) ?? []) l(tenantId, status)
  }

  /** Delivers a message's status to this process's streams of its tenant. */
  dispatchMessage(signal: MessageStatusSignal): void {
    for (const l of this.messagesByTenant.get(signal.tenantId) ?? []) l(signal)
  }

  /** A tenant's message status changes (the settings page's live test message and list). */
  subscribeMessages(tenantId: string, listener: MessageListener): () => void {
    let set = this.messagesByTenant.get(tenantId)
    if (!set) this.messagesByTenant.set(tenantId, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.messagesByTenant.delete(tenantId)
    }
  }

  subscribe(tenantId: string, listener: Listener): () => void {
    let set = this.byTenant.get(tenantId)
    if (!set) this.byTenant.set(tenantId, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.byTenant.delete(tenantId)
    }
  }

  /** Per-tenant subscribers in this process (open SSE streams); gauges and tests read it. */
  subscriberCount(): number {
    let n = 0
    for (const set of this.byTenant.values()) n += set.size
    return n
  }

  /** Every tenant's changes (cache invalidation). */
  subscribeAll(listener: Listener): () => void {
    this.anyListeners.add(listener)
    return () => this.anyListeners.delete(listener)
  }

  /** Drops the LISTEN connection and reconnects with backoff (PostgreSQL is shutting down). */
  recycle(reason: string): void {
    this.listener.recycle(reason)
  }

  close(): Promise<void> {
    return this.listener.close()
  }
}
