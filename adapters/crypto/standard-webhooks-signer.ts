import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import type { WebhookSigner } from '../../domain/ports/webhook-signer'

/** Standard Webhooks signing with the reference library (`standardwebhooks`, decision 181). */
export class StandardWebhooksSigner implements WebhookSigner {
  newSecret(): string {
    // 32 bytes: the HMAC-SHA256 key size; standard base64, which the library decodes.
    return `whsec_${randomBytes(32).toString('base64')}`
  }

  sign(secret: string, message: { id: string; timestamp: Date; body: string }): string {
    return new Webhook(secret).sign(message.id, message.timestamp, message.body)
  }
}
