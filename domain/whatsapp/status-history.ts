import type { StatusEvent, StatusSource } from '../ports/connection-repository'
import { requireWhatsAppOrGrace } from './addon-end'
import type { ConnectionState } from './connection-state'
import type { WhatsAppDeps } from './whatsapp-deps'
import { InvalidInputError } from './whatsapp.errors'

// The tenant's status history (`wa_status_events`) read back, each entry with a plain reason,
// and what to do now in each degraded state (docs/states.md, decisions 205–207).

/**
 * What an admin should do now, per degraded state, after Green-API's status-tracking
 * recommendations (docs/green-api.md#getstateinstance): a stable code in the status answer,
 * its text in the page's dictionary (`wa.advice.<code>`).
 */
export const STATUS_ADVICE = ['wait_for_start', 'check_phone', 'pause_sending', 'appeal_ban'] as const
export type StatusAdvice = (typeof STATUS_ADVICE)[number]

const ADVICE: Partial<Record<ConnectionState, StatusAdvice>> = {
  starting: 'wait_for_start',
  sleepMode: 'check_phone',
  yellowCard: 'pause_sending',
  blocked: 'appeal_ban',
}

/** The advice for a state; undefined when there is nothing to do but what the page offers. */
export function adviceFor(status: ConnectionState): StatusAdvice | undefined {
  return ADVICE[status]
}

/** What moved a state (stored on each entry), for the API document. */
export const STATUS_SOURCES = [
  'link',
  'poll',
  'webhook',
  'disconnect',
  'reconcile',
  'expire',
  'wrong_number',
] as const satisfies readonly StatusSource[]

/** Why an entry of the history happened, in words a user reads (`wa.history.reason.<code>`). */
export const STATUS_REASONS = [
  'link_started',
  'linked',
  'back_online',
  'link_expired',
  'disconnected',
  'logged_out',
  'restarting',
  'restricted',
  'banned',
  'phone_offline',
  'wrong_number',
] as const
export type StatusReason = (typeof STATUS_REASONS)[number]

/** One entry's reason, from its transition and source (pure). */
export function reasonOf(e: { from: ConnectionState | null; to: ConnectionState; source: StatusSource }): StatusReason {
  if (e.source === 'disconnect') return 'disconnected'
  if (e.source === 'expire') return 'link_expired'
  if (e.source === 'wrong_number') return 'wrong_number'
  switch (e.to) {
    case 'authorized':
      return e.from === null || e.from === 'notAuthorized' ? 'linked' : 'back_online'
    case 'notAuthorized':
      return e.source === 'link' ? 'link_started' : 'logged_out'
    case 'starting':
      return 'restarting'
    case 'yellowCard':
      return 'restricted'
    case 'blocked':
      return 'banned'
    case 'sleepMode':
      return 'phone_offline'
  }
}

export interface StatusHistoryEntry {
  id: string
  at: Date
  from: ConnectionState | null
  to: ConnectionState
  source: StatusSource
  reason: StatusReason
}

export const DEFAULT_HISTORY_PAGE = 20
export const MAX_HISTORY_PAGE = 100

/** An opaque cursor (base64url of `ev.<id>`): the last entry of the previous page. */
export function encodeHistoryCursor(id: string): string {
  return btoa(`ev.${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The entry id a cursor names, or null when it is not one of ours. */
export function decodeHistoryCursor(raw: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(raw)) return null
  let text: string
  try {
    text = atob(raw.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    return null
  }
  const m = /^ev\.([1-9]\d{0,17})$/.exec(text)
  return m ? (m[1] as string) : null
}

const entryOf = (e: StatusEvent): StatusHistoryEntry => ({ ...e, reason: reasonOf(e) })

/**
 * `GET /api/wa/timeline` and the page's "Historique": the tenant's recorded transitions, newest
 * first, `nextCursor` while older ones exist. Gated like the status (WhatsApp Pro on, or a
 * number still linked in the add-on's grace). Entries carry states and sources only: no phone,
 * no instance id.
 */
export async function getStatusHistory(
  deps: Pick<WhatsAppDeps, 'features' | 'connections' | 'config'>,
  input: { tenantId: string; limit?: number; cursor?: string },
): Promise<{ entries: StatusHistoryEntry[]; nextCursor: string | null }> {
  await requireWhatsAppOrGrace(deps, { tenantId: input.tenantId })
  const limit = input.limit ?? DEFAULT_HISTORY_PAGE
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE)
    throw new InvalidInputError('invalid limit', [
      { path: 'limit', message: `1 to ${MAX_HISTORY_PAGE}`, code: 'range', vars: { max: MAX_HISTORY_PAGE } },
    ])
  const beforeId = input.cursor === undefined ? undefined : decodeHistoryCursor(input.cursor)
  if (beforeId === null)
    throw new InvalidInputError('invalid cursor', [{ path: 'cursor', message: 'not a cursor from this API', code: 'cursor' }])
  const page = await deps.connections.listStatusEvents(input.tenantId, { limit, ...(beforeId ? { beforeId } : {}) })
  const last = page.events[page.events.length - 1]
  return { entries: page.events.map(entryOf), nextCursor: page.hasMore && last ? encodeHistoryCursor(last.id) : null }
}

/**
 * The scheduled retention purge of the history (nightly, with the messages' purge): entries older
 * than `statusEventsRetentionDays` go, but each tenant keeps its newest `authorized` entry
 * (decision 259).
 */
export async function purgeOldStatusEvents(
  deps: Pick<WhatsAppDeps, 'connections' | 'clock' | 'config' | 'logger'>,
): Promise<{ deleted: number }> {
  const days = deps.config.statusEventsRetentionDays
  const deleted = await deps.connections.purgeStatusEventsBefore(new Date(deps.clock.now().getTime() - days * 86_400_000))
  deps.logger.info({ deleted, retentionDays: days }, 'status events purged')
  return { deleted }
}

/**
 * True once a number was ever linked for the tenant (an `authorized` entry in its history):
 * before that, the page coaches the first link (decision 207).
 */
export async function hasEverLinked(deps: Pick<WhatsAppDeps, 'connections'>, input: { tenantId: string }): Promise<boolean> {
  return deps.connections.hasBeenAuthorized(input.tenantId)
}
