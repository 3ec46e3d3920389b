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
