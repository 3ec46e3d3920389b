import pg from 'pg'
import { z } from 'zod'

/** Channel fed by the triggers of db/migrations/2026_11_25_000500_cache_invalidation.ts. */
export const CACHE_CHANNEL = 'wa_cache'

const MessageSchema = z.union([
  z.object({ k: z.enum(['features', 'connection', 'membership', 'user', 'token']), id: z.string().nullable() }),
  z.object({ k: z.literal('all') }),
])
export type CacheMessage = z.infer<typeof MessageSchema>

type Log = { warn(obj: Record<string, unknown>, msg: string): void }

/**
 * One dedicated connection per process LISTENing on `wa_cache`. Caches ask `connected` before
 * trusting an entry: while the listener is down nothing is cached (invalidations could be
 * missed), and every (re)connect flushes everything (`onReset`).
 */
export class PgCacheListener {
  private client: pg.Client | undefined
  private closed = false
  private retryMs = 250
  private ready: Promise<void> | undefined
  private readonly handlers = new Set<(m: CacheMessage) => void>()
  private readonly resetHandlers = new Set<() => void>()
  connected = false

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Log,
  ) {}

  start(): Promise<void> {
    this.ready ??= this.connect()
    return this.ready
  }

  onMessage(handler: (m: CacheMessage) => void): void {
    this.handlers.add(handler)
  }

  onReset(handler: () => void): void {
    this.resetHandlers.add(handler)
  }

  private reset(): void {
    for (const h of this.resetHandlers) h()
  }

  private async connect(): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({ connectionString: this.databaseUrl })
    client.on('notification', (msg) => {
      if (msg.channel !== CACHE_CHANNEL || !msg.payload) return
      let parsed: CacheMessage
      try {
        parsed = MessageSchema.parse(JSON.parse(msg.payload))
      } catch {
        this.reset()
        return
      }
      for (const h of this.handlers) h(parsed)
    })
    client.on('error', () => this.reconnectSoon(client))
    client.on('end', () => this.reconnectSoon(client))
    try {
      await client.connect()
      await client.query(`LISTEN ${CACHE_CHANNEL}`)
      this.client = client
      this.retryMs = 250
      // Whatever was cached before this connection may have missed invalidations.
      this.reset()
      this.connected = true
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'cache listener could not connect; caching off until it does')
      this.reconnectSoon(client)
    }
  }

  private reconnectSoon(client: pg.Client) {
    this.connected = false
    this.reset()
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

  async close(): Promise<void> {
    this.closed = true
    this.connected = false
    this.reset()
    const c = this.client
    this.client = undefined
    await c?.end().catch(() => {})
  }
}
