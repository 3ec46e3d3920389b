import type { StatusResponse } from '../../api/schemas'
import type { DegradedStatus, PanelView, WaitingDisplay } from './types'

const DEGRADED: ReadonlySet<string> = new Set<DegradedStatus>(['starting', 'yellowCard', 'blocked', 'sleepMode'])

function isDegraded(status: string): status is DegradedStatus {
  return DEGRADED.has(status)
}

/** True when the status is a running link attempt: the panel then shows a QR or a code. */
export function awaitsScan(status: StatusResponse): boolean {
  return !status.connected && !isDegraded(status.status) && !status.linkExpired && status.linkExpiresAt !== undefined
}

/**
 * What the panel shows for a status answer: the one mapping, used by the page's loader and by
 * the browser when a status is pushed (SSE) or polled. A running attempt's QR or code is not in
 * the status: the loader passes what it shows; a push passes nothing (the loader follows).
 */
export function panelViewOf(status: StatusResponse, display: WaitingDisplay = { kind: 'hidden' }): PanelView {
  if (status.connected) return { state: 'connected', status }
  if (isDegraded(status.status)) {
    return { state: 'degraded', status: status.status, ...(status.advice ? { advice: status.advice } : {}) }
  }
  if (!awaitsScan(status)) {
    const refused = status.wrongNumber
    return {
      state: 'unlinked',
      expired: status.linkExpired === true,
      ...(refused ? { wrongNumber: { expectedPhone: refused.expectedPhone, actualPhoneMasked: refused.actualPhoneMasked } } : {}),
    }
  }
  return { state: 'waiting', linkExpiresAt: status.linkExpiresAt ?? null, display }
}

/**
 * Whether a confirmation stays open once a pushed view replaces the loaded one: a change of
 * state closes it (it confirmed something else); a push within the same state (the profile
 * fetched after the link, decision 242) keeps it open, and its focus.
 */
export function confirmKept(loaded: PanelView, pushed: PanelView, confirm: boolean): boolean {
  return confirm && pushed.state === loaded.state
}
