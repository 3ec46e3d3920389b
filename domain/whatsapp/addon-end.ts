import type { WhatsAppDeps } from './whatsapp-deps'
import { disconnect } from './disconnect'
import { deleteNumber } from './lifecycle'
import { WhatsAppDisabledError } from './whatsapp.errors'

const DAY_MS = 86_400_000

/** How a tenant's WhatsApp Pro ended, while it is off: when, and when its number is unlinked. */
export interface AddonEnd {
  endedAt: Date
  /** `endedAt` + the grace (`config.addonGraceDays`): the scheduled unlink. */
  unlinkAt: Date
}

/** Null while WhatsApp Pro is on (or was never on). */
export async function addonEndOf(
  deps: Pick<WhatsAppDeps, 'features' | 'config'>,
  input: { tenantId: string },
): Promise<AddonEnd | null> {
  const endedAt = await deps.features.whatsappEndedAt(input.tenantId)
  if (!endedAt) return null
  return { endedAt, unlinkAt: new Date(endedAt.getTime() + deps.config.addonGraceDays * DAY_MS) }
}

/**
 * The gate of the status answer: WhatsApp Pro on → null; off while the tenant still has a number
 * (or a link attempt) in its grace → how it ended, so the answer can say when the number will be
 * unlinked; otherwise `WhatsAppDisabledError` (403), as before.
 */
export async function requireWhatsAppOrGrace(
  deps: Pick<WhatsAppDeps, 'features' | 'connections' | 'config'>,
  input: { tenantId: string },
): Promise<AddonEnd | null> {
  const flags = await deps.features.getFlags(input.tenantId)
  if (flags?.whatsapp_enabled) return null
  const end = await addonGraceOf(deps, input)
  if (end) return end
  throw new WhatsAppDisabledError()
}

/**
 * While WhatsApp Pro is off: how it ended, if the tenant still has a number (or a link attempt)
 * that the grace keeps; null otherwise (on, never on, or nothing left to unlink).
 */
export async function addonGraceOf(
  deps: Pick<WhatsAppDeps, 'features' | 'connections' | 'config'>,
  input: { tenantId: string },
): Promise<AddonEnd | null> {
  const end = await addonEndOf(deps, input)
  return end && (await deps.connections.findByTenant(input.tenantId)) ? end : null
}

/** Tenants handled per run; the next run (or the same run's job again) takes the rest. */
const BATCH = 100

/**
 * The scheduled `wa.unlink-after-addon-end` job: a tenant whose WhatsApp Pro ended more than
 * `config.addonGraceDays` ago and that still holds an instance is disconnected as
 * `system:billing` — logged out upstream, its row and credentials deleted, the instance released
 * (partner mode: `deleteNumber`, deleted upstream, which stops its billing). The same use cases as
 * the page's button, so a failed logout quarantines the instance as it would there. A tenant
 * switched back on since the list was read is left alone. Returns the tenants unlinked.
 */
export async function unlinkAfterAddonEnd(deps: WhatsAppDeps): Promise<{ unlinked: string[] }> {
  const cutoff = new Date(deps.clock.now().getTime() - deps.config.addonGraceDays * DAY_MS)
  const due = await deps.features.endedWhileHoldingInstance(cutoff, BATCH)
  const unlinked: string[] = []
  for (const tenantId of due) {
    const flags = await deps.features.getFlags(tenantId)
    if (flags?.whatsapp_enabled) continue
    const actor = { kind: 'system', name: 'billing' } as const
    // Partner mode: "Déconnecter" keeps the tenant's instance (and its billing), so the grace
    // ends with "Supprimer le numéro" instead (decision 211).
    if (deps.config.instanceMode === 'partner') await deleteNumber(deps, { tenantId, actor })
    else await disconnect(deps, { tenantId, actor })
    unlinked.push(tenantId)
  }
  if (unlinked.length > 0) deps.logger.info({ count: unlinked.length }, 'unlinked numbers after the add-on ended')
  return { unlinked }
}
