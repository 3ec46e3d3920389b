import type { ConnectionRecord } from '../ports/connection-repository'
import { derivePhase } from './connection-machine'
import type { ConnectionState } from './connection-state'
import type { WhatsAppDeps } from './deps'
import { errorSummary } from './internal'
import { refreshFromUpstream } from './refresh-state'

export interface ConnectionStatusResult {
  connected: boolean
  status: ConnectionState
  /** E.164 with `+`, only when connected. */
  phoneNumber?: string
  /** When this answer's state was last confirmed (upstream or now for "no instance"). */
  checkedAt: Date
  /** True when Green-API could not be asked just now: the answer is the stored state. */
  stale?: true
  /** True when the link attempt passed its hard limit without being scanned. */
  linkExpired?: true
  /** Hard limit of the running link attempt (for the countdown). */
  linkExpiresAt?: Date
}

/**
 * `GET /api/wa/qr/status`. No row → `notAuthorized` without any upstream call. Otherwise answers
 * from the stored row, refreshing it from Green-API only when it is older than
 * `pollMinIntervalMs` AND this caller wins the instance's poll lease (single flight across
 * processes: at most one `getStateInstance` per instance per interval). Upstream failures give
 * the stored state with `stale: true`, never an error. The feature gate is the caller's job
 * (kept out of this hot path).
 */
export async function getConnectionStatus(
  deps: WhatsAppDeps,
  input: { tenantId: string },
): Promise<ConnectionStatusResult> {
  const { tenantId } = input
  let record: ConnectionRecord | null = await deps.connections.findByTenant(tenantId)
  if (!record) return { connected: false, status: 'notAuthorized', checkedAt: deps.clock.now() }

  let stale = false
  const stored = record
  const checkedMs = stored.statusCheckedAt?.getTime()
  const fresh = checkedMs !== undefined && deps.clock.now().getTime() - checkedMs < deps.config.pollMinIntervalMs
  if (!fresh && (await deps.instances.tryAcquirePollLease(stored.instanceId, deps.config.pollMinIntervalMs))) {
    try {
      record = await refreshFromUpstream(deps, stored, 'poll')
    } catch (err) {
      stale = true
      deps.logger.warn({ tenantId, instanceId: stored.instanceId, err: errorSummary(err) }, 'state poll failed; answering stored state')
    }
    if (!record) return { connected: false, status: 'notAuthorized', checkedAt: deps.clock.now() }
  }

  const now = deps.clock.now()
  const linkExpired = derivePhase(record, now) === 'linkExpired'
  if (linkExpired) {
    try {
      if (await deps.connections.recordLinkExpired(tenantId, now)) deps.linkOutcomes.record('expired')
    } catch (err) {
      deps.logger.warn({ tenantId, err: errorSummary(err) }, 'recording link expiry failed')
    }
  }
  return toStatusResult(record, { stale, linkExpired })
}

function toStatusResult(record: ConnectionRecord, flags: { stale: boolean; linkExpired: boolean }): ConnectionStatusResult {
  const connected = record.status === 'authorized'
  const result: ConnectionStatusResult = {
    connected,
    status: record.status,
    checkedAt: record.statusCheckedAt ?? record.statusChangedAt,
  }
  if (connected && record.phoneNumber) result.phoneNumber = record.phoneNumber
  if (flags.stale) result.stale = true
  if (flags.linkExpired) result.linkExpired = true
  else if (record.status === 'notAuthorized' && record.linkExpiresAt) result.linkExpiresAt = record.linkExpiresAt
  return result
}
