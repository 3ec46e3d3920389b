import { beforeAll, describe, expect, it } from 'vitest'
import { useWaApp } from '../utils/wa-harness'
import {
  expectError,
  get,
  instanceRow,
  linkByScan,
  newTenant,
  post,
  providerRow,
  statusOf,
  type TenantActor,
} from './api-support'

// Tenant isolation in simulator mode (every tenant gets its own instance). The shared-mode
// counterpart (one env instance for everybody) is api-isolation-shared.test.ts.
const h = useWaApp({ instances: 6 })
const A = () => ({ token: h.tokens.owner, tenantId: 'macrea' })

describe('tenant B versus tenant A (simulator mode)', () => {
  let b: TenantActor
  let instanceA: string
  beforeAll(async () => {
    b = await newTenant()
  })

  it('A links; B can neither read, test-send nor disconnect A’s connection', async () => {
    instanceA = await linkByScan(h, A())

    // B reads its own (empty) state, not A's.
    const bStatus = await statusOf(h, b)
    expect(bStatus).toMatchObject({ connected: false, status: 'notAuthorized' })
    expect(bStatus.phoneNumber).toBeUndefined()

    // B's test send is refused before anything reaches Green-API.
    h.sim.resetCallCounts()
    await expectError(await post(h, '/api/wa/test', b, { to: '+33612345678' }), 409, 'NOT_CONNECTED')
    expect(h.sim.callCount({ method: 'sendMessage' })).toBe(0)
    expect(h.sim.instance(instanceA)!.sent).toHaveLength(0)

    // B's disconnect is a no-op for A: A stays authorized upstream, in the database and over the API.
    const bye = await post(h, '/api/wa/disconnect', b)
    expect(bye.status).toBe(200)
    expect(h.sim.callCount({ instanceId: instanceA, method: 'logout' })).toBe(0)
    expect(h.sim.instance(instanceA)!.state).toBe('authorized')
    expect(await providerRow('macrea')).toMatchObject({ connection_status: 'authorized', instance_id: instanceA })
    expect((await instanceRow(instanceA)).tenant_id).toBe('macrea')
    expect(await statusOf(h, A())).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
  })

  it('B pointing X-Tenant at A (macrea) → 403 TENANT_FORBIDDEN on every route, A untouched', async () => {
    const asB = { token: b.token, tenantId: 'macrea' }
    h.sim.resetCallCounts()
    const forbidden = [
      await get(h, '/api/settings/features', asB),
      await get(h, '/api/wa/qr/status', asB),
      await get(h, '/api/wa/events', asB),
      await post(h, '/api/wa/qr/generate', asB),
      await post(h, '/api/wa/pairing-code', asB, { phoneNumber: '+33611223344' }),
      await post(h, '/api/wa/test', asB),
      await post(h, '/api/wa/disconnect', asB),
    ]
    const bodies = []
    for (const res of forbidden) bodies.push(await expectError(res, 403, 'TENANT_FORBIDDEN'))
    // Same body whatever the route (no hint about A's state).
    expect(new Set(bodies.map((x) => JSON.stringify(x))).size).toBe(1)
    expect(h.sim.callCount()).toBe(0)
    expect(await statusOf(h, A())).toMatchObject({ connected: true, status: 'authorized' })
  })

  it('a member of both tenants with a token bound to B still cannot act on A', async () => {
    // Even a genuine membership in A does not let a B-bound token be pointed at A.
    const { addMember } = await import('../factories')
    await addMember({ id: 'macrea' }, { id: b.userId }, 'owner')
    await expectError(await post(h, '/api/wa/disconnect', { token: b.token, tenantId: 'macrea' }), 403, 'TENANT_FORBIDDEN')
    expect(await statusOf(h, A())).toMatchObject({ connected: true, status: 'authorized' })
  })

  it('B links its own instance; B’s disconnect only affects B', async () => {
    const instanceB = await linkByScan(h, b, '+33699887766')
    expect(instanceB).not.toBe(instanceA)
    expect(await statusOf(h, b)).toMatchObject({ connected: true, phoneNumber: '+33699887766' })
    expect(await statusOf(h, A())).toMatchObject({ connected: true, phoneNumber: '+33612345678' })

    // B's test send goes out on B's instance only.
    h.sim.resetCallCounts()
    const sent = await post(h, '/api/wa/test', b)
    expect(sent.status).toBe(200)
    expect(h.sim.callCount({ instanceId: instanceB, method: 'sendMessage' })).toBe(1)
    expect(h.sim.callCount({ instanceId: instanceA })).toBe(0)

    expect((await post(h, '/api/wa/disconnect', b)).status).toBe(200)
    expect(h.sim.instance(instanceB)!.state).toBe('notAuthorized')
    expect(await providerRow(b.tenantId)).toBeUndefined()
    expect(h.sim.instance(instanceA)!.state).toBe('authorized')
    expect(await statusOf(h, A())).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
    expect((await post(h, '/api/wa/disconnect', A())).status).toBe(200)
  })
})
