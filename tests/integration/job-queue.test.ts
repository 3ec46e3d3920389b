import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { GraphileJobQueue, addJob, startJobWorker, taskIdentifier, type JobWorker } from '../../adapters/queue/graphile-job-queue'
import type { JobHandler, JobName, JobPayload } from '../../domain/ports/job-queue'
import { testDb } from '../utils/db'
import { eventually } from '../utils/wa-harness'

// The job queue adapter on a real PostgreSQL: graphile-worker's schema comes with our migrations
// (the template database), jobs run in a worker pool of this process, keys replace, transactions
// hold their jobs back until commit, and a stop waits for the running job.
const db = testDb()
const url = process.env.DATABASE_URL!
const quiet = { info() {}, warn() {}, error() {} }
let worker: JobWorker | undefined
afterAll(async () => {
  await worker?.stop()
  await db.destroy()
})

function recorder() {
  const seen: JobPayload[] = []
  const handler: JobHandler = async (p) => {
    seen.push(p)
  }
  return { seen, handler }
}

async function pendingJobs(task: JobName): Promise<number> {
  const r = await sql<{
    n: string
  }>`select count(*)::text as n from graphile_worker.jobs where task_identifier = ${taskIdentifier(task)}`.execute(db)
  return Number(r.rows[0]!.n)
}

describe('graphile job queue', () => {
  it('runs an enqueued job once, replaces a pending job of the same key, and commits jobs with their transaction', async () => {
    const send = recorder()
    const handlers = { 'wa.send-message': send.handler }
    const queue = new GraphileJobQueue(db)

    // A rolled-back transaction leaves no job; a keyed job enqueued twice is one job.
    await db
      .transaction()
      .execute(async (trx) => {
        await addJob(trx, 'wa.send-message', { messageId: 'rolled-back' })
        throw new Error('rollback')
      })
      .catch(() => {})
    const later = new Date(Date.now() + 3_600_000)
    await queue.enqueue('wa.send-message', { messageId: 'first' }, { key: 'k1', runAt: later })
    await queue.enqueue('wa.send-message', { messageId: 'second' }, { key: 'k1', runAt: later })
    expect(await pendingJobs('wa.send-message')).toBe(1)

    worker = await startJobWorker({ connectionString: url, handlers, concurrency: 2, pollIntervalMs: 200, logger: quiet })
    await queue.enqueue('wa.send-message', { messageId: 'now' })
    await eventually(async () => expect(send.seen).toEqual([{ messageId: 'now' }]))
    // The keyed job is still waiting for its time, with the second payload.
    const waiting = await sql<{ payload: unknown }>`select payload from graphile_worker._private_jobs where key = 'k1'`.execute(
      db,
    )
    expect(waiting.rows).toEqual([{ payload: { messageId: 'second' } }])
    await worker.stop()
    worker = undefined
  })

  it('retries a job whose handler throws, and a stop waits for the running job', async () => {
    let calls = 0
    let finished = false
    const handlers = {
      'wa.deliver-event': async () => {
        calls++
        if (calls === 1) throw new Error('first attempt fails')
      },
      'wa.purge-messages': async () => {
        await new Promise((r) => setTimeout(r, 500))
        finished = true
      },
    }
    const signalsBefore = process.listenerCount('SIGTERM') + process.listenerCount('SIGINT')
    worker = await startJobWorker({ connectionString: url, handlers, concurrency: 2, pollIntervalMs: 200, logger: quiet })
    // graphile-worker installs no signal handler of its own (the process's shutdown owns exit codes).
    expect(process.listenerCount('SIGTERM') + process.listenerCount('SIGINT')).toBe(signalsBefore)

    const queue = new GraphileJobQueue(db)
    await queue.enqueue('wa.deliver-event', { deliveryId: 'd1' }, { maxAttempts: 3 })
    await eventually(async () => {
      const r = await sql<{ attempts: number; last_error: string | null }>`
        select attempts, last_error from graphile_worker.jobs where task_identifier = 'wa:deliver-event'`.execute(db)
      expect(r.rows[0]).toMatchObject({ attempts: 1, last_error: expect.stringContaining('first attempt fails') })
    })
    // The retry is scheduled with backoff (about 2 s in): pull it forward rather than wait.
    await sql`update graphile_worker._private_jobs set run_at = now()`.execute(db)
    await eventually(async () => {
      expect(calls).toBe(2)
      expect(await pendingJobs('wa.deliver-event')).toBe(0)
    })

    await queue.enqueue('wa.purge-messages', {})
    await eventually(async () => {
      const r = await sql<{
        n: string
      }>`select count(*)::text as n from graphile_worker.jobs where locked_at is not null`.execute(db)
      expect(r.rows[0]!.n).toBe('1')
    })
    await worker.stop()
    worker = undefined
    expect(finished).toBe(true)
  })
})
