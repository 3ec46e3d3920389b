import { Logger as GraphileLogger, run, runMigrations, type Runner, type Task, type TaskList } from 'graphile-worker'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { EnqueueOptions, JobHandler, JobName, JobPayload, JobQueue } from '../../domain/ports/job-queue'
import type { Logger } from '../../domain/ports/logger'
import { createPgPool } from '../postgres/pg-pool'

/**
 * The job queue is graphile-worker's (docs/decisions/170): its own schema `graphile_worker`,
 * migrated by graphile-worker itself, jobs fetched with SKIP LOCKED (safe with N replicas),
 * new jobs announced by NOTIFY. Jobs are added through its documented SQL function `add_job`,
 * so a job can be added in the same transaction as the row it is about (a message and its send
 * job commit together or not at all), and through a transaction-mode pooler.
 */
type Executor = Kysely<any> | Transaction<any>

/**
 * A job's task identifier in graphile-worker's tables: our names with `:` for `.`, since its
 * crontab accepts only `[_a-zA-Z][-_a-zA-Z0-9:]*` (`wa.send-message` → `wa:send-message`).
 */
export function taskIdentifier(name: JobName): string {
  return name.replaceAll('.', ':')
}

/** Adds a job through `graphile_worker.add_job` on `executor` (the caller's transaction, if any). */
export async function addJob(executor: Executor, task: JobName, payload: JobPayload, options: EnqueueOptions = {}) {
  await sql`select graphile_worker.add_job(
      identifier => ${taskIdentifier(task)}::text,
      payload => ${JSON.stringify(payload)}::json,
      queue_name => ${options.queue ?? null}::text,
      run_at => ${options.runAt ?? null}::timestamptz,
      max_attempts => ${options.maxAttempts ?? null}::int,
      job_key => ${options.key ?? null}::text,
      job_key_mode => ${options.keyMode === 'preserveRunAt' ? 'preserve_run_at' : 'replace'}::text
    )`.execute(executor)
}

export class GraphileJobQueue implements JobQueue {
  constructor(private readonly db: Kysely<any>) {}

  enqueue(task: JobName, payload: JobPayload, options?: EnqueueOptions): Promise<void> {
    return addJob(this.db, task, payload, options)
  }
}

/** graphile-worker's log lines through ours; its per-job info lines only at debug. */
type WorkerLogger = Logger & { debug?(obj: Record<string, unknown>, msg: string): void }

function graphileLogger(logger: WorkerLogger): GraphileLogger {
  return new GraphileLogger(() => (level, message) => {
    // A pool smaller than the concurrency is our choice for the send pool (its jobs mostly sleep).
    if (message.startsWith('WARNING: having maxPoolSize')) logger.debug?.({ component: 'job-worker' }, message)
    else if (level === 'error' || level === 'warning') logger.warn({ component: 'job-worker' }, message)
    else logger.debug?.({ component: 'job-worker' }, message)
  })
}

/**
 * Creates or upgrades graphile-worker's schema (idempotent, under its own advisory lock; run by
 * `migrateToLatest` after ours, so a job can be added before any worker started).
 */
export async function migrateJobQueue(connectionString: string, logger?: WorkerLogger): Promise<void> {
  await runMigrations({ connectionString, ...(logger ? { logger: graphileLogger(logger) } : {}) })
}

export interface JobWorkerOptions {
  /** A session connection (LISTEN): DATABASE_DIRECT_URL, never a transaction-mode pooler. */
  connectionString: string
  handlers: Partial<Record<JobName, JobHandler>>
  /** Jobs run at once in this process. */
  concurrency: number
  /**
   * Connections of this pool's own pg pool (default 10). Workers hold one only to fetch or
   * complete a job, so a pool of mostly sleeping jobs needs few.
   */
  maxPoolSize?: number
  /** Polling for future jobs (retries, runAt) in ms; new jobs arrive by NOTIFY at once. */
  pollIntervalMs?: number
  /**
   * Scheduled jobs: a cron pattern (graphile-worker's crontab syntax: minute hour day month
   * weekday) and the task; each tick runs once across all processes.
   */
  schedule?: ReadonlyArray<{ cron: string; task: JobName }>
  logger: WorkerLogger
}

export interface JobWorker {
  /** Stops taking jobs, tells the running ones (`JobContext.stopping`) and waits for them, closes its pool. */
  stop(): Promise<void>
}

/**
 * Starts a worker pool in this process. `noHandleSignals`: the process's own shutdown
 * (server/start.ts) stops it; graphile-worker must not install SIGINT/SIGTERM handlers that
 * re-kill the process, which would replace our exit code with a signal's.
 */
export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const stopping = new AbortController()
  const taskList: TaskList = {}
  for (const [name, handler] of Object.entries(options.handlers)) {
    if (!handler) continue
    const task: Task = async (payload) => handler((payload ?? {}) as JobPayload, { stopping: stopping.signal })
    taskList[taskIdentifier(name as JobName)] = task
  }
  // Our pool, not one graphile-worker makes: when its runner stops it takes its error listeners
  // off and only then ends its pool, without waiting, so an idle client that PostgreSQL dropped
  // meanwhile (a crash under the app) had no listener, and the unhandled 'error' ended the app.
  // This pool keeps its listeners and is ended after the runner has stopped. Acquiring waits
  // (graphile-worker's own default): a worker retries a failed fetch on its own.
  const pool = createPgPool({
    connectionString: options.connectionString,
    max: options.maxPoolSize ?? 10,
    acquireTimeoutMs: 0,
    log: options.logger,
  })
  let runner: Runner
  try {
    runner = await run({
      pgPool: pool,
      concurrency: options.concurrency,
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 2_000,
      taskList,
      crontab: (options.schedule ?? []).map((s) => `${s.cron} ${taskIdentifier(s.task)}`).join('\n'),
      logger: graphileLogger(options.logger),
    })
  } catch (e) {
    await pool.end().catch(() => {})
    throw e
  }
  // The runner's promise rejects when its worker pool gives up (cron retries on its own since
  // 0.17): said in the log, never an unhandled rejection that would end the whole app.
  runner.promise.catch((e: unknown) => {
    options.logger.error({ component: 'job-worker', err: e instanceof Error ? e.message : String(e) }, 'job worker stopped')
  })
  let stopped: Promise<void> | undefined
  return {
    stop() {
      stopping.abort()
      stopped ??= runner
        .stop()
        .catch((e: unknown) => {
          options.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'job worker stop failed')
        })
        .then(() => pool.end())
        .catch(() => {})
      return stopped
    },
  }
}
