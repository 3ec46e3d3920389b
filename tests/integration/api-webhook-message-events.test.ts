import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, useWaApp } from '../utils/wa-harness'
import { linkByScan, newTenant } from './api-support'
import { FAST_SEND_ENV, send, waitForStatus } from './api-messages-support'
import { createEndpoint, startReceiver, type Receiver } from './webhook-support'

/**
 * The two parts of #15 together, through HTTP only: a message sent with POST /api/wa/messages
 * reaches the tenant's CRM endpoint as signed `whatsapp.message.updated` events whose `data` is
 * the GET /api/wa/messages/:id JSON, and an endpoint subscribed to connection events only gets
 * none of them.
 */
const h = useWaApp({ env: FAST_SEND_ENV })
let rx: Receiver
beforeAll(async () => {
  rx = await startReceiver()
})
afterAll(async () => {
  await rx?.close()
})

describe('message events to the CRM', () => {
  it('each status change of a sent message is delivered, signed, as the message JSON', async () => {
    const owner = await newTenant()
    await linkByScan(h, owner, '+33644445555')
    const { secret } = await createEndpoint(h, owner, { url: rx.url('/messages'), events: ['whatsapp.message.updated'] })
    await createEndpoint(h, owner, { url: rx.url('/connection-only'), events: ['whatsapp.connection.updated'] })
    const { res, message } = await send(h, owner, { to: '+33698765432', text: 'bonjour du CRM' })
    expect(res.status).toBe(202)
    const sent = await waitForStatus(h, owner, message.id, 'sent', 20_000)

    const statuses = await eventually(async () => {
      const events = rx.on('/messages').map((r) => new Webhook(secret).verify(r.body, r.headers) as any)
      const seen = events.filter((e) => e.data.id === message.id).map((e) => e.data.status)
      expect(seen).toEqual(expect.arrayContaining(['queued', 'sending', 'sent']))
      return events
    }, 20_000)
    const last = statuses.find((e) => e.data.id === message.id && e.data.status === 'sent')
    expect(last.type).toBe('whatsapp.message.updated')
    expect(last.data).toMatchObject({ id: sent.id, direction: 'outbound', to: sent.to, text: 'bonjour du CRM' })
    expect(rx.on('/connection-only').map((r) => JSON.parse(r.body).type)).not.toContain('whatsapp.message.updated')
  }, 60_000)
})
