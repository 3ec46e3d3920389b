import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { addMember, createUser } from '../factories'
import { appToken, sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'
import { expectError, get, linkByScan, newTenant, post } from './api-support'
import { FAST_SEND_ENV, fetchMessage, send, waitForStatus } from './api-messages-support'

const h = useWaApp({ env: { ...FAST_SEND_ENV, WA_RATE_LIMIT_MESSAGES: '3/60' }, instances: 10 })

describe('POST /api/wa/messages', () => {
  it('202 queued, then sent through the tenant instance; GET shows the full history', async () => {
    const actor = await newTenant()
    const instanceId = await linkByScan(h, actor, '+33611110001')
    const { res, message } = await send(h, actor, { to: '+33698765432', text: 'Bonjour 👋', reference: 'crm-contact-42' })
    expect(res.status).toBe(202)
    expect(message).toMatchObject({ direction: 'outbound', to: '+33698765432', status: 'queued', reference: 'crm-contact-42' })
    expect(message.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(message.createdAt)).not.toBeNaN()
    const sent = await waitForStatus(h, actor, message.id, 'sent')
    expect(sent.statusHistory.map((e) => e.status)).toEqual(['queued', 'sending', 'sent'])
    expect(sent.text).toBe('Bonjour 👋')
    expect(h.sim.instance(instanceId)?.sent).toEqual([
      expect.objectContaining({ chatId: '33698765432@c.us', message: 'Bonjour 👋' }),
    ])
  })

  it('a national number is read as French; a bad number or text is a 400 envelope and writes nothing', async () => {
    const actor = await newTenant()
    await linkByScan(h, actor, '+33611110002')
    const { res, message } = await send(h, actor, { to: '06 98 76 54 32', text: 'national' })
    expect(res.status).toBe(202)
    expect(message.to).toBe('+33698765432')
    await expectError(await post(h, '/api/wa/messages', actor, { to: '12', text: 'x' }), 400, 'VALIDATION_FAILED')
    await expectError(await post(h, '/api/wa/messages', actor, { to: '+33698765432', text: '' }), 400, 'VALIDATION_FAILED')
    await expectError(
      await post(h, '/api/wa/messages', actor, { to: '+33698765432', text: 'x', extra: 1 }),
      400,
      'VALIDATION_FAILED',
    )
    await expectError(
      await post(h, '/api/wa/messages', actor, { to: '+33698765432', text: 'x', reference: 'r'.repeat(201) }),
      400,
      'VALIDATION_FAILED',
    )
    await expectError(
      await post(h, '/api/wa/messages', actor, { to: '+33698765432', text: 'x' }, { 'Idempotency-Key': 'é' }),
      400,
      'VALIDATION_FAILED',
    )
    const rows = await testDb().selectFrom('wa_messages').select('id').where('tenant_id', '=', actor.tenantId).execute()
    expect(rows).toHaveLength(1)
  })

  it('the same Idempotency-Key: same body → 200 and the same message; another body → 409 IDEMPOTENCY_CONFLICT', async () => {
    const actor = await newTenant()
    const instanceId = await linkByScan(h, actor, '+33611110003')
    const key = `order-${randomUUID()}`
    const first = await send(h, actor, { to: '+33698765432', text: 'une fois' }, { 'Idempotency-Key': key })
    expect(first.res.status).toBe(202)
    const again = await send(h, actor, { to: '+33698765432', text: 'une fois' }, { 'Idempotency-Key': key })
    expect(again.res.status).toBe(200)
    expect(again.message.id).toBe(first.message.id)
    await expectError(
      await post(h, '/api/wa/messages', actor, { to: '+33698765432', text: 'autre chose' }, { 'Idempotency-Key': key }),
      409,
      'IDEMPOTENCY_CONFLICT',
    )
    await waitForStatus(h, actor, first.message.id, 'sent')
    expect(h.sim.instance(instanceId)?.sent).toHaveLength(1)
  })

  it('not linked → 409 NOT_CONNECTED; feature off → 403 WHATSAPP_DISABLED; past the limit → 429 with Retry-After', async () => {
    const unlinked = await newTenant()
    await expectError(await post(h, '/api/wa/messages', unlinked, { to: '+33698765432', text: 'x' }), 409, 'NOT_CONNECTED')
    const off = await newTenant({ whatsappEnabled: false })
    await expectError(await post(h, '/api/wa/messages', off, { to: '+33698765432', text: 'x' }), 403, 'WHATSAPP_DISABLED')
    const actor = await newTenant()
    await linkByScan(h, actor, '+33611110004')
    for (let i = 0; i < 3; i++) expect((await send(h, actor, { to: '+33698765432', text: `n${i}` })).res.status).toBe(202)
    const limited = await post(h, '/api/wa/messages', actor, { to: '+33698765432', text: 'de trop' })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    await expectError(limited, 429, 'RATE_LIMITED')
  })

  it('two requests with one key at once: one message, both answers name it', async () => {
    const actor = await newTenant()
    const instanceId = await linkByScan(h, actor, '+33611110007')
    const key = `race-${randomUUID()}`
    const [a, b] = await Promise.all(
      [0, 1].map(() => send(h, actor, { to: '+33698765432', text: 'course' }, { 'Idempotency-Key': key })),
    )
    expect([a!.res.status, b!.res.status].sort()).toEqual([200, 202])
    expect(a!.message.id).toBe(b!.message.id)
    await waitForStatus(h, actor, a!.message.id, 'sent')
    expect(h.sim.instance(instanceId)?.sent).toHaveLength(1)
  })

  it('with the session cookie: same-origin POST accepted, cross-site refused (CSRF_REJECTED)', async () => {
    const actor = await newTenant()
    await linkByScan(h, actor, '+33611110008')
    const cookie = await sessionCookie(testDb(), actor.userId)
    const post = (origin: string) =>
      fetch(`${h.app.url}/api/wa/messages`, {
        method: 'POST',
        headers: { cookie, origin, 'content-type': 'application/json' },
        body: JSON.stringify({ to: '+33698765432', text: 'depuis la page' }),
      })
    await expectError(await post('https://evil.example'), 403, 'CSRF_REJECTED')
    expect((await post(h.app.url)).status).toBe(202)
  })

  it('members may send and read; another tenant cannot see the message (404 as if absent)', async () => {
    const owner = await newTenant()
    await linkByScan(h, owner, '+33611110005')
    const user = await createUser()
    await addMember({ id: owner.tenantId }, user, 'member')
    const member = {
      tenantId: owner.tenantId,
      userId: user.id,
      token: await appToken(testDb(), { sub: user.id, tenant_id: owner.tenantId }),
    }
    const { res, message } = await send(h, member, { to: '+33698765432', text: 'privé' })
    expect(res.status).toBe(202)
    expect((await fetchMessage(h, member, message.id)).text).toBe('privé')
    const foreign = await newTenant()
    await expectError(await get(h, `/api/wa/messages/${message.id}`, foreign), 404, 'NOT_FOUND')
    await expectError(await get(h, `/api/wa/messages/${randomUUID()}`, owner), 404, 'NOT_FOUND')
    await expectError(await get(h, `/api/wa/messages/not-a-uuid`, owner), 404, 'NOT_FOUND')
  })
})

describe('GET /api/wa/messages', () => {
  it('newest first with an opaque cursor, filters, limits; a bad cursor or limit is a 400 envelope', async () => {
    const actor = await newTenant()
    await linkByScan(h, actor, '+33611110006')
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await send(h, actor, { to: '+33698765432', text: `page ${i}` })).message.id)
    const page1 = await get(h, '/api/wa/messages?limit=2&direction=outbound', actor)
    expect(page1.status).toBe(200)
    const p1 = (await page1.json()) as { messages: Array<{ id: string }>; nextCursor: string | null }
    expect(p1.messages.map((m) => m.id)).toEqual([ids[2], ids[1]])
    expect(p1.nextCursor).toEqual(expect.any(String))
    const p2 = (await (await get(h, `/api/wa/messages?limit=2&cursor=${encodeURIComponent(p1.nextCursor!)}`, actor)).json()) as {
      messages: Array<{ id: string }>
      nextCursor: string | null
    }
    expect(p2).toMatchObject({ nextCursor: null })
    expect(p2.messages.map((m) => m.id)).toEqual([ids[0]])
    const inbound = (await (await get(h, '/api/wa/messages?direction=inbound', actor)).json()) as { messages: unknown[] }
    expect(inbound.messages).toEqual([])
    await expectError(await get(h, '/api/wa/messages?cursor=bogus!', actor), 400, 'VALIDATION_FAILED')
    await expectError(await get(h, '/api/wa/messages?limit=101', actor), 400, 'VALIDATION_FAILED')
    await expectError(await get(h, '/api/wa/messages?status=lost', actor), 400, 'VALIDATION_FAILED')
    const other = await newTenant()
    const theirs = (await (await get(h, '/api/wa/messages', other)).json()) as { messages: unknown[] }
    expect(theirs.messages).toEqual([])
  })
})
