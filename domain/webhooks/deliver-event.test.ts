import { describe, expect, it } from 'vitest'
import type { CrmEvent } from '../ports/event-sink'
import type { WebhookSigner } from '../ports/webhook-signer'
import type { TransportResult, WebhookTransport } from '../ports/webhook-transport'
import { InMemoryWebhookStore } from '../testing/in-memory-webhook-store'
import { FakeVault, InMemoryAuditLog, ManualClock, RecordingLogger, SequenceIdGenerator } from '../testing/small-port-fakes'
import { deliverEvent } from './deliver-event'
import { createWebhookEndpoint, resendWebhookDelivery } from './endpoints'
import { StoredEventSink } from './stored-event-sink'
import { DEFAULT_WEBHOOK_CONFIG, type WebhookDeps } from './webhook-deps'

class ScriptedTransport implements WebhookTransport {
  readonly posts: Array<{ url: string; headers: Record<string, string>; body: string }> = []
  answers: Array<Partial<TransportResult>> = []
  fallback: Partial<TransportResult> = { status: 500 }
  async checkTarget() {
    return { ok: true } as const
  }
  async post(url: string, request: { headers: Record<string, string>; body: string }): Promise<TransportResult> {
    this.posts.push({ url, ...request })
    return { status: null, error: null, body: '', durationMs: 3, ...(this.answers.shift() ?? this.fallback) }
  }
}

const signer: WebhookSigner = {
  newSecret: () => 'whsec_dGVzdA==',
  sign: (secret, m) => `v1,${secret}|${m.id}|${m.timestamp.toISOString()}|${m.body.length}`,
}

function setup() {
  const clock = new ManualClock('2026-12-03T10:00:00.000Z')
  const store = new InMemoryWebhookStore()
  const transport = new ScriptedTransport()
  const audit = new InMemoryAuditLog()
  const logger = new RecordingLogger()
  const deps: WebhookDeps = {
    store,
    transport,
    signer,
    vault: new FakeVault(),
    clock,
    ids: new SequenceIdGenerator(),
    audit,
    logger,
    config: DEFAULT_WEBHOOK_CONFIG,
  }
  const sink = new StoredEventSink(deps, (e: CrmEvent) => ({ presented: true, ...(e.data as Record<string, unknown>) }))
  const actor = { kind: 'user', userId: 'u1' } as const
  return { deps, clock, store, transport, audit, logger, sink, actor }
}

const message = (type: 'whatsapp.message.updated' | 'whatsapp.message.received', text: string): CrmEvent => ({
  type,
  data: { id: 'm1', text },
})

