import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { addJob } from '../../adapters/queue/graphile-job-queue'
import type { ConnectionState } from '../../domain/whatsapp'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, linkByScan, newTenant, statusOf, type TenantActor } from './api-support'
import { FAST_SEND_ENV, fetchMessage, send, waitForStatus, wakeSendJob } from './api-messages-support'

// Pacing, state-aware pause, expiry, recovery of interrupted sends, retention, through HTTP with
// the simulator behind MSW. Paces are short here; the rules are the production ones.
const INTERVAL_MS = 250
const h = useWaApp({
  env: {
    ...FAST_SEND_ENV,
    WA_SEND_INTERVAL_MS: String(INTERVAL_MS),
    WA_SEND_RECOVERY_GRACE_MS: '1500',
    GREENAPI_TIMEOUT_MS: '400',
  },
  instances: 10,
  // These tests are about sends: no receipts move a message past `sent` (receipts have their own file).
  simulator: { receiptPlan: () => [] },
})

async function linked(phone: string): Promise<{ actor: TenantActor; instanceId: string }> {
  const actor = await newTenant()
  const instanceId = await linkByScan(h, actor, phone)
  return { actor, instanceId }
}

async function moveTo(actor: TenantActor, instanceId: string, state: ConnectionState) {
  h.sim.setState(instanceId, state)
  await eventually(async () => expect(await statusOf(h, actor)).toMatchObject({ status: state }))
}

/** The instance's send job has run and chose to wait: a job for later, not running. */
async function sendJobWaiting(instanceId: string) {
  await eventually(async () => {
    const { rows } = await sql<{ n: string }>`
      select count(*)::text as n from graphile_worker._private_jobs
      where key = ${`wa-send:${instanceId}`} and run_at > now() and locked_at is null`.execute(testDb())
    expect(rows[0]?.n).toBe('1')
  })
}

const sendCalls = (instanceId: string) => h.sim.callCount({ instanceId, method: 'sendMessage' })

describe('pacing', () => {
  it(`never more than one send per ${INTERVAL_MS} ms on an instance (counted upstream per second), instances independent`, async () => {
    const a = await linked('+33611120001')
    const b = await linked('+33611120002')
    const ids: Array<[TenantActor, string]> = []
    for (let i = 0; i < 8; i++) {
      ids.push([a.actor, (await send(h, a.actor, { to: '+33698765432', text: `a${i}` })).message.id])
      ids.push([b.actor, (await send(h, b.actor, { to: '+33698765433', text: `b${i}` })).message.id])
    }
    for (const [actor, id] of ids) await waitForStatus(h, actor, id, 'sent', 15_000)
    for (const { instanceId } of [a, b]) {
      const times = h.sim.instance(instanceId)!.sent.map((m) => m.at)
      expect(times).toHaveLength(8)
      // In any 1-second window: at most 1000/INTERVAL + 1 sends (window edges included), and never above 50/s.
      const perSecond = Math.max(...times.map((t) => times.filter((u) => u >= t && u <= t + 1000).length))
      expect(perSecond).toBeLessThanOrEqual(1000 / INTERVAL_MS + 1)
      expect(perSecond).toBeLessThanOrEqual(50)
      // Oldest first.
      expect(h.sim.instance(instanceId)!.sent.map((m) => m.message)).toEqual(
        Array.from({ length: 8 }, (_, i) => `${instanceId === a.instanceId ? 'a' : 'b'}${i}`),
      )
      expect(sendCalls(instanceId)).toBe(8)
    }
  })
})

describe('state-aware sending', () => {
  it('under yellowCard the queue pauses (nothing reaches Green-API) and resumes once authorized', async () => {
    const { actor, instanceId } = await linked('+33611120003')
    await moveTo(actor, instanceId, 'yellowCard')
    const { message } = await send(h, actor, { to: '+33698765432', text: 'pas maintenant' })
    await sendJobWaiting(instanceId)
    expect((await fetchMessage(h, actor, message.id)).status).toBe('queued')
    expect(sendCalls(instanceId)).toBe(0)
    await moveTo(actor, instanceId, 'authorized')
    const sent = await waitForStatus(h, actor, message.id, 'sent')
    expect(sent.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'sent'])
    expect(sendCalls(instanceId)).toBe(1)
  })

  it('a message not sent within 24 h of its creation fails with EXPIRED, without reaching Green-API', async () => {
    const { actor, instanceId } = await linked('+33611120004')
    await moveTo(actor, instanceId, 'sleepMode')
    const { message } = await send(h, actor, { to: '+33698765432', text: 'trop tard' })
    await sendJobWaiting(instanceId)
    // 24 h later (the row's deadline moved, not the clock).
    await testDb()
      .updateTable('wa_messages')
      .set({ expires_at: sql`now() - interval '1 second'` })
      .where('id', '=', message.id)
      .execute()
    await moveTo(actor, instanceId, 'authorized')
    await wakeSendJob(instanceId)
    const failed = await waitForStatus(h, actor, message.id, 'failed')
    expect(failed.error).toMatchObject({ code: 'EXPIRED' })
    expect(sendCalls(instanceId)).toBe(0)
  })
})

