import type { ConnectionRecord, StatusUpdate } from '../ports/connection-repository'
import { observedAccount, sameAccount } from './linked-account'

/**
 * What `ConnectionRepository.applyStatus` must write, computed from the locked current row.
 * Pure, so the Kysely adapter and the in-memory fake share one definition of "changed".
 */
export type StatusUpdatePlan =
  | { kind: 'stale' }
  | {
      kind: 'unchanged'
      /** Fields to write: bookkeeping only. */
      patch: Pick<ConnectionRecord, 'statusCheckedAt' | 'lastEventAt'>
    }
  | {
      kind: 'changed'
      patch: Pick<
        ConnectionRecord,
        'status' | 'isActive' | 'account' | 'statusChangedAt' | 'statusCheckedAt' | 'lastEventAt' | 'linkExpiresAt'
      >
      /** Timeline entry to append, only when the status itself changed. */
      timeline: { from: ConnectionRecord['status']; to: ConnectionRecord['status'] } | null
    }

export function planStatusUpdate(current: ConnectionRecord, update: StatusUpdate): StatusUpdatePlan {
  if (update.eventAt && current.lastEventAt && update.eventAt.getTime() < current.lastEventAt.getTime()) {
    return { kind: 'stale' }
  }
  const lastEventAt = update.eventAt
    ? current.lastEventAt && current.lastEventAt > update.eventAt
      ? current.lastEventAt
      : update.eventAt
    : current.lastEventAt
  const account = observedAccount(current.account, update.account)
  const statusChanged = update.status !== current.status
  if (!statusChanged && sameAccount(account, current.account)) {
    return { kind: 'unchanged', patch: { statusCheckedAt: update.checkedAt, lastEventAt } }
  }
  return {
    kind: 'changed',
    patch: {
      status: update.status,
      isActive: update.status === 'authorized',
      account,
      statusChangedAt: statusChanged ? update.checkedAt : current.statusChangedAt,
      statusCheckedAt: update.checkedAt,
      lastEventAt,
      // Being linked ends the link attempt (no "expired" banner for a connected tenant).
      linkExpiresAt: update.status === 'authorized' ? null : current.linkExpiresAt,
    },
    timeline: statusChanged ? { from: current.status, to: update.status } : null,
  }
}
