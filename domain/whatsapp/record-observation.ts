import type {
  ConnectionRecord,
  DeleteOptions,
  StatusSource,
  StatusUpdate,
  StatusUpdateOutcome,
} from '../ports/connection-repository'
import { statusOf } from './get-connection-status'
import type { WhatsAppDeps } from './whatsapp-deps'
import { credentialsOf, errorSummary } from './use-case-helpers'
import { maskE164 } from './validation'

/**
 * The one place a tenant's connection state is stored and announced: whoever learnt something
 * (a webhook, a background poll or reconcile, a link or test-send request) records it here. The
 * repository writes only what changed (`planStatusUpdate`), and only a change is published
 * (SSE streams of every process): an unchanged answer reaches no subscriber.
 */
export async function recordObservation(
  deps: WhatsAppDeps,
  tenantId: string,
  update: StatusUpdate,
): Promise<StatusUpdateOutcome> {
  if (update.status === 'authorized') {
    const checked = await checkExpectedPhone(deps, tenantId, update)
    if (checked.kind === 'refused') return checked.result
    if (checked.kind === 'unverified') return checked.result
    update = checked.update
  }
  const result = await deps.connections.applyStatus(tenantId, update)
  if (result.outcome === 'changed') await publish(deps, tenantId, result.record)
  countIfLinked(deps, update.source, result)
  await resumeSendsIfAuthorized(deps, result)
  await refreshProfileIfNewlyLinked(deps, tenantId, result)
  return result
}

/**
 * Stores the linked account's fetched profile (the `wa.refresh-profile` job, decision 242) and,
 * when the name or picture changed, announces the status like any other change (the connected
 * card shows them at once).
 */
export async function recordProfile(
  deps: WhatsAppDeps,
  tenantId: string,
  input: Parameters<WhatsAppDeps['connections']['recordProfile']>[1],
): Promise<StatusUpdateOutcome> {
  const result = await deps.connections.recordProfile(tenantId, input)
  if (result.outcome === 'changed') await publish(deps, tenantId, result.record)
  return result
}

/**
 * Asks for the linked account's profile in the background (decision 242), best effort: the
 * reconcile asks again while the row has none or it is a day old.
 */
export async function requestProfileRefresh(deps: WhatsAppDeps, tenantId: string, when: 'due' | 'now' = 'due'): Promise<void> {
  if (!deps.profileRefresh) return
  try {
    await deps.profileRefresh.request(tenantId, when)
  } catch (err) {
    deps.logger.warn({ tenantId, err: errorSummary(err) }, 'profile refresh request failed')
  }
}

/**
 * On link (the stored state became `authorized`, or another account is now linked), the
 * account's profile is fetched in the background: never inside the request that saw the link.
 */
async function refreshProfileIfNewlyLinked(deps: WhatsAppDeps, tenantId: string, written: StatusUpdateOutcome): Promise<void> {
  if (written.outcome !== 'changed' || written.record.status !== 'authorized' || !written.record.account) return
  const samePhone = written.previous.account?.phone === written.record.account.phone
  if (written.previous.status === 'authorized' && samePhone) return
  // Another account: now, even if a retry for the previous one was scheduled (decision 269).
  await requestProfileRefresh(deps, tenantId, samePhone ? 'due' : 'now')
}

/**
 * The tenant unlinked (disconnect): deletes the row with its timeline entry, then announces
 * `notAuthorized`. Returns the deleted row, or null when there was none (nothing announced).
 */
export async function recordUnlinked(
  deps: WhatsAppDeps,
  tenantId: string,
  options: DeleteOptions = {},
): Promise<ConnectionRecord | null> {
  const deleted = await deps.connections.delete(tenantId, deps.clock.now(), options)
  if (deleted) await publish(deps, tenantId, null)
  return deleted
}

/**
 * Announces the status the stored row (null: no row) now stands for, the same value a status
 * request answers, to the SSE streams and as the CRM's `whatsapp.connection.updated` event (the
 * sink stores it for the tenant's endpoints and swallows its own failures). Best effort: the
 * state is already stored, so a failed publish is logged only.
 */
async function publish(deps: WhatsAppDeps, tenantId: string, record: ConnectionRecord | null): Promise<void> {
  const status = statusOf(record, deps.clock.now(), deps.config)
  await deps.events.emit(tenantId, { type: 'whatsapp.connection.updated', data: status })
  try {
    await deps.publisher.publish(tenantId, status)
  } catch (err) {
    deps.logger.warn({ tenantId, err: errorSummary(err) }, 'status publish failed')
  }
}

