import { describe, expect, it } from 'vitest'
import { useWaApp } from '../utils/wa-harness'
import { expectError, instanceRow, linkByScan, newTenant, post, statusOf } from './api-support'

// One simulator instance, two tenants: the instance must pass from A to B only once A's phone
// is really unlinked upstream (decision 072).
const h = useWaApp({ instances: 1 })

describe('instance hand-over after a failed logout', () => {
  it('never lets tenant B inherit tenant A’s linked phone', async () => {
    const a = await newTenant()
    const b = await newTenant()
    const instanceId = await linkByScan(h, a, '+33600000001')
    expect(await statusOf(h, a)).toMatchObject({ connected: true, phoneNumber: '+33600000001' })

    // Green-API refuses the logout: A is disconnected for the CRM, the phone stays linked upstream.
    const stop = h.sim.fault({ instanceId, methods: ['logout'] }).down(503)
    const off = await post(h, '/api/wa/disconnect', a)
    expect(off.status).toBe(200)
    expect(h.sim.instance(instanceId)?.state).toBe('authorized')
    expect(await instanceRow(instanceId)).toMatchObject({ tenant_id: null, needs_logout: true })

    // B cannot take the instance while it cannot be logged out…
    await expectError(await post(h, '/api/wa/qr/generate', b), 503, 'UPSTREAM_UNAVAILABLE')
    expect(await statusOf(h, b)).toMatchObject({ connected: false, status: 'notAuthorized' })
    expect((await statusOf(h, b)).phoneNumber).toBeUndefined()

    // …and once Green-API answers again, B gets a clean instance and a QR of its own.
    stop()
    const gen = await post(h, '/api/wa/qr/generate', b)
    expect(gen.status).toBe(200)
    expect(h.sim.instance(instanceId)?.state).toBe('notAuthorized')
    expect(await instanceRow(instanceId)).toMatchObject({ tenant_id: b.tenantId, needs_logout: false })
    const status = await statusOf(h, b)
    expect(status).toMatchObject({ connected: false, status: 'notAuthorized' })
    expect(status.phoneNumber).toBeUndefined()
  })
})
