import type { InstanceRecord } from '../ports/instance-allocator'
import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { actorLabel } from './whatsapp-deps'
import { credentialsOf, errorSummary } from './use-case-helpers'
import { audited } from './link-attempt'
import { recordFailedLogout } from './quarantine'
import { recordUnlinked } from './record-observation'

export interface DisconnectResult {
  /** True when there was nothing to disconnect (second call, never linked). */
  alreadyDisconnected: boolean
}

/**
 * `POST /api/wa/disconnect`, idempotent. Order chosen so a crash at any step leaves consistent
 * rows: logout upstream (best effort: a failure is logged and audited, not thrown) → delete the
 * provider row + timeline (one transaction) and publish → release the instance
 * (pool/shared/simulator) or keep it for the next link (partner: `deleteNumber` removes it). A leftover claim without a provider row
 * (crash between the last two steps) is released by the next call. Not feature-gated here: a
 * tenant whose add-on was switched off must still be able to unlink.
 */
export async function disconnect(
  deps: WhatsAppDeps,
  input: { tenantId: string; actor: Actor; ip?: string },
): Promise<DisconnectResult> {
  const { tenantId } = input
  return audited<DisconnectResult>(
    deps,
    { actor: input.actor, tenantId, action: 'whatsapp.disconnect', ip: input.ip },
    async () => {
      const record = await deps.connections.findByTenant(tenantId)
      if (!record) {
        const leftover = await deps.instances.findClaimedBy(tenantId)
        // A claim without a provider row (crash mid-link): its link state is unknown, so the next
        // claimer must log it out first.
        if (leftover) await releaseInstance(deps, leftover, tenantId, { needsLogout: true })
        return { result: { alreadyDisconnected: true }, details: { alreadyDisconnected: true } }
      }

      // Green-API echoes the logout we ask for; entries it leaves are ours (DeleteOptions).
      const ourLogoutSince = deps.clock.now()
      let logout: 'ok' | 'failed' = 'ok'
      let logoutError: unknown
      try {
        await deps.provider.logout(credentialsOf(deps, record))
      } catch (err) {
        logout = 'failed'
        logoutError = err
        const summary = errorSummary(err)
        deps.logger.warn({ tenantId, instanceId: record.instanceId, err: summary }, 'logout failed; disconnecting anyway')
        try {
          await deps.audit.append({
            actor: actorLabel(input.actor),
            tenantId,
            action: 'whatsapp.logout',
            outcome: 'failure',
            ip: input.ip ?? null,
            details: { instanceId: record.instanceId, error: summary.code },
          })
        } catch {
          // The disconnect entry below still records `logout: 'failed'`.
        }
      }

      await recordUnlinked(deps, tenantId, { ourLogoutSince })
      const instance = await deps.instances.findById(record.instanceId)
      // A failed logout leaves the phone linked upstream: quarantine the instance so the next
      // tenant cannot inherit this tenant's WhatsApp session (see prepareLinkAttempt).
      if (instance && instance.tenantId === tenantId) {
        await releaseInstance(
          deps,
          instance,
          tenantId,
          logout === 'failed' ? { needsLogout: true, failure: logoutError } : { needsLogout: false },
        )
      }
      return { result: { alreadyDisconnected: false }, details: { instanceId: record.instanceId, logout } }
    },
  )
}

/**
 * Per mode: partner → kept (the tenant's own instance: "Déconnecter" only logs the phone out, the
 * number can be linked again on it; "Supprimer le numéro" deletes it, decision 211); others →
 * release.
 */
async function releaseInstance(
  deps: WhatsAppDeps,
  instance: InstanceRecord,
  tenantId: string,
  options: { needsLogout: boolean; failure?: unknown },
): Promise<void> {
  if (instance.mode === 'partner') return
  await deps.instances.release(instance.id, tenantId, { needsLogout: options.needsLogout })
  // The failed logout is the quarantine's first failure: it schedules the background retry.
  if (options.failure !== undefined) await recordFailedLogout(deps, instance.id, options.failure)
}
