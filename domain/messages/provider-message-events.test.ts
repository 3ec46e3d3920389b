import { describe, expect, it } from 'vitest'
import type { MessageStatusPublisher, MessageStatusSignal } from '../ports/status-publisher'
import { InMemoryMessageStore } from '../testing/in-memory-message-store'
import { InMemoryReceiptStore } from '../testing/in-memory-receipt-store'
import { RecordingJobQueue } from '../testing/messages-world'
import { ManualClock, RecordingEventSink, RecordingLogger, SequenceIdGenerator } from '../testing/small-port-fakes'
import { messageView } from './message-view'
import { applyParkedReceipts, applyReceipt, receiveInbound, type MessageEventDeps } from './provider-message-events'

class RecordingMessagePublisher implements MessageStatusPublisher {
  readonly published: MessageStatusSignal[] = []
  failNext = false
  async publishMessage(signal: MessageStatusSignal): Promise<void> {
    if (this.failNext) {
      this.failNext = false
      throw new Error('notify failed')
    }
    this.published.push({ ...signal })
  }
}

function world() {
  const clock = new ManualClock('2026-11-25T10:00:00.000Z')
  const deps = {
    messages: new InMemoryMessageStore(),
    receipts: new InMemoryReceiptStore(),
    jobs: new RecordingJobQueue(),
    events: new RecordingEventSink(),
    messagePublisher: new RecordingMessagePublisher(),
    ids: new SequenceIdGenerator(),
    clock,
    logger: new RecordingLogger(),
  } satisfies MessageEventDeps
  const sent = (upstreamMessageId: string, tenantId = 'acme') =>
    deps.messages.insertSentOutbound({
      id: deps.ids.newId(),
      tenantId,
      instanceId: '1101000001',
      to: '+33698765432',
      text: 'Bonjour secret',
      reference: 'crm-42',
      idempotencyKey: null,
      requestFingerprint: null,
      createdAt: clock.now(),
      expiresAt: new Date(clock.now().getTime() + 86_400_000),
      upstreamMessageId,
      sentAt: clock.now(),
    })
  return { deps, clock, sent }
}

const receipt = (status: string, upstreamMessageId = 'UP1', at = new Date('2026-11-25T10:00:05.000Z')) => ({
  tenantId: 'acme',
  instanceId: '1101000001',
  upstreamMessageId,
  status,
  eventAt: at,
})

describe('applyReceipt', () => {
  it('moves the message, emits whatsapp.message.updated with the API JSON and publishes ids and status only', async () => {
    const { deps, sent } = world()
    const m = await sent('UP1')
    expect(await applyReceipt(deps, receipt('delivered'))).toBe('changed')
    const stored = (await deps.messages.findById('acme', m.id))!
    expect(stored.status).toBe('delivered')
    expect(deps.events.emitted).toEqual([
      { tenantId: 'acme', type: 'whatsapp.message.updated', data: { ...messageView(stored) } },
    ])
    expect(deps.messagePublisher.published).toEqual([{ tenantId: 'acme', messageId: m.id, status: 'delivered' }])
    // Duplicates and late lower statuses change nothing and emit nothing.
    expect(await applyReceipt(deps, receipt('delivered'))).toBe('unchanged')
    expect(await applyReceipt(deps, receipt('sent'))).toBe('unchanged')
    expect(deps.events.emitted).toHaveLength(1)
    expect(deps.logger.text()).not.toContain('Bonjour secret')
    expect(deps.logger.text()).not.toContain('698765432')
  })

  it('maps failure statuses to error codes, and ignores unknown ones and other tenants', async () => {
    const { deps, sent } = world()
    const a = await sent('A')
    const b = await sent('B')
    const c = await sent('C')
    await applyReceipt(deps, receipt('noAccount', 'A'))
    await applyReceipt(deps, receipt('yellowCard', 'B'))
    await applyReceipt(deps, receipt('notInGroup', 'C'))
    expect((await deps.messages.findById('acme', a.id))?.error?.code).toBe('NO_WHATSAPP_ACCOUNT')
    expect((await deps.messages.findById('acme', b.id))?.error?.code).toBe('YELLOW_CARD')
    expect((await deps.messages.findById('acme', c.id))?.error?.code).toBe('UPSTREAM_REJECTED')
    const d = await sent('D', 'other-tenant')
    expect(await applyReceipt(deps, receipt('read', 'D'))).toBe('ignored')
    expect((await deps.messages.findById('other-tenant', d.id))?.status).toBe('sent')
    expect(await applyReceipt(deps, receipt('noActiveSession', 'A'))).toBe('ignored')
  })

  it('a failing live signal does not fail the change (a reload shows it)', async () => {
    const { deps, sent } = world()
    const m = await sent('UP1')
    deps.messagePublisher.failNext = true
    expect(await applyReceipt(deps, receipt('read'))).toBe('changed')
    expect((await deps.messages.findById('acme', m.id))?.status).toBe('read')
    expect(deps.events.emitted).toHaveLength(1)
  })

  it('never writes a history entry earlier than the last one (Green-API times are whole seconds)', async () => {
    const { deps, sent, clock } = world()
    clock.advance(900)
    const m = await sent('UP1')
    await applyReceipt(deps, receipt('delivered', 'UP1', new Date('2026-11-25T10:00:00.000Z')))
    const h = (await deps.messages.findById('acme', m.id))!.statusHistory
    expect(h.map((e) => e.at.getTime())).toEqual([h[0]!.at.getTime(), h[0]!.at.getTime()])
  })
})

