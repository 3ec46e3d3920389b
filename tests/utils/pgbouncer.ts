import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { freePort } from './free-port'

export const PGBOUNCER_BIN = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer'

export interface PgBouncer {
  /** `serverUrl`'s database `db`, through the pooler. */
  url(db: string): string
  /** A query on the admin console (`SHOW CLIENTS`, `SHOW POOLS`, …). */
  admin(command: string): Promise<Array<Record<string, unknown>>>
  log(): string
  stop(): Promise<void>
}

/**
 * Debian's PgBouncer in transaction mode in front of the test PostgreSQL (`serverUrl`, e.g.
 * postgres://postgres:pw@127.0.0.1:5432), on a free loopback port, with a generated userlist
 * (the server's own user and password, so PgBouncer can log in to PostgreSQL with them). As
 * root it drops to the `postgres` user (PgBouncer refuses to run as root).
 */
export async function startPgBouncer(
  serverUrl: string,
  opts: { poolSize?: number; connectQuery?: string } = {},
): Promise<PgBouncer> {
  if (!fs.existsSync(PGBOUNCER_BIN)) {
    throw new Error(`PgBouncer is not installed (${PGBOUNCER_BIN}): run \`apt-get install -y pgbouncer\` (.ci/run installs it).`)
  }
  const server = new URL(serverUrl)
  const user = decodeURIComponent(server.username)
  const password = decodeURIComponent(server.password)
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-pgbouncer-'))
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`
  fs.writeFileSync(path.join(dir, 'userlist.txt'), `${quote(user)} ${quote(password)}\n`, { mode: 0o600 })
  fs.writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}${opts.connectQuery ? ` connect_query='${opts.connectQuery.replace(/'/g, "''")}'` : ''}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      `admin_users = ${user}`,
      'pool_mode = transaction',
      `default_pool_size = ${opts.poolSize ?? 5}`,
      'max_client_conn = 500',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  )
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    fs.chmodSync(dir, 0o755)
    for (const f of fs.readdirSync(dir)) fs.chownSync(path.join(dir, f), uidOf('postgres'), gidOf('postgres'))
    fs.chownSync(dir, uidOf('postgres'), gidOf('postgres'))
  }
  let out = ''
  const child: ChildProcess = spawn(PGBOUNCER_BIN, [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (c) => (out += String(c)))
  child.stderr!.on('data', (c) => (out += String(c)))
  const log = () => {
    const file = path.join(dir, 'pgbouncer.log')
    return `${out}${fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''}`
  }
  const url = (db: string) => `postgres://${server.username}:${server.password}@127.0.0.1:${port}/${db}`
  const admin = async (command: string) => {
    const client = new pg.Client({ connectionString: url('pgbouncer') })
    await client.connect()
    try {
      // The admin console speaks the simple query protocol only.
      return (await client.query({ text: command, queryMode: 'simple' } as pg.QueryConfig)).rows as Array<Record<string, unknown>>
    } finally {
      await client.end()
    }
  }
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited early:\n${log().slice(-2000)}`)
    const up = await admin('SHOW VERSION').then(
      () => true,
      () => false,
    )
    if (up) break
    if (Date.now() > deadline) throw new Error(`pgbouncer did not answer:\n${log().slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    admin,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        child.kill('SIGINT')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

function idOf(name: string, field: 2 | 3): number {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`))
  if (!line) throw new Error(`no ${name} user to run PgBouncer as (it refuses to run as root)`)
  return Number(line.split(':')[field])
}
const uidOf = (name: string) => idOf(name, 2)
const gidOf = (name: string) => idOf(name, 3)
