import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMember, createTenant } from '../factories'
import { signHs } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
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
 * Scale-out (docs/scale-out.md): two app processes (`npm start` each) on one PostgreSQL behave as one.
 * An SSE subscriber on A sees a change that B observed (webhook → LISTEN/NOTIFY); A's cached
 * status follows a change made through B; the shared instance claim holds across processes;
 * an operator change in the database (feature flag) reaches both processes' caches.
 */
let simServer: Awaited<ReturnType<typeof startSimulatorServer>>
let instanceId = ''
let a: AppProcess
let b: AppProcess
let ownerId = ''

const auth = async (tenant = 'macrea', user = ownerId) => ({
  authorization: `Bearer ${await childToken(user, tenant)}`,
  'content-type': 'application/json',
})

beforeAll(async () => {
  simServer = await startSimulatorServer()
  const creds = simServer.sim.addInstance()
  instanceId = creds.instanceId
  const env = {
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: creds.instanceId,
    GREENAPI_API_TOKEN: creds.apiToken,
    GREENAPI_BASE_URL: simServer.baseUrl,
  }
  a = await startAppProcess(env)
  b = await startAppProcess(env)
  ownerId = (await testDb().selectFrom('users').select('id').where('email', '=', 'admin@macrea.test').executeTakeFirstOrThrow())
    .id
}, 120_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await simServer?.close()
})

describe('two app processes on one database', () => {
  it('an SSE client on A sees "connected" when the scan is reported to B; A and B answer the same status', async () => {
    const stop = new AbortController()
    const events = await fetch(`${a.url}/api/wa/events`, { headers: await auth(), signal: stop.signal })
    expect(events.status).toBe(200)
    const sse = sseReader(events)
    expect(await sse.next()).toMatchObject({ connected: false })

    // The link attempt goes through B: B's URL is the webhook Green-API will call.
    const gen = await fetch(`${b.url}/api/wa/qr/generate`, { method: 'POST', headers: await auth(), body: '{}' })
    expect(gen.status).toBe(200)
    // A's status answers from its cache: it must learn about B's row without polling upstream.
    const statusA = async () =>
      (await (await fetch(`${a.url}/api/wa/qr/status`, { headers: await auth() })).json()) as {
        connected: boolean
        status: string
      }
    expect(await statusA()).toMatchObject({ connected: false, status: 'notAuthorized' })

    const scanned = simServer.sim.scan(instanceId, simServer.sim.currentQrNonce(instanceId) ?? '', '+33612345678')
    expect(scanned.ok).toBe(true)
    await simServer.sim.flushWebhooks()
    for (;;) {
      const event = await sse.next(10_000)
      if (event.connected) {
        expect(event).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
        break
      }
    }
    await eventually(async () => expect(await statusA()).toMatchObject({ connected: true, status: 'authorized' }))
    const statusB = await (await fetch(`${b.url}/api/wa/qr/status`, { headers: await auth() })).json()
    expect(statusB).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
    stop.abort()
  }, 60_000)

  it('the shared instance claim holds across processes: another tenant gets 409 INSTANCE_BUSY on either', async () => {
    const other = await createTenant({ whatsappEnabled: true })
    await addMember(other, { id: ownerId }, 'owner')
    for (const app of [a, b]) {
      const res = await fetch(`${app.url}/api/wa/qr/generate`, { method: 'POST', headers: await auth(other.id), body: '{}' })
      expect(res.status).toBe(409)
      expect((await res.json()).error).toBe('INSTANCE_BUSY')
    }
  }, 30_000)

  it('operator changes in the database (flag off, token revoked, membership removed) reach the caches of both processes through NOTIFY', async () => {
    const headers = await auth()
    for (const app of [a, b]) expect((await fetch(`${app.url}/api/wa/qr/status`, { headers })).status).toBe(200)
    await testDb().updateTable('tenant_features').set({ whatsapp_enabled: false }).where('tenant_id', '=', 'macrea').execute()
    for (const app of [a, b]) {
      await eventually(async () => {
        const res = await fetch(`${app.url}/api/wa/qr/status`, { headers })
        expect(res.status).toBe(403)
        expect((await res.json()).error).toBe('WHATSAPP_DISABLED')
      }, 5_000)
    }
    await testDb().updateTable('tenant_features').set({ whatsapp_enabled: true }).where('tenant_id', '=', 'macrea').execute()
    // A recorded API token revoked by hand (deny-list): both processes refuse it (401).
    const jti = crypto.randomUUID()
    const recorded = {
      authorization: `Bearer ${await signHs({ sub: ownerId, tenant_id: 'macrea', jti }, { secret: CHILD_JWT_SECRET })}`,
    }
    await testDb()
      .insertInto('api_tokens')
      .values({ jti, tenant_id: 'macrea', user_id: ownerId, name: 'scale-out', expires_at: new Date(Date.now() + 600_000) })
      .execute()
    for (const app of [a, b]) {
      await eventually(
        async () => expect((await fetch(`${app.url}/api/wa/qr/status`, { headers: recorded })).status).toBe(200),
        5_000,
      )
    }
    await testDb().updateTable('api_tokens').set({ revoked_at: new Date() }).where('jti', '=', jti).execute()
    for (const app of [a, b]) {
      await eventually(
        async () => expect((await fetch(`${app.url}/api/wa/qr/status`, { headers: recorded })).status).toBe(401),
        5_000,
      )
    }
    // A membership removed by hand: the token's user is no longer a member anywhere → 403.
    await testDb().deleteFrom('memberships').where('user_id', '=', ownerId).where('tenant_id', '=', 'macrea').execute()
    for (const app of [a, b]) {
      await eventually(async () => expect((await fetch(`${app.url}/api/wa/qr/status`, { headers })).status).toBe(403), 5_000)
    }
  }, 30_000)
})
