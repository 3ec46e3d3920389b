import type { Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import type { ServerBuild } from '@remix-run/node'
import { Kysely, PostgresDialect } from 'kysely'
import { createPgPool } from '../adapters/postgres/pg-pool'
import { migrateToLatest } from '../db/migrate'
import type { Database } from '../db/schema'
import { DEMO_USERS, seedDemoData } from '../db/seed'
import { buildFile, buildIfNeeded } from './build'
import { createHttpApp } from './http-app'
import { dataDir, prepareSecrets, resolveDatabase } from './runtime'

/**
 * `npm start`: embedded PostgreSQL (unless DATABASE_URL), migrations, demo seed, build if the
 * sources changed, then serve. Ctrl-C / SIGTERM closes HTTP, the pool and PostgreSQL in order.
 */
const say = (line: string) => process.stdout.write(`${line}\n`)
const note = (line: string) => process.stderr.write(`${line}\n`)

async function main() {
  const port = Number(process.env.PORT ?? 3000)
  const { demoPassword } = prepareSecrets()
  const built = buildIfNeeded()
  built.catch(() => {}) // awaited below; avoid an unhandled rejection while PostgreSQL starts
  let database: Awaited<ReturnType<typeof resolveDatabase>>
  try {
    database = await resolveDatabase()
  } catch (e) {
    note(`Start failed: ${e instanceof Error ? e.message : String(e)}`)
    process.exit(1)
  }
  let server: Server | undefined
  let build: ServerBuild | undefined
  let stopping = false

  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    note(`${signal} received, shutting down…`)
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    if (server) {
      await new Promise<void>((resolve) => {
        server!.close(() => resolve())
        server!.closeAllConnections()
      })
    }
    const entry = build?.entry.module as { shutdownServices?: () => Promise<void> } | undefined
    await entry?.shutdownServices?.().catch(() => {})
    await database.stop().catch(() => {})
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))

  try {
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: createPgPool({ connectionString: database.databaseUrl, max: 2 }) }),
    })
    try {
      await migrateToLatest(db)
      if (process.env.NODE_ENV !== 'production' || process.env.SEED_DEMO === '1') await seedDemoData(db, demoPassword)
    } finally {
      await db.destroy()
    }

    await built
    build = (await import(pathToFileURL(buildFile).href)) as ServerBuild
    const entry = build.entry.module as unknown as {
      bootServices: (opts: { port: number; dataDir: string }) => Promise<{ routers?: Parameters<typeof createHttpApp>[0]['routers']; mode: string }>
    }
    const booted = await entry.bootServices({ port, dataDir })
    const app = createHttpApp({ build, routers: booted.routers })

    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(port, () => resolve(s))
      s.once('error', reject)
    })
    const url = process.env.PUBLIC_URL ?? `http://localhost:${port}`
    say(`WhatsApp Pro is running at ${url}  (Green-API mode: ${booted.mode})`)
    if (process.env.NODE_ENV !== 'production' || process.env.SEED_DEMO === '1') {
      say(`Sign in at ${url}/login with:`)
      for (const u of DEMO_USERS) say(`  ${u.email.padEnd(22)} ${u.role.padEnd(7)} tenant ${u.tenantId}`)
      say(`  password: ${demoPassword}`)
    }
    say('Press Ctrl-C to stop.')
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    note(
      err.code === 'EADDRINUSE'
        ? `Port ${port} is already in use. Stop the other program or run with PORT=<free port> npm start.`
        : `Start failed: ${err.message}`,
    )
    await database.stop().catch(() => {})
    process.exit(1)
  }
}

void main()
