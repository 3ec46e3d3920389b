import type { ConnectionRecord } from '../ports/connection-repository'
import type { LinkOutcome } from '../ports/link-outcomes'
import type { LinkedAccount } from './linked-account'
import type { InstanceCredentials } from '../ports/whatsapp-provider'
import { claimInstance, ensureWebhook } from './claim-instance'
import { derivePhase, transition } from './connection-machine'
import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { actorLabel } from './whatsapp-deps'
import { addSeconds, credentialsOfInstance, encryptConfig, errorSummary } from './use-case-helpers'
import { recordFailedLogout } from './quarantine'
import { recordObservation } from './record-observation'
import { AlreadyConnectedError, UpstreamUnavailableError, WrongNumberError, isDomainError } from './whatsapp.errors'

export interface PreparedLinkAttempt {
  tenantId: string
  creds: InstanceCredentials
  instanceId: string
  startedAt: Date
  /** The number this attempt expects (E.164), or null: any phone (decision 200). */
  expectedPhone: string | null
}

/**
 * Steps shared by QR and pairing-code linking, after the gate and the rate limit:
 * refuse when connected → claim an instance → webhook once. The attempt itself is only
 * (re)started by `startLinkAttempt`, once Green-API produced a QR or a code: a failed request
 * must not restart the attempt's clock.
 */
export async function prepareLinkAttempt(
  deps: WhatsAppDeps,
  input: { tenantId: string; publicUrl: string; expectedPhone?: string | null | undefined },
): Promise<PreparedLinkAttempt> {
  const now = deps.clock.now()
  const existing = await deps.connections.findByTenant(input.tenantId)
  const next = transition(derivePhase(existing, now), { type: 'linkStarted' })
  if (!next.ok) throw new AlreadyConnectedError()

  const instance = await claimInstance(deps, input.tenantId)
  const creds = credentialsOfInstance(deps, instance)
  if (instance.needsLogout) await resetQuarantinedInstance(deps, instance.id, creds, input.tenantId)
  await ensureWebhook(deps, instance, creds, input.tenantId, input.publicUrl)
  // Not given while an attempt runs (a QR renewal): the attempt keeps the number it expects.
  const expectedPhone =
    input.expectedPhone !== undefined
      ? input.expectedPhone
      : derivePhase(existing, now) === 'linking'
        ? (existing?.expectedPhone ?? null)
        : null
  return { tenantId: input.tenantId, creds, instanceId: instance.id, startedAt: now, expectedPhone }
}

/** Stores the credentials encrypted and (re)starts the link attempt's clock. */
export async function startLinkAttempt(deps: WhatsAppDeps, prepared: PreparedLinkAttempt): Promise<ConnectionRecord> {
  return deps.connections.saveLinkAttempt({
    tenantId: prepared.tenantId,
    instanceId: prepared.instanceId,
    encryptedConfig: encryptConfig(deps, prepared.tenantId, prepared.creds),
    linkStartedAt: prepared.startedAt,
    linkExpiresAt: addSeconds(prepared.startedAt, deps.config.linkAttemptMinutes * 60),
    expectedPhone: prepared.expectedPhone,
  })
}

/**
 * The instance was released while its phone may still be linked (the previous holder's logout
 * failed). Log it out before this tenant links, or the tenant would inherit the previous
 * tenant's WhatsApp session; if that fails, give the instance back (still quarantined).
 */
async function resetQuarantinedInstance(
  deps: WhatsAppDeps,
  instanceId: string,
  creds: InstanceCredentials,
  tenantId: string,
): Promise<void> {
  try {
    await deps.provider.logout(creds)
  } catch (err) {
    deps.logger.warn({ tenantId, instanceId, err: errorSummary(err) }, 'quarantined instance could not be logged out')
    await deps.instances.release(instanceId, tenantId, { needsLogout: true })
    await recordFailedLogout(deps, instanceId, err)
    throw new UpstreamUnavailableError('The WhatsApp instance could not be reset for this account; try again shortly', {
      retryAfterSeconds: 10,
    })
  }
  await deps.instances.markLoggedOut(instanceId, tenantId)
}

/**
 * Green-API said the instance is already linked (`alreadyLogged`): record it as authorized with
 * its account (best effort), publish, and throw `AlreadyConnectedError`.
 */
export async function recordAlreadyLinked(deps: WhatsAppDeps, tenantId: string, creds: InstanceCredentials): Promise<never> {
  let account: LinkedAccount | null = null
  try {
    account = await deps.provider.getLinkedAccount(creds)
  } catch (err) {
    deps.logger.warn({ tenantId, err: errorSummary(err) }, 'linked account lookup failed')
  }
  const result = await recordObservation(deps, tenantId, {
    status: 'authorized',
    ...(account ? { account } : {}),
    checkedAt: deps.clock.now(),
    source: 'link',
  })
  const refused = result.outcome === 'missing' ? null : result.record.wrongNumber
  if (refused) throw new WrongNumberError(refused.expectedPhone, refused.actualPhoneMasked)
  throw new AlreadyConnectedError()
}

/** Audits the outcome of a use case: success with details, or the error code (denied/failure). */
export async function audited<T>(
  deps: WhatsAppDeps,
  entry: { actor: Actor; tenantId: string; action: string; ip?: string | undefined },
  run: () => Promise<{ result: T; details?: Record<string, unknown> }>,
): Promise<T> {
  const base = { actor: actorLabel(entry.actor), tenantId: entry.tenantId, action: entry.action, ip: entry.ip ?? null }
  let outcome: { result: T; details?: Record<string, unknown> }
  try {
    outcome = await run()
  } catch (err) {
    await appendSafely(deps, {
      ...base,
      outcome: isDenial(err) ? 'denied' : 'failure',
      details: { error: errorSummary(err).code },
    })
    throw err
  }
  await appendSafely(deps, { ...base, outcome: 'success', details: outcome.details ?? {} })
  return outcome.result
}

/** Refused by policy (add-on off, rate limit) rather than failed. */
function isDenial(err: unknown): boolean {
  return isDomainError(err) && (err.code === 'WHATSAPP_DISABLED' || err.code === 'RATE_LIMITED')
}

/** A QR or pairing-code request: audited like any use case, and its outcome counted once. */
export async function auditedLinkRequest<T>(
  deps: WhatsAppDeps,
  entry: Parameters<typeof audited>[1],
  run: () => Promise<{ result: T; details?: Record<string, unknown> }>,
): Promise<T> {
  let result: T
  try {
    result = await audited(deps, entry, run)
  } catch (err) {
    deps.linkOutcomes.record(requestOutcomeOf(err))
    throw err
  }
  deps.linkOutcomes.record('generated')
  return result
}

function requestOutcomeOf(err: unknown): LinkOutcome {
  if (isDomainError(err) && err.code === 'ALREADY_CONNECTED') return 'already_connected'
  return isDenial(err) ? 'denied' : 'error'
}

async function appendSafely(deps: WhatsAppDeps, entry: Parameters<WhatsAppDeps['audit']['append']>[0]): Promise<void> {
  try {
    await deps.audit.append(entry)
  } catch (err) {
    deps.logger.error({ action: entry.action, tenantId: entry.tenantId, err: errorSummary(err) }, 'audit append failed')
  }
}
