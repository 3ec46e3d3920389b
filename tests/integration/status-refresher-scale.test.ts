import { describe, expect, it } from 'vitest'
import { HotPathCaches, MemoizedPollLeaseAllocator } from '../../adapters/cache/hot-path-cache'
import { KyselyAuditLog } from '../../adapters/kysely/kysely-audit-log'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import { KyselyFeatureStore } from '../../adapters/kysely/kysely-feature-store'
import { KyselyInstanceAllocator } from '../../adapters/kysely/kysely-instance-allocator'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { PgStatusPublisher } from '../../adapters/kysely/pg-status-publisher'
import { systemClock } from '../../adapters/node/node-runtime'
import { createTestWorld } from '../../domain/testing/test-deps'
import { INSTANCE_TOKEN_LOCATION, generateQr, refreshDueStates, type WhatsAppDeps } from '../../domain/whatsapp'
import { createInstance, createTenant } from '../factories'
import { otherProcessDb, testDb } from '../utils/db'
import { eventually } from '../utils/wa-harness'

/**
 * The background refresher at scale (docs/decisions/231) on PostgreSQL, with no app running
 * (nothing else takes the poll leases): the refreshers of two connection pools ("two processes")
 * reconcile each connected instance once per interval, not once per process; many live attempts
 * keep their 1.1 s pace past the batch size while a wave of reconciles is due. The fake Green-API
 * counts calls per instance. Counts only: the bounds follow from the elapsed time.
 */

/** Runs `loops` concurrent loops of `step` for `ms`; returns the number of steps and the elapsed seconds. */
async function pollFor(ms: number, loops: number, step: () => Promise<void>): Promise<{ requests: number; seconds: number }> {
  const started = Date.now()
  let requests = 0
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (Date.now() - started < ms) {
        await step()
        requests++
      }
    }),
  )
  return { requests, seconds: (Date.now() - started) / 1000 }
}

function depsOver(
  db: ReturnType<typeof testDb>,
  world: ReturnType<typeof createTestWorld>,
  config: Partial<WhatsAppDeps['config']> = {},
): WhatsAppDeps {
  return {
    ...world.deps,
    clock: systemClock,
    features: new KyselyFeatureStore(db),
    connections: new KyselyConnectionRepository(db),
    instances: new KyselyInstanceAllocator(db),
    audit: new KyselyAuditLog(db),
    rateLimiter: new KyselyRateLimiter(db),
    publisher: new PgStatusPublisher(db),
    config: { ...world.deps.config, instanceMode: 'pool', ...config },
  }
}

