import type { WhatsAppDeps } from './whatsapp-deps'
import { credentialsOfInstance, errorSummary } from './use-case-helpers'

/**
 * Instances released while their phone may still be linked upstream (decision 072) are
 * "quarantined": nobody may link them before a logout succeeds. This module owns what happens
 * to them (decision 085): the pool prefers healthy instances; every failed logout counts and
 * pushes the next background attempt back (exponential backoff); after
 * `logoutRetry.maxFailures` consecutive failures the instance is marked broken (out of the pool,
 * logged at error level, shown by `ops instances list`).
 */

/** When to try again after the `failures`-th consecutive failure, or that it is broken. */
export function nextLogoutAttempt(
  failures: number,
  now: Date,
  policy: WhatsAppDeps['config']['logoutRetry'],
): { retryAt: Date } | { brokenAt: Date } {
  if (failures >= policy.maxFailures) return { brokenAt: now }
  const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1))
  return { retryAt: new Date(now.getTime() + delayMs) }
}

/**
 * Counts a failed logout of a quarantined (already released) instance and schedules what comes
 * next. Called by disconnect, by a link attempt that drew the instance, and by the background
 * retries: one policy for all three.
 */
export async function recordFailedLogout(deps: WhatsAppDeps, instanceId: string, err: unknown): Promise<void> {
  const failures = await deps.instances.recordLogoutFailure(instanceId)
  const next = nextLogoutAttempt(failures, deps.clock.now(), deps.config.logoutRetry)
  await deps.instances.scheduleLogoutRetry(instanceId, next)
  if ('brokenAt' in next) {
    deps.logger.error(
      { instanceId, failures, err: errorSummary(err) },
      'quarantined instance marked broken: its logout kept failing; it is out of the pool until an operator logs it out upstream and removes or re-adds it',
    )
  } else {
    deps.logger.warn(
      { instanceId, failures, retryAt: next.retryAt.toISOString(), err: errorSummary(err) },
      'quarantined instance logout failed; will retry',
    )
  }
}

export interface LogoutRetryReport {
  loggedOut: number
  failed: number
}

/**
 * One pass of the background job: logs out every free quarantined instance whose attempt is
 * due, one at a time (each leased so other processes and the pool leave it alone meanwhile).
 * At most `maxPerPass` instances per pass, so a pass stays short.
 */
export async function retryQuarantinedLogouts(
  deps: WhatsAppDeps,
  opts: { maxPerPass?: number } = {},
): Promise<LogoutRetryReport> {
  const report: LogoutRetryReport = { loggedOut: 0, failed: 0 }
  const max = opts.maxPerPass ?? 20
  for (let i = 0; i < max; i++) {
    const now = deps.clock.now()
    const instance = await deps.instances.takeDueQuarantined(now, new Date(now.getTime() + deps.config.logoutRetry.leaseMs))
    if (!instance) break
    try {
      await deps.provider.logout(credentialsOfInstance(deps, instance))
    } catch (err) {
      report.failed++
      await recordFailedLogout(deps, instance.id, err)
      continue
    }
    await deps.instances.clearQuarantine(instance.id)
    report.loggedOut++
    deps.logger.info({ instanceId: instance.id }, 'quarantined instance logged out; back in the pool')
  }
  return report
}
