import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { testDb } from '../utils/db'
import { startPgBouncer, type PgBouncer } from '../utils/pgbouncer'
import { eventually } from '../utils/wa-harness'
import { childToken, sseReader, startAppProcess, startSimulatorServer, type AppProcess } from './reliability-support'

/**
 * Many replicas through PgBouncer (docs/scale-out.md): two `npm start` processes whose
 * DATABASE_URL is PgBouncer in transaction mode and whose DATABASE_DIRECT_URL is the database
 * itself. Queries and transactions (advisory locks, claims, NOTIFY) go through the pooler; the
 * LISTEN sessions go around it. Each process names itself (application_name) so the pooler's
 * admin console and pg_stat_activity tell who connected where. PgBouncer missing fails the
 * file (beforeAll) with the apt-get line; it is never skipped.
 */
let bouncer: PgBouncer
let simServer: Awaited<ReturnType<typeof startSimulatorServer>>
let instanceId = ''
let a: AppProcess
let b: AppProcess
let ownerId = ''

const SESSION_LIMITS = "SET statement_timeout = '5s'; SET lock_timeout = '2s'; SET idle_in_transaction_session_timeout = '10s'"
const dbName = () => new URL(process.env.DATABASE_URL!).pathname.slice(1)
const withApp = (url: string, name: string) => `${url}?application_name=${name}`
const auth = async () => ({ authorization: `Bearer ${await childToken(ownerId, 'macrea')}`, 'content-type': 'application/json' })

let setupFailure: unknown
/** Each test fails with the setup's error (PgBouncer missing: the apt-get line), none is skipped. */
const setUp = () => {
  if (setupFailure) throw setupFailure
}

beforeAll(async () => {
  try {
    await startEverything()
  } catch (e) {
    setupFailure = e
  }
}, 120_000)

async function startEverything() {
  // The session limits the app cannot send through the pooler, set by PgBouncer on each server
  // connection it opens (as docs/scale-out.md configures it).
  bouncer = await startPgBouncer(inject('pgServerUrl'), { poolSize: 4, connectQuery: SESSION_LIMITS })
  simServer = await startSimulatorServer()
  const creds = simServer.sim.addInstance()
  instanceId = creds.instanceId
  const env = (name: string) => ({
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: creds.instanceId,
    GREENAPI_API_TOKEN: creds.apiToken,
    GREENAPI_BASE_URL: simServer.baseUrl,
    DATABASE_URL: withApp(bouncer.url(dbName()), name),
    DATABASE_DIRECT_URL: withApp(process.env.DATABASE_URL!, `${name}-direct`),
    DATABASE_POOL_MAX: '3',
  })
  a = await startAppProcess(env('replica-a'))
  b = await startAppProcess(env('replica-b'))
  ownerId = (await testDb().selectFrom('users').select('id').where('email', '=', 'admin@macrea.test').executeTakeFirstOrThrow())
    .id
}

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await simServer?.close()
  await bouncer?.stop()
})

