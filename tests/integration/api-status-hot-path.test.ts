import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'

/**
 * What a status request alone does (docs/decisions/120): it answers the stored state with its
 * age and never waits for Green-API, takes no poll lease and writes nothing, whatever the age of
 * the row. The background refresher is off in this file, so every upstream call or write seen
 * here would come from the requests themselves; webhooks are off too, so the row changes only
 * when a test (or a request) writes it. Counts only, no timings.
 */
const h = useWaApp({ statusRefresh: false, simulator: { deliverWebhook: async () => {} }, env: { SSE_MAX_PER_USER: '50' } })
const tenant = 'macrea'

const status = async () => {
  const res = await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant })
  expect(res.status).toBe(200)
  return (await res.json()) as Record<string, unknown>
}

async function providerRow() {
  return testDb().selectFrom('tenant_provider_configs').selectAll().where('tenant_id', '=', tenant).executeTakeFirstOrThrow()
}

/** The row version: any UPDATE makes a new one, even one writing the same values. */
async function rowVersion(): Promise<string> {
  const r = await sql<{ v: string }>`SELECT xmin::text AS v FROM tenant_provider_configs WHERE tenant_id = ${tenant}`.execute(
    testDb(),
  )
  return r.rows[0]!.v
}

const expireEntries = async () =>
  (
    await testDb()
      .selectFrom('wa_status_events')
      .select('id')
      .where('tenant_id', '=', tenant)
      .where('source', '=', 'expire')
      .execute()
  ).length

async function ageRow(set: Record<string, Date | null>): Promise<void> {
  await testDb().updateTable('tenant_provider_configs').set(set).where('tenant_id', '=', tenant).execute()
  // The lease free too: a request that refreshed in-line would win it.
  const { instance_id } = await providerRow()
  await testDb().updateTable('wa_instances').set({ state_polled_at: null }).where('id', '=', instance_id).execute()
}

describe('status request on the hot path', () => {
  it('a live attempt checked an hour ago: the stored state, marked stale, with zero getStateInstance calls and no write', async () => {
    const gen = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant, json: {} })
    expect(gen.status).toBe(200)
    const { instance_id: instanceId } = await providerRow()
    // Green-API has news a request that refreshed in-line would fetch.
    h.sim.authorize(instanceId, '+33612345678')
    const hourAgo = new Date(Date.now() - 3_600_000)
    await ageRow({ status_checked_at: hourAgo, link_started_at: hourAgo })
    // The cache learns the aged row through NOTIFY.
    await eventually(async () => expect(await status()).toMatchObject({ checkedAt: hourAgo.toISOString() }))
    const calls = h.sim.callCount({ instanceId, method: 'getStateInstance' })
    const version = await rowVersion()
    for (let i = 0; i < 30; i++) {
      expect(await status()).toMatchObject({
        connected: false,
        status: 'notAuthorized',
        stale: true,
        checkedAt: hourAgo.toISOString(),
      })
    }
    expect(h.sim.callCount({ instanceId, method: 'getStateInstance' })).toBe(calls)
    expect(await rowVersion()).toBe(version)
  })

  it('connected, checked 30 s ago: polls make no upstream call and no UPDATE', async () => {
    const { instance_id: instanceId } = await providerRow()
    await testDb()
      .updateTable('tenant_provider_configs')
      .set({ connection_status: 'authorized', is_active: true, phone_number: '+33612345678', link_expires_at: null })
      .where('tenant_id', '=', tenant)
      .execute()
    await ageRow({ status_checked_at: new Date(Date.now() - 30_000) })
    await eventually(async () => expect(await status()).toMatchObject({ connected: true }))
    const calls = h.sim.callCount({ instanceId })
    const version = await rowVersion()
    for (let i = 0; i < 50; i++) {
      const body = await status()
      expect(body).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' })
      expect(body.stale).toBeUndefined()
    }
    expect(h.sim.callCount({ instanceId })).toBe(calls)
    expect(await rowVersion()).toBe(version)
  })

  it('an expired attempt: polls say linkExpired and write nothing (the refresher records the expiry)', async () => {
    await testDb()
      .updateTable('tenant_provider_configs')
      .set({ connection_status: 'notAuthorized', is_active: false, phone_number: null })
      .where('tenant_id', '=', tenant)
      .execute()
    const past = new Date(Date.now() - 60_000)
    await ageRow({ link_started_at: new Date(Date.now() - 600_000), link_expires_at: past, link_expiry_recorded_at: null })
    const version = await rowVersion()
    const entries = await expireEntries()
    await eventually(async () => expect(await status()).toMatchObject({ linkExpired: true }))
    for (let i = 0; i < 30; i++)
      expect(await status()).toMatchObject({ connected: false, status: 'notAuthorized', linkExpired: true })
    expect(await expireEntries()).toBe(entries)
    expect(await rowVersion()).toBe(version)
  })

  it('new event streams read the cached status like polls: 20 streams, no database checkout', async () => {
    // The app's composition root (its dev-reload-safe singleton), for its pool.
    const services = (globalThis as Record<symbol, unknown>)[Symbol.for('whatsapp-pro.services')] as {
      pool: { connect: (...a: unknown[]) => unknown }
    }
    await status() // warms the caches (guard facts, flags, row), as any open tab has
    const original = services.pool.connect
    let checkouts = 0
    services.pool.connect = function (this: unknown, ...a: unknown[]) {
      checkouts++
      return original.apply(this, a)
    }
    try {
      const firsts = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const ac = new AbortController()
          const res = await fetch(`${h.app.url}/api/wa/events`, {
            headers: { authorization: `Bearer ${h.tokens.owner}`, 'x-tenant': tenant },
            signal: ac.signal,
          })
          expect(res.status).toBe(200)
          const reader = res.body!.getReader()
          let text = ''
          while (!text.includes('\n\n', text.indexOf('data:'))) text += new TextDecoder().decode((await reader.read()).value)
          ac.abort()
          return text
        }),
      )
      for (const text of firsts) expect(text).toContain('"status":"notAuthorized"')
    } finally {
      services.pool.connect = original
    }
    // Uncached, each stream took a pooled connection for its first status (2000 streams
    // exhausted the pool); an app token's once-a-minute touch may take one.
    expect(checkouts).toBeLessThanOrEqual(1)
  })
})
