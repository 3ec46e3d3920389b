import { describe, expect, it } from 'vitest'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { getConnectionStatus } from './get-connection-status'
import { refreshDueStates } from './refresh-due-states'

const actor = { kind: 'user', userId: 'u-1' } as const

async function linking(w: TestWorld): Promise<void> {
  w.addInstance('1101000001')
  await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
}

/** Every write method of the fake repository, counted. */
function countWrites(w: TestWorld): () => number {
  let writes = 0
  for (const m of ['saveLinkAttempt', 'applyStatus', 'recordLinkExpired', 'delete'] as const) {
    const original = (w.connections[m] as (...a: unknown[]) => Promise<unknown>).bind(w.connections)
    ;(w.connections as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
      writes++
      return original(...a)
    }
  }
  return () => writes
}

describe('getConnectionStatus (stored state only)', () => {
  it('no provider row → notAuthorized without any upstream or lease call', async () => {
    const w = createTestWorld()
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r).toEqual({ connected: false, status: 'notAuthorized', checkedAt: w.clock.now() })
    expect(w.provider.count()).toBe(0)
    expect(w.instances.leaseCalls).toBe(0)
  })

  it('never asks Green-API, takes no lease and writes nothing, however old the stored state', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    const writes = countWrites(w)
    const calls = w.provider.count()
    for (let i = 0; i < 20; i++) {
      w.clock.advance(1500)
      expect(await getConnectionStatus(w.deps, { tenantId: 'acme' })).toMatchObject({ connected: false, status: 'notAuthorized' })
    }
    expect(w.provider.count()).toBe(calls)
    expect(w.instances.leaseCalls).toBe(0)
    expect(writes()).toBe(0)
  })

  it('answers what the background refresher stored, with its check time', async () => {
    const w = createTestWorld()
    await linking(w)
    w.provider.setState('1101000001', 'authorized', '+33612345678')
    w.clock.advance(1500)
    await refreshDueStates(w.deps)
    const checkedAt = w.clock.now()
    w.clock.advance(500)
    expect(await getConnectionStatus(w.deps, { tenantId: 'acme' })).toEqual({
      connected: true,
      status: 'authorized',
      account: { phone: '+33612345678' },
      checkedAt,
    })
  })

  it('stale once the state is older than its schedule allows: 5 attempt polls, 2 reconciles', async () => {
    const w = createTestWorld()
    await linking(w)
    w.clock.advance(5 * w.deps.config.attemptPollIntervalMs)
    expect((await getConnectionStatus(w.deps, { tenantId: 'acme' })).stale).toBeUndefined()
    w.clock.advance(1)
    expect((await getConnectionStatus(w.deps, { tenantId: 'acme' })).stale).toBe(true)

    w.provider.setState('1101000001', 'authorized', '+33612345678')
    await refreshDueStates(w.deps)
    w.clock.advance(2 * w.deps.config.reconcileIntervalMs)
    expect((await getConnectionStatus(w.deps, { tenantId: 'acme' })).stale).toBeUndefined()
    w.clock.advance(1)
    expect((await getConnectionStatus(w.deps, { tenantId: 'acme' })).stale).toBe(true)
  })

  it('an expired attempt is reported expired (never stale) and not written by the poll', async () => {
    const w = createTestWorld()
    await linking(w)
    const before = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(before.linkExpiresAt).toBeInstanceOf(Date)
    const writes = countWrites(w)
    w.clock.advance(5 * 60_000 + 1)
    const r = await getConnectionStatus(w.deps, { tenantId: 'acme' })
    expect(r.linkExpired).toBe(true)
    expect(r.linkExpiresAt).toBeUndefined()
    expect(r.stale).toBeUndefined()
    expect(writes()).toBe(0)
    expect(w.connections.timeline.filter((e) => e.source === 'expire')).toHaveLength(0)
  })
})
