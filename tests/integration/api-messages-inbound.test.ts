import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { eventually, useWaApp } from '../utils/wa-harness'
import { linkByScan, newTenant, type TenantActor } from './api-support'
import { dumpDatabase, messagesOf } from './messages-support'

// Inbound messages (Green-API `incomingMessageReceived`) over real HTTP: the simulated contact
// writes to a linked phone, the simulator posts the notification to the app's webhook route.
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-inbound-logs-')), 'app.log')
const h = useWaApp({ instances: 6, env: { LOG_LEVEL: 'trace', LOG_FILE: logFile } })

let a: TenantActor
let b: TenantActor
let instanceA: string
let instanceB: string
beforeAll(async () => {
  a = await newTenant()
  b = await newTenant()
  instanceA = await linkByScan(h, a, '+33611111111')
  instanceB = await linkByScan(h, b, '+33622222222')
})

/** The contact writes; resolves once the notification reached the app (and got its answer). */
async function incoming(instanceId: string, input: Parameters<typeof h.sim.injectIncoming>[1]): Promise<string> {
  const res = h.sim.injectIncoming(instanceId, input)
  if (!res.ok) throw new Error(`not received: ${res.reason}`)
  await h.sim.flushWebhooks()
  return res.idMessage
}

describe('inbound messages over HTTP (incomingMessageReceived)', () => {
  it('stores a message for the tenant whose instance received it, and for no one else', async () => {
    await incoming(instanceA, { from: '+33698765432', text: 'Bonjour A' })
    await incoming(instanceB, { from: '+33687654321', text: 'Bonjour B' })
    expect(await messagesOf(a.tenantId, 'inbound')).toEqual([
      expect.objectContaining({
        direction: 'inbound',
        status: 'received',
        history: ['received'],
        contentType: 'text',
        peer: '+33698765432',
        text: 'Bonjour A',
      }),
    ])
    expect(await messagesOf(b.tenantId, 'inbound')).toEqual([
      expect.objectContaining({ peer: '+33687654321', text: 'Bonjour B' }),
    ])
    // Through the API: A reads its message, B gets a 404 for it (as if it did not exist).
    const [mine] = await messagesOf(a.tenantId, 'inbound')
    const res = await h.api(`/api/wa/messages/${mine!.id}`, { token: a.token, tenant: a.tenantId })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { message: unknown }).message).toMatchObject({
      id: mine!.id,
      direction: 'inbound',
      from: '+33698765432',
      text: 'Bonjour A',
      status: 'received',
      statusHistory: [{ status: 'received', at: expect.any(String) }],
    })
    expect((await h.api(`/api/wa/messages/${mine!.id}`, { token: b.token, tenant: b.tenantId })).status).toBe(404)
    const listed = await h.api('/api/wa/messages?direction=inbound', { token: b.token, tenant: b.tenantId })
    const ids = ((await listed.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id)
    expect(ids).not.toContain(mine!.id)
  })

  it('ignores a redelivered notification (same idMessage): one message, still a 200', async () => {
    const id = await incoming(instanceA, { from: '+33698765432', text: 'une seule fois' })
    const again = h.sim.injectIncoming(instanceA, { from: '+33698765432', text: 'une seule fois', idMessage: id })
    expect(again.ok).toBe(true)
    await h.sim.flushWebhooks()
    // Posted by hand too, to see the answer Green-API gets.
    const res = await fetch(`${h.app.url}/api/wa/webhooks/green-api/${instanceA}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.sim.instance(instanceA)!.webhookToken}` },
      body: JSON.stringify(again.ok ? again.body : {}),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, applied: false })
    const mine = (await messagesOf(a.tenantId, 'inbound')).filter((m) => m.upstreamMessageId === id)
    expect(mine).toHaveLength(1)
  })

  it("refuses a notification for instance A signed with tenant B's token: 401, nothing stored", async () => {
    const before = (await messagesOf(a.tenantId)).length
    const forged = h.sim.injectIncoming(instanceB, { from: '+33698765432', text: 'forgé' })
    expect(forged.ok).toBe(true)
    await h.sim.flushWebhooks()
    const body = forged.ok ? (forged.body as Record<string, unknown>) : {}
    const res = await fetch(`${h.app.url}/api/wa/webhooks/green-api/${instanceA}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.sim.instance(instanceB)!.webhookToken}` },
      body: JSON.stringify({ ...body, idMessage: 'FORGED0001', instanceData: { idInstance: Number(instanceA) } }),
    })
    expect(res.status).toBe(401)
    expect((await res.json()) as unknown).toMatchObject({ ok: false })
    expect(await messagesOf(a.tenantId)).toHaveLength(before)
    // And B's own notification names B's instance: posted on A's route with A's token, it is not A's.
    const mismatched = await fetch(`${h.app.url}/api/wa/webhooks/green-api/${instanceA}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.sim.instance(instanceA)!.webhookToken}` },
      body: JSON.stringify({ ...body, idMessage: 'MISMATCH0001' }),
    })
    expect(mismatched.status).toBe(200)
    expect(await messagesOf(a.tenantId)).toHaveLength(before)
  })

  it('keeps media as a typed placeholder with its caption (no download), location and contact as a label', async () => {
    const from = '+33687654321'
    const ids = [
      await incoming(instanceB, { from, type: 'imageMessage', text: 'la facture' }),
      await incoming(instanceB, { from, type: 'documentMessage', fileName: 'devis.pdf' }),
      await incoming(instanceB, { from, type: 'audioMessage' }),
      await incoming(instanceB, { from, type: 'videoMessage', text: 'regarde' }),
      await incoming(instanceB, {
        from,
        type: 'locationMessage',
        location: { latitude: 43.29, longitude: 5.37, name: 'Vieux-Port', address: 'Marseille' },
      }),
      await incoming(instanceB, { from, type: 'contactMessage', contact: { displayName: 'Bob' } }),
      await incoming(instanceB, { from, text: 'voir https://example.org/devis' }),
    ]
    const stored = await messagesOf(b.tenantId, 'inbound')
    const got = ids.map((id) => stored.find((m) => m.upstreamMessageId === id)).map((m) => [m?.contentType, m?.text])
    expect(got).toEqual([
      ['image', '[image] la facture'],
      ['document', '[document] devis.pdf'],
      ['audio', '[audio]'],
      ['video', '[video] regarde'],
      ['location', '[location] Vieux-Port, Marseille'],
      ['contact', '[contact] Bob'],
      ['text', 'voir https://example.org/devis'],
    ])
  })

  it('a canary inbound text and its sender are in no table in clear and in no log line', async () => {
    const canary = 'CanaryInboundText_9f2c71'
    const sender = '+33655501234'
    await incoming(instanceA, { from: sender, text: canary })
    const stored = (await messagesOf(a.tenantId, 'inbound')).find((m) => m.text === canary)
    expect(stored).toBeDefined()
    expect(stored!.textEnvelope).not.toContain(canary)
    const dump = await dumpDatabase()
    expect(dump).toContain(stored!.id) // the dump does hold the row …
    expect(dump.includes(canary), 'canary text in the database dump').toBe(false) // … but not the text
    expect(dump.includes('33655501234'), 'sender in the database dump').toBe(false)
    await eventually(async () => expect(fs.readFileSync(logFile, 'utf8')).toContain('inbound message stored'))
    const logs = fs.readFileSync(logFile, 'utf8')
    expect(logs.includes(canary), 'canary text in the logs').toBe(false)
    expect(logs.includes('33655501234'), 'sender in the logs').toBe(false)
  })
})
