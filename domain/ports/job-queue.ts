/**
 * Durable background jobs (PostgreSQL-backed: adapters/queue/graphile-job-queue.ts). A job runs
 * at least once, in any app process or `npm run worker`; handlers must be idempotent. Payloads
 * are stored in clear in the jobs table: ids only, never a message text, a phone number or a
 * secret.
 */
export interface JobQueue {
  /**
   * Schedules `task` with `payload`.
   * - `runAt`: not before this time (default now);
   * - `key`: at most one pending job per key — a second enqueue with the same key replaces the
   *   pending one's payload and run time (a running job is not affected);
   * - `queue`: jobs of one queue run one at a time, in order (e.g. one queue per instance);
   * - `maxAttempts`: tries before the job is given up (default 25, with exponential backoff).
   *
   * @example
   * await jobs.enqueue('wa.send-message', { messageId }, { queue: `wa-send:${instanceId}` })
   */
  enqueue(task: JobName, payload: JobPayload, options?: EnqueueOptions): Promise<void>
}

export type JobPayload = Record<string, string | number | boolean | null>

export interface EnqueueOptions {
  runAt?: Date
  key?: string
  /**
   * With `key`, what a second enqueue does to a pending job: `replace` (default: its payload and
   * run time) or `preserveRunAt` (its payload only: a job already scheduled for later stays so).
   */
  keyMode?: 'replace' | 'preserveRunAt'
  queue?: string
  maxAttempts?: number
}

/**
 * Every task the workers know, in one place: a job of a name missing here cannot be enqueued.
 * The handlers are wired in app/utils/job-worker.server.ts.
 */
export const JOB_NAMES = [
  'wa.send-message',
  'wa.deliver-event',
  'wa.purge-messages',
  'wa.unlink-after-addon-end',
  'wa.apply-receipts',
  'wa.refresh-profile',
] as const
export type JobName = (typeof JOB_NAMES)[number]

/** A task's handler: throws to be retried later (backoff), returns to be done. */
export type JobHandler = (payload: JobPayload, context: JobContext) => Promise<void>

export interface JobContext {
  /**
   * Aborted when this process's workers stop: a long-running handler (a send drain) should hand
   * its work on (re-add itself) and return, so the stop does not wait for it.
   */
  stopping: AbortSignal
}
