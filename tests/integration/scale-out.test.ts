import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { addMember, createTenant } from '../factories'
import { signHs } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { startPgBouncer, type PgBouncer } from '../utils/pgbouncer'
import { eventually } from '../utils/wa-harness'
import {
  CHILD_JWT_SECRET,
  childToken,
  sseReader,
  startAppProcess,
  startSimulatorServer,
  type AppProcess,
} from './reliability-support'

/**
 * Scale-out (docs/scale-out.md): two app processes (`npm start` each) on one PostgreSQL behave as
 * one, whether they reach it directly or through PgBouncer in transaction mode (DATABASE_URL the
 * pooler, DATABASE_DIRECT_URL the database: queries, transactions, advisory locks, claims and
 * NOTIFY go through the pooler, the LISTEN sessions around it). One journey, run on both
 * topologies: an SSE subscriber on A sees a change that B observed (webhook → LISTEN/NOTIFY); A's
 * cached status follows a change made through B; the shared instance claim holds across
 * processes; operator changes in the database reach both processes' caches. Then what only the
 * pooled topology has: the boot warning for a pooler without session limits, and who connected
 * where. PgBouncer missing fails the pooled tests (the apt-get line); none is skipped.
 */
const SESSION_LIMITS = "SET statement_timeout = '5s'; SET lock_timeout = '2s'; SET idle_in_transaction_session_timeout = '10s'"
const dbName = () => new URL(process.env.DATABASE_URL!).pathname.slice(1)
const withApp = (url: string, name: string) => `${url}?application_name=${name}`

interface Topology {
  name: string
  /** The database URLs of replica `name` (none: the test file's database, directly). */
  database(name: string): Promise<Record<string, string>>
  stop(): Promise<void>
}

let bouncer: PgBouncer | undefined
const TOPOLOGIES: Topology[] = [
  { name: 'directly', database: async () => ({}), stop: async () => {} },
  {
    name: 'through PgBouncer (transaction mode)',
    async database(name) {
      // The session limits the app cannot send through the pooler, set by PgBouncer on each
      // server connection it opens (as docs/scale-out.md configures it).
      bouncer ??= await startPgBouncer(inject('pgServerUrl'), { poolSize: 4, connectQuery: SESSION_LIMITS })
      return {
        DATABASE_URL: withApp(bouncer.url(dbName()), name),
        DATABASE_DIRECT_URL: withApp(process.env.DATABASE_URL!, `${name}-direct`),
        DATABASE_POOL_MAX: '3',
      }
    },
    stop: async () => {
      await bouncer?.stop()
    },
  },
]

interface Replicas {
  sim: Awaited<ReturnType<typeof startSimulatorServer>>
  instanceId: string
  a: AppProcess
  b: AppProcess
  tenantId: string
  ownerId: string
}

/** Each test fails with the setup's error (PgBouncer missing: the apt-get line), none is skipped. */
function setUpOrThrow(state: { replicas?: Replicas; failure?: unknown }): Replicas {
  if (state.failure !== undefined) throw state.failure
  if (!state.replicas) throw new Error('replicas not started')
  return state.replicas
}

async function startReplicas(topology: Topology): Promise<Replicas> {
  const sim = await startSimulatorServer()
  const creds = sim.sim.addInstance()
  const env = async (name: string) => ({
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: creds.instanceId,
    GREENAPI_API_TOKEN: creds.apiToken,
    GREENAPI_BASE_URL: sim.baseUrl,
    ...(await topology.database(name)),
  })
  const a = await startAppProcess(await env('replica-a'))
  const b = await startAppProcess(await env('replica-b'))
  const ownerId = (
    await testDb().selectFrom('users').select('id').where('email', '=', 'admin@macrea.test').executeTakeFirstOrThrow()
  ).id
  // A tenant of its own per topology: the journey links it and ends by removing the membership.
  const tenant = await createTenant({ whatsappEnabled: true })
  await addMember(tenant, { id: ownerId }, 'owner')
  return { sim, instanceId: creds.instanceId, a, b, tenantId: tenant.id, ownerId }
}

