import type { PoolRegistration } from '../ports/instance-allocator'
import { INSTANCE_TOKEN_LOCATION } from './use-case-helpers'
import { actorLabel, type Actor, type WhatsAppDeps } from './whatsapp-deps'

/**
 * Registers an operator's pool instance (`npm run ops -- instances add`): the token is stored
 * encrypted (vault location `INSTANCE_TOKEN_LOCATION`, as every instance token), and an added or
 * replaced instance is audited `ops.instance.add` / `ops.instance.replace` here, with the actor.
 * Refusals change and audit nothing; the caller explains them. Inputs (digits id, bare https
 * origin, token shape) are checked by the caller; the token never reaches a log or the audit.
 */
export async function addPoolInstance(
  deps: Pick<WhatsAppDeps, 'instances' | 'vault' | 'audit'>,
  input: { instanceId: string; apiUrl: string; apiToken: string; replace: boolean; actor: Actor },
): Promise<PoolRegistration> {
  const encryptedToken = deps.vault.encrypt(input.apiToken, INSTANCE_TOKEN_LOCATION)
  const result = await deps.instances.registerPool(
    { id: input.instanceId, apiUrl: input.apiUrl, encryptedToken },
    { replace: input.replace },
  )
  if (result.outcome === 'added' || result.outcome === 'replaced') {
    await deps.audit.append({
      actor: actorLabel(input.actor),
      tenantId: null,
      action: result.outcome === 'added' ? 'ops.instance.add' : 'ops.instance.replace',
      outcome: 'success',
      ip: null,
      details: { instance_id: input.instanceId, mode: 'pool', api_url: input.apiUrl },
    })
  }
  return result
}
