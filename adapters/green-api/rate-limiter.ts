/**
 * Client-side sliding-window limiter (N calls per window, per key). Green-API answers 429 when an
 * instance exceeds its per-method limit (qr 3/s, getStateInstance 1/s, …), so we pace ourselves
 * instead of burning a request on a refusal.
 *
 * `reserve` books the next free slot synchronously (so concurrent callers queue in order) and
 * tells the caller how long to wait. If that wait does not fit the caller's deadline the slot is
 * not booked.
 */
export class SlidingWindowLimiter {
  private readonly slots = new Map<string, number[]>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly windowMs = 1000,
  ) {}

  /** Returns the wait in ms before the call may go out, or null when it exceeds `maxWaitMs`. */
  reserve(key: string, limit: number, maxWaitMs: number): number | null {
    const now = this.now()
    const booked = (this.slots.get(key) ?? []).filter((t) => t > now - this.windowMs)
    let at = now
    if (booked.length >= limit) {
      // The call at index len-limit must have left the window before ours may start.
      const blocker = booked[booked.length - limit]
      if (blocker !== undefined) at = Math.max(now, blocker + this.windowMs)
    }
    const wait = at - now
    if (wait > maxWaitMs) {
      this.slots.set(key, booked)
      return null
    }
    booked.push(at)
    booked.sort((a, b) => a - b)
    this.slots.set(key, booked)
    return wait
  }
}
