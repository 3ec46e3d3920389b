import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { linkByScan, newTenant, statusOf } from './api-support'
import { FAST_SEND_ENV, fetchMessage, send, waitForStatus } from './api-messages-support'

// Decision 171: when the stored state becomes `authorized` again, the instance's queued messages
// leave at once. The recheck is an hour away here, so it cannot be what sends them.
const h = useWaApp({
  env: { ...FAST_SEND_ENV, WA_SEND_INTERVAL_MS: '100', WA_SEND_RECHECK_MS: '3600000' },
  instances: 3,
})

/** The instance's pending send run, if any: when it is due and whether a worker holds it. */
async function pendingRun(instanceId: string) {
  const { rows } = await sql<{ later: boolean }>`
    select run_at > now() + interval '10 minutes' as later from graphile_worker._private_jobs
    where key = ${`wa-send:${instanceId}`} and locked_at is null`.execute(testDb())
  return rows
}

describe('resume on authorized', () => {
  it('messages queued under yellowCard leave once the webhook says authorized, in order, not waiting for the recheck', async () => {
    const actor = await newTenant()
    const instanceId = await linkByScan(h, actor, '+33611130001')
    h.sim.setState(instanceId, 'yellowCard')
    await eventually(async () => expect(await statusOf(h, actor)).toMatchObject({ status: 'yellowCard' }))

    const ids: string[] = []
    for (const text of ['un', 'deux', 'trois']) ids.push((await send(h, actor, { to: '+33698765432', text })).message.id)
    // The drain ran, found the queue paused and scheduled its next look an hour away.
    await eventually(async () => expect(await pendingRun(instanceId)).toEqual([{ later: true }]))
    for (const id of ids) expect((await fetchMessage(h, actor, id)).status).toBe('queued')
    expect(h.sim.callCount({ instanceId, method: 'sendMessage' })).toBe(0)

    h.sim.setState(instanceId, 'authorized') // fires the stateInstanceChanged webhook
    const sent = []
    for (const id of ids) sent.push(await waitForStatus(h, actor, id, 'sent'))
    expect(h.sim.instance(instanceId)!.sent.map((m) => m.message)).toEqual(['un', 'deux', 'trois'])
    expect(h.sim.callCount({ instanceId, method: 'sendMessage' })).toBe(3)

    // Each left after the stored state became authorized (the timeline's entry), none before.
    const row = await testDb()
      .selectFrom('tenant_provider_configs')
      .select('status_changed_at')
      .where('instance_id', '=', instanceId)
      .executeTakeFirstOrThrow()
    for (const m of sent) {
      const sending = m.statusHistory.find((e) => e.status === 'sending')!
      expect(new Date(sending.at).getTime()).toBeGreaterThanOrEqual(new Date(row.status_changed_at).getTime())
    }
    // Nothing left behind for the hour-away recheck to find.
    await eventually(async () => expect(await pendingRun(instanceId)).toEqual([]))
  })

  it('a message waiting under sleepMode leaves once the instance is authorized again, not at the recheck', async () => {
    const actor = await newTenant()
    const instanceId = await linkByScan(h, actor, '+33611130002')
    h.sim.setState(instanceId, 'sleepMode')
    await eventually(async () => expect(await statusOf(h, actor)).toMatchObject({ status: 'sleepMode' }))
    const { message } = await send(h, actor, { to: '+33698765432', text: 'réveil' })
    await eventually(async () => expect(await pendingRun(instanceId)).toEqual([{ later: true }]))
    h.sim.setState(instanceId, 'authorized')
    await waitForStatus(h, actor, message.id, 'sent')
    expect(h.sim.callCount({ instanceId, method: 'sendMessage' })).toBe(1)
  })
})
