/**
 * Cryptographic randomness and comparison for the domain, which cannot import `node:crypto`.
 * Generated values are secrets: never log them, never put them in errors or audit details.
 */
export interface SecretGenerator {
  /**
   * A fresh random token, URL-safe, with at least `bytes` (default 32) bytes of entropy.
   *
   * @example
   * const webhookToken = secrets.randomToken() // e.g. "q3Z…" (base64url, 43 chars)
   */
  randomToken(bytes?: number): string

  /**
   * Constant-time string equality (time does not depend on where the strings differ; a length
   * mismatch returns false without short-circuiting on content).
   *
   * @example
   * secrets.safeEqual(presented, stored) // true | false
   */
  safeEqual(a: string, b: string): boolean
}
