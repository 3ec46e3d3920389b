import { startJobWorker, type JobWorker } from '../../adapters/queue/graphile-job-queue'
import type { JobHandler, JobName, JobPayload } from '../../domain/ports/job-queue'
import { applyParkedReceipts, drainSendQueue, purgeOldMessages } from '../../domain/messages'
import { unlinkAfterAddonEnd } from '../../domain/whatsapp'
import type { CoreServices } from '../core-services.server'

/**
 * Every background task and its handler, in one place (the names are domain/ports/job-queue.ts's
 * JOB_NAMES: the compiler asks for a handler for each). Handlers are thin: they parse the
 * payload and call one use case.
 */
export function jobHandlers(core: CoreServices): Record<JobName, JobHandler> {
  const notYet = (name: JobName): JobHandler => {
    return async () => {
      core.logger.warn({ job: name }, 'no handler for this job yet')
    }
  }
  return {
    'wa.send-message': async (payload) => {
      await drainSendQueue(core.messages, { instanceId: instanceIdOf(payload) })
    },
    'wa.deliver-event': notYet('wa.deliver-event'),
    'wa.purge-messages': async () => {
      await purgeOldMessages(core.messages)
    },
    'wa.unlink-after-addon-end': async () => {
      await unlinkAfterAddonEnd(core.whatsapp)
    },
    'wa.apply-receipts': async (payload) => {
      const instanceId = payload['instanceId']
      const upstreamMessageId = payload['upstreamMessageId']
      if (typeof instanceId !== 'string' || typeof upstreamMessageId !== 'string') return
      await applyParkedReceipts(core.messageEvents, { instanceId, upstreamMessageId })
    },
  }
}

/** A send job's payload: `{instanceId}` (digits). Anything else is a bug: fail the job loudly. */
function instanceIdOf(payload: JobPayload): string {
  const id = payload['instanceId']
  if (typeof id !== 'string' || !/^\d{1,20}$/.test(id)) throw new Error('wa.send-message job without a valid instanceId')
  return id
}

/** Scheduled tasks (graphile-worker's cron syntax; each tick runs once across all processes). */
export const JOB_SCHEDULE: ReadonlyArray<{ cron: string; task: JobName }> = [
  // Numbers still linked after the add-on's grace (decision 169): checked every quarter hour.
  { cron: '*/15 * * * *', task: 'wa.unlink-after-addon-end' },
  // Retention (WA_MESSAGE_RETENTION_DAYS, decision 174): every night at 03:17 UTC.
  { cron: '17 3 * * *', task: 'wa.purge-messages' },
]

/**
 * Starts this process's workers (every app process, or `npm run worker` alone): on a session
 * connection (DATABASE_DIRECT_URL), since graphile-worker LISTENs for new jobs.
 */
export function startWorkers(core: CoreServices, connectionString: string): Promise<JobWorker> {
  return startJobWorker({
    connectionString,
    handlers: jobHandlers(core),
    concurrency: core.env.WA_JOB_CONCURRENCY,
    pollIntervalMs: core.env.WA_JOB_POLL_INTERVAL_MS,
    schedule: JOB_SCHEDULE,
    logger: core.logger,
  })
}
