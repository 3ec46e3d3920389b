/**
 * One counter a sign-in attempt is charged to. A window starts at the key's first failure and
 * lasts `windowSeconds`; within it at most `limit` attempts are let through. With `delay`, after
 * `freeFailures` failures each further one makes the next attempt wait
 * `baseSeconds · 2^(failures − freeFailures)`, at most `maxSeconds` (progressive delay).
 */
export interface ThrottleRule {
  key: string
  limit: number
  windowSeconds: number
  delay?: { freeFailures: number; baseSeconds: number; maxSeconds: number }
  /** A successful sign-in forgets this key's failures (instead of only refunding its own attempt). */
  clearOnSuccess?: boolean
}

export type ThrottleReservation = { allowed: true } | { allowed: false; retryAfterSeconds: number }

/**
 * Login throttling shared by every app process. Attempts are reserved BEFORE the password is
 * checked, all rules at once and atomically: concurrent attempts can never all see "below the
 * limit" and all get through. A reserved attempt counts as a failure unless `succeeded` refunds it.
 */
export interface LoginThrottle {
  /** Charges one attempt to every rule, or to none when one of them is exhausted. */
  reserve(rules: ThrottleRule[]): Promise<ThrottleReservation>
  /** The reserved attempt was a successful sign-in: refund it (and clear `clearOnSuccess` keys). */
  succeeded(rules: ThrottleRule[]): Promise<void>
  /** Whether `key` (an account + address pair) signed in successfully within `maxAgeSeconds`. */
  isKnownAddress(key: string, maxAgeSeconds: number): Promise<boolean>
  rememberAddress(key: string): Promise<void>
}
