import type { WhatsAppDeps } from './whatsapp-deps'

/**
 * The one Green-API instance a tenant may act on directly (the `/dev/simulator` control page),
 * or null: the instance the tenant holds now (`wa_instances.tenant_id`), else the one
 * its provider row still names (it last held it: e.g. released after a failed reset) as long as
 * no other tenant has claimed it since. A free instance the tenant never held, or held before a
 * disconnect (its row is gone), is nobody's here: driving it would prime the next claimer's
 * state. Operators reach every instance through the CLI instead.
 */
export async function tenantInstanceId(
  deps: Pick<WhatsAppDeps, 'instances' | 'connections'>,
  input: { tenantId: string },
): Promise<string | null> {
  const held = await deps.instances.findClaimedBy(input.tenantId)
  if (held) return held.id
  const row = await deps.connections.findByTenant(input.tenantId)
  if (!row) return null
  const instance = await deps.instances.findById(row.instanceId)
  if (!instance || (instance.tenantId !== null && instance.tenantId !== input.tenantId)) return null
  return instance.id
}
