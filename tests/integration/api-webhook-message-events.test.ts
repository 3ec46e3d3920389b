import { Webhook } from 'standardwebhooks'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GraphileJobQueue } from '../../adapters/queue/graphile-job-queue'
import { testDb } from '../utils/db'
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

  it('the nightly purge deletes events past the messages retention, with their deliveries and attempts', async () => {
    const db = testDb()
    const count = async (table: 'wa_webhook_events' | 'wa_webhook_deliveries' | 'wa_webhook_attempts') =>
      Number((await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db)).rows[0]!.n)
    expect(await count('wa_webhook_events')).toBeGreaterThan(0)
    expect(await count('wa_webhook_attempts')).toBeGreaterThan(0)
    const total = await count('wa_webhook_events')
    // One event stays recent; the others are dated past the 30-day retention.
    await sql`update wa_webhook_events set created_at = now() - interval '31 days'
              where id <> (select id from wa_webhook_events order by created_at desc limit 1)`.execute(db)
    await new GraphileJobQueue(db).enqueue('wa.purge-messages', {}, { key: 'test-purge' })
    await eventually(async () => expect(await count('wa_webhook_events')).toBe(1), 20_000)
    const kept = await sql<{ n: string }>`select count(*)::text as n from wa_webhook_deliveries d
                                          join wa_webhook_events e on e.id = d.event_id`.execute(db)
    expect(await count('wa_webhook_deliveries')).toBe(Number(kept.rows[0]!.n))
    expect(total).toBeGreaterThan(1)
  })
})
