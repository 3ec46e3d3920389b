/**
 * The current time. The domain never calls `new Date()` itself, so tests control time.
 *
 * @example
 * const startedAt = deps.clock.now()
 */
export interface Clock {
  /** Wall-clock time now. Safe to log. */
  now(): Date
}
