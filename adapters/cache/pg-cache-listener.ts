import { PgNotificationListener } from '../postgres/pg-notification-listener'
import { z } from 'zod'

/** Channel fed by the triggers of db/migrations/2026_11_25_000500_cache_invalidation.ts. */
const CACHE_CHANNEL = 'wa_cache'

const MessageSchema = z.union([
  z.object({ k: z.enum(['features', 'connection', 'membership', 'user', 'token']), id: z.string().nullable() }),
  z.object({ k: z.literal('all') }),
])
export type CacheMessage = z.infer<typeof MessageSchema>

type Log = { warn(obj: Record<string, unknown>, msg: string): void; info(obj: Record<string, unknown>, msg: string): void }

/**
 * One dedicated connection per process LISTENing on `wa_cache`. Caches ask `connected` before
 * trusting an entry: while the listener is down nothing is cached (invalidations could be
 * missed), and every (re)connect flushes everything (`onReset`).
 */
export class PgCacheListener {
  private readonly handlers = new Set<(m: CacheMessage) => void>()
  private readonly resetHandlers = new Set<() => void>()
  private readonly listener: PgNotificationListener

  constructor(databaseUrl: string, log: Log) {
    this.listener = new PgNotificationListener(
      databaseUrl,
      CACHE_CHANNEL,
      {
        onNotify: (payload) => {
          let parsed: CacheMessage
          try {
            parsed = MessageSchema.parse(JSON.parse(payload))
          } catch {
            this.reset()
            return
          }
          for (const h of this.handlers) h(parsed)
        },
        // Whatever was cached before this connection may have missed invalidations.
        onUp: () => this.reset(),
        onDown: () => this.reset(),
      },
      log,
    )
  }

  /** False while the listener is down: caches must not trust entries then. */
  get connected(): boolean {
    return this.listener.connected
  }

  start(): Promise<void> {
    return this.listener.start()
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

  /** Drops the LISTEN connection and reconnects with backoff (PostgreSQL is shutting down). */
  recycle(reason: string): void {
    this.listener.recycle(reason)
  }

  close(): Promise<void> {
    return this.listener.close()
  }
}
