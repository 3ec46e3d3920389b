import { derivePhase } from './connection-machine'
import type { WhatsAppDeps } from './whatsapp-deps'
import { errorSummary, mapWithConcurrency } from './use-case-helpers'
import { refreshFromUpstream } from './refresh-from-upstream'
import { releaseExpiredClaim } from './lifecycle'

export interface RefreshReport {
  /** Upstream state checks made (this process won the instance's lease). */
  checked: number
  failed: number
  /** Link attempts recorded as expired in this pass. */
  expired: number
}

/**
 * One pass of the background refresher (run by every app process on a short timer): the rows
 * with work due (`listDueForRefresh`) get, by phase,
 * - `linking`: a state check every `attemptPollIntervalMs`,
 * - `connected` / `degraded`: a reconcile once the state is older than `reconcileIntervalMs`,
 * - `linkExpired`: the expiry recorded once (shared mode: the instance released), then nothing,
 * each upstream check single-flight per instance across processes (the poll lease), so
 * Green-API sees at most one call per interval however many processes and pollers there are.
 * A failed check is logged and not retried before the next interval: the answer the tenant
 * polls stays the stored state (marked stale once too old). Never throws for one row.
 */
export async function refreshDueStates(deps: WhatsAppDeps): Promise<RefreshReport> {
  const { config } = deps
  const now = deps.clock.now()
  const due = await deps.connections.listDueForRefresh({
    checkedBefore: new Date(now.getTime() - config.reconcileIntervalMs),
    limit: config.refreshBatchSize,
  })
  const report: RefreshReport = { checked: 0, failed: 0, expired: 0 }
  await mapWithConcurrency(due, config.reconcileConcurrency, async (row) => {
    const phase = derivePhase(row, now)
    try {
      if (phase === 'linkExpired') {
        if (await deps.connections.recordLinkExpired(row.tenantId, now)) {
          report.expired++
          deps.linkOutcomes.record('expired')
          // Shared mode: the one instance goes back to whoever links next (decision 212).
          await releaseExpiredClaim(deps, row)
        }
        return
      }
      if (phase === 'unlinked') return
      const interval = phase === 'linking' ? config.attemptPollIntervalMs : config.reconcileIntervalMs
      if (!(await deps.instances.tryAcquirePollLease(row.instanceId, interval))) return
      report.checked++
      await refreshFromUpstream(deps, row, phase === 'linking' ? 'poll' : 'reconcile')
    } catch (err) {
      report.failed++
      deps.logger.warn(
        { tenantId: row.tenantId, instanceId: row.instanceId, phase, err: errorSummary(err) },
        'background state check failed',
      )
    }
  })
  return report
}