describe('never a double send', () => {
  it('a crash between the call and storing its id: found in the journal, resumed, not sent again', async () => {
    const { actor, instanceId } = await linked('+33611120005')
    const { message } = await send(h, actor, { to: '+33698765432', text: 'une seule fois' })
    const sent = await waitForStatus(h, actor, message.id, 'sent')
    const row = await testDb().selectFrom('wa_messages').selectAll().where('id', '=', message.id).executeTakeFirstOrThrow()
    const upstreamId = row.upstream_message_id
    expect(upstreamId).toEqual(expect.any(String))
    // The row as the crash left it: marked sending (with its start time), the answer never stored.
    await testDb()
      .updateTable('wa_messages')
      .set({ status: 'sending', upstream_message_id: null, status_history: JSON.stringify(sent.statusHistory.slice(0, 2)) })
      .where('id', '=', message.id)
      .execute()
    await wakeSendJob(instanceId)
    const resumed = await waitForStatus(h, actor, message.id, 'sent')
    expect(resumed.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'sent'])
    const after = await testDb()
      .selectFrom('wa_messages')
      .select('upstream_message_id')
      .where('id', '=', message.id)
      .executeTakeFirstOrThrow()
    expect(after.upstream_message_id).toBe(upstreamId)
    expect(sendCalls(instanceId)).toBe(1)
    expect(h.sim.instance(instanceId)!.sent).toHaveLength(1)
  })

  it('a crash before the request left: not in the journal after its delay → unknown, never resent', async () => {
    const { actor, instanceId } = await linked('+33611120006')
    await moveTo(actor, instanceId, 'sleepMode')
    const { message } = await send(h, actor, { to: '+33698765432', text: 'perdu en route' })
    await sendJobWaiting(instanceId)
    await testDb()
      .updateTable('wa_messages')
      .set({ status: 'sending', send_started_at: sql`now() - interval '1 minute'` })
      .where('id', '=', message.id)
      .execute()
    await moveTo(actor, instanceId, 'authorized')
    await wakeSendJob(instanceId)
    const unknown = await waitForStatus(h, actor, message.id, 'unknown')
    expect(unknown.error).toMatchObject({ code: 'SEND_OUTCOME_UNKNOWN' })
    expect(sendCalls(instanceId)).toBe(0)
    expect(h.sim.callCount({ instanceId, method: 'lastOutgoingMessages' })).toBeGreaterThanOrEqual(1)
  })

  it('a timeout after the request left: looked up, found, sent once', async () => {
    const { actor, instanceId } = await linked('+33611120007')
    // Green-API takes the message but answers after our 400 ms deadline.
    h.sim.fault({ instanceId, methods: ['sendMessage'], times: 1 }).slow(900)
    const { message } = await send(h, actor, { to: '+33698765432', text: 'réponse perdue' })
    const sent = await waitForStatus(h, actor, message.id, 'sent', 15_000)
    expect(sent.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'sent'])
    expect(sendCalls(instanceId)).toBe(1)
    expect(h.sim.instance(instanceId)!.sent).toHaveLength(1)
    const row = await testDb()
      .selectFrom('wa_messages')
      .select('upstream_message_id')
      .where('id', '=', message.id)
      .executeTakeFirstOrThrow()
    expect(row.upstream_message_id).toBe(h.sim.instance(instanceId)!.sent[0]!.idMessage)
  })

  it('Green-API answering 503 puts the message back in the queue; it leaves on a later try', async () => {
    const { actor, instanceId } = await linked('+33611120008')
    h.sim.fault({ instanceId, methods: ['sendMessage'], times: 1 }).down(503)
    const { message } = await send(h, actor, { to: '+33698765432', text: 'plus tard' })
    const sent = await waitForStatus(h, actor, message.id, 'sent', 15_000)
    expect(sent.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'queued', 'sending', 'sent'])
    expect(sendCalls(instanceId)).toBe(2)
    expect(h.sim.instance(instanceId)!.sent).toHaveLength(1)
  })
})

describe('retention', () => {
  it('the scheduled purge deletes messages older than WA_MESSAGE_RETENTION_DAYS (GET → 404), keeps the rest', async () => {
    const actor = await newTenant()
    await linkByScan(h, actor, '+33611120009')
    const old = (await send(h, actor, { to: '+33698765432', text: 'ancien' })).message
    const recent = (await send(h, actor, { to: '+33698765432', text: 'récent' })).message
    await testDb()
      .updateTable('wa_messages')
      .set({ created_at: sql`now() - interval '31 days'` })
      .where('id', '=', old.id)
      .execute()
    await addJob(testDb(), 'wa.purge-messages', {})
    await eventually(async () => expectError(await get(h, `/api/wa/messages/${old.id}`, actor), 404, 'NOT_FOUND'))
    expect((await fetchMessage(h, actor, recent.id)).text).toBe('récent')
  })
})
