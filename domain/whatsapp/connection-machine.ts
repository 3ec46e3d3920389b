import type { ConnectionRecord } from '../ports/connection-repository'
import type { ConnectionState } from './connection-state'

/**
 * The link lifecycle of one tenant, derived from its provider row (or its absence) and the time.
 * Green-API is the source of truth for the instance state; this machine decides what the app
 * lets the user do and which timeline entries to write.
 *
 * Phases:
 * - `unlinked`    no row, or row `notAuthorized` with no running link attempt (e.g. logged out
 *                 from the phone after having been connected)
 * - `linking`     row `notAuthorized`, link attempt running (now ≤ linkExpiresAt)
 * - `linkExpired` row `notAuthorized`, link attempt past its hard limit
 * - `connected`   row `authorized`
 * - `degraded`    row `starting` | `yellowCard` | `sleepMode` | `blocked` (linked account, but
 *                 not usable right now)
 *
 * Events: `linkStarted` (QR or pairing code requested), `state(s)` (poll / webhook / reconcile
 * observed Green-API state s), `timeout` (hard limit passed), `disconnected`.
 *
 * | from \ event | linkStarted          | state(authorized) | state(degraded*) | state(notAuthorized)       | timeout     | disconnected |
 * |--------------|----------------------|-------------------|------------------|----------------------------|-------------|--------------|
 * | unlinked     | linking              | connected         | degraded         | unlinked                   | unlinked    | unlinked     |
 * | linking      | linking (refreshed)  | connected         | degraded         | linking                    | linkExpired | unlinked     |
 * | linkExpired  | linking              | connected         | degraded         | linkExpired                | linkExpired | unlinked     |
 * | connected    | ✗ ALREADY_CONNECTED  | connected         | degraded         | unlinked (attempt cleared) | connected   | unlinked     |
 * | degraded     | linking              | connected         | degraded         | unlinked                   | degraded    | unlinked     |
 *
 * (*) degraded states: starting, yellowCard, sleepMode, blocked.
 * A `state` event in `unlinked` without a row is dropped by the use cases (nothing to update):
 * the table gives the phase a row would have.
 */
export type LinkPhase = 'unlinked' | 'linking' | 'linkExpired' | 'connected' | 'degraded'

export type LinkEvent =
  { type: 'linkStarted' } | { type: 'state'; state: ConnectionState } | { type: 'timeout' } | { type: 'disconnected' }

export type TransitionResult = { ok: true; phase: LinkPhase } | { ok: false; error: 'ALREADY_CONNECTED' }

const DEGRADED: ReadonlySet<ConnectionState> = new Set(['starting', 'yellowCard', 'sleepMode', 'blocked'])

function phaseOfState(state: ConnectionState): LinkPhase {
  if (state === 'authorized') return 'connected'
  if (DEGRADED.has(state)) return 'degraded'
  return 'unlinked'
}

/** Applies one event to a phase, per the table above. Pure. */
export function transition(from: LinkPhase, event: LinkEvent): TransitionResult {
  switch (event.type) {
    case 'linkStarted':
      return from === 'connected' ? { ok: false, error: 'ALREADY_CONNECTED' } : { ok: true, phase: 'linking' }
    case 'disconnected':
      return { ok: true, phase: 'unlinked' }
    case 'timeout':
      return { ok: true, phase: from === 'linking' ? 'linkExpired' : from }
    case 'state': {
      if (event.state !== 'notAuthorized') return { ok: true, phase: phaseOfState(event.state) }
      // notAuthorized keeps a running (or expired) attempt; otherwise the account is unlinked.
      return { ok: true, phase: from === 'linking' || from === 'linkExpired' ? from : 'unlinked' }
    }
  }
}

/** The phase a stored row (or no row) is in at `now`. */
export function derivePhase(record: ConnectionRecord | null, now: Date): LinkPhase {
  if (!record) return 'unlinked'
  if (record.status !== 'notAuthorized') return phaseOfState(record.status)
  if (!record.linkExpiresAt) return 'unlinked'
  return now.getTime() > record.linkExpiresAt.getTime() ? 'linkExpired' : 'linking'
}
