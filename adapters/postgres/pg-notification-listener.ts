import pg from 'pg'

type Log = { warn(obj: Record<string, unknown>, msg: string): void }

export interface NotificationHandlers {
  /** A NOTIFY payload on the channel (may be malformed: parse it). */
  onNotify(payload: string): void
  /** LISTEN is active (first connect and every reconnect). */
  onUp?(): void
  /** The connection dropped or could not be made; notifications may be missed until onUp. */
  onDown?(): void
}

/**
 * One dedicated PostgreSQL connection LISTENing on one channel, reconnecting with backoff
 * (250 ms doubling to 10 s). Shared by the status fan-out (SSE) and the hot-path caches.
 */
export class PgNotificationListener {
  private client: pg.Client | undefined
  private closed = false
  private retryMs = 250
  private ready: Promise<void> | undefined
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

  private async connect(): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({ connectionString: this.databaseUrl })
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload) this.handlers.onNotify(msg.payload)
    })
    client.on('error', () => this.reconnectSoon(client))
    client.on('end', () => this.reconnectSoon(client))
    try {
      await client.connect()
      await client.query(`LISTEN ${this.channel}`)
      this.client = client
      this.retryMs = 250
      this.connected = true
      this.handlers.onUp?.()
    } catch (e) {
      this.log.warn({ channel: this.channel, err: e instanceof Error ? e.message : String(e) }, 'listener could not connect; retrying')
      this.reconnectSoon(client)
    }
  }

  private reconnectSoon(client: pg.Client): void {
    this.connected = false
    this.handlers.onDown?.()
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
    this.handlers.onDown?.()
    const c = this.client
    this.client = undefined
    await c?.end().catch(() => {})
  }
}
