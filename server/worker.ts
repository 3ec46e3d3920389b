import { buildCoreServices } from '../app/core-services.server'
import { startWorkers } from '../app/utils/job-worker.server'
import { parseEnv } from '../app/utils/env.server'
import { migrateToLatest } from '../db/migrate'
import { envOf, processCliIo } from './cli-io'
import { connectDatabase } from './database'
import { prepareSecrets, resolveDatabase } from './runtime'

/**
 * `npm run worker`: the background jobs alone (message sends, CRM event deliveries, the purge),
 * for deployments that run them apart from the HTTP processes (those then set WA_JOB_WORKER=off).
 * Same database and configuration as `npm start`. SIGINT/SIGTERM: running jobs finish, then exit 0.
 */
const note = (line: string) => process.stderr.write(`${line}\n`)

async function main(): Promise<number> {
  const env = envOf(processCliIo())
  prepareSecrets(env)
  const database = await resolveDatabase(env)
  const db = connectDatabase(database.databaseUrl, 6)
  try {
    await migrateToLatest(db, database.directUrl)
    const core = buildCoreServices(parseEnv(env), { db })
    const worker = await startWorkers(core, database.directUrl)
    note(`Worker started (concurrency ${core.env.WA_JOB_CONCURRENCY}, sends ${core.env.WA_SEND_CONCURRENCY}); Ctrl-C stops it.`)
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    note(`${signal} received: finishing running jobs…`)
    await worker.stop()
    return 0
  } catch (e) {
    note(`Worker failed: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  } finally {
    await db.destroy().catch(() => {})
    await database.stop().catch(() => {})
  }
}

process.exit(await main())
