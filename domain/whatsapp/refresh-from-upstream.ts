import type { ConnectionRecord, StatusSource } from '../ports/connection-repository'
import type { ConnectionState } from './connection-state'
import type { LinkedAccount } from './linked-account'
import type { WhatsAppDeps } from './whatsapp-deps'
import { credentialsOf, errorSummary } from './use-case-helpers'
import { recordObservation } from './record-observation'

/**
 * Asks Green-API for the instance state and stores it (row + timeline only on change, publish
 * on change). Becoming (or staying without an account) `authorized` also fetches the account;
 * `notAuthorized` clears it (the account is unlinked). Returns the stored record afterwards, or
 * null when the row disappeared meanwhile. Upstream errors propagate. `known` is a state the
 * caller has just asked for (the refresher): not asked again.
 */
export async function refreshFromUpstream(
  deps: WhatsAppDeps,
  record: ConnectionRecord,
  source: StatusSource,
  known?: ConnectionState,
): Promise<ConnectionRecord | null> {
  const creds = credentialsOf(deps, record)
  // One request: the caller's schedule (next refresher pass, next boot) is the retry.
  const state = known ?? (await deps.provider.getState(creds, { once: true }))
  if (state === null) return record // instance still being created upstream: nothing to learn

  let account: LinkedAccount | null | undefined
  if (state === 'authorized' && (record.status !== 'authorized' || !record.account)) {
    try {
      account = (await deps.provider.getLinkedAccount(creds)) ?? undefined
    } catch (err) {
      deps.logger.warn({ tenantId: record.tenantId, err: errorSummary(err) }, 'linked account lookup failed')
    }
  } else if (state === 'notAuthorized') {
    account = null
  }

  const result = await recordObservation(deps, record.tenantId, {
    status: state,
    ...(account !== undefined ? { account } : {}),
    checkedAt: deps.clock.now(),
    source,
  })
  if (result.outcome === 'missing') return null
  return result.record
}
