/**
 * Open `GET /api/wa/events` streams of this process, counted per user, tenant and client IP so
 * one caller cannot hold an unbounded number of them (each holds a socket and a subscription). A stream takes a slot before it
 * starts and gives it back when it ends, whatever ends it (client gone, lifetime, shutdown).
 */
export interface StreamCaps {
  perUser: number
  perTenant: number
  perIp: number
}

export type StreamOwner = { userId: string; tenantId: string; ip: string | null }

export class EventStreamSlots {
  private readonly counts = new Map<string, number>()

  constructor(private readonly caps: StreamCaps) {}

  /** A release function, or `null` when one of the owner's caps is reached (nothing is taken). */
  tryAcquire(owner: StreamOwner): (() => void) | null {
    const keys: Array<[string, number]> = [
      [`user:${owner.userId}`, this.caps.perUser],
      [`tenant:${owner.tenantId}`, this.caps.perTenant],
      ...(owner.ip ? ([[`ip:${owner.ip}`, this.caps.perIp]] as Array<[string, number]>) : []),
    ]
    if (keys.some(([key, cap]) => (this.counts.get(key) ?? 0) >= cap)) return null
    for (const [key] of keys) this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      for (const [key] of keys) {
        const n = (this.counts.get(key) ?? 1) - 1
        if (n <= 0) this.counts.delete(key)
        else this.counts.set(key, n)
      }
    }
  }

  /** Streams open in this process. */
  get open(): number {
    let n = 0
    for (const [key, count] of this.counts) if (key.startsWith('user:')) n += count
    return n
  }
}

/** Where a stream's bytes go: the express response (server/http-app.ts), or a ReadableStream. */
export interface StreamSink {
  /** Queues bytes; false when the socket's buffer is full (the bytes are still queued). */
  write(chunk: Uint8Array): boolean
  end(): void
  /** Bytes queued and not yet taken by the socket (a reader that does not read). */
  readonly writableLength: number
}

/** The hub's two subscriptions, by tenant (PgStatusHub). */
export interface TenantEventSource<S, M> {
  subscribe(tenantId: string, listener: (tenantId: string, status: S) => void): () => void
  subscribeMessages(tenantId: string, listener: (signal: M) => void): () => void
}

export interface FanoutOptions<S, M> {
  /** The `event: status` text of a status (encoded once per change, written to every stream). */
  statusEvent(status: S): string
  messageEvent(signal: M): string
  heartbeatMs: number
  lifetimeMs: number
  /** A stream whose unsent bytes exceed this is ended (its EventSource reconnects and starts afresh). */
  maxBufferedBytes: number
  onOpen?(): void
  onClose?(): void
}

/** One open stream: the only per-stream state (besides the socket and the slot). */
interface Conn {
  readonly sink: StreamSink
  readonly tenantId: string
  readonly release: () => void
  readonly endsAt: number
}

interface TenantStreams {
  readonly conns: Set<Conn>
  readonly unsubscribe: () => void
}

const HEARTBEAT = new TextEncoder().encode(': heartbeat\n\n')

/**
 * The event streams of this process (decision 225): one hub subscription per tenant with open
 * streams (not one per stream), each event encoded once and the same bytes written to every
 * stream of the tenant; one heartbeat timer and one lifetime timer for all streams (streams
 * share one lifetime, so the oldest ends first and the open order is the end order). Ending a
 * stream drops it from the maps and gives its slot back: nothing of it stays behind.
 */
export class EventStreamFanout<S, M> {
  private readonly byTenant = new Map<string, TenantStreams>()
  /** Every open stream, oldest first. */
  private readonly all = new Set<Conn>()
  private heartbeat: ReturnType<typeof setInterval> | undefined
  private lifetime: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly source: TenantEventSource<S, M>,
    private readonly options: FanoutOptions<S, M>,
  ) {}

  /**
   * Writes `first` to the sink and subscribes it to its tenant's events until `close` (its
   * client went away), the lifetime, a slow reader or `closeAll`. `release` gives the slot back.
   */
  open(tenantId: string, sink: StreamSink, first: string, release: () => void): { close(): void } {
    const conn: Conn = { sink, tenantId, release, endsAt: Date.now() + this.options.lifetimeMs }
    this.all.add(conn)
    let tenant = this.byTenant.get(tenantId)
    if (!tenant) {
      const unsubscribeStatus = this.source.subscribe(tenantId, (_t, status) =>
        this.broadcast(tenantId, this.options.statusEvent(status)),
      )
      const unsubscribeMessages = this.source.subscribeMessages(tenantId, (signal) =>
        this.broadcast(tenantId, this.options.messageEvent(signal)),
      )
      tenant = {
        conns: new Set(),
        unsubscribe: () => {
          unsubscribeStatus()
          unsubscribeMessages()
        },
      }
      this.byTenant.set(tenantId, tenant)
    }
    tenant.conns.add(conn)
    this.options.onOpen?.()
    this.startTimers()
    this.write(conn, new TextEncoder().encode(first))
    return { close: () => this.end(conn) }
  }

  /** Open streams, all tenants. */
  get size(): number {
    return this.all.size
  }

  /** Tenants with open streams (one hub subscription each). */
  get tenants(): number {
    return this.byTenant.size
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const conn of this.all) this.end(conn)
  }

  private broadcast(tenantId: string, text: string): void {
    const tenant = this.byTenant.get(tenantId)
    if (!tenant) return
    const bytes = new TextEncoder().encode(text)
    for (const conn of tenant.conns) this.write(conn, bytes)
  }

  private write(conn: Conn, bytes: Uint8Array): void {
    try {
      conn.sink.write(bytes)
    } catch {
      this.end(conn)
      return
    }
    if (conn.sink.writableLength > this.options.maxBufferedBytes) this.end(conn)
  }

  private end(conn: Conn): void {
    if (!this.all.delete(conn)) return
    const tenant = this.byTenant.get(conn.tenantId)
    if (tenant) {
      tenant.conns.delete(conn)
      if (tenant.conns.size === 0) {
        this.byTenant.delete(conn.tenantId)
        tenant.unsubscribe()
      }
    }
    conn.release()
    this.options.onClose?.()
    try {
      conn.sink.end()
    } catch {
      /* already closed */
    }
    if (this.all.size === 0) this.stopTimers()
  }

  private startTimers(): void {
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => {
        for (const conn of this.all) this.write(conn, HEARTBEAT)
      }, this.options.heartbeatMs)
      this.heartbeat.unref?.()
    }
    this.armLifetime()
  }

  /** One timer for the oldest stream's end; when it fires, every stream past its end ends. */
  private armLifetime(): void {
    if (this.lifetime) return
    const oldest = this.all.values().next().value
    if (!oldest) return
    this.lifetime = setTimeout(
      () => {
        this.lifetime = undefined
        const now = Date.now()
        for (const conn of this.all) {
          if (conn.endsAt > now) break
          this.end(conn)
        }
        this.armLifetime()
      },
      Math.max(0, oldest.endsAt - Date.now()),
    )
    this.lifetime.unref?.()
  }

  private stopTimers(): void {
    clearInterval(this.heartbeat)
    clearTimeout(this.lifetime)
    this.heartbeat = undefined
    this.lifetime = undefined
  }
}
