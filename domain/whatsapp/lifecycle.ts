import type { ConnectionRecord } from '../ports/connection-repository'
import type { InstanceRecord } from '../ports/instance-allocator'
import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { derivePhase } from './connection-machine'
import { requireWhatsAppEnabled } from './features'
import { audited } from './link-attempt'
import { recordObservation, recordUnlinked } from './record-observation'
import { credentialsOf, credentialsOfInstance, enforceRateLimit, errorSummary } from './use-case-helpers'
import { NotConnectedError, PartnerModeOnlyError, RebootNotNeededError } from './whatsapp.errors'

// Reboot and remove (issue #16, decisions 210–212): the instance's own lifecycle, beside the
// link flow. A reboot unsticks an instance left in `starting` (or `sleepMode`); in partner mode
// "Supprimer le numéro" deletes the tenant's instance upstream (its billing stops) and every
// credential we stored for it, while "Déconnecter" only logs the phone out.

/** The states a reboot is offered for: Green-API's own advice for an instance that stays there. */
export const REBOOTABLE_STATES = ['starting', 'sleepMode'] as const

function isRebootable(status: string): boolean {
  return (REBOOTABLE_STATES as readonly string[]).includes(status)
}

/**
 * `POST /api/wa/reboot`: gate → the stored state must be `starting` or `sleepMode` (else
 * `RebootNotNeededError`, 409; no row: `NotConnectedError`) → rate limit (a refused state costs no
 * slot) → Green-API `reboot`. Audited as `whatsapp.reboot`. The instance then passes through
 * `starting` and comes back: its webhook and the background reconcile record that, as for any
 * state change.
 */
export async function rebootInstance(
  deps: WhatsAppDeps,
  input: { tenantId: string; actor: Actor; ip?: string },
): Promise<{ instanceId: string }> {
  const { tenantId } = input
  return audited(deps, { actor: input.actor, tenantId, action: 'whatsapp.reboot', ip: input.ip }, async () => {
    await requireWhatsAppEnabled(deps, { tenantId })
    const record = await deps.connections.findByTenant(tenantId)
    if (!record) throw new NotConnectedError()
    if (!isRebootable(record.status)) throw new RebootNotNeededError(record.status)
    await enforceRateLimit(deps, `wa:reboot:${tenantId}`, deps.config.rateLimits.reboot)
    await deps.provider.reboot(credentialsOf(deps, record))
    return { result: { instanceId: record.instanceId }, details: { instanceId: record.instanceId, from: record.status } }
  })
}

export interface DeleteNumberResult {
  /** True when the tenant had no instance left (second call, never linked). */
  alreadyDeleted: boolean
}

/**
 * `POST /api/wa/delete-instance` ("Supprimer le numéro"), partner mode only (else
 * `PartnerModeOnlyError`, 409), idempotent. Order, so a retry completes whatever a failure left:
 * logout upstream (best effort: deleting does not unlink the phone, docs/green-api.md#partner-api)
 * → `deleteInstanceAccount` (a failure throws: nothing local is removed, the tenant retries) →
 * the provider row and its timeline entry (credentials) → the instance row (its token). Audited
 * as `whatsapp.delete_instance`.
 */
export async function deleteNumber(
  deps: WhatsAppDeps,
  input: { tenantId: string; actor: Actor; ip?: string },
): Promise<DeleteNumberResult> {
  const { tenantId } = input
  return audited<DeleteNumberResult>(
    deps,
    { actor: input.actor, tenantId, action: 'whatsapp.delete_instance', ip: input.ip },
    async () => {
      const partner = deps.partner
      if (deps.config.instanceMode !== 'partner' || !partner) throw new PartnerModeOnlyError()
      const instance = await deps.instances.findClaimedBy(tenantId)
      const record = await deps.connections.findByTenant(tenantId)
      if (!instance) {
        // Nothing upstream any more; a row left by a crash after the upstream delete goes now.
        if (record) await recordUnlinked(deps, tenantId)
        return { result: { alreadyDeleted: true }, details: { alreadyDeleted: true } }
      }
      const ourLogoutSince = deps.clock.now()
      const logout = await logoutBestEffort(deps, tenantId, instance, record)
      await partner.deleteInstance(instance.id)
      await recordUnlinked(deps, tenantId, { ourLogoutSince })
      await deps.instances.remove(instance.id, tenantId)
      return { result: { alreadyDeleted: false }, details: { instanceId: instance.id, logout } }
    },
  )
}

