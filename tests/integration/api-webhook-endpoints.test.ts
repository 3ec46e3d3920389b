import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StatusResponseSchema } from '../../app/api/schemas'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, linkByScan, newTenant, post, statusOf, type TenantActor } from './api-support'
import {
  createEndpoint,
  messageEvent,
  pullRetriesForward,
  startReceiver,
  testEventSink,
  type ReceivedHook,
  type Receiver,
} from './webhook-support'

/**
 * CRM events through HTTP (#15): endpoints managed over the API, events delivered by the app's
 * own workers to a loopback receiver, signed per Standard Webhooks and checked with the
 * `standardwebhooks` library; retries, exhaustion (the 24 h window moved through the delivery
 * row), resend, rotation, redirects, canaries and tenant isolation. Development policy
 * (private targets allowed): the production policy is api-webhook-endpoints-ssrf.test.ts's.
 */
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-hooks-')), 'app.log')
const h = useWaApp({ env: { LOG_LEVEL: 'debug', LOG_FILE: logFile } })
let rx: Receiver
const sink = testEventSink()
const SLOW = 20_000

beforeAll(async () => {
  rx = await startReceiver()
})
afterAll(async () => {
  await rx?.close()
})

const verify = (secret: string, hook: ReceivedHook) => new Webhook(secret).verify(hook.body, hook.headers)
const hooksOn = (p: string) => rx.on(p)

async function deliveries(actor: TenantActor, endpointId: string) {
  const res = await get(h, `/api/wa/webhook-endpoints/${endpointId}/deliveries`, actor)
  expect(res.status).toBe(200)
  return ((await res.json()) as { deliveries: Array<Record<string, any>> }).deliveries
}