describe('CRM event delivery', () => {
  it('stores message events for the endpoints subscribed to their type only, and signs each POST', async () => {
    const { deps, store, transport, sink, actor } = setup()
    const all = await createWebhookEndpoint(deps, { tenantId: 't1', actor, url: 'https://crm.test/all' })
    await createWebhookEndpoint(deps, {
      tenantId: 't1',
      actor,
      url: 'https://crm.test/conn',
      events: ['whatsapp.connection.updated'],
    })
    await createWebhookEndpoint(deps, { tenantId: 't2', actor, url: 'https://other.test/all' })

    await sink.emit('t1', message('whatsapp.message.updated', 'hello'))
    await sink.emit('t1', message('whatsapp.message.received', 'inbound'))
    const deliveries = [...store.deliveries.values()]
    expect(deliveries.map((d) => d.endpointId)).toEqual([all.endpoint.id, all.endpoint.id])
    expect(store.scheduled).toHaveLength(2)
    // The payload is stored encrypted, bound to tenant and event id.
    for (const e of store.events.values()) expect(e.payloadEncrypted).not.toContain('hello')

    transport.fallback = { status: 204 }
    for (const d of deliveries) expect(await deliverEvent(deps, { deliveryId: d.id })).toBe('succeeded')
    expect(transport.posts.map((p) => JSON.parse(p.body))).toEqual([
      {
        type: 'whatsapp.message.updated',
        timestamp: '2026-12-03T10:00:00.000Z',
        data: { presented: true, id: 'm1', text: 'hello' },
      },
      {
        type: 'whatsapp.message.received',
        timestamp: '2026-12-03T10:00:00.000Z',
        data: { presented: true, id: 'm1', text: 'inbound' },
      },
    ])
    const first = transport.posts[0]!
    expect(first.headers['webhook-id']).toBe(deliveries[0]!.eventId)
    expect(first.headers['webhook-timestamp']).toBe(String(Date.parse('2026-12-03T10:00:00.000Z') / 1000))
    expect(first.headers['webhook-signature']).toBe(
      `v1,${all.secret}|${deliveries[0]!.eventId}|2026-12-03T10:00:00.000Z|${first.body.length}`,
    )
    // A second run of a finished delivery (a duplicate job) sends nothing.
    expect(await deliverEvent(deps, { deliveryId: deliveries[0]!.id })).toBe('skipped')
    expect(transport.posts).toHaveLength(2)
  })

  it('retries with exponential backoff inside the 24 h window, then exhausts, disables the endpoint and audits once', async () => {
    const { deps, clock, store, transport, audit, sink, actor } = setup()
    const { endpoint } = await createWebhookEndpoint(deps, { tenantId: 't1', actor, url: 'https://crm.test/down' })
    await sink.emit('t1', message('whatsapp.message.updated', 'x'))
    const [delivery] = [...store.deliveries.values()]
    const delays: number[] = []
    let run = await deliverEvent(deps, { deliveryId: delivery!.id })
    while (run === 'failed') {
      const next = store.deliveries.get(delivery!.id)!.nextAttemptAt!
      delays.push(next.getTime() - clock.now().getTime())
      clock.set(next)
      run = await deliverEvent(deps, { deliveryId: delivery!.id })
    }
    expect(run).toBe('exhausted')
    const s = 1000
    expect(delays).toEqual([5 * s, 20 * s, 80 * s, 320 * s, 1280 * s, 5120 * s, 20480 * s, 21600 * s, 21600 * s])
    // Every retry was inside the window; the last try's next one would have fallen past it.
    expect(clock.now().getTime() - Date.parse('2026-12-03T10:00:00.000Z')).toBeLessThanOrEqual(24 * 3600 * s)
    expect(store.attempts).toHaveLength(10)
    expect(store.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'retries_exhausted' })
    expect(audit.actions().filter((a) => a.startsWith('webhook.endpoint.disable'))).toEqual(['webhook.endpoint.disable:failure'])

    // A disabled endpoint gets no new deliveries; a resend re-enables it and the next try delivers.
    await sink.emit('t1', message('whatsapp.message.updated', 'y'))
    expect(store.deliveries.size).toBe(1)
    await resendWebhookDelivery(deps, { tenantId: 't1', actor, deliveryId: delivery!.id })
    transport.fallback = { status: 200 }
    expect(await deliverEvent(deps, { deliveryId: delivery!.id })).toBe('succeeded')
    expect(store.endpoints.get(endpoint.id)!.enabled).toBe(true)
  })

  it('keeps at most 1 KiB of an answer, encrypted; a transport error is an attempt without status', async () => {
    const { deps, store, transport, sink, actor } = setup()
    await createWebhookEndpoint(deps, { tenantId: 't1', actor, url: 'https://crm.test/x' })
    await sink.emit('t1', message('whatsapp.message.updated', 'x'))
    const [delivery] = [...store.deliveries.values()]
    transport.answers = [
      { status: null, error: 'timeout' },
      { status: 502, body: 'e'.repeat(5000) },
    ]
    await deliverEvent(deps, { deliveryId: delivery!.id })
    await deliverEvent(deps, { deliveryId: delivery!.id })
    expect(store.attempts.map((a) => [a.httpStatus, a.error])).toEqual([
      [null, 'timeout'],
      [502, null],
    ])
    const kept = deps.vault.decrypt(store.attempts[1]!.responseEncrypted!, {
      tenantId: 't1',
      table: 'wa_webhook_attempts',
      column: `response_encrypted:${store.attempts[1]!.id}`,
    })
    expect(kept).toBe('e'.repeat(1024))
  })

  it('the sink logs a failure without the data and does not throw', async () => {
    const { deps, store, logger, sink, actor } = setup()
    await createWebhookEndpoint(deps, { tenantId: 't1', actor, url: 'https://crm.test/x' })
    store.failNextRecord = true
    await expect(sink.emit('t1', message('whatsapp.message.received', 'secretText_91'))).resolves.toBeUndefined()
    expect(logger.lines.map((l) => l.msg)).toEqual(['CRM event not stored'])
    expect(logger.text()).not.toContain('secretText_91')
    expect(logger.text()).not.toContain('database down')
  })
})
