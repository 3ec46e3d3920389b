import type { ConnectionRecord } from '../ports/connection-repository'
import type { SecretLocation } from '../ports/credential-vault'
import type { InstanceRecord } from '../ports/instance-allocator'
import type { InstanceCredentials } from '../ports/whatsapp-provider'
import { z } from 'zod'
import type { RateLimitRule, WhatsAppDeps } from './whatsapp-deps'
import { CredentialDecryptError, RateLimitedError, isDomainError } from './whatsapp.errors'

// Helpers shared by the use cases. Not part of the public surface.

export const INSTANCE_TOKEN_LOCATION: SecretLocation = {
  tenantId: '_system',
  table: 'wa_instances',
  column: 'encrypted_token',
}

/**
 * Webhook tokens are instance secrets like the API token (`_system`, as the key-rotation job
 * `adapters/kysely/kysely-secret-rows.ts` expects). A token never outlives its claim: release
 * clears it and the next claim generates a new one, so it cannot be replayed by a former tenant.
 */
export const WEBHOOK_TOKEN_LOCATION: SecretLocation = {
  tenantId: '_system',
  table: 'wa_instances',
  column: 'encrypted_webhook_token',
}

export function configLocation(tenantId: string): SecretLocation {
  return { tenantId, table: 'tenant_provider_configs', column: 'encrypted_config' }
}

const StoredConfigSchema = z.object({
  instanceId: z.string().min(1),
  apiToken: z.string().min(1),
  apiUrl: z.string().min(1),
})

/**
 * Decrypts the tenant's `encrypted_config`; any failure (missing key, tamper, wrong row, bad
 * JSON) → CredentialDecryptError, logged at error level with the envelope's key id.
 */
export function credentialsOf(deps: Pick<WhatsAppDeps, 'vault' | 'logger'>, record: ConnectionRecord): InstanceCredentials {
  const where = { tenantId: record.tenantId, instanceId: record.instanceId, column: 'tenant_provider_configs.encrypted_config' }
  let plaintext: string
  try {
    plaintext = deps.vault.decrypt(record.encryptedConfig, configLocation(record.tenantId))
  } catch (err) {
    throw unreadable(deps, where, err)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(plaintext)
  } catch (err) {
    throw unreadable(deps, where, err)
  }
  const result = StoredConfigSchema.safeParse(parsed)
  if (!result.success) throw unreadable(deps, where, null)
  return result.data
}

/**
 * The one log line of an unreadable credential: error level (an operator must act: restore the
 * key in WA_ENCRYPTION_KEYS or re-link), with where it is and the key id — never the envelope.
 */
function unreadable(
  deps: Pick<WhatsAppDeps, 'logger'>,
  where: Record<string, string | null>,
  err: unknown,
): CredentialDecryptError {
  const keyId = err instanceof CredentialDecryptError ? err.keyId : undefined
  deps.logger.error(
    { ...where, keyId: keyId ?? null },
    'stored credentials cannot be decrypted (key missing from the key ring, or the row was altered)',
  )
  return new CredentialDecryptError({ keyId })
}

export function encryptConfig(deps: WhatsAppDeps, tenantId: string, creds: InstanceCredentials): string {
  const json = JSON.stringify({ instanceId: creds.instanceId, apiToken: creds.apiToken, apiUrl: creds.apiUrl })
  return deps.vault.encrypt(json, configLocation(tenantId))
}

/** Decrypts an instance's API token (stored under the `_system` location). */
export function credentialsOfInstance(deps: WhatsAppDeps, instance: InstanceRecord): InstanceCredentials {
  try {
    const apiToken = deps.vault.decrypt(instance.encryptedToken, INSTANCE_TOKEN_LOCATION)
    return { instanceId: instance.id, apiToken, apiUrl: instance.apiUrl }
  } catch (err) {
    throw unreadable(deps, { tenantId: instance.tenantId, instanceId: instance.id, column: 'wa_instances.encrypted_token' }, err)
  }
}

export async function enforceRateLimit(deps: Pick<WhatsAppDeps, 'rateLimiter'>, key: string, rule: RateLimitRule): Promise<void> {
  const decision = await deps.rateLimiter.hit(key, rule.limit, rule.windowSeconds)
  if (!decision.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(decision.retryAfterSeconds)))
}

/** Code + message of an error, safe to log and audit (domain errors never carry secrets). */
export function errorSummary(err: unknown): { code: string; message?: string } {
  if (isDomainError(err)) return { code: err.code, message: err.message }
  return { code: 'UNEXPECTED' }
}

export function addSeconds(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000)
}

/** Runs `fn` on each item with at most `limit` in flight. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return results
}
