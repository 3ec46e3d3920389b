import pg from 'pg'
import { describePgError } from './pg-errors'

type Log = {
  warn(obj: Record<string, unknown>, msg: string): void
  info(obj: Record<string, unknown>, msg: string): void
}

export interface NotificationHandlers {
  /** A NOTIFY payload on the channel (may be malformed: parse it). */
  onNotify(payload: string): void
  /** LISTEN is active (first connect and every reconnect). */
  onUp?(): void
  /** The connection dropped or could not be made; notifications may be missed until onUp. */
  onDown?(): void
}

const FIRST_RETRY_MS = 250
const MAX_RETRY_MS = 10_000

/**
 * One dedicated PostgreSQL connection LISTENing on one channel, reconnecting with backoff
 * (250 ms doubling to 10 s). Shared by the status fan-out (SSE) and the hot-path caches.
 *
 * Each connection attempt is a generation: events of an older client (its 'error' and 'end'
 * both fire on a drop, a failed connect also rejects) are ignored, so one drop schedules one
 * reconnect and never two parallel LISTEN connections.
 */
export class PgNotificationListener {
  private client: pg.Client | undefined
  private generation = 0
  private closed = false
  private retryMs = FIRST_RETRY_MS
  private retryTimer: NodeJS.Timeout | undefined
  private ready: Promise<void> | undefined
  private wasDown = false
  connected = false

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly handlers: NotificationHandlers,
    private readonly log: Log,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`Unsafe channel name: ${channel}`)
  }

  /** Connects (idempotent). Resolves once LISTEN is active or the first attempt failed. */
  start(): Promise<void> {
    this.ready ??= this.connect()
    return this.ready
  }

  /**
   * Lets go of the connection and reconnects with backoff: PostgreSQL is shutting down (a
   * smart shutdown waits for every session, this one included), or the caller knows the
   * connection is stale.
   */
  recycle(reason: string): void {
    if (this.closed || !this.client) return
    this.drop(this.generation, reason)
  }

  private async connect(): Promise<void> {
    if (this.closed) return
    const generation = ++this.generation
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5_000 })
    this.client = client
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload) this.handlers.onNotify(msg.payload)
    })
    client.on('error', (e) => this.drop(generation, 'connection error', e))
    client.on('end', () => this.drop(generation, 'connection ended'))
    try {
      await client.connect()
      await client.query(`LISTEN ${this.channel}`)
    } catch (e) {
      this.drop(generation, 'could not connect', e)
      return
    }
    if (generation !== this.generation || this.closed) return
    this.retryMs = FIRST_RETRY_MS
    this.connected = true
    if (this.wasDown) this.log.info({ channel: this.channel }, 'PostgreSQL listener reconnected')
    this.wasDown = false
    this.handlers.onUp?.()
  }

  private drop(generation: number, reason: string, err?: unknown): void {
    if (generation !== this.generation || this.closed) return
    this.generation++ // later events of this client are stale
    const client = this.client
    this.client = undefined
    this.connected = false
    if (!this.wasDown) {
      this.log.warn(
        { channel: this.channel, reason, ...(err ? { err: describePgError(err) } : {}) },
        'PostgreSQL listener lost; reconnecting with backoff',
      )
    }
    this.wasDown = true
    this.handlers.onDown?.()
    if (client) {
      client.removeAllListeners('end')
      client.end().catch(() => {})
    }
    const wait = this.retryMs
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS)
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => {
      this.ready = this.connect()
    }, wait)
    this.retryTimer.unref()
  }

  async close(): Promise<void> {
    this.closed = true
    this.connected = false
    clearTimeout(this.retryTimer)
    this.handlers.onDown?.()
    const c = this.client
    this.client = undefined
    await c?.end().catch(() => {})
  }
}
