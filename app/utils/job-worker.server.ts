import { startJobWorker, type JobWorker } from '../../adapters/queue/graphile-job-queue'
import type { JobHandler, JobName, JobPayload } from '../../domain/ports/job-queue'
import { applyParkedReceipts, drainSendQueue, purgeOldMessages } from '../../domain/messages'
import { deliverEvent } from '../../domain/webhooks'
import { purgeOldStatusEvents, refreshLinkedProfile, unlinkAfterAddonEnd } from '../../domain/whatsapp'
import type { CoreServices } from '../core-services.server'

/**
 * Every background task and its handler, in one place (the names are domain/ports/job-queue.ts's
 * JOB_NAMES: the compiler asks for a handler for each). Handlers are thin: they parse the
 * payload and call one use case.
 */
export function jobHandlers(core: CoreServices): Record<JobName, JobHandler> {
  return {
    'wa.send-message': async (payload, { stopping }) => {
      await drainSendQueue(core.messages, { instanceId: instanceIdOf(payload), stopping })
    },
    'wa.purge-messages': async () => {
      await purgeOldMessages(core.messages)
      // CRM events copy message texts into their payloads: the same retention (decision 174).
      const cutoff = new Date(Date.now() - core.messages.config.retentionDays * 86_400_000)
      await core.webhooks.store.purgeEventsBefore(cutoff)
      // The status history, on its own retention (WA_STATUS_EVENTS_RETENTION_DAYS, decision 259).
      await purgeOldStatusEvents(core.whatsapp)
    },
    // One try of one CRM delivery; the use case schedules its own retries (decision 181).
    'wa.deliver-event': async (payload) => {
      if (typeof payload.deliveryId !== 'string') {
        core.logger.warn({ job: 'wa.deliver-event' }, 'job without a deliveryId: dropped')
        return
      }
      await deliverEvent(core.webhooks, { deliveryId: payload.deliveryId })
    },
    'wa.unlink-after-addon-end': async () => {
      await unlinkAfterAddonEnd(core.whatsapp)
    },
    // The linked account's name and picture, on link and at most daily (decision 242).
    'wa.refresh-profile': async (payload) => {
      if (typeof payload.tenantId !== 'string') {
        core.logger.warn({ job: 'wa.refresh-profile' }, 'job without a tenantId: dropped')
        return
      }
      await refreshLinkedProfile(core.whatsapp, { tenantId: payload.tenantId })
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
  // Retention (WA_MESSAGE_RETENTION_DAYS, decision 174; WA_STATUS_EVENTS_RETENTION_DAYS, decision 259): every night at 03:17 UTC.
  { cron: '17 3 * * *', task: 'wa.purge-messages' },
]

/** The tasks of the send pool (decision 171); every other task runs in the general pool. */
const SEND_TASKS: ReadonlySet<JobName> = new Set<JobName>(['wa.send-message'])

/**
 * Starts this process's workers (every app process, or `npm run worker` alone): on a session
 * connection (DATABASE_DIRECT_URL), since graphile-worker LISTENs for new jobs. Two pools: the
 * send drains (`WA_SEND_CONCURRENCY` slots: a drain keeps its slot while it sleeps out its
 * instance's pace) and everything else (`WA_JOB_CONCURRENCY`: CRM event deliveries, purges,
 * scheduled tasks), so sends never hold the slots of the other jobs, nor the other way round.
 */
export async function startWorkers(core: CoreServices, connectionString: string): Promise<JobWorker> {
  const all = jobHandlers(core)
  const pick = (send: boolean) =>
    Object.fromEntries(Object.entries(all).filter(([name]) => SEND_TASKS.has(name as JobName) === send))
  const common = { connectionString, pollIntervalMs: core.env.WA_JOB_POLL_INTERVAL_MS, logger: core.logger }
  const general = await startJobWorker({
    ...common,
    handlers: pick(false),
    concurrency: core.env.WA_JOB_CONCURRENCY,
    schedule: JOB_SCHEDULE,
  })
  let sends: JobWorker
  try {
    sends = await startJobWorker({
      ...common,
      handlers: pick(true),
      concurrency: core.env.WA_SEND_CONCURRENCY,
      // Its jobs mostly sleep: a connection is held only to fetch or complete one.
      maxPoolSize: Math.min(core.env.WA_SEND_CONCURRENCY, 4),
    })
  } catch (err) {
    await general.stop()
    throw err
  }
  return {
    async stop() {
      await Promise.all([sends.stop(), general.stop()])
    },
  }
}

export interface SupervisedWorkers {
  /** Stops the workers (running jobs finish) and any restart in progress. */
  stop(): Promise<void>
}

/**
 * The workers, let go and started again when PostgreSQL shuts down: a smart shutdown waits for
 * every session to end, and graphile-worker holds a LISTEN connection and a pool of its own, so
 * like the status hub it must let them go, then come back once PostgreSQL accepts connections
 * again (a start is retried every `retryMs` while it refuses them).
 */
export async function superviseWorkers(
  core: CoreServices,
  connectionString: string,
  onDatabaseShuttingDown: (listener: () => void) => void,
  retryMs = 2_000,
): Promise<SupervisedWorkers> {
  let current: JobWorker | undefined = await startWorkers(core, connectionString)
  let stopped = false
  let cycle: Promise<void> = Promise.resolve()
  const restart = async () => {
    const old = current
    current = undefined
    await old?.stop()
    while (!stopped) {
      try {
        const next = await startWorkers(core, connectionString)
        if (stopped) await next.stop()
        else current = next
        return
      } catch {
        await new Promise((resolve) => setTimeout(resolve, retryMs))
      }
    }
  }
  onDatabaseShuttingDown(() => {
    if (stopped || !current) return
    core.logger.warn({ component: 'job-worker' }, 'PostgreSQL is shutting down: job workers let their sessions go')
    cycle = cycle.then(restart)
  })
  return {
    async stop() {
      stopped = true
      await cycle
      await current?.stop()
    },
  }
}
