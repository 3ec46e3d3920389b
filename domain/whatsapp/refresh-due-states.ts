import type { CheckedObservation, ConnectionRecord, RefreshLane, StatusSource } from '../ports/connection-repository'
import { derivePhase } from './connection-machine'
import type { WhatsAppDeps } from './whatsapp-deps'
import { credentialsOf, errorSummary, mapWithConcurrency } from './use-case-helpers'
import { refreshFromUpstream } from './refresh-from-upstream'
import { releaseExpiredClaim } from './lifecycle'
import { profileDue } from './linked-profile'
import { requestProfileRefresh } from './record-observation'

export interface RefreshReport {
  /** Upstream state checks made (this process won the instance's lease). */
  checked: number
  failed: number
  /** Link attempts recorded as expired in this pass. */
  expired: number
}

interface Check {
  row: ConnectionRecord
  source: StatusSource
}

/**
 * One pass of the background refresher (run by every app process on a short timer): the rows
 * with work due (`listDueForRefresh`: link attempts first, then linked rows) get, by phase,
 * - `linking`: a state check every `attemptPollIntervalMs`,
 * - `connected` / `degraded`: a reconcile once the state is older than `reconcileIntervalMs`
 *   (and, still `authorized` with a profile never fetched or a day old, a profile refresh job),
 * - `linkExpired`: the expiry recorded once (shared mode: the instance released), then nothing,
 * each upstream check single-flight per instance across processes (the poll lease), so
 * Green-API sees at most one call per interval however many processes and pollers there are.
 *
 * The database work of a pass does not grow with its checks (decision 231): the leases of all
 * its rows are taken in one round trip per interval, the upstream calls run with
 * `refreshConcurrency` in flight and no pooled connection held, and the answers that changed
 * nothing are recorded in one write. Only a change goes through `recordObservation` (row,
 * timeline, publish). A failed check is logged and not retried before the next interval: the
 * answer the tenant polls stays the stored state (marked stale once too old). Never throws for
 * one row.
 *
 * `lane` limits the pass to one kind (the refresher runs one lane each, decision 273): a pass
 * waits for its slowest check, and a wave of a thousand reconciles in the same pass held every
 * live attempt back for as long (twice, with the rest after a long pass).
 */
export async function refreshDueStates(deps: WhatsAppDeps, lane?: RefreshLane): Promise<RefreshReport> {
  const { config } = deps
  const now = deps.clock.now()
  const due = await deps.connections.listDueForRefresh({
    checkedBefore: new Date(now.getTime() - config.reconcileIntervalMs),
    limit: config.refreshBatchSize,
    ...(lane ? { only: lane } : {}),
  })
  const report: RefreshReport = { checked: 0, failed: 0, expired: 0 }
  const expired: ConnectionRecord[] = []
  const attempts: ConnectionRecord[] = []
  const linked: ConnectionRecord[] = []
  for (const row of due) {
    const phase = derivePhase(row, now)
    if (phase === 'linkExpired') expired.push(row)
    else if (phase === 'linking') attempts.push(row)
    else if (phase === 'connected' || phase === 'degraded') linked.push(row)
  }

  await mapWithConcurrency(expired, config.reconcileConcurrency, async (row) => {
    try {
      if (await deps.connections.recordLinkExpired(row.tenantId, now)) {
        report.expired++
        deps.linkOutcomes.record('expired')
        // Shared mode: the one instance goes back to whoever links next (decision 212).
        await releaseExpiredClaim(deps, row)
      }
    } catch (err) {
      report.failed++
      deps.logger.warn({ tenantId: row.tenantId, err: errorSummary(err) }, 'recording an expired link attempt failed')
    }
  })

  const [polls, reconciles] = await Promise.all([
    leased(deps, attempts, config.attemptPollIntervalMs),
    leased(deps, linked, config.reconcileIntervalMs),
  ])
  const checks: Check[] = [
    ...polls.map((row) => ({ row, source: 'poll' as const })),
    ...reconciles.map((row) => ({ row, source: 'reconcile' as const })),
  ]
  const unchanged: CheckedObservation[] = []
  await mapWithConcurrency(checks, config.refreshConcurrency, async ({ row, source }) => {
    report.checked++
    try {
      const state = await deps.provider.getState(credentialsOf(deps, row), { once: true })
      // The row's own time, not the pass's: with a thousand checks queued, the last answer comes
      // seconds after the first, and the next check must still reach Green-API an interval after
      // this one did, whichever process makes it (a time taken before the call let a slow answer
      // here and a fast one elsewhere land 59.6 s apart).
      const answeredAt = deps.clock.now()
      if (state === null) return // instance still being created upstream: nothing to learn
      // Still linked, with no profile yet or one a day old: fetched again in the background (decision 242).
      if (source === 'reconcile' && state === 'authorized' && profileDue(row, now))
        await requestProfileRefresh(deps, row.tenantId)
      // Same state, and no account to fetch: bookkeeping only, written with the others below.
      if (state === row.status && (state !== 'authorized' || row.account)) {
        unchanged.push({ tenantId: row.tenantId, status: state, at: answeredAt })
        return
      }
      await refreshFromUpstream(deps, row, source, state)
    } catch (err) {
      report.failed++
      deps.logger.warn(
        { tenantId: row.tenantId, instanceId: row.instanceId, source, err: errorSummary(err) },
        'background state check failed',
      )
    }
  })
  try {
    await deps.connections.recordChecked(unchanged)
  } catch (err) {
    // The states are what was stored; only their age is not recorded (stale sooner, checked again).
    deps.logger.warn({ rows: unchanged.length, err: errorSummary(err) }, 'recording background state checks failed')
  }
  return report
}

/** The rows whose instance's poll lease this call won, in one round trip. */
async function leased(deps: WhatsAppDeps, rows: ConnectionRecord[], intervalMs: number): Promise<ConnectionRecord[]> {
  if (rows.length === 0) return []
  const won = await deps.instances.tryAcquirePollLeases(
    rows.map((r) => r.instanceId),
    intervalMs,
  )
  return rows.filter((r) => won.has(r.instanceId))
}