describe.each(TOPOLOGIES)('two app processes on one database, $name', (topology) => {
  const state: { replicas?: Replicas; failure?: unknown } = {}
  beforeAll(async () => {
    try {
      state.replicas = await startReplicas(topology)
    } catch (e) {
      state.failure = e
    }
  }, 120_000)
  afterAll(async () => {
    await Promise.all([state.replicas?.a.stop(), state.replicas?.b.stop()])
    await state.replicas?.sim.close()
    // The next topology's simulator numbers its instance alike: hand the shared instance back.
    if (state.replicas) {
      await testDb().deleteFrom('tenant_provider_configs').where('tenant_id', '=', state.replicas.tenantId).execute()
      await testDb().deleteFrom('wa_instances').where('id', '=', state.replicas.instanceId).execute()
    }
  })

  const auth = async (r: Replicas, tenant = r.tenantId) => ({
    authorization: `Bearer ${await childToken(r.ownerId, tenant)}`,
    'content-type': 'application/json',
  })

  it('an SSE client on A sees "connected" when the scan is reported to B; A and B answer the same status', async () => {
    const r = setUpOrThrow(state)
    const stop = new AbortController()
    const events = await fetch(`${r.a.url}/api/wa/events`, { headers: await auth(r), signal: stop.signal })
    expect(events.status).toBe(200)
    const sse = sseReader(events)
    expect(await sse.next()).toMatchObject({ connected: false })

    // The link attempt goes through B: B's URL is the webhook Green-API will call.
    const gen = await fetch(`${r.b.url}/api/wa/qr/generate`, { method: 'POST', headers: await auth(r), body: '{}' })
    expect(gen.status, await gen.clone().text()).toBe(200)
    // A's status answers from its cache: it must learn about B's row without polling upstream.
    const statusOf = async (app: AppProcess) =>
      (await (await fetch(`${app.url}/api/wa/qr/status`, { headers: await auth(r) })).json()) as {
        connected: boolean
        status: string
      }
    expect(await statusOf(r.a)).toMatchObject({ connected: false, status: 'notAuthorized' })

    expect(r.sim.sim.scan(r.instanceId, r.sim.sim.currentQrNonce(r.instanceId) ?? '', '+33612345678').ok).toBe(true)
    await r.sim.sim.flushWebhooks()
    for (;;) {
      const event = await sse.next(10_000)
      if (event.connected) {
        expect(event).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
        break
      }
    }
    stop.abort()
    for (const app of [r.a, r.b]) {
      await eventually(async () =>
        expect(await statusOf(app)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' }),
      )
    }
    for (const app of [r.a, r.b]) expect(app.output()).not.toMatch(/unsupported startup parameter|"level":(50|60)/)
  }, 60_000)

  it('the shared instance claim holds across processes: another tenant gets 409 INSTANCE_BUSY on either', async () => {
    const r = setUpOrThrow(state)
    const other = await createTenant({ whatsappEnabled: true })
    await addMember(other, { id: r.ownerId }, 'owner')
    for (const app of [r.a, r.b]) {
      const res = await fetch(`${app.url}/api/wa/qr/generate`, { method: 'POST', headers: await auth(r, other.id), body: '{}' })
      expect(res.status).toBe(409)
      expect((await res.json()).error).toBe('INSTANCE_BUSY')
    }
  }, 30_000)

  it('operator changes in the database (flag off, token revoked, membership removed) reach the caches of both processes through NOTIFY', async () => {
    const r = setUpOrThrow(state)
    const headers = await auth(r)
    for (const app of [r.a, r.b]) expect((await fetch(`${app.url}/api/wa/qr/status`, { headers })).status).toBe(200)
    await testDb().updateTable('tenant_features').set({ whatsapp_enabled: false }).where('tenant_id', '=', r.tenantId).execute()
    try {
      for (const app of [r.a, r.b]) {
        // The number is linked, so the add-on's end shows in the status (its grace, decision 169)
        // rather than as a 403: either way only a process whose cached flags were dropped says it.
        await eventually(async () => {
          const res = await fetch(`${app.url}/api/wa/qr/status`, { headers })
          expect(res.status).toBe(200)
          expect(await res.json()).toMatchObject({ addonEndedAt: expect.any(String), unlinkAt: expect.any(String) })
        }, 5_000)
      }
    } finally {
      await testDb().updateTable('tenant_features').set({ whatsapp_enabled: true }).where('tenant_id', '=', r.tenantId).execute()
    }
    // A recorded API token revoked by hand (deny-list): both processes refuse it (401).
    const jti = crypto.randomUUID()
    const recorded = {
      authorization: `Bearer ${await signHs({ sub: r.ownerId, tenant_id: r.tenantId, jti }, { secret: CHILD_JWT_SECRET })}`,
    }
    await testDb()
      .insertInto('api_tokens')
      .values({ jti, tenant_id: r.tenantId, user_id: r.ownerId, name: 'scale-out', expires_at: new Date(Date.now() + 600_000) })
      .execute()
    for (const app of [r.a, r.b]) {
      await eventually(
        async () => expect((await fetch(`${app.url}/api/wa/qr/status`, { headers: recorded })).status).toBe(200),
        5_000,
      )
    }
    await testDb().updateTable('api_tokens').set({ revoked_at: new Date() }).where('jti', '=', jti).execute()
    for (const app of [r.a, r.b]) {
      await eventually(
        async () => expect((await fetch(`${app.url}/api/wa/qr/status`, { headers: recorded })).status).toBe(401),
        5_000,
      )
    }
    // A membership removed by hand: the token's user is no longer a member of its tenant → 403.
    await testDb().deleteFrom('memberships').where('user_id', '=', r.ownerId).where('tenant_id', '=', r.tenantId).execute()
    for (const app of [r.a, r.b]) {
      await eventually(async () => expect((await fetch(`${app.url}/api/wa/qr/status`, { headers })).status).toBe(403), 5_000)
    }
  }, 30_000)

  if (topology.name.startsWith('through PgBouncer')) {
    it('a pooler set up without the session limits is named at boot; one with them is not', async () => {
      const r = setUpOrThrow(state)
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
      for (const app of [r.a, r.b]) expect(app.output()).not.toContain('sessions lack these limits')
    }, 60_000)

    it('the pooled connections went through PgBouncer, the LISTEN sessions around it', async () => {
      setUpOrThrow(state)
      const pooler = bouncer!
      const clients = await pooler.admin('SHOW CLIENTS')
      const names = new Set(clients.filter((c) => c.database === dbName()).map((c) => c.application_name))
      expect([...names].sort()).toEqual(expect.arrayContaining(['replica-a', 'replica-b']))
      expect([...names].some((n) => String(n).endsWith('-direct'))).toBe(false)

      // The limits hold on the pooled sessions (PgBouncer's connect_query), not the server's default of none.
      const pooled = new pg.Client({ connectionString: pooler.url(dbName()) })
      await pooled.connect()
      try {
        const limits = await pooled.query(
          "SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l, current_setting('idle_in_transaction_session_timeout') AS i",
        )
        expect(limits.rows[0]).toEqual({ s: '5s', l: '2s', i: '10s' })
      } finally {
        await pooled.end()
      }

      const [stats] = (await pooler.admin('SHOW STATS')).filter((s) => s.database === dbName())
      expect(Number(stats?.total_xact_count)).toBeGreaterThan(0)

      // The server's view: the LISTEN sessions are each process's own direct connections.
      const activity = await testDb()
        .selectFrom('pg_stat_activity' as never)
        .select(['application_name' as never, 'query' as never])
        .where('datname' as never, '=', dbName() as never)
        .execute()
      // (Only this topology's replicas: the direct pair of the first run has stopped, and is not named.)
      const listening = (activity as Array<{ application_name: string; query: string }>).filter(
        (row) => /^LISTEN /.test(row.query) && /^replica-/.test(row.application_name),
      )
      expect(new Set(listening.map((row) => row.application_name))).toEqual(new Set(['replica-a-direct', 'replica-b-direct']))
      // PgBouncer's server connections carry no application_name of ours... except the last
      // client's, which it sets on the server connection it lends: only the pooled names appear.
      const pooledNames = new Set(
        (activity as Array<{ application_name: string }>)
          .map((row) => row.application_name)
          .filter((n) => /^replica-[ab]$/.test(n)),
      )
      expect(pooledNames.size).toBeGreaterThan(0)
    })
  }
})

afterAll(async () => {
  for (const topology of TOPOLOGIES) await topology.stop()
})