describe('managing endpoints', () => {
  it('owners create (201 with a whsec_ secret shown once), list (never the secret) and delete; members get 403', async () => {
    const owner = await newTenant()
    const member = await newTenant({ role: 'member' })
    await expectError(await get(h, '/api/wa/webhook-endpoints', member), 403, 'FORBIDDEN_ROLE')
    await expectError(await post(h, '/api/wa/webhook-endpoints', member, { url: rx.url() }), 403, 'FORBIDDEN_ROLE')

    const created = await createEndpoint(h, owner, { url: rx.url('/a'), events: ['whatsapp.connection.updated'] })
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(created.endpoint).toEqual({
      id: created.id,
      url: rx.url('/a'),
      events: ['whatsapp.connection.updated'],
      allEvents: false,
      enabled: true,
      createdAt: expect.any(String),
    })
    const list = await get(h, '/api/wa/webhook-endpoints', owner)
    const listed = await list.text()
    expect(list.status).toBe(200)
    expect(JSON.parse(listed)).toEqual({ ok: true, endpoints: [created.endpoint] })
    expect(listed).not.toContain(created.secret)
    expect(listed).not.toContain(created.secret.slice(6, 30))

    // GET on the item route is not served; DELETE is, once.
    const wrongVerb = await get(h, `/api/wa/webhook-endpoints/${created.id}`, owner)
    await expectError(wrongVerb, 405, 'METHOD_NOT_ALLOWED')
    expect(wrongVerb.headers.get('allow')).toBe('DELETE')
    const del = await h.api(`/api/wa/webhook-endpoints/${created.id}`, { method: 'DELETE', token: owner.token })
    expect(del.status).toBe(200)
    expect(await del.json()).toEqual({ ok: true })
    await expectError(
      await h.api(`/api/wa/webhook-endpoints/${created.id}`, { method: 'DELETE', token: owner.token }),
      404,
      'NOT_FOUND',
    )
    expect(await (await get(h, '/api/wa/webhook-endpoints', owner)).json()).toEqual({ ok: true, endpoints: [] })
    const audit = await testDb().selectFrom('audit_log').select('action').where('tenant_id', '=', owner.tenantId).execute()
    expect(audit.map((a) => a.action)).toEqual(['webhook.endpoint.create', 'webhook.endpoint.delete'])
  })

  it('with the session cookie, a cross-site create or delete is refused (CSRF) and a same-origin one works', async () => {
    const owner = await newTenant()
    const cookie = await sessionCookie(testDb(), owner.userId)
    const send = (method: string, path: string, origin: string, json?: unknown) =>
      fetch(`${h.app.url}${path}`, {
        method,
        headers: { cookie, origin, ...(json ? { 'content-type': 'application/json' } : {}) },
        ...(json ? { body: JSON.stringify(json) } : {}),
      })
    await expectError(
      await send('POST', '/api/wa/webhook-endpoints', 'https://evil.example', { url: rx.url() }),
      403,
      'CSRF_REJECTED',
    )
    const created = await send('POST', '/api/wa/webhook-endpoints', h.app.url, { url: rx.url('/csrf') })
    expect(created.status).toBe(201)
    const { endpoint } = (await created.json()) as { endpoint: { id: string } }
    await expectError(
      await send('DELETE', `/api/wa/webhook-endpoints/${endpoint.id}`, 'https://evil.example'),
      403,
      'CSRF_REJECTED',
    )
    expect((await send('DELETE', `/api/wa/webhook-endpoints/${endpoint.id}`, h.app.url)).status).toBe(200)
  })

  it('bad input is a 400 envelope and writes nothing', async () => {
    const owner = await newTenant()
    await expectError(await post(h, '/api/wa/webhook-endpoints', owner, { url: 'not a url' }), 400, 'VALIDATION_FAILED')
    await expectError(
      await post(h, '/api/wa/webhook-endpoints', owner, { url: rx.url(), events: ['whatsapp.nope'] }),
      400,
      'VALIDATION_FAILED',
    )
    await expectError(await post(h, '/api/wa/webhook-endpoints', owner, { url: rx.url(), extra: true }), 400, 'VALIDATION_FAILED')
    const refused = await expectError(
      await post(h, '/api/wa/webhook-endpoints', owner, { url: 'ftp://crm.example.com/hook' }),
      400,
      'WEBHOOK_URL_REFUSED',
    )
    expect(refused.issues).toEqual([{ path: 'url', message: expect.stringMatching(/^invalid_url: /) }])
    await expectError(
      await post(h, '/api/wa/webhook-endpoints', owner, { url: 'https://user:pw@crm.example.com/hook' }),
      400,
      'WEBHOOK_URL_REFUSED',
    )
    const rows = await testDb().selectFrom('wa_webhook_endpoints').select('id').where('tenant_id', '=', owner.tenantId).execute()
    expect(rows).toEqual([])
  })
})

