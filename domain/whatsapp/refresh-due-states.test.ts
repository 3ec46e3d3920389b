import { describe, expect, it, vi } from 'vitest'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { getConnectionStatus } from './get-connection-status'
import { refreshDueStates } from './refresh-due-states'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const

async function linking(w: TestWorld, tenantId = 'acme', instanceId = '1101000001'): Promise<void> {
  w.addInstance(instanceId)
  if (tenantId !== 'acme') w.features.setFlags(tenantId, { whatsapp_enabled: true })
  await generateQr(w.deps, { tenantId, actor, publicUrl: 'https://crm.example.test' })
}

describe('refreshDueStates (background refresher pass)', () => {
  it('during an attempt: one check per attempt interval, records authorized with the phone, timeline + publish once', async () => {
    const w = createTestWorld()
    await linking(w)
    await refreshDueStates(w.deps)
    expect(w.provider.count('getState')).toBe(1)
    // A second pass within the interval: the lease says no.
    w.clock.advance(w.deps.config.attemptPollIntervalMs - 1)
    await refreshDueStates(w.deps)
    expect(w.provider.count('getState')).toBe(1)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    w.clock.advance(1)
    expect(await refreshDueStates(w.deps)).toEqual({ checked: 1, failed: 0, expired: 0 })
    expect(w.connections.rows.get('acme')).toMatchObject({
      isActive: true,
      account: { phone: '+33612345678' },
      linkExpiresAt: null,
    })
    expect(w.publisher.published).toEqual([
      { tenantId: 'acme', connected: true, status: 'authorized', account: { phone: '+33612345678' }, checkedAt: w.clock.now() },
    ])
    // What was pushed is what a status request answers: one value.
    const { tenantId: _tenant, ...pushed } = w.publisher.published[0]!
    expect(pushed).toEqual(await getConnectionStatus(w.deps, { tenantId: 'acme' }))
    expect(w.connections.timeline.map((e) => `${e.from}->${e.to}:${e.source}`)).toEqual([
      'null->notAuthorized:link',
      'notAuthorized->authorized:poll',
    ])
    expect(w.provider.count('getLinkedAccount')).toBe(1)
  })

  it('connected: nothing until the state is older than the reconcile interval, then one reconcile; no publish when unchanged', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await refreshDueStates(w.deps)
    const calls = w.provider.count('getState')
    for (let i = 0; i < 59; i++) {
      w.clock.advance(1000)
      await refreshDueStates(w.deps)
    }
    expect(w.provider.count('getState')).toBe(calls)
    w.clock.advance(1001)
    await refreshDueStates(w.deps)
    expect(w.provider.count('getState')).toBe(calls + 1)
    expect(w.connections.timeline.map((e) => e.source)).toEqual(['link', 'poll'])
    expect(w.publisher.published).toHaveLength(1)
  })

  it('an expired attempt is recorded once and never checked upstream', async () => {
    const w = createTestWorld()
    await linking(w)
    w.clock.advance(5 * 60_000 + 1)
    const calls = w.provider.count('getState')
    expect(await refreshDueStates(w.deps)).toEqual({ checked: 0, failed: 0, expired: 1 })
    for (let i = 0; i < 5; i++) {
      w.clock.advance(1100)
      expect(await refreshDueStates(w.deps)).toEqual({ checked: 0, failed: 0, expired: 0 })
    }
    expect(w.provider.count('getState')).toBe(calls)
    expect(w.connections.timeline.filter((e) => e.source === 'expire')).toHaveLength(1)
    expect((await getConnectionStatus(w.deps, { tenantId: 'acme' })).linkExpired).toBe(true)
    // A new attempt can expire again.
    await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
    w.clock.advance(5 * 60_000 + 1)
    await refreshDueStates(w.deps)
    expect(w.connections.timeline.filter((e) => e.source === 'expire')).toHaveLength(2)
  })

  it('a failed check is logged and counted, the stored state stays, the next interval tries again', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.failNext('getState', new UpstreamUnavailableError('timeout'))
    expect(await refreshDueStates(w.deps)).toEqual({ checked: 1, failed: 1, expired: 0 })
    expect(w.logger.lines.some((l) => l.level === 'warn' && l.msg === 'background state check failed')).toBe(true)
    expect(w.connections.rows.get('acme')?.status).toBe('notAuthorized')
    await refreshDueStates(w.deps)
    expect(w.provider.count('getState')).toBe(1)
    w.clock.advance(w.deps.config.attemptPollIntervalMs)
    await refreshDueStates(w.deps)
    expect(w.provider.count('getState')).toBe(2)
  })

  it('null state (instance still being created) keeps the stored state', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', null)
    await refreshDueStates(w.deps)
    expect(w.connections.rows.get('acme')?.status).toBe('notAuthorized')
  })

  it('authorized → notAuthorized (logged out from the phone) clears the phone; the unlinked row is not checked again', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await refreshDueStates(w.deps)
    w.provider.setState('1101000001', 'notAuthorized', null)
    w.clock.advance(10 * 60_000)
    await refreshDueStates(w.deps)
    expect(await getConnectionStatus(w.deps, { tenantId: 'acme' })).toEqual({
      connected: false,
      status: 'notAuthorized',
      checkedAt: w.clock.now(),
    })
    expect(w.connections.rows.get('acme')?.account).toBeNull()
    expect(w.publisher.published.at(-1)).toEqual({
      tenantId: 'acme',
      connected: false,
      status: 'notAuthorized',
      checkedAt: w.clock.now(),
    })
    const calls = w.provider.count('getState')
    w.clock.advance(10 * 60_000)
    await refreshDueStates(w.deps)
    expect(w.provider.count('getState')).toBe(calls)
  })

  it('degraded states keep the phone but are not connected', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await refreshDueStates(w.deps)
    w.provider.setState('1101000001', 'yellowCard')
    w.clock.advance(w.deps.config.reconcileIntervalMs + 1)
    await refreshDueStates(w.deps)
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toMatchObject({ connected: false, status: 'yellowCard' })
    expect(r.account).toBeUndefined()
    expect(w.connections.rows.get('acme')).toMatchObject({ isActive: false, account: { phone: '+33612345678' } })
  })

  it('a publish failure is logged, the state is still stored', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    w.publisher.failNext = true
    await refreshDueStates(w.deps)
    expect((await getConnectionStatus(w.deps, { tenantId: 'acme' })).connected).toBe(true)
    expect(w.logger.lines.some((l) => l.msg === 'status publish failed')).toBe(true)
  })

  it('a corrupted encrypted_config → no upstream call, logged, other tenants still refreshed', async () => {
    const w = createTestWorld()
    await linking(w)
    await linking(w, 'globex', '1101000002')
    const row = w.connections.rows.get('acme')
    if (row) w.connections.rows.set('acme', { ...row, encryptedConfig: 'v1.test.other|x|y|00' })
    w.provider.setState('1101000002', 'authorized', '+33612345679')
    expect(await refreshDueStates(w.deps)).toMatchObject({ failed: 1 })
    expect(w.provider.count('getState')).toBe(1)
    expect(w.connections.rows.get('globex')?.status).toBe('authorized')
  })

  it('more live attempts than a batch keep their 1.1 s pace through a wave of due reconciles, which still get theirs', async () => {
    const w = createTestWorld({ refreshBatchSize: 4 })
    const ids = (n: number, base: number) => Array.from({ length: n }, (_, i) => String(base + i))
    // 6 connected instances, all due for a reconcile at once (older than the interval).
    for (const [i, id] of ids(6, 1101000100).entries()) {
      await linking(w, `linked${i}`, id)
      w.provider.setState(id, 'authorized', `+3361234560${i}`)
    }
    for (let p = 0; p < 3; p++) await refreshDueStates(w.deps)
    expect([...w.connections.rows.values()].every((r) => r.status === 'authorized')).toBe(true)
    w.clock.advance(w.deps.config.reconcileIntervalMs + 1)
    // 6 live attempts: more than a batch.
    for (const [i, id] of ids(6, 1101000200).entries()) await linking(w, `live${i}`, id)
    const polls = (id: string) => w.provider.calls.filter((c) => c.method === 'getState' && c.instanceId === id).length
    const before = new Map(ids(6, 1101000200).map((id) => [id, polls(id)]))
    // Two passes (a quarter interval apart): every attempt checked once, 4 reconciles + 2.
    await refreshDueStates(w.deps)
    w.clock.advance(275)
    await refreshDueStates(w.deps)
    expect(ids(6, 1101000200).map((id) => polls(id) - before.get(id)!)).toEqual([1, 1, 1, 1, 1, 1])
    expect(ids(6, 1101000100).map(polls)).toEqual([2, 2, 2, 2, 2, 2])
    // 40 more passes every 275 ms (11 s): every attempt 10 more checks, 1.1 s apart, never more.
    for (let t = 275; t <= 11_000; t += 275) {
      w.clock.advance(275)
      await refreshDueStates(w.deps)
    }
    for (const id of ids(6, 1101000200)) expect(polls(id) - before.get(id)!).toBe(11)
    // The reconciles: one each, none again within their interval.
    expect(ids(6, 1101000100).map(polls)).toEqual([2, 2, 2, 2, 2, 2])
  })

  it('a lane does its own kind only: attempts polls and records expiries, linked reconciles (decision 273)', async () => {
    const w = createTestWorld()
    await linking(w, 'acme', '1101000001') // a live attempt
    await linking(w, 'linked', '1101000002')
    w.provider.setState('1101000002', 'authorized', '+33612345678')
    await refreshDueStates(w.deps, 'attempts') // links it: a poll of its attempt
    expect(w.connections.rows.get('linked')?.status).toBe('authorized')
    await linking(w, 'expiring', '1101000003')
    w.clock.advance(w.deps.config.reconcileIntervalMs + 1)
    const getStates = (id: string) => w.provider.calls.filter((c) => c.method === 'getState' && c.instanceId === id).length
    const before = [1, 2, 3].map((n) => getStates(`110100000${n}`))

    expect(await refreshDueStates(w.deps, 'linked')).toEqual({ checked: 1, failed: 0, expired: 0 })
    expect([1, 2, 3].map((n) => getStates(`110100000${n}`) - before[n - 1]!)).toEqual([0, 1, 0])
    expect(await refreshDueStates(w.deps, 'attempts')).toEqual({ checked: 2, failed: 0, expired: 0 })
    expect([1, 2, 3].map((n) => getStates(`110100000${n}`) - before[n - 1]!)).toEqual([1, 1, 1])
    // An expired attempt is the attempts lane's to record, never the linked lane's.
    w.clock.advance(5 * 60_000)
    expect(await refreshDueStates(w.deps, 'linked')).toMatchObject({ expired: 0 })
    expect(await refreshDueStates(w.deps, 'attempts')).toMatchObject({ checked: 0, expired: 2 })
  })

  it('a pass asks for its leases in one round trip and records its unchanged answers in one write', async () => {
    const w = createTestWorld()
    for (let i = 0; i < 5; i++) await linking(w, `t${i}`, String(1101000300 + i))
    const leaseCalls = w.instances.leaseCalls
    const recordChecked = vi.spyOn(w.connections, 'recordChecked')
    const applyStatus = vi.spyOn(w.connections, 'applyStatus')
    w.clock.advance(500)
    expect(await refreshDueStates(w.deps)).toEqual({ checked: 5, failed: 0, expired: 0 })
    expect(w.instances.leaseCalls - leaseCalls).toBe(1)
    expect(applyStatus).not.toHaveBeenCalled()
    expect(recordChecked).toHaveBeenCalledTimes(1)
    expect(recordChecked.mock.calls[0]![0]).toHaveLength(5)
    for (let i = 0; i < 5; i++) expect(w.connections.rows.get(`t${i}`)?.statusCheckedAt).toEqual(w.clock.now())
    expect(w.publisher.published).toEqual([])
  })

  it('records each unchanged answer at the time it came: a row checked late in a long pass is not due early next time', async () => {
    const w = createTestWorld({ refreshConcurrency: 1 })
    for (let i = 0; i < 3; i++) {
      await linking(w, `t${i}`, String(1101000400 + i))
      w.provider.setState(String(1101000400 + i), 'authorized', `+3361234567${i}`)
    }
    await refreshDueStates(w.deps) // recorded as connected
    w.clock.advance(w.deps.config.reconcileIntervalMs + 1)
    const start = w.clock.now().getTime()
    // A slow Green-API: each check takes 10 s, one at a time (the wave of a thousand, in small).
    const getState = w.provider.getState.bind(w.provider)
    const slow = vi.spyOn(w.provider, 'getState').mockImplementation(async (...args) => {
      const state = await getState(...args)
      w.clock.advance(10_000)
      return state
    })
    expect(await refreshDueStates(w.deps)).toEqual({ checked: 3, failed: 0, expired: 0 })
    slow.mockRestore()
    const checkedAt = [0, 1, 2].map((i) => w.connections.rows.get(`t${i}`)!.statusCheckedAt!.getTime() - start)
    expect(checkedAt.sort((a, b) => a - b)).toEqual([10_000, 20_000, 30_000])
    // One interval after the first answer: only the row answered first is due again.
    w.clock.advance(w.deps.config.reconcileIntervalMs - 20_000 + 1)
    const before = w.provider.count('getState')
    expect(await refreshDueStates(w.deps)).toEqual({ checked: 1, failed: 0, expired: 0 })
    expect(w.provider.count('getState')).toBe(before + 1)
  })
})
