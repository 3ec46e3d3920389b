import { describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'

/**
 * The background state refresher (docs/decisions/120), over HTTP against the simulator with
 * webhooks switched off, so whatever the app learns it learnt by asking Green-API in the
 * background: during a link attempt about once per 1.1 s per instance however many pollers,
 * connected instances once per reconcile interval (2 s here), expired attempts recorded once.
 * Counts only; waits are "poll until, within a few seconds".
 */
const RECONCILE_SECONDS = 2
const h = useWaApp({
  simulator: { deliverWebhook: async () => {} },
  env: { WA_RECONCILE_INTERVAL_SECONDS: String(RECONCILE_SECONDS) },
})
const tenant = 'macrea'

const status = async () => {
  const res = await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant })
  expect(res.status).toBe(200)
  return (await res.json()) as Record<string, unknown>
}

async function providerRow() {
  return testDb().selectFrom('tenant_provider_configs').selectAll().where('tenant_id', '=', tenant).executeTakeFirstOrThrow()
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

/** Runs `loops` concurrent pollers for `ms`; returns the number of requests and the elapsed seconds. */
async function pollFor(ms: number, loops: number): Promise<{ requests: number; seconds: number }> {
  const started = Date.now()
  let requests = 0
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (Date.now() - started < ms) {
        await status()
        requests++
      }
    }),
  )
  return { requests, seconds: (Date.now() - started) / 1000 }
}

describe('background state refresher', () => {
  it('a live attempt: ≤ 1 getStateInstance per 1.1 s with 30 pollers, and the scan shows as connected without any webhook', async () => {
    const gen = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant, json: {} })
    expect(gen.status).toBe(200)
    const { instance_id: instanceId } = await providerRow()
    const before = h.sim.callCount({ instanceId, method: 'getStateInstance' })
    const { requests, seconds } = await pollFor(3_000, 30)
    const upstream = h.sim.callCount({ instanceId, method: 'getStateInstance' }) - before
    console.log(`live attempt: ${requests} polls in ${seconds.toFixed(1)} s -> ${upstream} getStateInstance calls`)
    expect(requests).toBeGreaterThan(30)
    expect(upstream).toBeGreaterThanOrEqual(1)
    expect(upstream).toBeLessThanOrEqual(Math.ceil(seconds / 1.1) + 1)

    h.sim.authorize(instanceId, '+33612345678')
    await eventually(
      async () => expect(await status()).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' }),
      5_000,
    )
  }, 30_000)

  it('connected: reconciled about once per interval whatever the pollers; a change upstream shows without a webhook', async () => {
    const { instance_id: instanceId } = await providerRow()
    const before = h.sim.callCount({ instanceId, method: 'getStateInstance' })
    const { seconds } = await pollFor(4_500, 20)
    const upstream = h.sim.callCount({ instanceId, method: 'getStateInstance' }) - before
    console.log(
      `connected: ${seconds.toFixed(1)} s -> ${upstream} getStateInstance calls (reconcile every ${RECONCILE_SECONDS} s)`,
    )
    expect(upstream).toBeGreaterThanOrEqual(1)
    expect(upstream).toBeLessThanOrEqual(Math.ceil(seconds / RECONCILE_SECONDS) + 1)

    h.sim.yellowCard(instanceId)
    await eventually(async () => expect(await status()).toMatchObject({ connected: false, status: 'yellowCard' }), 8_000)
  }, 30_000)

  it('an attempt past its limit is recorded expired once, however many polls, with no upstream call', async () => {
    await testDb()
      .updateTable('tenant_provider_configs')
      .set({
        connection_status: 'notAuthorized',
        is_active: false,
        phone_number: null,
        link_started_at: new Date(Date.now() - 600_000),
        link_expires_at: new Date(Date.now() - 60_000),
        link_expiry_recorded_at: null,
      })
      .where('tenant_id', '=', tenant)
      .execute()
    const { instance_id: instanceId } = await providerRow()
    const entries = await expireEntries()
    await eventually(async () => expect(await expireEntries()).toBe(entries + 1), 5_000)
    const calls = h.sim.callCount({ instanceId, method: 'getStateInstance' })
    // Several refresher passes (one per 275 ms) while 10 pollers ask.
    await pollFor(2_000, 10)
    expect(await status()).toMatchObject({ connected: false, status: 'notAuthorized', linkExpired: true })
    expect(await expireEntries()).toBe(entries + 1)
    expect(h.sim.callCount({ instanceId, method: 'getStateInstance' })).toBe(calls)
  }, 30_000)
})
