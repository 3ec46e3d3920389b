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
 * down (webhooks are best effort) is caught up. Failures are logged and counted, never thrown.
 */
export async function reconcileOnStart(deps: WhatsAppDeps): Promise<ReconcileReport> {
  const rows = await deps.connections.listForReconcile(deps.clock.now())
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
