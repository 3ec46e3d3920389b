import { startJobWorker, type JobWorker } from '../../adapters/queue/graphile-job-queue'
import { applyParkedReceipts } from '../../domain/messages'
import type { JobHandler, JobName } from '../../domain/ports/job-queue'
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
    'wa.send-message': notYet('wa.send-message'),
    'wa.deliver-event': notYet('wa.deliver-event'),
    'wa.purge-messages': notYet('wa.purge-messages'),
    'wa.apply-receipts': async (payload) => {
      const instanceId = payload['instanceId']
      const upstreamMessageId = payload['upstreamMessageId']
      if (typeof instanceId !== 'string' || typeof upstreamMessageId !== 'string') return
      await applyParkedReceipts(core.messageEvents, { instanceId, upstreamMessageId })
    },
  }
}

/** Scheduled tasks, graphile-worker crontab syntax (each tick runs once across all processes). */
export const JOB_CRONTAB = ''

/**
 * Starts this process's workers (every app process, or `npm run worker` alone): on a session
 * connection (DATABASE_DIRECT_URL), since graphile-worker LISTENs for new jobs.
 */
export function startWorkers(core: CoreServices, connectionString: string): Promise<JobWorker> {
  return startJobWorker({
    connectionString,
    handlers: jobHandlers(core),
    concurrency: core.env.WA_JOB_CONCURRENCY,
    crontab: JOB_CRONTAB,
    logger: core.logger,
  })
}
