import type { WhatsAppDeps } from './whatsapp-deps'
import { errorSummary, mapWithConcurrency } from './use-case-helpers'
import { refreshFromUpstream } from './refresh-from-upstream'

export interface ReconcileReport {
  checked: number
  failed: number
}

/**
 * On process start: every row that was connected (or degraded) or mid-link is checked upstream
 * with at most `config.reconcileConcurrency` calls in flight, so state missed while the app was
 * down (webhooks are best effort) is caught up. Each check first takes the instance's poll lease
 * for one attempt interval (one round trip for all rows): replicas booting together, or a
 * refresher that has just checked the instance, make it one call, not one per process
 * (decision 232). Failures are logged and counted, never thrown.
 */
export async function reconcileOnStart(deps: WhatsAppDeps): Promise<ReconcileReport> {
  const listed = await deps.connections.listForReconcile(deps.clock.now())
  const won =
    listed.length === 0
      ? new Set<string>()
      : await deps.instances.tryAcquirePollLeases(
          listed.map((r) => r.instanceId),
          deps.config.attemptPollIntervalMs,
        )
  const rows = listed.filter((r) => won.has(r.instanceId))
  const outcomes = await mapWithConcurrency(rows, deps.config.reconcileConcurrency, async (row) => {
    try {
      await refreshFromUpstream(deps, row, 'reconcile')
      return true
    } catch (err) {
      deps.logger.warn({ tenantId: row.tenantId, instanceId: row.instanceId, err: errorSummary(err) }, 'reconcile failed')
      return false
    }
  })
  const failed = outcomes.filter((ok) => !ok).length
  return { checked: rows.length, failed }
}