describe('delivering events', () => {
  it('a connection change reaches the endpoint as the status JSON, signed; a tampered body or another secret fails verification', async () => {
    const owner = await newTenant()
    const { secret } = await createEndpoint(h, owner, { url: rx.url('/conn') })
    await linkByScan(h, owner, '+33655501234')
    // The profile is fetched after the link (decision 242) and announced as a change of its own:
    // compare the final status with the event that carried it.
    const status = await eventually(async () => {
      const s = await statusOf(h, owner)
      expect(s.profileName).toBeDefined()
      return s
    }, SLOW)

    const hook = await eventually(async () => {
      const found = hooksOn('/conn').find((r) => {
        const data = (JSON.parse(r.body) as any).data
        return data.status === 'authorized' && data.profileName !== undefined
      })
      expect(found).toBeDefined()
      return found!
    }, SLOW)
    expect(hook.headers['content-type']).toBe('application/json')
    expect(hook.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/)
    const verified = verify(secret, hook) as { type: string; timestamp: string; data: Record<string, unknown> }
    expect(verified.type).toBe('whatsapp.connection.updated')
    expect(Date.parse(verified.timestamp)).not.toBeNaN()
    // data is the status route's JSON (same presenter): same keys and values but the check time.
    expect(StatusResponseSchema.strict().parse(verified.data)).toEqual({ ...status, checkedAt: verified.data.checkedAt })
    expect(verified.data).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33655501234' })

    const tampered = hook.body.replace('+33655501234', '+33655509999')
    expect(() => new Webhook(secret).verify(tampered, hook.headers)).toThrow()
    const other = await createEndpoint(h, await newTenant(), { url: rx.url('/unused') })
    expect(() => verify(other.secret, hook)).toThrow()

    // Disconnect is a change too.
    expect((await post(h, '/api/wa/disconnect', owner)).status).toBe(200)
    await eventually(async () => {
      const last = hooksOn('/conn').at(-1)!
      expect(verify(secret, last)).toMatchObject({ data: { connected: false, status: 'notAuthorized' } })
    }, SLOW)
  }, 40_000)

  it('a failing endpoint is retried with the same webhook-id until it answers 2xx; each attempt is recorded', async () => {
    const owner = await newTenant()
    const { id, secret } = await createEndpoint(h, owner, { url: rx.url('/retry'), events: ['whatsapp.message.received'] })
    const onlyConnection = await createEndpoint(h, owner, { url: rx.url('/conn-only'), events: ['whatsapp.connection.updated'] })
    rx.answer('/retry', 500, 503)
    await sink.emit(owner.tenantId, messageEvent('hello retry'))

    await eventually(async () => expect(hooksOn('/retry')).toHaveLength(1), SLOW)
    for (const expected of [2, 3]) {
      await eventually(async () => {
        await pullRetriesForward()
        expect(hooksOn('/retry')).toHaveLength(expected)
      }, SLOW)
    }
    const hooks = hooksOn('/retry')
    expect(new Set(hooks.map((r) => r.headers['webhook-id'])).size).toBe(1)
    for (const hook of hooks) expect(verify(secret, hook)).toMatchObject({ data: { text: 'hello retry' } })

    const [delivery] = await eventually(async () => {
      const list = await deliveries(owner, id)
      expect(list[0]).toMatchObject({ status: 'succeeded', attempts: 3 })
      return list
    }, SLOW)
    expect(delivery!.eventType).toBe('whatsapp.message.received')
    expect(delivery!.nextAttemptAt).toBeUndefined()
    expect(delivery!.attemptLog.map((a: any) => a.httpStatus)).toEqual([204, 503, 500])
    for (const a of delivery!.attemptLog) expect(a.durationMs).toEqual(expect.any(Number))
    // At most 1 KiB of the answer is kept.
    expect(delivery!.attemptLog[1].response).toMatch(/^failure 503 x+$/)
    expect(delivery!.attemptLog[1].response.length).toBe(1024)
    // The endpoint subscribed to connection events only got nothing.
    expect(hooksOn('/conn-only')).toEqual([])
    expect(await deliveries(owner, onlyConnection.id)).toEqual([])
  }, 60_000)

  it('after the 24 h window the delivery is exhausted, the endpoint disabled and audited; resend re-enables and delivers', async () => {
    const owner = await newTenant()
    const { id } = await createEndpoint(h, owner, { url: rx.url('/down') })
    rx.answerAlways('/down', 503)
    {
      await sink.emit(owner.tenantId, messageEvent('never delivered'))
      await eventually(async () => expect(hooksOn('/down')).toHaveLength(1), SLOW)
      const [first] = await eventually(async () => {
        const list = await deliveries(owner, id)
        expect(list[0]).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: expect.any(String) })
        return list
      }, SLOW)
      // The first retry is due 5 s after the failure.
      expect(Date.parse(first!.nextAttemptAt) - Date.parse(first!.attemptLog[0].at)).toBe(5_000)

      // 24 h later: the window of this delivery is over (moved through its row, no waiting).
      await sql`update wa_webhook_deliveries set retry_until = now() - interval '1 minute' where id = ${first!.id}`.execute(
        testDb(),
      )
      await eventually(async () => {
        await pullRetriesForward()
        expect((await deliveries(owner, id))[0]).toMatchObject({ status: 'exhausted', attempts: 2 })
      }, SLOW)
      const listed = (await (await get(h, '/api/wa/webhook-endpoints', owner)).json()) as { endpoints: any[] }
      expect(listed.endpoints[0]).toMatchObject({
        id,
        enabled: false,
        disabledReason: 'retries_exhausted',
        disabledAt: expect.any(String),
      })
      const audit = await testDb()
        .selectFrom('audit_log')
        .select(['action', 'actor', 'outcome', 'details'])
        .where('tenant_id', '=', owner.tenantId)
        .where('action', '=', 'webhook.endpoint.disable')
        .execute()
      expect(audit).toEqual([
        {
          action: 'webhook.endpoint.disable',
          actor: 'system:webhooks',
          outcome: 'failure',
          details: expect.objectContaining({ endpointId: id, reason: 'retries_exhausted', attempts: 2, lastHttpStatus: 503 }),
        },
      ])
      // A disabled endpoint gets no new event.
      await sink.emit(owner.tenantId, messageEvent('while disabled'))
      expect(await deliveries(owner, id)).toHaveLength(1)

      rx.answerAlways('/down', 204)
      const resent = await post(h, `/api/wa/webhook-endpoints/deliveries/${first!.id}/resend`, owner)
      expect(resent.status).toBe(202)
      await eventually(async () => {
        expect((await deliveries(owner, id))[0]).toMatchObject({ status: 'succeeded', attempts: 3 })
      }, SLOW)
      const after = (await (await get(h, '/api/wa/webhook-endpoints', owner)).json()) as { endpoints: any[] }
      expect(after.endpoints[0]).toMatchObject({ id, enabled: true })
      expect(after.endpoints[0].disabledReason).toBeUndefined()
    }
  }, 60_000)

  it('rotate-secret: the new secret verifies the next event, the old one no longer does', async () => {
    const owner = await newTenant()
    const { id, secret: old } = await createEndpoint(h, owner, { url: rx.url('/rotate') })
    const res = await post(h, `/api/wa/webhook-endpoints/${id}/rotate-secret`, owner)
    expect(res.status).toBe(200)
    const rotated = (await res.json()) as { secret: string; endpoint: { id: string } }
    expect(rotated.endpoint.id).toBe(id)
    expect(rotated.secret).toMatch(/^whsec_/)
    expect(rotated.secret).not.toBe(old)
    await sink.emit(owner.tenantId, messageEvent('after rotation'))
    const hook = await eventually(async () => {
      expect(hooksOn('/rotate')).toHaveLength(1)
      return hooksOn('/rotate')[0]!
    }, SLOW)
    expect(verify(rotated.secret, hook)).toMatchObject({ data: { text: 'after rotation' } })
    expect(() => verify(old, hook)).toThrow()
  })

  it('a redirect is not followed: the 302 is a failed attempt and its target is never called', async () => {
    const owner = await newTenant()
    const { id } = await createEndpoint(h, owner, { url: rx.url('/redirect') })
    await sink.emit(owner.tenantId, messageEvent('redirected?'))
    await eventually(async () => {
      expect((await deliveries(owner, id))[0]).toMatchObject({ status: 'failed', attempts: 1, attemptLog: [{ httpStatus: 302 }] })
    }, SLOW)
    expect(hooksOn('/redirect')).toHaveLength(1)
    expect(hooksOn('/target')).toEqual([])
  })
})

