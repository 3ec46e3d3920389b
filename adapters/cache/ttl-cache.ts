/**
 * A small per-process read cache for the hot path (docs/decisions/070):
 * - entries live at most `ttlMs` (safety net when an invalidation is lost);
 * - concurrent misses of one key share one load (single flight);
 * - `invalidate`/`flush` also poison loads already in flight, so a value read before a change
 *   is never stored after the change was announced;
 * - `enabled()` false (listener down, TTL 0) bypasses the cache entirely: no stale reads while
 *   invalidations cannot arrive;
 * - bounded: beyond `maxEntries` the least recently used entry goes (a hit moves its entry to
 *   the young end, so a tenant polled in rotation stays while one that stopped polling ages out);
 * - `ttlOf(value)` (optional) gives an entry its own lifetime (0: not stored), e.g. shorter for
 *   a value whose age matters (docs/decisions/230).
 */
export interface TtlCacheOptions<V = unknown> {
  ttlMs: number
  ttlOf?: (value: V) => number
  maxEntries?: number
  now?: () => number
  enabled?: () => boolean
}

interface Entry<V> {
  value: V
  expiresAt: number
}

interface Flight<V> {
  promise: Promise<V>
  poisoned: boolean
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>()
  private readonly flights = new Map<string, Flight<V>>()
  private readonly ttlMs: number
  private readonly ttlOf: ((value: V) => number) | undefined
  private readonly maxEntries: number
  private readonly now: () => number
  private readonly isEnabled: () => boolean
  /** Hits and misses, for the bench and tests. */
  readonly stats = { hits: 0, misses: 0, invalidations: 0 }

  constructor(opts: TtlCacheOptions<V>) {
    this.ttlMs = opts.ttlMs
    this.ttlOf = opts.ttlOf
    this.maxEntries = opts.maxEntries ?? 10_000
    this.now = opts.now ?? Date.now
    this.isEnabled = opts.enabled ?? (() => true)
  }

  get size(): number {
    return this.entries.size
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0 || !this.isEnabled()) return load()
    const hit = this.entries.get(key)
    if (hit) {
      if (hit.expiresAt > this.now()) {
        this.stats.hits++
        // Least recently used goes first: a hit makes the entry the youngest.
        this.entries.delete(key)
        this.entries.set(key, hit)
        return hit.value
      }
      this.entries.delete(key)
    }
    const running = this.flights.get(key)
    if (running) return running.promise
    this.stats.misses++
    const flight: Flight<V> = { promise: Promise.resolve() as Promise<unknown> as Promise<V>, poisoned: false }
    flight.promise = (async () => {
      try {
        const value = await load()
        if (!flight.poisoned && this.isEnabled()) this.store(key, value)
        return value
      } finally {
        if (this.flights.get(key) === flight) this.flights.delete(key)
      }
    })()
    this.flights.set(key, flight)
    return flight.promise
  }

  private store(key: string, value: V): void {
    this.entries.delete(key)
    const ttl = this.ttlOf ? Math.min(this.ttlMs, this.ttlOf(value)) : this.ttlMs
    if (ttl <= 0) return
    this.entries.set(key, { value, expiresAt: this.now() + ttl })
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }

  invalidate(key: string): void {
    this.stats.invalidations++
    this.entries.delete(key)
    const flight = this.flights.get(key)
    if (flight) {
      flight.poisoned = true
      this.flights.delete(key)
    }
  }

  /** Invalidates every key for which `match(key, value)` holds (values of in-flight loads are unknown: poisoned). */
  invalidateWhere(match: (key: string, value: V | undefined) => boolean): void {
    this.stats.invalidations++
    for (const [key, entry] of this.entries) if (match(key, entry.value)) this.entries.delete(key)
    for (const [key, flight] of this.flights) {
      if (match(key, undefined)) {
        flight.poisoned = true
        this.flights.delete(key)
      }
    }
  }

  /** Lets `change` edit, in place, every stored value whose key matches (in-flight loads are left alone). */
  forEachWhere(match: (key: string) => boolean, change: (value: V) => void): void {
    for (const [key, entry] of this.entries) if (match(key)) change(entry.value)
  }

  flush(): void {
    this.stats.invalidations++
    this.entries.clear()
    for (const flight of this.flights.values()) flight.poisoned = true
    this.flights.clear()
  }
}
