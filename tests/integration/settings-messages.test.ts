import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMember, createUser } from '../factories'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { linkByScan, newTenant, type TenantActor } from './api-support'
import { messagesOf } from './messages-support'

// The settings page's messages, the way a browser without JavaScript sees it (form posts, full
// pages), and the live test-message status on GET /api/wa/events (SSE), whose NOTIFY carries
// ids and a status only. The simulator plans no receipt by itself: each test emits its own.
const h = useWaApp({ instances: 6, env: { WA_RATE_LIMIT_TEST: '100/3600' }, simulator: { receiptPlan: () => [] } })

let owner: TenantActor
let memberId: string
let instanceId: string
let cookie: string
beforeAll(async () => {
  owner = await newTenant()
  instanceId = await linkByScan(h, owner, '+33611111111')
  cookie = await sessionCookie(testDb(), owner.userId)
  const member = await createUser()
  await addMember({ id: owner.tenantId }, member, 'member')
  memberId = member.id
})

const page = async (c = cookie) => {
  const res = await fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie: c } })
  expect(res.status).toBe(200)
  return res.text()
}

/** The no-JavaScript test send: a plain form post; the answer is the page with the result. */
async function sendFromPage(to: string, message: string): Promise<{ html: string; recordedId: string }> {
  const res = await fetch(`${h.app.url}/settings/whatsapp`, {
    method: 'POST',
    headers: { cookie, origin: new URL(h.app.url).origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ intent: 'send-test', to, message }),
  })
  expect(res.status).toBe(200)
  const html = await res.text()
  const m = /data-message-id="([0-9a-f-]{36})" data-status="([a-z]+)"/.exec(html)
  expect(m, 'the test message status is on the page').not.toBeNull()
  return { html, recordedId: m![1]! }
}

/** The status the page shows for a message's row (`<td data-status>` of its `<tr>`). */
function rowStatus(html: string, id: string): string | undefined {
  const row = new RegExp(`<tr data-message-id="${id}">(.*?)</tr>`, 's').exec(html)?.[1]
  return row ? /data-status="([a-z]+)"/.exec(row)?.[1] : undefined
}

describe('settings page: recent messages and the test message status', () => {
  it('shows the test message as sent, and after a reload its receipts; peers masked, no text', async () => {
    const text = 'Texte du test 7c1e'
    const { html, recordedId } = await sendFromPage('+33698765432', text)
    expect(html).toContain('data-status="sent"')
    const sent = (await messagesOf(owner.tenantId, 'outbound')).find((m) => m.id === recordedId)!
    h.sim.emitReceipt(instanceId, sent.upstreamMessageId!, 'delivered')
    await h.sim.flushWebhooks()
    const after = await page()
    expect(rowStatus(after, recordedId)).toBe('delivered')
    expect(after).toContain('Distribué')
    expect(after).toContain('+33 6 •• •• 54 32')
    expect(after).not.toContain('698765432')
    expect(after).not.toContain(text)
  })

  it('lists an inbound message as incoming with its masked sender', async () => {
    const res = h.sim.injectIncoming(instanceId, { from: '+33687654321', text: 'Bonjour la boutique' })
    expect(res.ok).toBe(true)
    await h.sim.flushWebhooks()
    const stored = (await messagesOf(owner.tenantId, 'inbound')).at(-1)!
    const html = await page()
    expect(rowStatus(html, stored.id)).toBe('received')
    expect(html).toContain('Entrant')
    expect(html).toContain('+33 6 •• •• 43 21')
    expect(html).not.toContain('Bonjour la boutique')
  })

  it('says when sending is paused (yellow card) or waiting (phone asleep), and hides the list from members', async () => {
    h.sim.yellowCard(instanceId)
    await eventually(async () => expect(await page()).toContain('data-sending="paused"'))
    h.sim.sleepMode(instanceId)
    await eventually(async () => expect(await page()).toContain('data-sending="waiting"'))
    h.sim.authorize(instanceId, '+33611111111')
    await eventually(async () => {
      const html = await page()
      expect(html).not.toContain('data-sending=')
      expect(html).toContain('Messages récents')
    })
    // A member of a linked tenant sees the state, not the messages.
    const memberPage = await page(await sessionCookie(testDb(), memberId))
    expect(memberPage).toContain('+33611111111') // the linked number: the same tenant, linked
    expect(memberPage).not.toContain('Messages récents')
  })
})

describe('live message status (SSE) and its NOTIFY payload', () => {
  const notifications: string[] = []
  let listener: pg.Client
  beforeAll(async () => {
    listener = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await listener.connect()
    listener.on('notification', (n) => notifications.push(n.payload ?? ''))
    await listener.query('LISTEN wa_status')
  })
  afterAll(async () => {
    await listener?.end()
  })

  it('pushes message-status {id, status} as receipts arrive; NOTIFY holds no text and no phone', async () => {
    const controller = new AbortController()
    const res = await fetch(`${h.app.url}/api/wa/events`, {
      headers: { authorization: `Bearer ${owner.token}`, 'x-tenant': owner.tenantId, accept: 'text/event-stream' },
      signal: controller.signal,
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let received = ''
    try {
      const text = 'Canary SSE text 51ab'
      const { recordedId } = await sendFromPage('+33698765432', text)
      const sent = (await messagesOf(owner.tenantId, 'outbound')).find((m) => m.id === recordedId)!
      for (const status of ['delivered', 'read'] as const) {
        h.sim.emitReceipt(instanceId, sent.upstreamMessageId!, status)
        await h.sim.flushWebhooks()
      }
      // Read until both pushes arrived (the stream's own order).
      while (!received.includes(`"status":"read"`)) {
        const chunk = await reader.read()
        if (chunk.done) break
        received += decoder.decode(chunk.value, { stream: true })
      }
      const pushes = [...received.matchAll(/event: message-status\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!))
      expect(pushes).toEqual([
        { id: recordedId, status: 'delivered' },
        { id: recordedId, status: 'read' },
      ])
      expect(received).not.toContain(text)
      expect(received).not.toContain('698765432')
      await eventually(async () =>
        expect(notifications.filter((n) => n.includes(recordedId)).map((n) => JSON.parse(n))).toEqual([
          { kind: 'message', tenantId: owner.tenantId, messageId: recordedId, status: 'delivered' },
          { kind: 'message', tenantId: owner.tenantId, messageId: recordedId, status: 'read' },
        ]),
      )
      for (const n of notifications) {
        expect(n).not.toContain(text)
        expect(n).not.toContain('698765432')
      }
    } finally {
      controller.abort()
      await reader.cancel().catch(() => undefined)
    }
  })
})
