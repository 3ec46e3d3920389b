import pg from 'pg'
import { z } from 'zod'
import type { StatusSnapshot } from '../../domain/ports/status-publisher'
import { CONNECTION_STATES } from '../../domain/whatsapp/connection-state'

export const STATUS_CHANNEL = 'wa_status'

const SnapshotSchema = z.object({
  tenantId: z.string(),
  status: z.enum(CONNECTION_STATES),
  connected: z.boolean(),
  phoneNumber: z.string().nullable(),
})

type Listener = (snapshot: StatusSnapshot) => void
type Log = { warn(obj: Record<string, unknown>, msg: string): void }

/**
 * Per-process fan-out of status changes: one dedicated connection LISTENs on `wa_status` and
 * hands each NOTIFY (from any app process) to this process's subscribers of that tenant (SSE
 * streams, caches). Reconnects with backoff; subscribers survive reconnects.
 */
export class PgStatusHub {
  private readonly byTenant = new Map<string, Set<Listener>>()
  private readonly anyListeners = new Set<Listener>()
  private client: pg.Client | undefined
  private closed = false
  private retryMs = 250
  private ready: Promise<void> | undefined

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Log,
  ) {}

  /** Connects (idempotent). Resolves once LISTEN is active, so tests can rely on delivery. */
  start(): Promise<void> {
    this.ready ??= this.connect()
    return this.ready
  }

  private async connect(): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({ connectionString: this.databaseUrl })
    client.on('notification', (msg) => {
      if (msg.channel !== STATUS_CHANNEL || !msg.payload) return
      let parsed: StatusSnapshot
      try {
        parsed = SnapshotSchema.parse(JSON.parse(msg.payload))
      } catch {
        return
      }
      this.dispatch(parsed)
    })
    client.on('error', () => this.reconnectSoon(client))
    client.on('end', () => this.reconnectSoon(client))
    try {
      await client.connect()
      await client.query(`LISTEN ${STATUS_CHANNEL}`)
      this.client = client
      this.retryMs = 250
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'status listener could not connect; retrying')
      this.reconnectSoon(client)
    }
  }

  private reconnectSoon(client: pg.Client) {
    if (this.closed || (this.client && this.client !== client)) return
    this.client = undefined
    client.removeAllListeners('end')
    client.end().catch(() => {})
    const wait = this.retryMs
    this.retryMs = Math.min(this.retryMs * 2, 10_000)
    setTimeout(() => {
      this.ready = this.connect()
    }, wait).unref()
  }

  /** Delivers to local subscribers (also used directly when NOTIFY is not needed). */
  dispatch(snapshot: StatusSnapshot): void {
    for (const l of this.anyListeners) l(snapshot)
    for (const l of this.byTenant.get(snapshot.tenantId) ?? []) l(snapshot)
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

  /** Every tenant's changes (cache invalidation). */
  subscribeAll(listener: Listener): () => void {
    this.anyListeners.add(listener)
    return () => this.anyListeners.delete(listener)
  }

  async close(): Promise<void> {
    this.closed = true
    const c = this.client
    this.client = undefined
    await c?.end().catch(() => {})
  }
}
