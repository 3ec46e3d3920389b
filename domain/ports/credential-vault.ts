/**
 * Where in the database a secret lives. Bound into the AEAD associated data, so a ciphertext
 * copied to another tenant's row, another table or another column fails to decrypt.
 */
export interface SecretLocation {
  /** Tenant the secret belongs to; `_system` for secrets not owned by a tenant (pool tokens). */
  tenantId: string
  table: string
  column: string
}

/**
 * Encrypts small secrets (Green-API credentials, webhook tokens) for storage.
 * Output format: `v1.<keyId>.<base64url(iv|ciphertext|tag)>`. Implementations must never log
 * plaintexts, keys or ciphertexts, and must throw `CredentialDecryptError` (no detail that
 * helps an attacker) on any tampering, wrong location or unknown key.
 */
export interface CredentialVault {
  encrypt(plaintext: string, at: SecretLocation): string
  decrypt(envelope: string, at: SecretLocation): string
  /** True when the envelope was written with a key other than the current one. */
  needsReencryption(envelope: string): boolean
  /** Id of the key new envelopes are written with. */
  currentKeyId(): string
}
