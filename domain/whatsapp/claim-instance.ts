import type { InstanceRecord } from '../ports/instance-allocator'
import type { InstanceCredentials } from '../ports/whatsapp-provider'
import type { WhatsAppDeps } from './whatsapp-deps'
import { INSTANCE_TOKEN_LOCATION, errorSummary, WEBHOOK_TOKEN_LOCATION } from './use-case-helpers'
import { NoInstanceAvailableError } from './whatsapp.errors'

/**
 * Gives the tenant a Green-API instance according to `config.instanceMode` (docs/states.md#instances):
 * - the tenant's current claim, if any, whatever the mode;
 * - `shared`: the env instance, or `InstanceBusyError` while another tenant holds it;
 * - `pool` / `simulator`: the first free registered row of that mode, or `NoInstanceAvailableError`;
 * - `partner`: a new instance created through the Partner API, registered as claimed (deleted
 *   upstream again if registering fails, so nothing leaks).
 */
export async function claimInstance(deps: WhatsAppDeps, tenantId: string): Promise<InstanceRecord> {
  const mine = await deps.instances.findClaimedBy(tenantId)
  if (mine) return mine
  const now = deps.clock.now()
  const mode = deps.config.instanceMode
  switch (mode) {
    case 'shared': {
      const id = deps.config.sharedInstanceId
      if (!id) throw new NoInstanceAvailableError()
      return deps.instances.claimById(id, tenantId, now)
    }
    case 'pool':
    case 'simulator':
      return deps.instances.claimFirstFree(mode, tenantId, now)
    case 'partner': {
      const partner = deps.partner
      if (!partner) throw new NoInstanceAvailableError()
      // The webhook URL contains the instance id, unknown before creation: `ensureWebhook`
      // configures it right after, like for the other modes.
      const created = await partner.createInstance({
        name: `wa-${tenantId}-${deps.ids.newId().slice(0, 8)}`,
        webhookUrl: '',
        webhookToken: '',
      })
      try {
        return await deps.instances.registerClaimed({
          id: created.instanceId,
          mode: 'partner',
          apiUrl: created.apiUrl,
          encryptedToken: deps.vault.encrypt(created.apiToken, INSTANCE_TOKEN_LOCATION),
          encryptedWebhookToken: null,
          tenantId,
          at: now,
        })
      } catch (err) {
        try {
          await partner.deleteInstance(created.instanceId)
        } catch (cleanupErr) {
          deps.logger.error(
            { tenantId, instanceId: created.instanceId, err: errorSummary(cleanupErr) },
            'partner instance leaked: register and delete both failed',
          )
        }
        throw err
      }
    }
  }
}

export function webhookUrlFor(publicUrl: string, instanceId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/wa/webhooks/green-api/${encodeURIComponent(instanceId)}`
}

/**
 * Configures the instance's webhook once per claim: a fresh random token is pushed upstream
 * (`setSettings`) and then stored encrypted, bound to the tenant. Best effort: on failure the
 * link goes on (status polling still works) and the next link attempt tries again.
 */
export async function ensureWebhook(
  deps: WhatsAppDeps,
  instance: InstanceRecord,
  creds: InstanceCredentials,
  tenantId: string,
  publicUrl: string,
): Promise<boolean> {
  if (instance.encryptedWebhookToken) return false
  const webhookToken = deps.secrets.randomToken()
  try {
    await deps.provider.configureWebhook(creds, { webhookUrl: webhookUrlFor(publicUrl, instance.id), webhookToken })
    await deps.instances.setWebhookToken(instance.id, tenantId, deps.vault.encrypt(webhookToken, WEBHOOK_TOKEN_LOCATION))
    return true
  } catch (err) {
    deps.logger.warn({ tenantId, instanceId: instance.id, err: errorSummary(err) }, 'webhook configuration failed')
    return false
  }
}