describe('receipts before their id is stored', () => {
  it('keeps the receipt, enqueues one keyed job with ids only, and applies it once the id is stored', async () => {
    const { deps, sent } = world()
    expect(await applyReceipt(deps, receipt('delivered', 'EARLY'))).toBe('parked')
    expect(await applyReceipt(deps, receipt('read', 'EARLY', new Date('2026-11-25T10:00:06.000Z')))).toBe('parked')
    expect(deps.jobs.enqueued.map((j) => [j.task, j.payload, j.options?.key])).toEqual([
      ['wa.apply-receipts', { instanceId: '1101000001', upstreamMessageId: 'EARLY' }, 'wa-receipts:1101000001:EARLY'],
      ['wa.apply-receipts', { instanceId: '1101000001', upstreamMessageId: 'EARLY' }, 'wa-receipts:1101000001:EARLY'],
    ])
    // The job runs before the send stored the id: it asks to be retried.
    await expect(applyParkedReceipts(deps, { instanceId: '1101000001', upstreamMessageId: 'EARLY' })).rejects.toThrow(
      /retried later/,
    )
    const m = await sent('EARLY')
    expect(await applyParkedReceipts(deps, { instanceId: '1101000001', upstreamMessageId: 'EARLY' })).toEqual({ applied: 2 })
    const stored = (await deps.messages.findById('acme', m.id))!
    expect(stored.statusHistory.map((e) => e.status)).toEqual(['sent', 'delivered', 'read'])
    expect(deps.receipts.rows).toEqual([])
    expect(deps.events.emitted.map((e) => (e.data as { status: string }).status)).toEqual(['delivered', 'read'])
  })

  it('forgets receipts kept over 24 h when no message ever carried the id', async () => {
    const { deps, clock } = world()
    await applyReceipt(deps, receipt('delivered', 'NEVER'))
    clock.advance(25 * 3600_000)
    expect(await applyParkedReceipts(deps, { instanceId: '1101000001', upstreamMessageId: 'NEVER' })).toEqual({ applied: 0 })
    expect(deps.receipts.rows).toEqual([])
  })
})

describe('receiveInbound', () => {
  const event = (idMessage: string, messageData: Record<string, unknown>, chatId = '33687654321@c.us') => ({
    typeWebhook: 'incomingMessageReceived' as const,
    idMessage,
    senderData: { chatId, sender: chatId },
    messageData: messageData as { typeMessage: string },
  })

  it('stores once, emits whatsapp.message.received once, keeps a group chat id as the sender', async () => {
    const { deps, clock } = world()
    const input = {
      tenantId: 'acme',
      instanceId: '1101000001',
      event: event('IN1', { typeMessage: 'textMessage', textMessageData: { textMessage: 'Salut' } }),
      receivedAt: clock.now(),
    }
    expect(await receiveInbound(deps, input)).toBe('received')
    expect(await receiveInbound(deps, input)).toBe('duplicate')
    expect(deps.events.emitted).toEqual([
      expect.objectContaining({
        type: 'whatsapp.message.received',
        data: expect.objectContaining({ direction: 'inbound', from: '+33687654321', text: 'Salut', status: 'received' }),
      }),
    ])
    await receiveInbound(deps, {
      ...input,
      event: event('IN2', { typeMessage: 'stickerMessage', fileMessageData: {} }, '120363043968066561@g.us'),
    })
    const group = (await deps.messages.findByUpstreamId('1101000001', 'IN2'))!
    expect([group.peer, group.contentType, group.text]).toEqual(['120363043968066561@g.us', 'sticker', '[sticker]'])
    await receiveInbound(deps, { ...input, event: event('IN3', { typeMessage: 'pollMessage' }) })
    expect((await deps.messages.findByUpstreamId('1101000001', 'IN3'))?.text).toBe('[pollMessage]')
  })
})
