import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { reconcileOnStart } from './reconcile-on-start'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const

describe('reconcileOnStart', () => {
  it('checks connected and mid-link rows with bounded concurrency; failures are counted', async () => {
    const w = createTestWorld({ reconcileConcurrency: 2 })
    const tenants = ['t1', 't2', 't3', 't4', 't5']
    for (const [i, t] of tenants.entries()) {
      w.features.setFlags(t, { whatsapp_enabled: true })
      w.addInstance(`110100000${i}`)
      await generateQr(w.deps, { tenantId: t, actor, publicUrl: 'https://x.test' })
    }
    // t3 connected meanwhile, t2 idle with an expired attempt (skipped), the first check (t1) fails upstream.
    w.provider.setState(w.connections.rows.get('t3')?.instanceId ?? '', 'authorized', '+33612345678')
    const t2 = w.connections.rows.get('t2')
    if (t2) w.connections.rows.set('t2', { ...t2, linkExpiresAt: new Date(0) })
    w.provider.failNext('getState', new UpstreamUnavailableError('down'))

    let inFlight = 0
    let peak = 0
    const original = w.provider.getState.bind(w.provider)
    w.provider.getState = async (creds) => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((r) => setTimeout(r, 5))
      try {
        return await original(creds)
      } finally {
        inFlight--
      }
    }
    const report = await reconcileOnStart(w.deps)
    expect(report).toEqual({ checked: 4, failed: 1 })
    expect(peak).toBe(2)
    expect(w.connections.rows.get('t1')?.status).toBe('notAuthorized')
    expect(w.connections.rows.get('t3')).toMatchObject({ status: 'authorized', account: { phone: '+33612345678' } })
    expect(w.connections.timeline.filter((e) => e.source === 'reconcile')).toHaveLength(1)
  })

  it('nothing to do → zero calls', async () => {
    const w = createTestWorld()
    expect(await reconcileOnStart(w.deps)).toEqual({ checked: 0, failed: 0 })
    expect(w.provider.count()).toBe(0)
  })

  it('two processes starting together: each row is checked once, by whichever took its lease', async () => {
    const w = createTestWorld()
    for (const [i, t] of ['t1', 't2', 't3'].entries()) {
      w.features.setFlags(t, { whatsapp_enabled: true })
      w.addInstance(`110100001${i}`)
      await generateQr(w.deps, { tenantId: t, actor, publicUrl: 'https://x.test' })
    }
    const [a, b] = await Promise.all([reconcileOnStart(w.deps), reconcileOnStart(w.deps)])
    expect(a.checked + b.checked).toBe(3)
    expect(w.provider.count('getState')).toBe(3)
    // A later start (past the lease's interval) checks again.
    w.clock.advance(w.deps.config.attemptPollIntervalMs)
    expect(await reconcileOnStart(w.deps)).toEqual({ checked: 3, failed: 0 })
  })
})
