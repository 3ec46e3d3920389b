/**
 * Standard Webhooks signatures (adapters/crypto/standard-webhooks-signer.ts, the
 * `standardwebhooks` library). Secrets are `whsec_<base64>`: never log them.
 */
export interface WebhookSigner {
  /** A fresh signing secret, `whsec_` + base64 of 32 random bytes. */
  newSecret(): string
  /**
   * The `webhook-signature` header value (`v1,<base64 HMAC-SHA256>`) of `body` sent as `id` at `timestamp`.
   *
   * @example
   * const signature = signer.sign(secret, { id: 'msg_…', timestamp: now, body })
   */
  sign(secret: string, message: { id: string; timestamp: Date; body: string }): string
}
