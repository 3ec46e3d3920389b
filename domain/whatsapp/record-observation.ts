import type { ConnectionRecord, StatusSource, StatusUpdate, StatusUpdateOutcome } from '../ports/connection-repository'
import { statusOf } from './get-connection-status'
import type { WhatsAppDeps } from './whatsapp-deps'
import { errorSummary } from './use-case-helpers'

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
  const result = await deps.connections.applyStatus(tenantId, update)
  if (result.outcome === 'changed') await publish(deps, tenantId, result.record)
  countIfLinked(deps, update.source, result)
  await resumeSendsIfAuthorized(deps, result)
  return result
}

/**
 * The tenant unlinked (disconnect): deletes the row with its timeline entry, then announces
 * `notAuthorized`. Returns the deleted row, or null when there was none (nothing announced).
 */
export async function recordUnlinked(deps: WhatsAppDeps, tenantId: string): Promise<ConnectionRecord | null> {
  const deleted = await deps.connections.delete(tenantId, deps.clock.now())
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