async function logoutBestEffort(
  deps: WhatsAppDeps,
  tenantId: string,
  instance: InstanceRecord,
  record: ConnectionRecord | null,
): Promise<'ok' | 'failed' | 'skipped'> {
  // Never linked on this claim: nothing to unlink.
  if (!record || record.status === 'notAuthorized') return 'skipped'
  try {
    await deps.provider.logout(credentialsOfInstance(deps, instance))
    return 'ok'
  } catch (err) {
    deps.logger.warn({ tenantId, instanceId: instance.id, err: errorSummary(err) }, 'logout before delete failed')
    return 'failed'
  }
}

/** What the page offers around the instance: reboot it (stuck), delete it (partner mode, held). */
export interface LifecycleActions {
  reboot: boolean
  deleteNumber: boolean
  /** Partner mode: "Déconnecter" keeps the instance (and its billing) for a new link. */
  partnerMode: boolean
}

export async function lifecycleActionsOf(deps: WhatsAppDeps, input: { tenantId: string }): Promise<LifecycleActions> {
  const partnerMode = deps.config.instanceMode === 'partner'
  const record = await deps.connections.findByTenant(input.tenantId)
  const held = partnerMode ? await deps.instances.findClaimedBy(input.tenantId) : null
  return { reboot: record !== null && isRebootable(record.status), deleteNumber: held !== null, partnerMode }
}

/**
 * Shared mode has one instance for every tenant: an attempt that ran out without linking must
 * not keep it (issue #16, decision 212). Called once the refresher recorded the expiry. When this
 * tenant still holds the instance and its row is still the expired, never-linked attempt, the
 * row goes (a provider row names its instance uniquely, so it could not stay beside another
 * tenant's) and the instance is released. A last-second scan is caught by asking Green-API
 * first (authorized → recorded as linked, kept). The release is always `needsLogout`: should a
 * phone link in the instant between the check and the release, the next claimer logs it out
 * before linking and inherits no session (one cheap logout per release).
 */
export async function releaseExpiredClaim(deps: WhatsAppDeps, row: ConnectionRecord): Promise<'released' | 'kept'> {
  if (deps.config.instanceMode !== 'shared') return 'kept'
  const instance = await deps.instances.findById(row.instanceId)
  if (!instance || instance.tenantId !== row.tenantId) return 'kept'
  try {
    const upstream = await deps.provider.getState(credentialsOfInstance(deps, instance), { once: true })
    if (upstream === 'authorized') {
      await recordObservation(deps, row.tenantId, { status: 'authorized', checkedAt: deps.clock.now(), source: 'poll' })
      return 'kept'
    }
  } catch (err) {
    // Unknown upstream state: released all the same, the next claimer logs it out first.
    deps.logger.warn(
      { tenantId: row.tenantId, instanceId: instance.id, err: errorSummary(err) },
      'state check before release failed',
    )
  }
  // Re-read: the tenant may have started a new attempt meanwhile; that one keeps the instance.
  const current = await deps.connections.findByTenant(row.tenantId)
  if (!current || current.instanceId !== instance.id || derivePhase(current, deps.clock.now()) !== 'linkExpired') return 'kept'
  await recordUnlinked(deps, row.tenantId)
  await deps.instances.release(instance.id, row.tenantId, { needsLogout: true })
  deps.logger.info({ tenantId: row.tenantId, instanceId: instance.id }, 'shared instance released after an expired attempt')
  return 'released'
}
