export interface RateLimitDecision {
  allowed: boolean
  /** Seconds until a hit would be accepted again (≥ 1 when not allowed, 0 when allowed). */
  retryAfterSeconds: number
}

/**
 * Sliding-window limits shared by every app process: at most `limit` accepted hits in any span
 * of `windowSeconds` (never twice the limit around a clock boundary); refused hits do not count.
 * Keys contain tenant ids only (e.g. `wa:qr:macrea`), never tokens or phone numbers.
 */
export interface RateLimiter {
  /**
   * Counts one hit on `key` and says whether it is within `limit` accepted hits over the last
   * `windowSeconds` (the `limit`-th hit is allowed, the next is not until the oldest leaves).
   *
   * @example
   * const { allowed, retryAfterSeconds } = await limiter.hit('wa:qr:macrea', 10, 60)
   */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>
}
