import fs from 'node:fs'
import type { Server } from 'node:http'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ServerBuild } from '@remix-run/node'
import { migrateToLatest } from '../db/migrate'
import { DEMO_USERS, seedDemoData } from '../db/seed'
import { appEntryOf } from './app-entry'
import { assertProductionBuild, buildFile, buildIfNeeded } from './build'
import { connectDatabase } from './database'
import { createHttpApp } from './http-app'
import { parseServerEnv, prepareSecrets, resolveDatabase, verifiedDemoPasswords, type ServerEnv } from './runtime'

/**
 * `npm start`: embedded PostgreSQL (unless DATABASE_URL), migrations, demo seed, then serve.
 * Development builds the app first when its sources changed; production (NODE_ENV=production,
 * compiled to build/server/start.js) serves only what `npm run build` made. Under `npm run dev`
 * (`--dev`, started by `remix dev --manual`) the build is re-imported after each rebuild and
 * the browser reloaded. Ctrl-C / SIGTERM closes HTTP, the pool and PostgreSQL in order.
 */
const say = (line: string) => process.stdout.write(`${line}\n`)
const note = (line: string) => process.stderr.write(`${line}\n`)

const devServer = process.argv.includes('--dev')
// `npm run dev` is for a human at a terminal: readable log lines unless asked otherwise.
if (devServer) process.env.LOG_FORMAT ??= 'pretty'

/** PORT, HOST and the rest, checked once: a typo is a clear error, not a listen on a random port. */
function serverEnv(): ServerEnv {
  try {
    return parseServerEnv()
  } catch (e) {
    note(e instanceof Error ? e.message : String(e))
    process.exit(1)
  }
}

/** The latest build under `npm run dev`: re-imported when remix dev rewrites build/version.txt. */
async function watchDevBuild(initial: ServerBuild, onReload: (build: ServerBuild) => void): Promise<void> {
  const { broadcastDevReady } = await import('@remix-run/node')
  const versionFile = path.join(path.dirname(buildFile), 'version.txt')
  let version = fs.existsSync(versionFile) ? fs.readFileSync(versionFile, 'utf8') : ''
  await broadcastDevReady(initial)
  fs.watch(path.dirname(buildFile), (_event, file) => {
    if (file !== 'version.txt' || !fs.existsSync(versionFile)) return
    const next = fs.readFileSync(versionFile, 'utf8')
    if (next === version) return
    version = next
    void import(`${pathToFileURL(buildFile).href}?v=${encodeURIComponent(next)}`).then(
      async (build: ServerBuild) => {
        onReload(build)
        await broadcastDevReady(build)
        note(`Reloaded the app build (${next.trim()})`)
      },
      (e: unknown) => note(`Could not reload the build: ${e instanceof Error ? e.message : String(e)}`),
    )
  })
}

async function main() {
  const env = serverEnv()
  const { PORT: port, HOST: host, dataDir } = env
  const production = env.NODE_ENV === 'production'
  const seedDemo = !production || env.SEED_DEMO
  let demoPassword: string
  try {
    ;({ demoPassword } = prepareSecrets())
  } catch (e) {
    note(e instanceof Error ? e.message : String(e))
    process.exit(1)
  }
  let built: Promise<void>
  if (production) {
    try {
      assertProductionBuild()
    } catch (e) {
      note(e instanceof Error ? e.message : String(e))
      process.exit(1)
    }
    built = Promise.resolve()
  } else {
    // remix dev builds before it starts us; a plain `npm start` builds when sources changed.
    built = devServer ? Promise.resolve() : buildIfNeeded()
  }
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
    if (build)
      await appEntryOf(build)
        .shutdownServices()
        .catch(() => {})
    await database.stop().catch(() => {})
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))

  try {
    // Migrations hold the migration lock for their whole run: around the pooler, if any.
    const db = connectDatabase(database.directUrl, 2)
    try {
      await migrateToLatest(db, database.directUrl)
      if (seedDemo) await seedDemoData(db, demoPassword, verifiedDemoPasswords())
    } finally {
      await db.destroy()
    }

    await built
    build = (await import(pathToFileURL(buildFile).href)) as ServerBuild
    const booted = await appEntryOf(build).bootServices({ port, dataDir })
    let current = build
    const app = createHttpApp({ build: devServer ? () => current : build, routers: booted.routers })

    server = await new Promise<Server>((resolve, reject) => {
      const s = host ? app.listen(port, host, () => resolve(s)) : app.listen(port, () => resolve(s))
      s.once('error', reject)
    })
    if (devServer) await watchDevBuild(build, (next) => (current = next))
    const url =
      booted.publicUrl ??
      `http://${host && host !== '0.0.0.0' && host !== '::' ? (host.includes(':') ? `[${host}]` : host) : 'localhost'}:${port}`
    say(`WhatsApp Pro is running at ${url}  (Green-API mode: ${booted.mode})`)
    if (seedDemo) {
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
        : err.code === 'EADDRNOTAVAIL'
          ? `HOST=${host} is not an address of this machine (try 127.0.0.1, or unset HOST to listen on every interface).`
          : `Start failed: ${err.message}`,
    )
    await database.stop().catch(() => {})
    process.exit(1)
  }
}

void main()
