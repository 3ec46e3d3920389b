import { describe, expect, it } from 'vitest'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import { KyselyInstanceAllocator } from '../../adapters/kysely/kysely-instance-allocator'
import { PgStatusPublisher } from '../../adapters/kysely/pg-status-publisher'
import { systemClock } from '../../adapters/node/node-runtime'
import { createTestWorld } from '../../domain/testing/test-deps'
import {
  INSTANCE_TOKEN_LOCATION,
  generateQr,
  getConnectionStatus,
  refreshDueStates,
  type WhatsAppDeps,
} from '../../domain/whatsapp'
import { KyselyFeatureStore } from '../../adapters/kysely/kysely-feature-store'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { KyselyAuditLog } from '../../adapters/kysely/kysely-audit-log'
import { createInstance, createTenant } from '../factories'
import { otherProcessDb, testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'

/**
 * Single flight of `getStateInstance` (docs/scale-out.md, decision 120): pollers never reach
 * Green-API (status requests answer the stored row); the background refreshers of every process
 * share the PostgreSQL lease on wa_instances.state_polled_at, so an instance in a link attempt
 * gets at most one call per 1.1 s however many processes run. Counts only, no timings.
 */
const h = useWaApp()

/** Runs `loops` concurrent pollers for `ms`; returns the number of requests and the elapsed seconds. */
async function pollFor(ms: number, loops: number, poll: () => Promise<void>): Promise<{ requests: number; seconds: number }> {
  const started = Date.now()
  let requests = 0
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (Date.now() - started < ms) {
        await poll()
        requests++
      }
    }),
  )
  return { requests, seconds: (Date.now() - started) / 1000 }
}

describe('single-flight status polling', () => {
  it('50 concurrent pollers of a connected tenant for ~3 s: no getStateInstance reaches Green-API', async () => {
    const gen = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(gen.status).toBe(200)
    const { instance_id: instanceId } = await testDb()
      .selectFrom('tenant_provider_configs')
      .select('instance_id')
      .where('tenant_id', '=', 'macrea')
      .executeTakeFirstOrThrow()
    h.sim.authorize(instanceId, '+33612345678')
    await h.sim.flushWebhooks()
    await eventually(async () => {
      const body = await (await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant: 'macrea' })).json()
      expect(body.connected).toBe(true)
    })

    const before = h.sim.callCount({ instanceId, method: 'getStateInstance' })
    const statuses = new Map<number, number>()
    // A burst of 50 at once, then the same 50 pollers back to back for ~3 s.
    const { requests, seconds } = await pollFor(3_000, 50, async () => {
      const res = await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant: 'macrea' })
      await res.arrayBuffer()
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    })
    const upstream = h.sim.callCount({ instanceId, method: 'getStateInstance' }) - before
    console.log(`single flight (1 process): ${requests} polls in ${seconds.toFixed(1)} s -> ${upstream} getStateInstance calls`)
    expect([...statuses.keys()]).toEqual([200])
    expect(requests).toBeGreaterThan(50)
    // Connected with its webhook set: the next reconcile is a minute away.
    expect(upstream).toBe(0)
  }, 30_000)

  it('the refreshers of two connection pools ("two processes") make at most one call per 1.1 s for a live attempt', async () => {
    const world = createTestWorld()
    const tenant = await createTenant({ whatsappEnabled: true })
    const inst = await createInstance({ mode: 'pool', encryptedToken: world.vault.encrypt('sf-secret', INSTANCE_TOKEN_LOCATION) })
    world.provider.addInstance(inst.id, 'sf-secret')
    // Each "process": its own pool and adapters; the fake Green-API is shared and counts calls.
    const other = otherProcessDb()
    const processes = [testDb(), other].map((db): WhatsAppDeps => ({
      ...world.deps,
      clock: systemClock,
      features: new KyselyFeatureStore(db),
      connections: new KyselyConnectionRepository(db),
      instances: new KyselyInstanceAllocator(db),
      audit: new KyselyAuditLog(db),
      rateLimiter: new KyselyRateLimiter(db),
      publisher: new PgStatusPublisher(db),
      config: { ...world.deps.config, instanceMode: 'pool' },
    }))
    await generateQr(processes[0]!, {
      tenantId: tenant.id,
      actor: { kind: 'system', name: 'test' },
      publicUrl: 'https://crm.test',
    })
    world.provider.stateDelayMs = 20 // overlap concurrent refreshes
    const before = world.provider.count('getState')

    // Four refresher loops per "process" (far more than the one a process runs), back to back.
    const { requests, seconds } = await pollFor(3_000, 8, async () => {
      const deps = processes[Math.floor(Math.random() * 2)]!
      await refreshDueStates(deps)
    })
    const upstream = world.provider.count('getState') - before
    console.log(`single flight (2 pools): ${requests} refresher passes in ${seconds.toFixed(1)} s -> ${upstream} getState calls`)
    expect(upstream).toBeGreaterThanOrEqual(1)
    expect(upstream).toBeLessThanOrEqual(Math.ceil(seconds / 1.1) + 1)
    // What a refresher learnt, every process answers.
    world.provider.setState(inst.id, 'authorized', '+33612345678')
    await eventually(async () => {
      await refreshDueStates(processes[0]!)
      expect((await getConnectionStatus(processes[1]!, { tenantId: tenant.id })).status).toBe('authorized')
    })
    await other.destroy()
  }, 30_000)
})
