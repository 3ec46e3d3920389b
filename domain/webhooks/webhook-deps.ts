import type { AuditLog } from '../ports/audit-log'
import type { Clock } from '../ports/clock'
import type { CredentialVault, SecretLocation } from '../ports/credential-vault'
import type { IdGenerator } from '../ports/id-generator'
import type { Logger } from '../ports/logger'
import type { WebhookSigner } from '../ports/webhook-signer'
import type { WebhookStore } from '../ports/webhook-store'
import type { WebhookTransport } from '../ports/webhook-transport'

export interface WebhookConfig {
  /** A delivery is retried for this long after its event (or its resend), then exhausted. */
  retryWindowMs: number
  /** The first retry's delay; each next one is `backoffFactor` times longer, up to `maxDelayMs`. */
  firstRetryDelayMs: number
  backoffFactor: number
  maxDelayMs: number
  /** Endpoints per tenant. */
  maxEndpoints: number
}

export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  retryWindowMs: 24 * 3600_000,
  firstRetryDelayMs: 5_000,
  backoffFactor: 4,
  maxDelayMs: 6 * 3600_000,
  maxEndpoints: 10,
}

/** Everything the CRM event use cases talk to (built once by app/core-services.server.ts). */
export interface WebhookDeps {
  store: WebhookStore
  transport: WebhookTransport
  signer: WebhookSigner
  vault: CredentialVault
  clock: Clock
  ids: IdGenerator
  audit: AuditLog
  logger: Logger
  config: WebhookConfig
}

// Where each secret lives in the vault's terms: the row id rides in the column part, so an
// envelope copied to another endpoint, event or attempt of the same tenant fails to decrypt
// (the port's SecretLocation has no row field of its own).
export const endpointSecretAt = (tenantId: string, endpointId: string): SecretLocation => ({
  tenantId,
  table: 'wa_webhook_endpoints',
  column: `secret_encrypted:${endpointId}`,
})
export const eventPayloadAt = (tenantId: string, eventId: string): SecretLocation => ({
  tenantId,
  table: 'wa_webhook_events',
  column: `payload_encrypted:${eventId}`,
})
export const attemptResponseAt = (tenantId: string, attemptId: string): SecretLocation => ({
  tenantId,
  table: 'wa_webhook_attempts',
  column: `response_encrypted:${attemptId}`,
})

/**
 * The delay before retry number `failures` (1 = after the first failed try): 5 s, 20 s, 80 s,
 * 5 min, 21 min, 85 min, 5.7 h, then every 6 h (about 10 tries in the 24 h window).
 */
export function retryDelayMs(config: WebhookConfig, failures: number): number {
  const delay = config.firstRetryDelayMs * config.backoffFactor ** Math.max(0, failures - 1)
  return Math.min(delay, config.maxDelayMs)
}