describe('isolation and secrets', () => {
  it("another tenant's endpoint and delivery ids are 404s, and its events never reach the other tenant", async () => {
    const a = await newTenant()
    const b = await newTenant()
    const ea = await createEndpoint(h, a, { url: rx.url('/tenant-a') })
    const eb = await createEndpoint(h, b, { url: rx.url('/tenant-b') })
    await sink.emit(a.tenantId, messageEvent('for a only'))
    const [delivery] = await eventually(async () => {
      const list = await deliveries(a, ea.id)
      expect(list[0]).toMatchObject({ status: 'succeeded' })
      return list
    }, SLOW)
    expect(hooksOn('/tenant-b')).toEqual([])

    await expectError(await get(h, `/api/wa/webhook-endpoints/${ea.id}/deliveries`, b), 404, 'NOT_FOUND')
    await expectError(await post(h, `/api/wa/webhook-endpoints/${ea.id}/rotate-secret`, b), 404, 'NOT_FOUND')
    await expectError(await post(h, `/api/wa/webhook-endpoints/deliveries/${delivery!.id}/resend`, b), 404, 'NOT_FOUND')
    await expectError(await h.api(`/api/wa/webhook-endpoints/${ea.id}`, { method: 'DELETE', token: b.token }), 404, 'NOT_FOUND')
    // Not a uuid: the same 404, not a database error.
    await expectError(await get(h, '/api/wa/webhook-endpoints/nope/deliveries', b), 404, 'NOT_FOUND')
    const listB = (await (await get(h, '/api/wa/webhook-endpoints', b)).json()) as { endpoints: Array<{ id: string }> }
    expect(listB.endpoints.map((e) => e.id)).toEqual([eb.id])
    // a's endpoint is untouched.
    expect((await deliveries(a, ea.id))[0]).toMatchObject({ id: delivery!.id, attempts: 1 })
  })

  it('the signing secret and an event text never reach logs, other responses or the tables in clear', async () => {
    const CANARY_TEXT = 'canaryMessageText_3e9d1c'
    const owner = await newTenant()
    const created = await post(h, '/api/wa/webhook-endpoints', owner, { url: rx.url('/canary') })
    const createdBody = await created.text()
    const { secret, endpoint } = JSON.parse(createdBody) as { secret: string; endpoint: { id: string } }
    await sink.emit(owner.tenantId, messageEvent(CANARY_TEXT))
    await eventually(async () => expect(hooksOn('/canary')).toHaveLength(1), SLOW)
    // The receiver got the text (that is the point), signed with the secret.
    expect(verify(secret, hooksOn('/canary')[0]!)).toMatchObject({ data: { text: CANARY_TEXT } })

    const responses = [
      await (await get(h, '/api/wa/webhook-endpoints', owner)).text(),
      await (await get(h, `/api/wa/webhook-endpoints/${endpoint.id}/deliveries`, owner)).text(),
    ]
    await new Promise((r) => setTimeout(r, 200)) // let the log stream flush
    const dump = JSON.stringify({
      endpoints: await testDb().selectFrom('wa_webhook_endpoints').selectAll().execute(),
      events: await testDb().selectFrom('wa_webhook_events').selectAll().execute(),
      deliveries: await testDb().selectFrom('wa_webhook_deliveries').selectAll().execute(),
      attempts: await testDb().selectFrom('wa_webhook_attempts').selectAll().execute(),
      audit: await testDb().selectFrom('audit_log').selectAll().execute(),
      jobs: (await sql`select payload from graphile_worker._private_jobs`.execute(testDb())).rows,
    })
    const logs = fs.readFileSync(logFile, 'utf8')
    expect(logs.length).toBeGreaterThan(0)
    const secretBody = secret.slice('whsec_'.length)
    const leaks: string[] = []
    for (const [name, value] of Object.entries({ secret: secretBody, text: CANARY_TEXT })) {
      if (dump.includes(value)) leaks.push(`${name} in the tables`)
      if (logs.includes(value)) leaks.push(`${name} in the logs`)
      for (const r of responses) if (r.includes(value)) leaks.push(`${name} in a later response`)
    }
    expect(leaks).toEqual([])
    // The dump did hold this tenant's rows (the check looked at the right place).
    expect(dump).toContain(endpoint.id)
    expect(createdBody).toContain(secret)
  })
})