/**
 * Counts `linked` when a status write moved a pending attempt (`notAuthorized`/`starting`) to
 * `authorized`. Green-API's `alreadyLogged` answer to a link request (source `link`) is not a
 * new link: that request already counted as `already_connected`.
 */
function countIfLinked(deps: WhatsAppDeps, source: StatusSource, written: StatusUpdateOutcome): void {
  if (source === 'link' || written.outcome !== 'changed') return
  const wasPending = written.previous.status === 'notAuthorized' || written.previous.status === 'starting'
  if (wasPending && written.record.status === 'authorized') deps.linkOutcomes.record('linked')
}

/**
 * The instance can send again (its stored state became `authorized`): its queued messages leave
 * now, not at the drain's next recheck. Best effort: the state is stored, and the recheck
 * (`WA_SEND_RECHECK_MS`) still comes if the wake fails.
 */
async function resumeSendsIfAuthorized(deps: WhatsAppDeps, written: StatusUpdateOutcome): Promise<void> {
  if (written.outcome !== 'changed') return
  if (written.record.status !== 'authorized' || written.previous.status === 'authorized') return
  try {
    await deps.sendQueue.wake(written.record.instanceId)
  } catch (err) {
    deps.logger.warn({ instanceId: written.record.instanceId, err: errorSummary(err) }, 'send queue wake failed')
  }
}

type ExpectedPhoneCheck =
  | { kind: 'accepted'; update: StatusUpdate }
  | { kind: 'refused'; result: StatusUpdateOutcome }
  | { kind: 'unverified'; result: StatusUpdateOutcome }

/**
 * The right phone (decision 200): a pending link attempt that names an expected number becomes
 * `authorized` only when the account's phone (the observation's, or Green-API's `getWaSettings`)
 * is that number. Another phone: the instance is logged out, no account is kept (only the masked
 * number that scanned), the outcome is audited and published. When the account cannot be read,
 * nothing is written: the attempt stays pending and the next poll looks again.
 */
async function checkExpectedPhone(deps: WhatsAppDeps, tenantId: string, update: StatusUpdate): Promise<ExpectedPhoneCheck> {
  const record = await deps.connections.findByTenant(tenantId)
  const expected = record?.expectedPhone
  if (!record || !expected || record.status === 'authorized') return { kind: 'accepted', update }
  const creds = credentialsOf(deps, record)
  let phone = update.account?.phone
  if (!phone) {
    try {
      phone = (await deps.provider.getLinkedAccount(creds))?.phone
    } catch (err) {
      deps.logger.warn({ tenantId, err: errorSummary(err) }, 'linked account lookup failed; expected phone unverified')
    }
  }
  if (!phone) return { kind: 'unverified', result: { outcome: 'unchanged', record } }
  if (phone === expected) return { kind: 'accepted', update: { ...update, account: { ...update.account, phone } } }

  const actualPhoneMasked = (deps.maskPhone ?? maskE164)(phone)
  // Recorded first, under the row lock: of a webhook and a poll that saw the same scan, one
  // refuses it and logs the phone out, the other finds it refused.
  const result = await deps.connections.recordWrongNumber(tenantId, {
    actualPhoneMasked,
    at: deps.clock.now(),
    source: update.source,
  })
  if (result.outcome !== 'changed') return { kind: 'refused', result }
  try {
    await deps.provider.logout(creds)
  } catch (err) {
    // The next link attempt meets `alreadyLogged` and checks the phone again (decision 200).
    deps.logger.warn({ tenantId, instanceId: record.instanceId, err: errorSummary(err) }, 'wrong phone logout failed')
  }
  await publish(deps, tenantId, result.record)
  deps.logger.info({ tenantId, instanceId: record.instanceId, source: update.source }, 'link refused: wrong phone')
  try {
    await deps.audit.append({
      actor: 'system:link',
      tenantId,
      action: 'whatsapp.link.wrong_number',
      outcome: 'denied',
      ip: null,
      details: { instanceId: record.instanceId, actualPhoneMasked },
    })
  } catch (err) {
    deps.logger.error({ tenantId, err: errorSummary(err) }, 'audit append failed')
  }
  return { kind: 'refused', result }
}
