import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually } from '../utils/wa-harness'
import { childToken, freePort, startAppProcess, startSimulatorServer, type AppProcess } from './reliability-support'

/**
 * Restart safety (docs/scale-out.md, docs/states.md#disconnect): the app runs as `npm start` runs it (a child process), is SIGKILLed
 * while a Green-API call of generate or disconnect is held open by a slow simulator, and is
 * started again. Rows must be consistent (no half-written provider row, the instance claim
 * matches the provider row) and the interrupted operation must work on the next try. A state
 * changed upstream while the app was down is caught up by the reconciliation at start.
 */
let simServer: Awaited<ReturnType<typeof startSimulatorServer>>
let instanceId = ''
let env: Record<string, string> = {}
let app: AppProcess | undefined
let ownerId = ''

async function start(): Promise<AppProcess> {
  app = await startAppProcess(env)
  if (!ownerId) {
    const row = await testDb().selectFrom('users').select('id').where('email', '=', 'admin@macrea.test').executeTakeFirstOrThrow()
    ownerId = row.id
  }
  return app
}

async function post(a: AppProcess, path: string): Promise<Response> {
  return fetch(`${a.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await childToken(ownerId, 'macrea')}`, 'content-type': 'application/json' },
    body: '{}',
  })
}

/** Every provider row points at an instance claimed by the same tenant; no half-written row. */
async function expectConsistentRows() {
  const db = testDb()
  const rows = await db.selectFrom('tenant_provider_configs').selectAll().execute()
  for (const row of rows) {
    expect(row.encrypted_config).toMatch(/^v1\./)
    expect(row.instance_id).toBeTruthy()
    const inst = await db
      .selectFrom('wa_instances')
      .select(['tenant_id'])
      .where('id', '=', row.instance_id)
      .executeTakeFirstOrThrow()
    expect(inst.tenant_id).toBe(row.tenant_id)
  }
  const claims = await db.selectFrom('wa_instances').select(['id', 'tenant_id']).where('tenant_id', 'is not', null).execute()
  return { rows, claims }
}

async function waitForCall(method: string, before: number) {
  await eventually(async () => expect(simServer.sim.callCount({ instanceId, method })).toBeGreaterThan(before), 15_000)
}

beforeAll(async () => {
  simServer = await startSimulatorServer()
  const creds = simServer.sim.addInstance()
  instanceId = creds.instanceId
  env = {
    // One port across restarts: the webhook URL pushed to Green-API at the first link stays valid.
    PORT: String(await freePort()),
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: creds.instanceId,
    GREENAPI_API_TOKEN: creds.apiToken,
    GREENAPI_BASE_URL: simServer.baseUrl,
    GREENAPI_TIMEOUT_MS: '20000',
    GREENAPI_QR_TIMEOUT_MS: '20000',
  }
})

afterAll(async () => {
  await app?.stop()
  await simServer?.close()
})

describe('SIGKILL in the middle of an operation, then restart', () => {
  it('killed while generate waits for the QR: consistent rows, and generate works after the restart', async () => {
    let a = await start()
    const calls = simServer.sim.callCount({ instanceId, method: 'qr' })
    simServer.sim.fault({ instanceId, methods: ['qr'] }).slow(30_000)
    const pending = post(a, '/api/wa/qr/generate').catch(() => null)
    await waitForCall('qr', calls)
    await a.crash()
    await pending
    simServer.sim.clearFaults()

    const { rows, claims } = await expectConsistentRows()
    // The link attempt was stored (one transaction) before the QR was asked: a whole row or none.
    expect(rows.filter((r) => r.tenant_id === 'macrea').length).toBeLessThanOrEqual(1)
    expect(claims.filter((c) => c.id === instanceId).every((c) => c.tenant_id === 'macrea')).toBe(true)

    a = await start()
    const again = await post(a, '/api/wa/qr/generate')
    expect(again.status).toBe(200)
    expect((await again.json()).qrCode).toMatch(/^data:image\/png;base64,/)
    await expectConsistentRows()
  }, 120_000)

  it('killed while disconnect waits for logout: the row and the claim stay together; disconnect works after the restart', async () => {
    let a = app!
    simServer.sim.authorize(instanceId, '+33612345678')
    await simServer.sim.flushWebhooks()
    await eventually(async () => {
      const row = await testDb()
        .selectFrom('tenant_provider_configs')
        .select('connection_status')
        .where('tenant_id', '=', 'macrea')
        .executeTakeFirstOrThrow()
      expect(row.connection_status).toBe('authorized')
    })
    const calls = simServer.sim.callCount({ instanceId, method: 'logout' })
    simServer.sim.fault({ instanceId, methods: ['logout'] }).slow(30_000)
    const pending = post(a, '/api/wa/disconnect').catch(() => null)
    await waitForCall('logout', calls)
    await a.crash()
    await pending
    simServer.sim.clearFaults()

    const { rows } = await expectConsistentRows()
    // logout comes before the delete: the row is still there, whole, and still authorized.
    expect(rows.find((r) => r.tenant_id === 'macrea')?.connection_status).toBe('authorized')

    a = await start()
    const res = await post(a, '/api/wa/disconnect')
    expect(res.status).toBe(200)
    expect((await res.json()).ok).toBe(true)
    const after = await expectConsistentRows()
    expect(after.rows.filter((r) => r.tenant_id === 'macrea')).toHaveLength(0)
    expect(after.claims.filter((c) => c.id === instanceId)).toHaveLength(0)
  }, 120_000)

  it('a state changed upstream while the app was down is reconciled at start', async () => {
    let a = app!
    expect((await post(a, '/api/wa/qr/generate')).status).toBe(200)
    simServer.sim.authorize(instanceId, '+33612345678')
    await simServer.sim.flushWebhooks()
    await eventually(async () => {
      const row = await testDb()
        .selectFrom('tenant_provider_configs')
        .select('connection_status')
        .where('tenant_id', '=', 'macrea')
        .executeTakeFirstOrThrow()
      expect(row.connection_status).toBe('authorized')
    })
    await a.crash()
    // While down: the phone is unlinked on WhatsApp's side; the webhook has nowhere to go.
    simServer.sim.setState(instanceId, 'notAuthorized')
    await simServer.sim.flushWebhooks()
    const stored = await testDb()
      .selectFrom('tenant_provider_configs')
      .select('connection_status')
      .where('tenant_id', '=', 'macrea')
      .executeTakeFirstOrThrow()
    expect(stored.connection_status).toBe('authorized')

    a = await start()
    await eventually(async () => {
      const row = await testDb()
        .selectFrom('tenant_provider_configs')
        .select(['connection_status', 'phone_number'])
        .where('tenant_id', '=', 'macrea')
        .executeTakeFirstOrThrow()
      expect(row.connection_status).toBe('notAuthorized')
      expect(row.phone_number).toBeNull()
    }, 15_000)
    const events = await testDb()
      .selectFrom('wa_status_events')
      .select(['to_status', 'source'])
      .where('tenant_id', '=', 'macrea')
      .execute()
    expect(events).toContainEqual({ to_status: 'notAuthorized', source: 'reconcile' })
    await expectConsistentRows()
  }, 120_000)
})
