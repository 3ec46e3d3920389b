import { Kysely, Migrator, PostgresDialect, sql } from 'kysely'
import { createPgPool } from '../adapters/postgres/pg-pool'
import { migrateJobQueue } from '../adapters/queue/graphile-job-queue'
import { migrations } from './migrations/index'

function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } })
}

type Log = (line: string) => void

/**
 * The one migration runner: used by `npm start`, `npm run db:migrate`, the tests and CI. Ours
 * (Kysely, on `db`), then graphile-worker's own schema for the job queue (on `connectionString`,
 * the same database: a session connection, since it takes an advisory lock).
 */
export async function migrateToLatest(db: Kysely<any>, connectionString: string, log: Log = () => {}): Promise<void> {
  const { error, results } = await createMigrator(db).migrateToLatest()
  for (const r of results ?? []) log(`migration ${r.migrationName}: ${r.status}`)
  if (error) throw error instanceof Error ? error : new Error(String(error))
  await migrateJobQueue(connectionString)
  log('job queue schema: up to date')
}

/** Rolls every migration back (used by db:reset and the up → down → up test). */
export async function migrateAllDown(db: Kysely<any>, log: Log = () => {}): Promise<void> {
  const migrator = createMigrator(db)
  for (;;) {
    const { error, results } = await migrator.migrateDown()
    if (error) throw error instanceof Error ? error : new Error(String(error))
    if (!results || results.length === 0) break
    for (const r of results) log(`migration ${r.migrationName} down: ${r.status}`)
  }
  // graphile-worker has no down migrations: its schema goes as a whole.
  await sql`DROP SCHEMA IF EXISTS graphile_worker CASCADE`.execute(db)
  log('job queue schema: dropped')
}

/** `npm run db:migrate` / `npm run db:reset` against DATABASE_DIRECT_URL, DATABASE_URL or the embedded server. */
export async function migrateCli(argv: string[]): Promise<number> {
  const { resolveDatabase } = await import('../server/runtime')
  const log = (l: string) => console.error(l)
  let database: Awaited<ReturnType<typeof resolveDatabase>>
  try {
    database = await resolveDatabase()
  } catch (e) {
    log(`Migration failed: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  }
  const pool = createPgPool({ connectionString: database.directUrl, max: 2 }) // a client dropped at teardown is not a failed migration
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  try {
    if (argv.includes('--reset')) await migrateAllDown(db, log)
    await migrateToLatest(db, database.directUrl, log)
    log('Migrations are up to date.')
    return 0
  } catch (e) {
    log(`Migration failed: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  } finally {
    await db.destroy().catch(() => {})
    await database.stop().catch(() => {})
  }
}
