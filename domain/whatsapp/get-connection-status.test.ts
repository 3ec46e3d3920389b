import { describe, expect, it } from 'vitest'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { getConnectionStatus } from './get-connection-status'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const

async function linking(w: TestWorld): Promise<void> {
  w.addInstance('1101000001')
  await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
}

describe('getConnectionStatus', () => {
  it('no provider row → notAuthorized without any upstream or lease call', async () => {
    const w = createTestWorld()
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toEqual({ connected: false, status: 'notAuthorized', checkedAt: w.clock.now() })
    expect(w.provider.count()).toBe(0)
    expect(w.instances.leaseCalls).toBe(0)
  })

  it('polls upstream, records authorized with the E.164 phone, timeline + publish once', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    w.clock.advance(1500)
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toEqual({ connected: true, status: 'authorized', phoneNumber: '+33612345678', checkedAt: w.clock.now() })
    expect(w.connections.rows.get('acme')).toMatchObject({ isActive: true, phoneNumber: '+33612345678', linkExpiresAt: null })
    expect(w.publisher.published).toEqual([{ tenantId: 'acme', status: 'authorized', connected: true, phoneNumber: '+33612345678' }])
    expect(w.connections.timeline.map((e) => `${e.from}->${e.to}:${e.source}`)).toEqual([
      'null->notAuthorized:link',
      'notAuthorized->authorized:poll',
    ])
    // Same state again later: no timeline entry, no publish.
    w.clock.advance(1500)
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(w.connections.timeline).toHaveLength(2)
    expect(w.publisher.published).toHaveLength(1)
    expect(w.provider.count('getState')).toBe(2)
    expect(w.provider.count('getLinkedPhone')).toBe(1)
  })

  it('single flight: 20 concurrent polls → 1 upstream getState', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.stateDelayMs = 20
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    const results = await Promise.all(Array.from({ length: 20 }, () => getConnectionStatus(w.deps, { tenantId: 'acme' })))
    expect(w.provider.count('getState')).toBe(1)
    expect(results.every((r) => r.status === 'notAuthorized' || r.status === 'authorized')).toBe(true)
    expect(results.filter((r) => r.connected)).toHaveLength(1)
  })

  it('answers from the stored row when checked less than 1 s ago (no lease attempt)', async () => {
    const w = createTestWorld()
    await linking(w)
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    const leases = w.instances.leaseCalls
    w.clock.advance(999)
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(w.instances.leaseCalls).toBe(leases)
    expect(w.provider.count('getState')).toBe(1)
    w.clock.advance(1)
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(w.provider.count('getState')).toBe(2)
  })

  it('upstream failure → stored state with stale: true, not an error', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.failNext('getState', new UpstreamUnavailableError('timeout'))
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toMatchObject({ connected: false, status: 'notAuthorized', stale: true })
    expect(w.logger.lines.some((l) => l.level === 'warn')).toBe(true)
  })

  it('null state (instance still being created) keeps the stored state', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', null)
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r.status).toBe('notAuthorized')
    expect(r.stale).toBeUndefined()
  })

  it('link attempt past its hard limit → linkExpired, timeline "expire" written once', async () => {
    const w = createTestWorld()
    await linking(w)
    const before = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(before.linkExpiresAt).toBeInstanceOf(Date)
    expect(before.linkExpired).toBeUndefined()
    w.clock.advance(5 * 60_000 + 1)
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r.linkExpired).toBe(true)
    expect(r.linkExpiresAt).toBeUndefined()
    w.clock.advance(5000)
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(w.connections.timeline.filter((e) => e.source === 'expire')).toHaveLength(1)
    // A new attempt can expire again.
    await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
    w.clock.advance(5 * 60_000 + 1)
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(w.connections.timeline.filter((e) => e.source === 'expire')).toHaveLength(2)
  })

  it('authorized → notAuthorized (logged out from the phone) clears the phone and is not "expired"', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    w.provider.setState('1101000001', 'notAuthorized', null)
    w.clock.advance(10 * 60_000)
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toEqual({ connected: false, status: 'notAuthorized', checkedAt: w.clock.now() })
    expect(w.connections.rows.get('acme')?.phoneNumber).toBeNull()
    expect(w.publisher.published.at(-1)).toEqual({ tenantId: 'acme', status: 'notAuthorized', connected: false, phoneNumber: null })
  })

  it('degraded states keep the phone but are not connected', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await getConnectionStatus(w.deps, { tenantId: 'acme' })
    w.provider.setState('1101000001', 'yellowCard')
    w.clock.advance(1000)
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toMatchObject({ connected: false, status: 'yellowCard' })
    expect(r.phoneNumber).toBeUndefined()
    expect(w.connections.rows.get('acme')).toMatchObject({ isActive: false, phoneNumber: '+33612345678' })
  })

  it('a publish failure is logged, the answer is still right', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    w.publisher.failNext = true
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r.connected).toBe(true)
    expect(w.logger.lines.some((l) => l.msg === 'status publish failed')).toBe(true)
  })

  it('row deleted while polling → notAuthorized', async () => {
    const w = createTestWorld()
    await linking(w)
    const original = w.connections.applyStatus.bind(w.connections)
    w.connections.applyStatus = async (tenantId, update) => {
      await w.connections.delete(tenantId, w.clock.now())
      return original(tenantId, update)
    }
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toMatchObject({ connected: false, status: 'notAuthorized' })
  })

  it('a corrupted encrypted_config → stale stored state, no upstream call', async () => {
    const w = createTestWorld()
    await linking(w)
    const row = w.connections.rows.get('acme')
    if (row) w.connections.rows.set('acme', { ...row, encryptedConfig: 'v1.test.other|x|y|00' })
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r.stale).toBe(true)
    expect(w.provider.count('getState')).toBe(0)
  })
})
