import { describe, expect, it } from 'vitest'
import { createMessagesWorld } from '../testing/messages-world'
import { drainSendQueue } from './drain-send-queue'
import { queueMessage } from './queue-message'
import { getMessage, listMessages, purgeOldMessages } from './read-messages'

const TO = '+33612345678'

async function world(config = {}) {
  const w = createMessagesWorld({ sendIntervalMs: 1000, maxInlineWaitMs: 1000, drainBudgetMs: 10_000, ...config })
  const { instanceId } = await w.link()
  const queue = (text: string, extra: { idempotencyKey?: string; reference?: string } = {}) =>
    queueMessage(w.messagesDeps, { tenantId: 'acme', to: TO, text, ...extra })
  const drain = () => drainSendQueue(w.messagesDeps, { instanceId })
  const sends = () => w.provider.calls.filter((c) => c.method === 'trySendText')
  const status = async (id: string) => (await getMessage(w.messagesDeps, { tenantId: 'acme', id })).status
  return { w, instanceId, queue, drain, sends, status }
}

describe('queueMessage', () => {
  it('stores a queued message and wakes its instance send job; no upstream call', async () => {
    const { w, instanceId, queue, sends } = await world()
    const { message, replayed } = await queue('Bonjour', { reference: 'crm-1' })
    expect(replayed).toBe(false)
    expect(message).toMatchObject({ status: 'queued', peer: TO, text: 'Bonjour', reference: 'crm-1', instanceId })
    expect(w.store.jobs).toEqual([
      {
        task: 'wa.send-message',
        payload: { instanceId },
        options: { key: `wa-send:${instanceId}`, queue: `wa-send:${instanceId}`, keyMode: 'preserveRunAt' },
      },
    ])
    expect(sends()).toHaveLength(0)
    expect(w.events.emitted.map((e) => [e.type, e.data.status])).toEqual([['whatsapp.message.updated', 'queued']])
  })

  it('same key + same body → the same message (replayed); another body → IDEMPOTENCY_CONFLICT', async () => {
    const { queue } = await world()
    const first = await queue('Bonjour', { idempotencyKey: 'k1' })
    const again = await queue('Bonjour', { idempotencyKey: 'k1' })
    expect(again).toEqual({ message: first.message, replayed: true })
    await expect(queue('Autre texte', { idempotencyKey: 'k1' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' })
  })

  it('refuses an unlinked tenant, a disabled feature, bad input, and past the rate limit', async () => {
    const w = createMessagesWorld({ rateLimit: { limit: 3, windowSeconds: 60 } }) // the NOT_CONNECTED try counts
    const q = (tenantId: string, text = 'x', to = TO) => queueMessage(w.messagesDeps, { tenantId, to, text })
    await expect(q('acme')).rejects.toMatchObject({ code: 'NOT_CONNECTED' })
    await expect(q('nobody')).rejects.toMatchObject({ code: 'WHATSAPP_DISABLED' })
    await w.link()
    await expect(q('acme', '')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(q('acme', 'x'.repeat(20_001))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(q('acme', 'x', '0612345678')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await q('acme')
    await q('acme')
    await expect(q('acme')).rejects.toMatchObject({ code: 'RATE_LIMITED' })
  })
})

describe('drainSendQueue', () => {
  it('sends oldest first, one interval apart (measured from the last send), then stops', async () => {
    const { w, queue, drain, sends, status } = await world()
    const ids = []
    for (const text of ['un', 'deux', 'trois']) ids.push((await queue(text)).message.id)
    const t0 = w.clock.now().getTime()
    expect(await drain()).toEqual({ kind: 'empty', sent: 3 })
    expect(sends().map((c) => (c.args as { text: string }).text)).toEqual(['un', 'deux', 'trois'])
    const started = await Promise.all(ids.map(async (id) => (await w.store.findById('acme', id))!.sendStartedAt!.getTime() - t0))
    expect(started).toEqual([0, 1000, 2000])
    for (const id of ids) expect(await status(id)).toBe('sent')
    const m = await getMessage(w.messagesDeps, { tenantId: 'acme', id: ids[0]! })
    expect(m.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'sent'])
    expect(m.upstreamMessageId).toMatch(/^BAE5/)
    // A message queued right after waits for the pace: the run reschedules instead of sleeping long.
    await queue('quatre')
    const w2 = await drainSendQueue(
      { ...w.messagesDeps, config: { ...w.messagesDeps.config, maxInlineWaitMs: 0 } },
      {
        instanceId: m.instanceId,
      },
    )
    expect(w2).toMatchObject({ kind: 'later', reason: 'pace', at: new Date(t0 + 3000) })
    expect(w.jobs.enqueued.at(-1)?.options).toMatchObject({ key: `wa-send:${m.instanceId}`, runAt: new Date(t0 + 3000) })
  })

  it('keeps its slot sleeping the pace for up to drainBudgetMs, then hands on: re-added to run at once, the next run keeps the pace', async () => {
    const { w, instanceId, queue, drain } = await world({
      sendIntervalMs: 500,
      maxInlineWaitMs: 2000,
      drainBudgetMs: 2000,
      rereadBeforeSlotMs: 50,
    })
    const ids = []
    for (let i = 0; i < 6; i++) ids.push((await queue(`m${i}`)).message.id)
    const t0 = w.clock.now().getTime()
    expect(await drain()).toEqual({ kind: 'later', reason: 'budget', at: null, sent: 5 })
    // Each pace: wake 50 ms early and read again, then the last 50 ms exactly.
    expect(w.sleeps).toEqual([450, 50, 450, 50, 450, 50, 450, 50])
    // Re-added without a time (the database's now), replacing any pending run: no poll to wait for.
    expect(w.jobs.enqueued.at(-1)?.options).toEqual({ key: `wa-send:${instanceId}`, queue: `wa-send:${instanceId}` })
    expect(await drain()).toEqual({ kind: 'empty', sent: 1 })
    const started = await Promise.all(ids.map(async (id) => (await w.store.findById('acme', id))!.sendStartedAt!.getTime() - t0))
    expect(started).toEqual([0, 500, 1000, 1500, 2000, 2500])
  })

  it('a timer firing a millisecond early never makes a send early: it waits out the rest', async () => {
    const { w, instanceId, queue } = await world({
      sendIntervalMs: 500,
      maxInlineWaitMs: 2000,
      drainBudgetMs: 1000,
      rereadBeforeSlotMs: 50,
    })
    const ids = [(await queue('a')).message.id, (await queue('b')).message.id]
    const deps = {
      ...w.messagesDeps,
      sleep: async (ms: number) => {
        w.sleeps.push(ms)
        w.clock.advance(ms > 1 ? ms - 1 : ms) // a millisecond early, down to the last one
      },
    }
    const t0 = w.clock.now().getTime()
    await drainSendQueue(deps, { instanceId })
    const started = await Promise.all(ids.map(async (id) => (await w.store.findById('acme', id))!.sendStartedAt!.getTime() - t0))
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(500)
    expect(w.sleeps).toEqual([450, 1, 50, 1])
  })

  it('stops at once when the workers stop (the signal), handing the queue on without sending more', async () => {
    const { w, instanceId, queue, sends } = await world({ sendIntervalMs: 500, maxInlineWaitMs: 2000, drainBudgetMs: 10_000 })
    for (let i = 0; i < 3; i++) await queue(`m${i}`)
    const stop = new AbortController()
    const deps = {
      ...w.messagesDeps,
      sleep: async (ms: number) => {
        w.clock.advance(ms / 2)
        stop.abort() // the stop arrives during the first pace
      },
    }
    expect(await drainSendQueue(deps, { instanceId, stopping: stop.signal })).toEqual({
      kind: 'later',
      reason: 'stopping',
      at: null,
      sent: 1,
    })
    expect(sends()).toHaveLength(1)
    expect(w.jobs.enqueued.at(-1)?.options).toEqual({ key: `wa-send:${instanceId}`, queue: `wa-send:${instanceId}` })
    // Already stopping: nothing sent at all.
    expect(await drainSendQueue(w.messagesDeps, { instanceId, stopping: stop.signal })).toMatchObject({
      reason: 'stopping',
      sent: 0,
    })
    expect(sends()).toHaveLength(1)
  })

  it('under yellowCard / blocked the queue pauses; asleep it waits; authorized again it resumes', async () => {
    const { w, queue, drain, sends, status } = await world({ recheckMs: 30_000 })
    const { message } = await queue('en attente')
    for (const state of ['yellowCard', 'blocked'] as const) {
      await w.setState(state)
      expect(await drain()).toMatchObject({ kind: 'later', reason: 'paused' })
    }
    await w.setState('sleepMode')
    expect(await drain()).toMatchObject({ kind: 'later', reason: 'waiting' })
    expect(sends()).toHaveLength(0)
    expect(await status(message.id)).toBe('queued')
    await w.setState('authorized')
    expect(await drain()).toEqual({ kind: 'empty', sent: 1 })
    expect(await status(message.id)).toBe('sent')
  })

  it('a message not sent within 24 h fails with EXPIRED, without an upstream call', async () => {
    const { w, queue, drain, sends } = await world()
    const { message } = await queue('trop tard')
    await w.setState('sleepMode')
    w.clock.advance(24 * 3600_000)
    await w.setState('authorized')
    expect(await drain()).toEqual({ kind: 'empty', sent: 0 })
    expect(sends()).toHaveLength(0)
    const m = await getMessage(w.messagesDeps, { tenantId: 'acme', id: message.id })
    expect(m).toMatchObject({ status: 'failed', error: { code: 'EXPIRED' } })
  })

  it('Green-API answering 5xx/429 puts the message back in the queue and retries after Retry-After', async () => {
    const { w, queue, drain, sends, status } = await world()
    const { message } = await queue('réessayer')
    w.provider.nextSendAttempt({ kind: 'notSent', retryAfterSeconds: 7, detail: 'HTTP 503' })
    const t = w.clock.now().getTime()
    expect(await drain()).toMatchObject({ kind: 'later', reason: 'retry', at: new Date(t + 7000) })
    expect(await status(message.id)).toBe('queued')
    w.clock.advance(7000)
    expect(await drain()).toEqual({ kind: 'empty', sent: 1 })
    expect(sends()).toHaveLength(2)
  })

  it('rejected upstream → failed (NO_WHATSAPP_ACCOUNT for noAccount, else UPSTREAM_REJECTED)', async () => {
    const { w, queue, drain } = await world()
    const a = (await queue('a')).message
    const b = (await queue('b')).message
    w.provider.nextSendAttempt({ kind: 'rejected', reason: 'noAccount', detail: 'noAccount' })
    w.provider.nextSendAttempt({ kind: 'rejected', reason: 'invalid', detail: '400' })
    await drain()
    expect((await w.store.findById('acme', a.id))?.error?.code).toBe('NO_WHATSAPP_ACCOUNT')
    expect((await w.store.findById('acme', b.id))?.error?.code).toBe('UPSTREAM_REJECTED')
  })

  it('a lost answer (maybeSent) is looked up in the journal and resumed: one upstream send only', async () => {
    const { w, queue, drain, sends, status } = await world()
    const { message } = await queue('une seule fois')
    w.provider.nextSendAttempt({ kind: 'maybeSent', detail: 'timeout' })
    expect(await drain()).toMatchObject({ kind: 'later', reason: 'lookup' })
    expect(await status(message.id)).toBe('sending')
    w.clock.advance(30_000)
    expect(await drain()).toEqual({ kind: 'empty', sent: 0 })
    const m = await w.store.findById('acme', message.id)
    expect(m).toMatchObject({ status: 'sent', upstreamMessageId: expect.stringMatching(/^BAE5/) })
    expect(sends()).toHaveLength(1)
  })

  it('a send interrupted before anything reached Green-API: looked up until the journal delay is over, then unknown, never resent', async () => {
    const { w, queue, drain, sends, status } = await world({ recoveryGraceMs: 150_000 })
    const { message } = await queue('perdu')
    // The crash: marked sending, then the process died before calling Green-API.
    await w.store.applyStatus('acme', message.id, { status: 'sending', at: w.clock.now(), sendStartedAt: w.clock.now() })
    const since = w.clock.now().getTime()
    w.clock.advance(10_000)
    expect(await drain()).toMatchObject({ kind: 'later', reason: 'lookup', at: new Date(since + 150_000) })
    w.clock.advance(140_000)
    expect(await drain()).toEqual({ kind: 'empty', sent: 0 })
    const m = await getMessage(w.messagesDeps, { tenantId: 'acme', id: message.id })
    expect(m).toMatchObject({ status: 'unknown', error: { code: 'SEND_OUTCOME_UNKNOWN' } })
    expect(sends()).toHaveLength(0)
    expect(await status(message.id)).toBe('unknown')
  })

  it('emits whatsapp.message.updated with the API view on every change it makes', async () => {
    const { w, queue, drain } = await world()
    const { message } = await queue('événements')
    await drain()
    const mine = w.events.emitted.flatMap((e) =>
      e.type === 'whatsapp.connection.updated' || e.data.id !== message.id ? [] : [e],
    )
    expect(mine.map((e) => e.data.status)).toEqual(['queued', 'sending', 'sent'])
    expect(mine[2]?.data).toMatchObject({ id: message.id, direction: 'outbound', to: TO, text: 'événements' })
  })
})

describe('listMessages and purge', () => {
  it('pages newest first with an opaque cursor; a bad cursor is VALIDATION_FAILED; purge honours retention', async () => {
    const { w, queue } = await world({ retentionDays: 30, rateLimit: { limit: 100, windowSeconds: 60 } })
    for (let i = 0; i < 5; i++) {
      await queue(`m${i}`)
      w.clock.advance(1000)
    }
    const p1 = await listMessages(w.messagesDeps, { tenantId: 'acme', limit: 2 })
    expect(p1.messages.map((m) => m.text)).toEqual(['m4', 'm3'])
    const p2 = await listMessages(w.messagesDeps, { tenantId: 'acme', limit: 2, cursor: p1.nextCursor! })
    expect(p2.messages.map((m) => m.text)).toEqual(['m2', 'm1'])
    const p3 = await listMessages(w.messagesDeps, { tenantId: 'acme', limit: 2, cursor: p2.nextCursor! })
    expect(p3).toMatchObject({ nextCursor: null })
    await expect(listMessages(w.messagesDeps, { tenantId: 'acme', cursor: 'garbage!' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    w.clock.advance(30 * 86_400_000 - 2500)
    expect(await purgeOldMessages(w.messagesDeps)).toEqual({ deleted: 3 })
  })
})
