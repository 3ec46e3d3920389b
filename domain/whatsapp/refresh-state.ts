import type { ConnectionRecord, StatusSource } from '../ports/connection-repository'
import type { WhatsAppDeps } from './deps'
import { credentialsOf, errorSummary, publishStatus } from './internal'
import { countIfLinked } from './link-attempt'

/**
 * Asks Green-API for the instance state and stores it (row + timeline only on change, publish
 * on change). Becoming (or staying without a phone) `authorized` also fetches the phone;
 * `notAuthorized` clears it (the account is unlinked). Returns the stored record afterwards, or
 * null when the row disappeared meanwhile. Upstream errors propagate.
 */
export async function refreshFromUpstream(
  deps: WhatsAppDeps,
  record: ConnectionRecord,
  source: StatusSource,
): Promise<ConnectionRecord | null> {
  const creds = credentialsOf(deps, record)
  const state = await deps.provider.getState(creds)
  if (state === null) return record // instance still being created upstream: nothing to learn

  let phoneNumber: string | null | undefined
  if (state === 'authorized' && (record.status !== 'authorized' || !record.phoneNumber)) {
    try {
      phoneNumber = (await deps.provider.getLinkedPhone(creds)) ?? undefined
    } catch (err) {
      deps.logger.warn({ tenantId: record.tenantId, err: errorSummary(err) }, 'linked phone lookup failed')
    }
  } else if (state === 'notAuthorized') {
    phoneNumber = null
  }

  const result = await deps.connections.applyStatus(record.tenantId, {
    status: state,
    ...(phoneNumber !== undefined ? { phoneNumber } : {}),
    checkedAt: deps.clock.now(),
    source,
  })
  countIfLinked(deps, source, result)
  if (result.outcome === 'missing') return null
  if (result.outcome === 'changed') await publishStatus(deps, result.record)
  return result.record
}
