import type { ConnectionRecord } from '../ports/connection-repository'
import { derivePhase } from './connection-machine'
import type { ConnectionState } from './connection-state'
import type { WhatsAppConfig, WhatsAppDeps } from './whatsapp-deps'

export interface ConnectionStatusResult {
  connected: boolean
  status: ConnectionState
  /** E.164 with `+`, only when connected. */
  phoneNumber?: string
  /** When this answer's state was last confirmed (upstream or now for "no instance"). */
  checkedAt: Date
  /**
   * True when the stored state is older than its refresh schedule allows: Green-API could not
   * be asked (or did not answer) lately, so the answer may be out of date.
   */
  stale?: true
  /** True when the link attempt passed its hard limit without being scanned. */
  linkExpired?: true
  /** Hard limit of the running link attempt (for the countdown). */
  linkExpiresAt?: Date
}

/**
 * `GET /api/wa/qr/status` (and the first event of a status stream). Answers from the stored row
 * and never waits for Green-API: the background refresher (`refreshDueStates`) keeps the row
 * fresh on the schedule of docs/decisions/120, and webhooks sooner. No row → `notAuthorized`.
 * Writes nothing, whatever the state (an expired attempt is recorded by the refresher). The
 * feature gate is the caller's job (kept out of this hot path).
 */
export async function getConnectionStatus(deps: WhatsAppDeps, input: { tenantId: string }): Promise<ConnectionStatusResult> {
  const record = await deps.connections.findByTenant(input.tenantId)
  const now = deps.clock.now()
  if (!record) return { connected: false, status: 'notAuthorized', checkedAt: now }
  return toStatusResult(record, now, deps.config)
}

/**
 * How old the stored state may get before the answer says `stale`: a few missed polls during
 * a link attempt, two missed reconciles for a linked instance. Nothing is refreshed otherwise
 * (unlinked, expired), so such an answer is never stale.
 */
function isStale(record: ConnectionRecord, now: Date, config: WhatsAppConfig): boolean {
  const phase = derivePhase(record, now)
  const checked = record.statusCheckedAt?.getTime() ?? record.statusChangedAt.getTime()
  if (phase === 'linking') {
    const since = Math.max(checked, record.linkStartedAt?.getTime() ?? checked)
    return now.getTime() - since > 5 * config.attemptPollIntervalMs
  }
  if (phase === 'connected' || phase === 'degraded') return now.getTime() - checked > 2 * config.reconcileIntervalMs
  return false
}

function toStatusResult(record: ConnectionRecord, now: Date, config: WhatsAppConfig): ConnectionStatusResult {
  const connected = record.status === 'authorized'
  const result: ConnectionStatusResult = {
    connected,
    status: record.status,
    checkedAt: record.statusCheckedAt ?? record.statusChangedAt,
  }
  if (connected && record.phoneNumber) result.phoneNumber = record.phoneNumber
  if (isStale(record, now, config)) result.stale = true
  if (derivePhase(record, now) === 'linkExpired') result.linkExpired = true
  else if (record.status === 'notAuthorized' && record.linkExpiresAt) result.linkExpiresAt = record.linkExpiresAt
  return result
}
