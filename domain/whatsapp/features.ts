import type { FeatureFlags, HandleUpgradeOutcome } from '../ports/feature-store'
import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { actorLabel } from './whatsapp-deps'
import { WhatsAppDisabledError } from './whatsapp.errors'

/**
 * Flags of a tenant without a `tenant_features` row: the column defaults of the migration
 * (WhatsApp Pro is a paid add-on, so it is off; SMS and e-mail are included). See
 * docs/decisions/012-features-without-row.md.
 */
export const DEFAULT_FEATURE_FLAGS: Readonly<FeatureFlags> = Object.freeze({
  whatsapp_enabled: false,
  sms_enabled: true,
  email_enabled: true,
})

/** `GET /api/settings/features`: the tenant's flags (defaults when it has no row). */
export async function getFeatures(deps: Pick<WhatsAppDeps, 'features'>, input: { tenantId: string }): Promise<FeatureFlags> {
  const flags = await deps.features.getFlags(input.tenantId)
  return flags ? { ...flags } : { ...DEFAULT_FEATURE_FLAGS }
}

/**
 * The feature gate: throws `WhatsAppDisabledError` unless the tenant has WhatsApp Pro.
 * Touches only the feature store, never the provider.
 */
export async function requireWhatsAppEnabled(deps: Pick<WhatsAppDeps, 'features'>, input: { tenantId: string }): Promise<void> {
  const flags = await getFeatures(deps, input)
  if (!flags.whatsapp_enabled) throw new WhatsAppDisabledError()
}

export type RequestUpgradeResult = { status: 'recorded' | 'already_pending' | 'already_enabled' }

/** "Activer WhatsApp Pro": records an upgrade request for operators (idempotent while open). */
export async function requestUpgrade(
  deps: Pick<WhatsAppDeps, 'features' | 'audit'>,
  input: { tenantId: string; actor: Actor; ip?: string },
): Promise<RequestUpgradeResult> {
  const flags = await getFeatures(deps, input)
  if (flags.whatsapp_enabled) return { status: 'already_enabled' }
  const outcome = await deps.features.recordUpgradeRequest({
    tenantId: input.tenantId,
    feature: 'whatsapp',
    requestedBy: input.actor.kind === 'user' ? input.actor.userId : null,
  })
  await deps.audit.append({
    actor: actorLabel(input.actor),
    tenantId: input.tenantId,
    action: 'whatsapp.upgrade_request',
    outcome: 'success',
    ip: input.ip ?? null,
    details: { result: outcome },
  })
  return { status: outcome }
}

/**
 * Switches features of a tenant (the operator CLI today; a billing page tomorrow) and audits
 * `features.set` with the flags before and after.
 */
export async function setFeatureFlags(
  deps: Pick<WhatsAppDeps, 'features' | 'audit'>,
  input: { tenantId: string; changes: Partial<FeatureFlags>; actor: Actor; ip?: string },
): Promise<{ before: FeatureFlags; after: FeatureFlags }> {
  const change = await deps.features.changeFlags(input.tenantId, input.changes)
  await deps.audit.append({
    actor: actorLabel(input.actor),
    tenantId: input.tenantId,
    action: 'features.set',
    outcome: 'success',
    ip: input.ip ?? null,
    details: { before: change.before, after: change.after },
  })
  return change
}

/**
 * Marks an upgrade request handled (with `enable`, WhatsApp Pro goes on in the same step) and
 * audits `whatsapp.upgrade_handled` when it was open.
 */
export async function handleUpgradeRequest(
  deps: Pick<WhatsAppDeps, 'features' | 'audit'>,
  input: { requestId: string; enable: boolean; actor: Actor },
): Promise<HandleUpgradeOutcome> {
  const outcome = await deps.features.handleUpgradeRequest(input.requestId, { enable: input.enable })
  if (outcome.kind === 'handled') {
    await deps.audit.append({
      actor: actorLabel(input.actor),
      tenantId: outcome.tenantId,
      action: 'whatsapp.upgrade_handled',
      outcome: 'success',
      ip: null,
      details: { upgrade_request_id: input.requestId, feature: outcome.feature, enabled: input.enable },
    })
  }
  return outcome
}
