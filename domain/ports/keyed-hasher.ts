/**
 * Keyed hashes (HMAC) of values that must be compared later without being stored in clear or
 * hashed plainly (a plain hash of a short text or a phone number is a dictionary away from it):
 * the idempotency fingerprint of `POST /api/wa/messages`. The output names its key
 * (`<keyId>.<base64url>`), so a hash written before a key rotation still verifies while that key
 * is in the ring.
 */
export interface KeyedHasher {
  /** Hash of `value` for `purpose` and tenant, with the current key. */
  hash(purpose: string, tenantId: string, value: string): string
  /** True when `hashed` is the hash of `value` (for `purpose` and tenant) under the key it names. */
  verify(hashed: string, purpose: string, tenantId: string, value: string): boolean
}