describe('two app processes through PgBouncer (transaction mode)', () => {
  it('a link made through B is seen connected by an SSE client on A (NOTIFY through the pooler, LISTEN around it)', async () => {
    setUp()
    const stop = new AbortController()
    const events = await fetch(`${a.url}/api/wa/events`, { headers: await auth(), signal: stop.signal })
    expect(events.status).toBe(200)
    const sse = sseReader(events)
    expect(await sse.next()).toMatchObject({ connected: false })

    const gen = await fetch(`${b.url}/api/wa/qr/generate`, { method: 'POST', headers: await auth(), body: '{}' })
    expect(gen.status, await gen.clone().text()).toBe(200)
    expect(simServer.sim.scan(instanceId, simServer.sim.currentQrNonce(instanceId) ?? '', '+33612345678').ok).toBe(true)
    await simServer.sim.flushWebhooks()
    for (;;) {
      const event = await sse.next(10_000)
      if (event.connected) {
        expect(event).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
        break
      }
    }
    stop.abort()
    for (const app of [a, b]) {
      await eventually(async () => {
        const status = await (await fetch(`${app.url}/api/wa/qr/status`, { headers: await auth() })).json()
        expect(status).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
      })
    }
    for (const app of [a, b]) expect(app.output()).not.toMatch(/unsupported startup parameter|"level":(50|60)/)
  }, 60_000)

  it('an operator change in the database reaches both caches (wa_cache LISTEN around the pooler)', async () => {
    setUp()
    const headers = await auth()
    await testDb().updateTable('tenant_features').set({ whatsapp_enabled: false }).where('tenant_id', '=', 'macrea').execute()
    try {
      for (const app of [a, b]) {
        await eventually(async () => {
          const res = await fetch(`${app.url}/api/wa/qr/status`, { headers })
          expect(res.status).toBe(403)
          expect((await res.json()).error).toBe('WHATSAPP_DISABLED')
        }, 5_000)
      }
    } finally {
      await testDb().updateTable('tenant_features').set({ whatsapp_enabled: true }).where('tenant_id', '=', 'macrea').execute()
    }
  }, 30_000)

  it('a pooler set up without the session limits is named at boot; one with them is not', async () => {
    setUp()
    const bare = await startPgBouncer(inject('pgServerUrl'), { poolSize: 2 })
    let c: AppProcess | undefined
    try {
      c = await startAppProcess({
        DATABASE_URL: withApp(bare.url(dbName()), 'replica-c'),
        DATABASE_DIRECT_URL: process.env.DATABASE_URL!,
        DATABASE_POOL_MAX: '2',
      })
      const started = c
      await eventually(
        async () =>
          expect(started.output()).toContain(
            '"missing":["statement_timeout","lock_timeout","idle_in_transaction_session_timeout"]',
          ),
        10_000,
      )
      expect(c.output()).toContain('sessions lack these limits')
    } finally {
      await c?.stop()
      await bare.stop()
    }
    for (const app of [a, b]) expect(app.output()).not.toContain('sessions lack these limits')
  }, 60_000)

  it('the pooled connections went through PgBouncer, the LISTEN sessions around it', async () => {
    setUp()
    const clients = await bouncer.admin('SHOW CLIENTS')
    const names = new Set(clients.filter((c) => c.database === dbName()).map((c) => c.application_name))
    expect([...names].sort()).toEqual(expect.arrayContaining(['replica-a', 'replica-b']))
    expect([...names].some((n) => String(n).endsWith('-direct'))).toBe(false)

    // The limits hold on the pooled sessions (PgBouncer's connect_query), not the server's default of none.
    const pooled = new pg.Client({ connectionString: bouncer.url(dbName()) })
    await pooled.connect()
    try {
      const limits = await pooled.query(
        "SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l, current_setting('idle_in_transaction_session_timeout') AS i",
      )
      expect(limits.rows[0]).toEqual({ s: '5s', l: '2s', i: '10s' })
    } finally {
      await pooled.end()
    }

    const [stats] = (await bouncer.admin('SHOW STATS')).filter((s) => s.database === dbName())
    expect(Number(stats?.total_xact_count)).toBeGreaterThan(0)

    // The server's view: the LISTEN sessions are each process's own direct connections.
    const activity = await testDb()
      .selectFrom('pg_stat_activity' as never)
      .select(['application_name' as never, 'query' as never])
      .where('datname' as never, '=', dbName() as never)
      .execute()
    const listening = (activity as Array<{ application_name: string; query: string }>).filter((r) => /^LISTEN /.test(r.query))
    expect(new Set(listening.map((r) => r.application_name))).toEqual(new Set(['replica-a-direct', 'replica-b-direct']))
    // PgBouncer's server connections carry no application_name of ours... except the last
    // client's, which it sets on the server connection it lends: only the pooled names appear.
    const pooledNames = new Set(
      (activity as Array<{ application_name: string }>).map((r) => r.application_name).filter((n) => /^replica-[ab]$/.test(n)),
    )
    expect(pooledNames.size).toBeGreaterThan(0)
  })
})
