import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../utils/wa-harness'
import { childToken, crmToken, freePort, sseReader, startAppProcess, type AppProcess } from './reliability-support'

/**
 * A dropped database connection (failover, OOM kill, network reset) must not take the process
 * down. The app runs as `npm start` runs it (a child process, so a crash is observable); its
 * PostgreSQL backends are terminated from an admin connection while requests and an SSE stream
 * run. The process must survive, /healthz must keep answering, answers during the drop are the
 * envelope (never a 500), and everything works again once connections are back, the LISTEN
 * connections included (a status NOTIFY reaches the open SSE stream after the drop).
 */
let app: AppProcess
let admin: pg.Client
let token = ''

/** Terminates every backend of the test database except the admin connection's own. */
async function killBackends(): Promise<number> {
  const r = await admin.query(
    'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  )
  return r.rows[0].n as number
}

// The app's own LISTEN sessions (wa_status, wa_cache): graphile-worker's `LISTEN "jobs:insert"`
// sessions come back on their own schedule and must not stand in for them (they did once in CI,
// and the NOTIFY below was sent before the status hub listened again).
async function listenerBackends(): Promise<number> {
  const r = await admin.query(
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and query ilike 'LISTEN wa\\_%'",
  )
  return r.rows[0].n as number
}

const get = (path: string) => fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${token}` } })

beforeAll(async () => {
  app = await startAppProcess({ LOG_LEVEL: 'info' })
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await admin.connect()
  // Not testDb(): its pool would lose its connections to killBackends() too.
  const owner = await admin.query("select id from users where email = 'admin@macrea.test'")
  token = await childToken(owner.rows[0].id as string, 'macrea')
})

afterAll(async () => {
  await app?.stop()
  await admin?.end().catch(() => {})
})

describe('the database drops every connection under load', () => {
  it('the process survives, /healthz answers, and requests and LISTEN work again after', async () => {
    expect((await get('/api/settings/features')).status).toBe(200)
    const stream = await get('/api/wa/events')
    expect(stream.status).toBe(200)
    const events = sseReader(stream)
    await events.next() // the initial snapshot
    await eventually(async () => expect(await listenerBackends()).toBeGreaterThanOrEqual(2))

    const statuses: number[] = []
    const bodies: unknown[] = []
    let running = true
    const load = (async () => {
      while (running) {
        const answers = await Promise.all(
          ['/api/settings/features', '/api/wa/qr/status', '/readyz'].map((p) =>
            get(p).then(
              async (r) => {
                statuses.push(r.status)
                if (r.status !== 200) bodies.push(await r.json().catch(() => 'not json'))
                else await r.body?.cancel()
              },
              () => statuses.push(-1),
            ),
          ),
        )
        void answers
      }
    })()
    let killed = 0
    for (let round = 0; round < 5; round++) {
      killed += await killBackends()
      await new Promise((r) => setTimeout(r, 150))
    }
    expect(killed).toBeGreaterThan(2) // the pool's and both LISTEN connections at least
    running = false
    await load

    expect(app.child.exitCode, app.output().slice(-6000)).toBeNull()
    expect(app.child.signalCode).toBeNull()
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200)
    expect(statuses).not.toContain(-1)
    expect(statuses).not.toContain(500)
    for (const b of bodies) expect(b).toMatchObject({ ok: false, error: 'UPSTREAM_UNAVAILABLE' })

    // Back: queries succeed and both LISTEN connections are re-established.
    await eventually(async () => expect((await get('/api/settings/features')).status).toBe(200), 15_000)
    await eventually(async () => expect(await listenerBackends()).toBeGreaterThanOrEqual(2), 15_000)
    // A NOTIFY sent after the drop reaches the SSE stream opened before it (PgStatusPublisher's
    // payload: the tenant and its status answer, dates as ISO strings).
    await admin.query(`select pg_notify('wa_status', $1)`, [
      JSON.stringify({
        tenantId: 'macrea',
        status: { connected: true, status: 'authorized', checkedAt: new Date().toISOString() },
      }),
    ])
    expect(await events.next()).toMatchObject({ status: 'authorized', connected: true })
    expect(app.child.exitCode).toBeNull()
    // Said in the log, as JSON lines.
    const lines = app
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
    expect(lines.some((l) => JSON.parse(l).msg?.startsWith('PostgreSQL listener lost'))).toBe(true)
    expect(lines.some((l) => JSON.parse(l).msg === 'PostgreSQL listener reconnected')).toBe(true)
  }, 90_000)
})

describe('the embedded PostgreSQL dies under the app (npm start without DATABASE_URL)', () => {
  it('the app stays up, says so in a JSON log line, and answers 503 envelopes instead of dying with it', async () => {
    const dataDir = path.join(path.resolve(__dirname, '../..'), '.data', `db-drop-${process.pid}`)
    const own = await startAppProcess({
      DATABASE_URL: '',
      EMBEDDED_PG_PORT: String(await freePort()),
      WA_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    })
    try {
      const ownToken = await (async () => {
        const c = new pg.Client({ connectionString: await embeddedUrl(dataDir) })
        await c.connect()
        try {
          const r = await c.query("select id from users where email = 'admin@macrea.test'")
          return crmToken(r.rows[0].id as string, 'macrea')
        } finally {
          await c.end()
        }
      })()
      const auth = { headers: { authorization: `Bearer ${ownToken}` } }
      expect((await fetch(`${own.url}/api/settings/features`, auth)).status).toBe(200)

      const pid = Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0])
      process.kill(pid, 'SIGKILL') // what an OOM kill of the database looks like
      await eventually(async () => expect(fs.existsSync(`/proc/${pid}`)).toBe(false), 10_000)

      // A fetch that cannot connect means the app died: say what it printed, not just ECONNREFUSED.
      const ownFetch = (p: string, init?: RequestInit) =>
        fetch(`${own.url}${p}`, init).catch((e: unknown) => {
          throw new Error(
            `the app stopped answering (exit ${own.child.exitCode}, signal ${own.child.signalCode}): ${String(e)}\n${own.output().slice(-30000)}`,
          )
        })
      for (let i = 0; i < 5; i++) {
        const res = await ownFetch('/api/settings/features', auth)
        expect(res.status).toBe(503)
        expect(res.headers.get('retry-after')).toBeTruthy()
        expect(await res.json()).toMatchObject({ ok: false, error: 'UPSTREAM_UNAVAILABLE' })
      }
      expect((await ownFetch('/readyz')).status).toBe(503)
      expect((await ownFetch('/healthz')).status).toBe(200)
      expect(own.child.exitCode, own.output().slice(-4000)).toBeNull()
      const lines = own
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string })
      expect(lines.some((l) => l.msg === 'database unavailable')).toBe(true)
    } finally {
      await own.stop()
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})

/** The embedded server's URL (its password is in the data directory, its port in postmaster.pid). */
async function embeddedUrl(dataDir: string): Promise<string> {
  const password = fs.readFileSync(path.join(dataDir, 'pg-password'), 'utf8').trim()
  const port = fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[3]
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/whatsapp_pro`
}
