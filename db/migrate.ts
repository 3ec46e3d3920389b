import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely'
import pg from 'pg'

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations')

/** Loads db/migrations/*.ts (tsx or vitest transpile them). Names sort by their timestamp prefix. */
class TsFileMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(migrationsDir)).filter((f) => /^\d{4}_.*\.ts$/.test(f)).sort()
    const out: Record<string, Migration> = {}
    for (const file of files) {
      out[file.replace(/\.ts$/, '')] = (await import(pathToFileURL(path.join(migrationsDir, file)).href)) as Migration
    }
    return out
  }
}

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new TsFileMigrationProvider() })
}

type Log = (line: string) => void

/** The one migration runner: used by `npm start`, `npm run db:migrate`, the tests and CI. */
export async function migrateToLatest(db: Kysely<any>, log: Log = () => {}): Promise<void> {
  const { error, results } = await createMigrator(db).migrateToLatest()
  for (const r of results ?? []) log(`migration ${r.migrationName}: ${r.status}`)
  if (error) throw error instanceof Error ? error : new Error(String(error))
}

/** Rolls every migration back (used by db:reset and the up → down → up test). */
export async function migrateAllDown(db: Kysely<any>, log: Log = () => {}): Promise<void> {
  const migrator = createMigrator(db)
  for (;;) {
    const { error, results } = await migrator.migrateDown()
    if (error) throw error instanceof Error ? error : new Error(String(error))
    if (!results || results.length === 0) return
    for (const r of results) log(`migration ${r.migrationName} down: ${r.status}`)
  }
}

// CLI: `npm run db:migrate` / `npm run db:reset` against DATABASE_URL or the embedded server.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { resolveDatabase } = await import('../server/runtime')
  const { databaseUrl, stop } = await resolveDatabase()
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 2 }) }) })
  const log = (l: string) => console.error(l)
  try {
    if (process.argv.includes('--reset')) await migrateAllDown(db, log)
    await migrateToLatest(db, log)
  } catch (e) {
    console.error(`Migration failed: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 1
  } finally {
    await db.destroy()
    await stop()
  }
}
