import { z } from 'zod'
import type { ConnectionRecord } from '../ports/connection-repository'
import { derivePhase } from './connection-machine'
import { CONNECTION_STATES } from './connection-state'
import { LinkedAccountSchema } from './linked-account'
import type { WhatsAppConfig, WhatsAppDeps } from './whatsapp-deps'

/** A date in the JSON form of a status (ISO 8601, UTC), a `Date` in the domain. */
const isoDate = z.codec(z.iso.datetime(), z.date(), {
  decode: (iso) => new Date(iso),
  encode: (date) => date.toISOString(),
})

/**
 * A tenant's connection status: the one value the status use case answers, the publisher fans
 * out to every process (PostgreSQL NOTIFY → SSE) and the API presenter turns into JSON. The
 * schema is the type: a field added here travels through every one of those, and a process
 * that receives a published status decodes it with this schema (`decodeConnectionStatus`).
 */
export const ConnectionStatusSchema = z.object({
  connected: z.boolean(),
  status: z.enum(CONNECTION_STATES),
  /** The linked account, only when connected. */
  account: LinkedAccountSchema.optional(),
  /** When this answer's state was last confirmed (upstream or now for "no instance"). */
  checkedAt: isoDate,
  /**
   * True when the stored state is older than its refresh schedule allows: Green-API could not
   * be asked (or did not answer) lately, so the answer may be out of date.
   */
  stale: z.literal(true).optional(),
  /** True when the link attempt passed its hard limit without being scanned. */
  linkExpired: z.literal(true).optional(),
  /** Hard limit of the running link attempt (for the countdown). */
  linkExpiresAt: isoDate.optional(),
  /**
   * The last link attempt was refused (decision 200): another phone than the expected number
   * scanned, and was logged out. Only the masked number that scanned is kept.
   */
  wrongNumber: z.object({ code: z.literal('WRONG_NUMBER'), expectedPhone: z.string(), actualPhoneMasked: z.string() }).optional(),
})

export type ConnectionStatusResult = z.output<typeof ConnectionStatusSchema>

/** Reads a status from its JSON form; throws on anything else. */
export function decodeConnectionStatus(json: unknown): ConnectionStatusResult {
  return ConnectionStatusSchema.parse(json)
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
  return statusOf(record, now, deps.config)
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

/**
 * The status a stored row (or its absence: never linked, or unlinked) stands for at `now`: what
 * a status request answers and what a change publishes.
 */
export function statusOf(record: ConnectionRecord | null, now: Date, config: WhatsAppConfig): ConnectionStatusResult {
  if (!record) return { connected: false, status: 'notAuthorized', checkedAt: now }
  const connected = record.status === 'authorized'
  const result: ConnectionStatusResult = {
    connected,
    status: record.status,
    checkedAt: record.statusCheckedAt ?? record.statusChangedAt,
  }
  if (connected && record.account) result.account = record.account
  if (isStale(record, now, config)) result.stale = true
  if (derivePhase(record, now) === 'linkExpired') result.linkExpired = true
  else if (record.status === 'notAuthorized' && record.linkExpiresAt) result.linkExpiresAt = record.linkExpiresAt
  if (record.status === 'notAuthorized' && !record.linkExpiresAt && record.wrongNumber) {
    result.wrongNumber = { code: 'WRONG_NUMBER', ...record.wrongNumber }
  }
  return result
}
