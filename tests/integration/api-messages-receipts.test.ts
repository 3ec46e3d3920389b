import { beforeAll, describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { linkByScan, newTenant, type TenantActor } from './api-support'
import { sendTest, storedMessage } from './messages-support'

// Receipts (Green-API `outgoingMessageStatus`) move the test message, recorded as an outbound
// message, over real HTTP: the simulator sends them to the app's webhook route. The simulator
// plans no receipt by itself here (receiptPlan → []): each test emits the ones it wants, in the
// order it wants, duplicates included.
let nextIds: string[] = []
const h = useWaApp({
  instances: 6,
  env: { WA_RATE_LIMIT_TEST: '200/3600' },
  simulator: {
    receiptPlan: () => [],
    newMessageId: () => nextIds.shift() ?? `SIM${Math.random().toString(16).slice(2, 14).toUpperCase()}`,
  },
})

let a: TenantActor
let instanceA: string
beforeAll(async () => {
  a = await newTenant()
  instanceA = await linkByScan(h, a, '+33611111111')
})

/** Emits the receipts one after the other (each delivered before the next leaves). */
async function receipts(idMessage: string, statuses: Parameters<typeof h.sim.emitReceipt>[2][], instanceId = instanceA) {
  for (const s of statuses) {
    h.sim.emitReceipt(instanceId, idMessage, s, { chatId: '33698765432@c.us' })
    await h.sim.flushWebhooks()
  }
}

/** The webhook's own answers, by posting the notification as Green-API would. */
async function postNotification(instanceId: string, body: unknown): Promise<Response> {
  const token = h.sim.instance(instanceId)!.webhookToken
  return fetch(`${h.app.url}/api/wa/webhooks/green-api/${instanceId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  })
}

const receiptBody = (instanceId: string, idMessage: string, status: string) => ({
  typeWebhook: 'outgoingMessageStatus',
  chatId: '33698765432@c.us',
  instanceData: { idInstance: Number(instanceId), wid: '33611111111@c.us', typeInstance: 'whatsapp' },
  timestamp: Math.floor(Date.now() / 1000),
  idMessage,
  status,
  sendByApi: true,
})

describe('receipts over HTTP (outgoingMessageStatus)', () => {
  it('the test message is recorded as sent with its upstream id, then moves sent → delivered → read', async () => {
    const sent = await sendTest(h, a, { to: '+33698765432', message: 'Bonjour' })
    const before = await storedMessage(sent.messageId)
    expect(before).toMatchObject({
      tenantId: a.tenantId,
      direction: 'outbound',
      status: 'sent',
      history: ['sent'],
      upstreamMessageId: sent.idMessage,
      peer: '+33698765432',
      text: 'Bonjour',
    })
    await receipts(sent.idMessage, ['sent', 'delivered'])
    expect(await storedMessage(sent.messageId)).toMatchObject({ status: 'delivered', history: ['sent', 'delivered'] })
    await receipts(sent.idMessage, ['read'])
    expect(await storedMessage(sent.messageId)).toMatchObject({ status: 'read', history: ['sent', 'delivered', 'read'] })
  })

  it('out of order and duplicated receipts never move a message back, and the history records each change once', async () => {
    const one = await sendTest(h, a, { to: '+33698765432', message: 'un' })
    await receipts(one.idMessage, ['delivered', 'delivered', 'sent', 'delivered', 'sent'])
    expect(await storedMessage(one.messageId)).toMatchObject({ status: 'delivered', history: ['sent', 'delivered'] })

    const two = await sendTest(h, a, { to: '+33698765432', message: 'deux' })
    await receipts(two.idMessage, ['read', 'delivered', 'sent', 'read'])
    expect(await storedMessage(two.messageId)).toMatchObject({ status: 'read', history: ['sent', 'read'] })
  })

  it('noAccount → failed NO_WHATSAPP_ACCOUNT, failed → UPSTREAM_REJECTED, yellowCard → YELLOW_CARD; a late delivered changes nothing', async () => {
    const none = await sendTest(h, a, { to: '+33600000000', message: 'personne' })
    await receipts(none.idMessage, ['noAccount', 'delivered'])
    expect(await storedMessage(none.messageId)).toMatchObject({
      status: 'failed',
      errorCode: 'NO_WHATSAPP_ACCOUNT',
      history: ['sent', 'failed'],
    })
    const refused = await sendTest(h, a, { to: '+33698765432', message: 'refusé' })
    await receipts(refused.idMessage, ['failed'])
    expect(await storedMessage(refused.messageId)).toMatchObject({ status: 'failed', errorCode: 'UPSTREAM_REJECTED' })
    const carded = await sendTest(h, a, { to: '+33698765432', message: 'carton' })
    await receipts(carded.idMessage, ['yellowCard'])
    expect(await storedMessage(carded.messageId)).toMatchObject({ status: 'failed', errorCode: 'YELLOW_CARD' })
    // Once delivered, a failure report comes too late.
    const done = await sendTest(h, a, { to: '+33698765432', message: 'fini' })
    await receipts(done.idMessage, ['delivered', 'failed'])
    expect(await storedMessage(done.messageId)).toMatchObject({ status: 'delivered', errorCode: null })
  })

  it('a receipt that arrives before the send stored its id is kept, then applied once the id is stored', async () => {
    const early = 'EARLY0RECEIPT0001'
    // Green-API answered the send, and its receipts overtook our write of the id.
    const res = await postNotification(instanceA, receiptBody(instanceA, early, 'delivered'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, applied: true })
    const parked = await testDb().selectFrom('wa_message_receipts').selectAll().where('upstream_message_id', '=', early).execute()
    expect(parked).toEqual([expect.objectContaining({ instance_id: instanceA, tenant_id: a.tenantId, status: 'delivered' })])

    nextIds = [early]
    const sent = await sendTest(h, a, { to: '+33698765432', message: 'en avance' })
    expect(sent.idMessage).toBe(early)
    // The wa.apply-receipts job (any app process) applies it: the message is delivered.
    await eventually(async () => {
      expect(await storedMessage(sent.messageId)).toMatchObject({ status: 'delivered', history: ['sent', 'delivered'] })
    }, 20_000)
    await eventually(async () => {
      const left = await testDb()
        .selectFrom('wa_message_receipts')
        .select('id')
        .where('upstream_message_id', '=', early)
        .execute()
      expect(left).toEqual([])
    })
  })

  it("another tenant's instance cannot move a message: its receipt for that id changes nothing", async () => {
    const b = await newTenant()
    const instanceB = await linkByScan(h, b, '+33622222222')
    const sent = await sendTest(h, a, { to: '+33698765432', message: 'à moi' })
    await receipts(sent.idMessage, ['read'], instanceB)
    expect(await storedMessage(sent.messageId)).toMatchObject({ status: 'sent', history: ['sent'] })
    // A's own instance still can.
    await receipts(sent.idMessage, ['delivered'])
    expect(await storedMessage(sent.messageId)).toMatchObject({ status: 'delivered' })
  })

  it('a message queued through POST /api/wa/messages ends read, in any receipt order, as GET /api/wa/messages/:id shows', async () => {
    const res = await h.api('/api/wa/messages', {
      method: 'POST',
      token: a.token,
      tenant: a.tenantId,
      json: { to: '+33698765432', text: 'Votre commande est prête', reference: 'crm-order-7' },
    })
    expect(res.status).toBe(202)
    const { message } = (await res.json()) as { message: { id: string } }
    const get = async () => {
      const r = await h.api(`/api/wa/messages/${message.id}`, { token: a.token, tenant: a.tenantId })
      expect(r.status).toBe(200)
      return ((await r.json()) as { message: { status: string; statusHistory: Array<{ status: string }> } }).message
    }
    // The send job sends it; its id is stored.
    await eventually(async () => expect((await get()).status).toBe('sent'), 15_000)
    const { upstreamMessageId } = await storedMessage(message.id)
    await receipts(upstreamMessageId!, ['read', 'sent', 'delivered', 'read'])
    const done = await get()
    expect(done.status).toBe('read')
    expect(done.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'sent', 'read'])
  })

  it('answers 200 for duplicates, unknown statuses and notification types it does not handle (Green-API resends otherwise)', async () => {
    const sent = await sendTest(h, a, { to: '+33698765432', message: 'accusés' })
    for (const body of [
      receiptBody(instanceA, sent.idMessage, 'delivered'),
      receiptBody(instanceA, sent.idMessage, 'delivered'),
      receiptBody(instanceA, sent.idMessage, 'somethingNew'),
      { ...receiptBody(instanceA, sent.idMessage, 'read'), typeWebhook: 'outgoingAPIMessageReceived' },
    ]) {
      const res = await postNotification(instanceA, body)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ ok: true })
    }
    expect(await storedMessage(sent.messageId)).toMatchObject({ status: 'delivered', history: ['sent', 'delivered'] })
    // A receipt without its id is refused as invalid, still with a 200 (nothing to retry).
    const bad = await postNotification(instanceA, { ...receiptBody(instanceA, '', 'read') })
    expect(bad.status).toBe(200)
    expect(await bad.json()).toEqual({ ok: true, applied: false })
  })
})
