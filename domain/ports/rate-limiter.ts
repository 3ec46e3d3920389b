export interface RateLimitDecision {
  allowed: boolean
  /** Seconds until the current window ends (≥ 1 when not allowed, 0 when allowed is fine). */
  retryAfterSeconds: number
}

/**
 * Fixed-window counters shared by every app process.
 * Keys contain tenant ids only (e.g. `wa:qr:macrea`), never tokens or phone numbers.
 */
export interface RateLimiter {
  /**
   * Counts one hit on `key` in the current window of `windowSeconds` and says whether it is
   * within `limit` (the `limit`-th hit is allowed, the next is not).
   *
   * @example
   * const { allowed, retryAfterSeconds } = await limiter.hit('wa:qr:macrea', 10, 60)
   */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>
}