describe('background refresher at scale', () => {
  it('connected instances, two connection pools ("two processes") refreshing: one reconcile per instance per interval, not one per process', async () => {
    const RECONCILE_MS = 1_000
    const world = createTestWorld()
    const other = otherProcessDb()
    // As in production: each process's refresher goes through its own memoized lease.
    const processes = [testDb(), other].map((db): WhatsAppDeps => {
      const caches = new HotPathCaches({ ttlMs: 3_000, listener: { connected: true, onMessage() {}, onReset() {} } })
      const deps = depsOver(db, world, { reconcileIntervalMs: RECONCILE_MS })
      return { ...deps, instances: new MemoizedPollLeaseAllocator(deps.instances, caches) }
    })
    const instanceIds: string[] = []
    const tenantIds: string[] = []
    for (let i = 0; i < 12; i++) {
      const tenant = await createTenant({ whatsappEnabled: true })
      const inst = await createInstance({ mode: 'pool', encryptedToken: world.vault.encrypt(`sf-${i}`, INSTANCE_TOKEN_LOCATION) })
      world.provider.addInstance(inst.id, `sf-${i}`)
      await generateQr(processes[i % 2]!, {
        tenantId: tenant.id,
        actor: { kind: 'system', name: 'test' },
        publicUrl: 'https://crm.test',
      })
      world.provider.setState(inst.id, 'authorized', `+336123456${String(i).padStart(2, '0')}`)
      instanceIds.push(inst.id)
      tenantIds.push(tenant.id)
    }
    // All connected at once (the scan seen by a first pass): every reconcile falls due together.
    await eventually(async () => {
      await refreshDueStates(processes[0]!)
      const rows = await testDb()
        .selectFrom('tenant_provider_configs')
        .select('connection_status')
        .where('tenant_id', 'in', tenantIds)
        .execute()
      expect(rows.filter((r) => r.connection_status === 'authorized')).toHaveLength(12)
    })
    const calls = (id: string) => world.provider.calls.filter((c) => c.method === 'getState' && c.instanceId === id).length
    const before = instanceIds.map(calls)
    world.provider.stateDelayMs = 10 // overlap the two processes' passes
    // Two refresher loops per "process", back to back (a process runs one, every 275 ms).
    const { requests, seconds } = await pollFor(3_500, 4, async () => {
      const deps = processes[Math.floor(Math.random() * 2)]!
      await refreshDueStates(deps)
    })
    const upstream = instanceIds.map((id, i) => calls(id) - before[i]!)
    console.log(
      `connected, 2 pools: ${requests} passes in ${seconds.toFixed(1)} s -> getState per instance ${upstream.join(' ')}`,
    )
    for (const n of upstream) {
      expect(n).toBeGreaterThanOrEqual(2)
      expect(n).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / RECONCILE_MS) + 1)
    }
    await other.destroy()
  }, 60_000)

  it('40 live attempts and a wave of 20 due reconciles, batches of 10: every attempt checked about once per 1.1 s, every reconcile once', async () => {
    const world = createTestWorld({ refreshBatchSize: 10 })
    const deps = depsOver(testDb(), world)
    const start = async (i: number, kind: string) => {
      const tenant = await createTenant({ whatsappEnabled: true })
      const inst = await createInstance({
        mode: 'pool',
        encryptedToken: world.vault.encrypt(`${kind}-${i}`, INSTANCE_TOKEN_LOCATION),
      })
      world.provider.addInstance(inst.id, `${kind}-${i}`)
      await generateQr(deps, { tenantId: tenant.id, actor: { kind: 'system', name: 'test' }, publicUrl: 'https://crm.test' })
      return { tenantId: tenant.id, instanceId: inst.id }
    }
    const linked = []
    for (let i = 0; i < 20; i++) linked.push(await start(i, 'linked'))
    for (const [i, l] of linked.entries())
      await deps.connections.applyStatus(l.tenantId, {
        status: 'authorized',
        account: { phone: `+336123457${String(i).padStart(2, '0')}` },
        checkedAt: new Date(Date.now() - 3_600_000), // an hour ago: all due at once
        source: 'webhook',
      })
    const live = []
    for (let i = 0; i < 40; i++) live.push(await start(i, 'live'))
    const calls = (id: string) => world.provider.calls.filter((c) => c.method === 'getState' && c.instanceId === id).length
    const before = new Map([...linked, ...live].map((x) => [x.instanceId, calls(x.instanceId)]))
    world.provider.stateDelayMs = 5
    // One refresher loop, pass after pass, as a process runs it (there every 275 ms).
    const { requests, seconds } = await pollFor(3_500, 1, async () => {
      await refreshDueStates(deps)
    })
    const polls = live.map((x) => calls(x.instanceId) - before.get(x.instanceId)!)
    const reconciles = linked.map((x) => calls(x.instanceId) - before.get(x.instanceId)!)
    console.log(
      `40 live + 20 due: ${requests} passes in ${seconds.toFixed(1)} s -> polls ${polls.join(' ')}; reconciles ${reconciles.join(' ')}`,
    )
    for (const n of polls) {
      expect(n).toBeGreaterThanOrEqual(Math.floor(seconds / 1.1) - 1)
      expect(n).toBeLessThanOrEqual(Math.ceil(seconds / 1.1) + 1)
    }
    expect(reconciles).toEqual(linked.map(() => 1))
  }, 60_000)

  it('a wave of reconciles bigger than the batch, two processes: the second takes the next rows, not the ones the first is checking', async () => {
    const world = createTestWorld({ refreshBatchSize: 5, refreshConcurrency: 1 })
    const other = otherProcessDb()
    const [a, b] = [testDb(), other].map((db) => depsOver(db, world))
    const linked: string[] = []
    for (let i = 0; i < 10; i++) {
      const tenant = await createTenant({ whatsappEnabled: true })
      const inst = await createInstance({
        mode: 'pool',
        encryptedToken: world.vault.encrypt(`wave-${i}`, INSTANCE_TOKEN_LOCATION),
      })
      world.provider.addInstance(inst.id, `wave-${i}`)
      await generateQr(a!, { tenantId: tenant.id, actor: { kind: 'system', name: 'test' }, publicUrl: 'https://crm.test' })
      world.provider.setState(inst.id, 'authorized', `+336123458${String(i).padStart(2, '0')}`)
      await a!.connections.applyStatus(tenant.id, {
        status: 'authorized',
        account: { phone: `+336123458${String(i).padStart(2, '0')}` },
        checkedAt: new Date(Date.now() - 3_600_000), // an hour ago: all due at once
        source: 'webhook',
      })
      linked.push(inst.id)
    }
    const checked = () =>
      new Set(
        world.provider.calls.filter((c) => c.method === 'getState' && linked.includes(c.instanceId)).map((c) => c.instanceId),
      )
    world.provider.stateDelayMs = 100 // one at a time: the first process's batch takes half a second
    const first = refreshDueStates(a!)
    // The second process's pass starts once the first holds its leases and is checking.
    await eventually(async () => expect(checked().size).toBeGreaterThan(0))
    const [ra, rb] = await Promise.all([first, refreshDueStates(b!)])
    // Before: the second listed the same five oldest rows, lost every lease and checked nothing.
    expect([ra.checked, rb.checked]).toEqual([5, 5])
    expect(checked().size).toBe(10)
    await other.destroy()
  }, 60_000)

  it('each lane lists its own kind on PostgreSQL: link attempts, or linked rows due (decision 273)', async () => {
    const world = createTestWorld()
    const deps = depsOver(testDb(), world)
    const tenants: string[] = []
    for (const kind of ['attempt', 'linked']) {
      const tenant = await createTenant({ whatsappEnabled: true })
      const inst = await createInstance({
        mode: 'pool',
        encryptedToken: world.vault.encrypt(`lane-${kind}`, INSTANCE_TOKEN_LOCATION),
      })
      world.provider.addInstance(inst.id, `lane-${kind}`)
      await generateQr(deps, { tenantId: tenant.id, actor: { kind: 'system', name: 'test' }, publicUrl: 'https://crm.test' })
      tenants.push(tenant.id)
    }
    await deps.connections.applyStatus(tenants[1]!, {
      status: 'authorized',
      account: { phone: '+33612345901' },
      checkedAt: new Date(Date.now() - 3_600_000),
      source: 'webhook',
    })
    const listed = async (only?: 'attempts' | 'linked') =>
      (
        await deps.connections.listDueForRefresh({
          checkedBefore: new Date(Date.now() - 60_000),
          limit: 500,
          ...(only ? { only } : {}),
        })
      )
        .map((r) => r.tenantId)
        .filter((t) => tenants.includes(t))
    expect(await listed('attempts')).toEqual([tenants[0]])
    expect(await listed('linked')).toEqual([tenants[1]])
    expect(await listed()).toEqual(tenants)
  })
})
