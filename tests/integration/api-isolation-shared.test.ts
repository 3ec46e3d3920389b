import { beforeAll, describe, expect, it } from 'vitest'
import { SIM_API_URL, eventually, useWaApp } from '../utils/wa-harness'
import {
  expectError,
  get,
  instanceRow,
  linkByScan,
  newTenant,
  post,
  providerRow,
  scanTarget,
  statusOf,
  type TenantActor,
} from './api-support'

// GREENAPI_MODE=shared (docs/states.md#instances): one env instance belongs to at most one tenant at a time.
const SHARED_ID = '1101990001'
const SHARED_TOKEN = 'shared0instance0token0for0the0test0only0'
const h = useWaApp({
  env: {
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: SHARED_ID,
    GREENAPI_API_TOKEN: SHARED_TOKEN,
    GREENAPI_BASE_URL: SIM_API_URL,
  },
})
const A = () => ({ token: h.tokens.owner, tenantId: 'macrea' })

describe('shared mode: the env instance is claimed by one tenant at a time', () => {
  let b: TenantActor
  beforeAll(async () => {
    // The "real" shared instance the env points at (the app registered it at boot).
    h.sim.addInstance({ instanceId: SHARED_ID, apiToken: SHARED_TOKEN })
    b = await newTenant()
  })

  it('boots with the env instance registered as shared, no simulator pool', async () => {
    const row = await instanceRow(SHARED_ID)
    expect(row).toMatchObject({ mode: 'shared', api_url: SIM_API_URL, tenant_id: null })
    expect(row.encrypted_token).not.toContain(SHARED_TOKEN)
  })

  it('A links; B gets 409 INSTANCE_BUSY on generate and pairing-code and sees nothing of A', async () => {
    await linkByScan(h, A())
    expect((await instanceRow(SHARED_ID)).tenant_id).toBe('macrea')

    h.sim.resetCallCounts()
    await expectError(await post(h, '/api/wa/qr/generate', b), 409, 'INSTANCE_BUSY')
    await expectError(await post(h, '/api/wa/pairing-code', b, { phoneNumber: '+33611223344' }), 409, 'INSTANCE_BUSY')
    expect(h.sim.callCount()).toBe(0)

    const bStatus = await statusOf(h, b)
    expect(bStatus).toMatchObject({ connected: false, status: 'notAuthorized' })
    expect(bStatus.phoneNumber).toBeUndefined()
    await expectError(await post(h, '/api/wa/test', b), 409, 'NOT_CONNECTED')
    expect(h.sim.callCount({ method: 'sendMessage' })).toBe(0)

    // B's disconnect must not log A's (shared) instance out.
    expect((await post(h, '/api/wa/disconnect', b)).status).toBe(200)
    expect(h.sim.callCount({ method: 'logout' })).toBe(0)
    expect(h.sim.instance(SHARED_ID)!.state).toBe('authorized')
    expect((await instanceRow(SHARED_ID)).tenant_id).toBe('macrea')
    expect(await statusOf(h, A())).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
    await expectError(await get(h, '/api/wa/qr/status', { token: b.token, tenantId: 'macrea' }), 403, 'TENANT_FORBIDDEN')
  })

  it('after A disconnects, B can link the same instance (with a fresh webhook token)', async () => {
    const tokenForA = h.sim.instance(SHARED_ID)!.webhookToken
    expect((await post(h, '/api/wa/disconnect', A())).status).toBe(200)
    expect((await instanceRow(SHARED_ID)).tenant_id).toBeNull()
    expect(await providerRow('macrea')).toBeUndefined()

    const gen = await post(h, '/api/wa/qr/generate', b)
    expect(gen.status).toBe(200)
    const { instanceId, nonce } = await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)
    expect(instanceId).toBe(SHARED_ID)
    expect((await instanceRow(SHARED_ID)).tenant_id).toBe(b.tenantId)
    expect(h.sim.instance(SHARED_ID)!.webhookToken).not.toBe(tokenForA)

    expect(h.sim.scan(instanceId, nonce, '+33699887766')).toMatchObject({ ok: true })
    await eventually(async () => expect(await statusOf(h, b)).toMatchObject({ connected: true, phoneNumber: '+33699887766' }))
    // A is now the one kept out, and does not see B's number.
    await expectError(await post(h, '/api/wa/qr/generate', A()), 409, 'INSTANCE_BUSY')
    expect(await statusOf(h, A())).toMatchObject({ connected: false, status: 'notAuthorized' })
    expect((await post(h, '/api/wa/disconnect', b)).status).toBe(200)
  })

  it('two tenants racing for the free instance: exactly one wins (the claim is atomic)', async () => {
    const c = await newTenant()
    const d = await newTenant()
    const [rc, rd] = await Promise.all([post(h, '/api/wa/qr/generate', c), post(h, '/api/wa/qr/generate', d)])
    const statuses = [rc.status, rd.status].sort()
    expect(statuses).toEqual([200, 409])
    const loser = rc.status === 409 ? rc : rd
    await expectError(loser, 409, 'INSTANCE_BUSY')
    const winner = rc.status === 200 ? c : d
    expect((await instanceRow(SHARED_ID)).tenant_id).toBe(winner.tenantId)
    expect((await post(h, '/api/wa/disconnect', winner)).status).toBe(200)
  })
})
